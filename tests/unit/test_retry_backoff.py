import asyncio
import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from scrapy import Request, Spider
from scrapy.http import Response
from scrapy.utils.test import get_crawler
from twisted.internet.error import TCPTimedOutError

import crawlers.settings as project
from crawlers.middlewares import retry_backoff
from crawlers.middlewares.retry_backoff import BackoffRetryMiddleware, retry_after_seconds
from crawlers.spiders.onion import TOR_CRAWL_SETTINGS


def _middleware(**settings):
    crawler = get_crawler(Spider, settings_dict={"RETRY_TIMES": 3, **settings})
    crawler.spider = crawler._create_spider("retry-test")
    crawler.stats.open_spider()
    return BackoffRetryMiddleware(crawler, rng=random.Random(7))


@pytest.fixture
def slept(monkeypatch):
    waits: list[float] = []

    async def sleep(seconds):
        waits.append(seconds)

    monkeypatch.setattr(retry_backoff.asyncio, "sleep", sleep)
    return waits


def test_retry_after_in_seconds_or_as_a_date():
    now = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
    assert retry_after_seconds(b"7") == 7.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30.0
    assert retry_after_seconds(format_datetime(now - timedelta(minutes=5), usegmt=True), now=now) == 0.0
    for unreadable in (None, b"", b"soon", b"-3", "Mon, 99 Foo 2026"):
        assert retry_after_seconds(unreadable, now=now) is None, unreadable


def test_waits_double_with_jitter_up_to_the_maximum():
    mw = _middleware(BRANDHOUND_RETRY_BACKOFF_S=1.0, BRANDHOUND_RETRY_BACKOFF_MAX_S=10.0)
    for attempt, (low, high) in {1: (0.5, 1), 2: (1, 2), 3: (2, 4), 4: (4, 8), 5: (5, 10), 9: (5, 10)}.items():
        waits = [mw.wait_for(Request("https://a.example/", meta={"retry_times": attempt})) for _ in range(50)]
        assert all(low <= w <= high for w in waits), (attempt, min(waits), max(waits))
        assert len(set(waits)) > 1, "jitter: requests failing together do not come back together"


def test_a_longer_retry_after_is_honoured_up_to_its_cap():
    mw = _middleware(BRANDHOUND_RETRY_BACKOFF_S=1.0, BRANDHOUND_RETRY_AFTER_MAX_S=20.0)
    retry = Request("https://a.example/", meta={"retry_times": 1})
    assert mw.wait_for(retry, retry_after=5) == 5
    assert mw.wait_for(retry, retry_after=3600) == 20
    assert 0.5 <= mw.wait_for(retry, retry_after=0) <= 1, "a shorter Retry-After does not cut the backoff"


def test_backoff_zero_retries_at_once(slept):
    mw = _middleware(BRANDHOUND_RETRY_BACKOFF_S=0)
    retry = asyncio.run(mw.process_response(Request("https://a.example/"), Response("https://a.example/", status=503)))
    assert isinstance(retry, Request) and slept == [] and mw.crawler.stats.get_value("brandhound/retry/waits") is None


def test_a_retried_response_waits_before_its_retry_is_returned(slept):
    mw = _middleware(BRANDHOUND_RETRY_BACKOFF_S=1.0)
    request = Request("https://a.example/busy")
    busy = Response(request.url, status=429, headers={"Retry-After": "6"})
    retry = asyncio.run(mw.process_response(request, busy))
    assert isinstance(retry, Request) and retry.meta["retry_times"] == 1 and slept == [6.0]
    again = asyncio.run(mw.process_response(retry, Response(request.url, status=500)))
    assert again.meta["retry_times"] == 2 and 1 <= slept[1] <= 2
    stats = mw.crawler.stats
    assert stats.get_value("brandhound/retry/waits") == 2 and stats.get_value("brandhound/retry/wait_seconds") >= 7
    ok = Response(request.url, status=200)
    assert asyncio.run(mw.process_response(again, ok)) is ok and len(slept) == 2


def test_a_request_out_of_retries_is_given_up_without_waiting(slept):
    mw = _middleware(RETRY_TIMES=1)
    request = Request("https://a.example/down", meta={"retry_times": 1})
    failed = Response(request.url, status=503)
    assert asyncio.run(mw.process_response(request, failed)) is failed and slept == []
    assert mw.crawler.stats.get_value("retry/max_reached") == 1


def test_a_network_failure_waits_and_other_exceptions_pass_through(slept):
    mw = _middleware(BRANDHOUND_RETRY_BACKOFF_S=2.0)
    retry = asyncio.run(mw.process_exception(Request("https://a.example/"), TCPTimedOutError()))
    assert isinstance(retry, Request) and len(slept) == 1 and 1 <= slept[0] <= 2
    assert asyncio.run(mw.process_exception(Request("https://a.example/"), ValueError("not a network failure"))) is None
    assert len(slept) == 1


def test_the_project_retries_with_backoff_and_onion_crawls_wait_longer():
    mws = project.DOWNLOADER_MIDDLEWARES
    assert mws["scrapy.downloadermiddlewares.retry.RetryMiddleware"] is None
    assert mws["crawlers.middlewares.retry_backoff.BackoffRetryMiddleware"] == 550
    assert project.BRANDHOUND_RETRY_BACKOFF_S > 0
    assert TOR_CRAWL_SETTINGS["BRANDHOUND_RETRY_BACKOFF_S"] > project.BRANDHOUND_RETRY_BACKOFF_S
