"""The detector hook: every capture passes the configured detectors before indexing.

``BRANDHOUND_DETECTORS`` lists detector classes by import path. A detector is
built ``from_crawler`` (or with no arguments) and has ``detect(capture)``
returning the findings for that capture. A detector that fails on one capture
is logged and skipped for it; the capture is indexed all the same.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from scrapy.crawler import Crawler
from scrapy.utils.misc import build_from_crawler, load_object

from brandhound.items import Finding
from crawlers.items import Capture

log = logging.getLogger(__name__)


class Detector(Protocol):
    def detect(self, capture: Capture) -> list[Finding]: ...


class DetectorPipeline:
    def __init__(self, crawler: Crawler, detectors: list[Any]):
        self.crawler = crawler
        self.detectors = detectors

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DetectorPipeline:
        paths = crawler.settings.getlist("BRANDHOUND_DETECTORS")
        return cls(crawler, [build_from_crawler(load_object(p), crawler) for p in paths])

    def process_item(self, item: Capture) -> Capture:
        for detector in self.detectors:
            try:
                item.findings.extend(detector.detect(item))
            except Exception:  # one detector's bug must not lose the capture
                self.crawler.stats.inc_value(f"brandhound/detector_errors/{type(detector).__name__}")
                log.exception("detector %s failed on %s", type(detector).__name__, item.page.url.full)
        # The dump text has been read by the leak detectors; it is never kept.
        item.dump_text = None
        return item
