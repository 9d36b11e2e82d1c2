"""The crawl's live status line: what it says, when it is shown, and that the log still gets through."""

import io
import logging
import sys

import pytest
from rich.console import Console
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawlers.progress import CrawlProgress, status_line


def test_the_line_counts_pages_items_documents_failures_and_the_rate():
    stats = {"response_received_count": 120, "item_scraped_count": 118, "brandhound/es/indexed": 300,
             "brandhound/es/spooled": 4, "brandhound/fetch_failed/timeout": 2, "brandhound/fetch_failed/http_500": 1}
    assert status_line(stats, 3.0) == "pages 120 | items 118 | indexed 300 | spooled 4 | failed 3 | 40.0 pages/s"
    assert status_line({}, 0.0) == "pages 0 | items 0 | indexed 0 | spooled 0 | failed 0 | 0.0 pages/s"


def test_off_unless_asked_for_and_on_a_terminal():
    with pytest.raises(NotConfigured, match="BRANDHOUND_PROGRESS"):
        CrawlProgress.from_crawler(get_crawler(settings_dict={"BRANDHOUND_PROGRESS": False}))
    piped = lambda: Console(file=io.StringIO(), force_terminal=False)  # noqa: E731  (a factory, as the extension takes)
    with pytest.raises(NotConfigured, match="not a terminal"):
        CrawlProgress.from_crawler(get_crawler(settings_dict={"BRANDHOUND_PROGRESS": True}), console=piped)


def test_on_a_terminal_the_line_is_drawn_and_log_lines_still_reach_the_terminal():
    screen = io.StringIO()
    crawler = get_crawler(settings_dict={"BRANDHOUND_PROGRESS": True})
    ext = CrawlProgress.from_crawler(crawler, console=lambda: Console(file=screen, force_terminal=True, width=120))
    handler = logging.StreamHandler(sys.__stderr__)
    logging.getLogger().addHandler(handler)
    try:
        ext.spider_opened(None)
        assert handler.stream is not sys.__stderr__  # the log goes through the live display now
        crawler.stats.set_value("response_received_count", 7)
        logging.getLogger("crawl-test").warning("a page failed")
        ext.spider_closed(None)
        assert handler.stream is sys.__stderr__  # and back afterwards
    finally:
        logging.getLogger().removeHandler(handler)
    shown = screen.getvalue()
    assert "pages 7 | items 0" in shown and "a page failed" in shown
