"""A live status line for a crawl on a terminal: pages, items, documents indexed or spooled, failures, pages/s.

A Scrapy extension, on when ``BRANDHOUND_PROGRESS`` is true and standard error is a terminal
(``brandhound crawl`` turns it on unless ``--quiet``); a crawl whose output goes to a file or a
pipe (Airflow, the demo's subprocesses, CI) never shows it. The crawl's log lines keep flowing:
they are printed above the line, which is redrawn in place.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, Callable

from rich.console import Console
from rich.live import Live
from rich.text import Text
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task

#: The stats a line shows, by what it calls them.
FIELDS = (("pages", "response_received_count"), ("items", "item_scraped_count"),
          ("indexed", "brandhound/es/indexed"), ("spooled", "brandhound/es/spooled"))


def status_line(stats: dict[str, Any], elapsed_s: float) -> str:
    """``pages 120 | items 118 | indexed 300 | spooled 0 | failed 2 | 40.0 pages/s`` from a crawl's stats."""
    parts = [f"{name} {int(stats.get(key, 0) or 0)}" for name, key in FIELDS]
    failed = sum(int(v or 0) for k, v in stats.items() if k.startswith("brandhound/fetch_failed/"))
    pages = int(stats.get("response_received_count", 0) or 0)
    rate = pages / elapsed_s if elapsed_s > 0 else 0.0
    return " | ".join([*parts, f"failed {failed}", f"{rate:.1f} pages/s"])


class CrawlProgress:
    def __init__(self, crawler: Crawler, interval_s: float, console: Console):
        self.crawler = crawler
        self.interval_s = interval_s
        self.console = console
        self._live: Live | None = None
        self._loop: task.LoopingCall | None = None
        self._started = 0.0
        self._handlers: list[tuple[logging.StreamHandler, Any]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler, console: Callable[[], Console] | None = None) -> CrawlProgress:
        if not crawler.settings.getbool("BRANDHOUND_PROGRESS"):
            raise NotConfigured("BRANDHOUND_PROGRESS is off")
        made = console() if console else Console(stderr=True)
        if not made.is_terminal:
            raise NotConfigured("standard error is not a terminal")
        ext = cls(crawler, crawler.settings.getfloat("BRANDHOUND_PROGRESS_INTERVAL", 1.0), made)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def line(self) -> Text:
        assert self.crawler.stats is not None
        return Text(status_line(self.crawler.stats.get_stats(), time.monotonic() - self._started), style="bold")

    def spider_opened(self, spider: Any) -> None:
        self._started = time.monotonic()
        self._live = Live(self.line(), console=self.console, refresh_per_second=4, transient=False,
                          redirect_stdout=False, redirect_stderr=True)
        self._live.start()
        # Log handlers hold the stderr they were given: point them at Live's, which prints above the line.
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream in (sys.__stderr__, self.console.file):
                self._handlers.append((handler, handler.setStream(sys.stderr)))
        self._loop = task.LoopingCall(self._refresh)
        self._loop.start(self.interval_s, now=False)

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.update(self.line())

    def spider_closed(self, spider: Any) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self._live is not None:
            self._live.update(self.line())
            self._live.stop()
            self._live = None
        for handler, stream in self._handlers:
            handler.setStream(stream)
        self._handlers.clear()
