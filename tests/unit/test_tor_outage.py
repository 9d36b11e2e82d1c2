"""A Tor client that is down: requests wait for it (one shared probe loop) instead of spending retries."""

from __future__ import annotations

import logging
import socket

import pytest
from scrapy import Request
from scrapy.http import Response
from scrapy.utils.test import get_crawler
from twisted.internet import defer
from twisted.internet.task import Clock

import crawlers.middlewares.tor_circuits as tor_circuits
import crawlers.tor.outage as outage
from crawlers.middlewares.tor_circuits import TorCircuitRenewalMiddleware
from crawlers.middlewares.tor_route import TorRouteMiddleware
from crawlers.tor.manager import TorControlError
from crawlers.tor.outage import TorClientWatch
from crawlers.tor.socks import SocksProxyUnreachable

ONION = "http://" + "a" * 56 + ".onion/listing/1"
DOWN = SocksProxyUnreachable("Tor SOCKS port 127.0.0.1:9: connection refused — is tor running?")


@pytest.fixture
def in_line(monkeypatch):
    """Probes run at once in the test's thread instead of Twisted's thread pool."""
    monkeypatch.setattr(outage, "deferToThread", lambda fn, *a: defer.maybeDeferred(fn, *a))


@pytest.fixture
def listening():
    """A port that accepts connections, standing in for tor's SocksPort."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()


def scripted(watch: TorClientWatch, answers: list[str | None]) -> list[str | None]:
    """Make the watch's probe give these answers in turn; returns what is left."""
    watch.probe = lambda: answers.pop(0)
    return answers


def test_waiters_are_released_together_once_tor_answers(in_line):
    clock, back_after = Clock(), []
    watch = TorClientWatch(("127.0.0.1", 9), max_wait_s=60, poll_s=0.5, reactor=clock, on_back=back_after.append)
    watch.succeeded()
    left = scripted(watch, ["SOCKS port: refused", "bootstrapping: 80%", None])
    first, second = watch.wait("refused"), watch.wait("refused")
    results = []
    for d in (first, second):
        d.addCallback(results.append)
    clock.advance(0)
    assert results == [] and watch.down_since is not None
    clock.advance(0.5)
    clock.advance(0.5)
    assert results == [True, True] and not left and watch.outages == 1 and len(back_after) == 1
    assert watch.down_since is None and not clock.getDelayedCalls()  # the probe loop stopped


def test_a_client_that_never_answered_is_not_waited_for(in_line):
    clock = Clock()
    watch = TorClientWatch(("127.0.0.1", 9), reactor=clock)
    results = []
    watch.wait("refused").addCallback(results.append)  # a wrong SocksPort: its error comes at once
    assert results == [False] and not clock.getDelayedCalls() and watch.outages == 0


def test_a_client_that_stays_down_is_given_up_and_later_requests_do_not_wait(in_line, caplog):
    clock = Clock()
    watch = TorClientWatch(("127.0.0.1", 9), max_wait_s=0, reactor=clock)
    watch.succeeded()
    scripted(watch, ["SOCKS port 127.0.0.1:9: Connection refused"])
    results = []
    watch.wait("refused").addCallback(results.append)
    with caplog.at_level(logging.ERROR, logger="crawlers.tor.outage"):
        clock.advance(0)
    assert results == [False] and not watch.answered
    assert "still unusable" in caplog.text and "Connection refused" in caplog.text
    watch.wait("refused").addCallback(results.append)
    assert results == [False, False] and not clock.getDelayedCalls()
    watch.succeeded()  # a Tor request got through: the next outage is waited out again
    assert watch.answered


def test_probe_waits_for_the_bootstrap_and_degrades_when_the_control_port_fails(listening, caplog):
    status = {"progress": 45, "summary": "Loading relay descriptors"}
    watch = TorClientWatch(listening, bootstrap=lambda: status)
    assert watch.probe() == "bootstrapping: 45% Loading relay descriptors"
    status["progress"] = 100
    assert watch.probe() is None

    def broken():
        raise TorControlError("Tor control port 127.0.0.1:9051: connection refused — is tor running?")

    watch.bootstrap = broken
    with caplog.at_level(logging.WARNING, logger="crawlers.tor.outage"):
        assert watch.probe() is None  # the SocksPort answers: go on without the bootstrap
    assert "bootstrap cannot be read" in caplog.text and "9051" in caplog.text


def test_probe_reports_a_refused_socks_port():
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    assert "SOCKS port 127.0.0.1:" in TorClientWatch(("127.0.0.1", port)).probe()


class BackAtOnce:
    outages, answered = 1, True

    def wait(self, why):
        return defer.succeed(True)

    def succeeded(self):
        pass

    def close(self):
        pass


def run(coroutine):
    """Drive a coroutine that only awaits fired Deferreds."""
    with pytest.raises(StopIteration) as stop:
        coroutine.send(None)
    return stop.value.value


def test_only_a_tor_that_answered_in_this_crawl_is_waited_for():
    crawler = get_crawler(settings_dict={"BRANDHOUND_TOR_SOCKS": "127.0.0.1:9"})
    route, renew = TorRouteMiddleware.from_crawler(crawler), TorCircuitRenewalMiddleware.from_crawler(crawler)
    request = Request(ONION)
    route.process_request(request)
    assert not renew.watch.answered
    renew.process_response(request, Response(ONION, status=503))  # an answer, if not a good one
    assert renew.watch.answered


def test_a_refused_socks_port_holds_the_request_without_spending_a_retry_or_renewing_circuits(monkeypatch):
    monkeypatch.setattr(tor_circuits, "maybe_deferred_to_future", lambda d: d)
    crawler = get_crawler(settings_dict={"BRANDHOUND_TOR_SOCKS": "127.0.0.1:9"})
    route, renew = TorRouteMiddleware.from_crawler(crawler), TorCircuitRenewalMiddleware.from_crawler(crawler)
    renew.watch = BackAtOnce()
    request = Request(ONION, meta={"retry_times": 2})
    route.process_request(request)
    for _ in range(tor_circuits.MAX_HOLDS):
        again = run(renew.process_exception(request, DOWN))
        assert again.url == request.url and again.dont_filter and again.meta["retry_times"] == 2
        request = again
    assert request.meta["tor_client_holds"] == tor_circuits.MAX_HOLDS
    assert crawler.stats.get_value("brandhound/tor/requests_held") == tor_circuits.MAX_HOLDS
    assert not renew.failures  # the site is not blamed for the client's outage
    # Held as often as allowed: now it is an ordinary failure, for the retry middleware.
    assert renew.process_exception(request, DOWN) is None and renew.failures


def test_outage_wait_zero_leaves_refused_requests_to_the_retries():
    crawler = get_crawler(settings_dict={"BRANDHOUND_TOR_SOCKS": "127.0.0.1:9", "BRANDHOUND_TOR_OUTAGE_WAIT": 0})
    route, renew = TorRouteMiddleware.from_crawler(crawler), TorCircuitRenewalMiddleware.from_crawler(crawler)
    request = Request(ONION)
    route.process_request(request)
    assert renew.watch is None and renew.process_exception(request, DOWN) is None
    assert crawler.stats.get_value("brandhound/tor/requests_held") is None
