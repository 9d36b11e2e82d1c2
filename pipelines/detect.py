"""The detector hook: every capture passes the configured detectors before indexing.

``BRANDHOUND_DETECTORS`` lists detector classes by import path. A detector is
built ``from_crawler`` (or with no arguments) and has ``detect(capture)``
returning the findings for that capture. A detector that fails on one capture
is logged and skipped for it; the capture is indexed all the same.

A detector whose ``detect`` waits on the network (``waits_on_network = True``, e.g. the
site detector's RDAP lookups) runs in a thread of its own, one capture at a time, so the
crawl's reactor keeps fetching meanwhile and the detector's caches see one thread only.
The others run on the reactor thread: they are CPU work, and a thread would only add
hand-offs under the GIL.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
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
        self._threads: dict[int, ThreadPoolExecutor] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DetectorPipeline:
        paths = crawler.settings.getlist("BRANDHOUND_DETECTORS")
        return cls(crawler, [build_from_crawler(load_object(p), crawler) for p in paths])

    def open_spider(self) -> None:
        for detector in self.detectors:
            if getattr(detector, "waits_on_network", False):
                self._threads[id(detector)] = ThreadPoolExecutor(1, thread_name_prefix=f"detector-{type(detector).__name__}")

    def close_spider(self) -> None:
        for pool in self._threads.values():
            pool.shutdown(wait=True)
        self._threads.clear()

    async def process_item(self, item: Capture) -> Capture:
        for detector in self.detectors:
            try:
                pool = self._threads.get(id(detector))
                if pool is None:
                    findings = detector.detect(item)
                else:
                    # The crawl runs on Twisted's asyncio reactor (scrapy-playwright needs it).
                    findings = await asyncio.get_running_loop().run_in_executor(pool, detector.detect, item)
                item.findings.extend(findings)
            except Exception:  # one detector's bug must not lose the capture
                self.crawler.stats.inc_value(f"brandhound/detector_errors/{type(detector).__name__}")
                log.exception("detector %s failed on %s", type(detector).__name__, item.page.url.full)
        # The dump text has been read by the leak detectors; it is never kept.
        item.dump_text = None
        return item
