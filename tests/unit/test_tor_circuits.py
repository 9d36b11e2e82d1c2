"""A failing onion site gets new circuits (a new isolation key), then Tor a new identity."""

from __future__ import annotations

from scrapy import Request
from scrapy.http import Response
from scrapy.utils.test import get_crawler
from twisted.internet import defer
from twisted.internet.error import TCPTimedOutError

import crawlers.middlewares.tor_circuits as tor_circuits
from crawlers.middlewares.tor_circuits import TorCircuitRenewalMiddleware
from crawlers.middlewares.tor_route import TorRouteMiddleware

A = "http://" + "a" * 56 + ".onion/listing/1"
B = "http://" + "b" * 56 + ".onion/listing/1"


def crawler_with(**settings):
    return get_crawler(settings_dict={"BRANDHOUND_TOR_SOCKS": "127.0.0.1:9050", **settings})


def routed(route: TorRouteMiddleware, url: str) -> Request:
    request = Request(url)
    route.process_request(request)
    return request


def test_a_site_failing_three_times_gets_a_new_key_and_other_sites_keep_theirs():
    crawler = crawler_with()
    route, renew = TorRouteMiddleware.from_crawler(crawler), TorCircuitRenewalMiddleware.from_crawler(crawler)
    key_a, key_b = routed(route, A).meta["tor"]["username"], routed(route, B).meta["tor"]["username"]
    for _ in range(2):
        renew.process_exception(routed(route, A), TCPTimedOutError())
    assert routed(route, A).meta["tor"]["username"] == key_a  # two failures: not yet
    renew.process_response(routed(route, A), Response(A, status=503))
    new_a = routed(route, A).meta["tor"]["username"]
    assert new_a != key_a and routed(route, B).meta["tor"]["username"] == key_b
    assert crawler.stats.get_value("brandhound/tor/circuit_renewals") == 1


def test_success_resets_the_count():
    crawler = crawler_with()
    route, renew = TorRouteMiddleware.from_crawler(crawler), TorCircuitRenewalMiddleware.from_crawler(crawler)
    key = routed(route, A).meta["tor"]["username"]
    for status in (503, 502, 200, 504, 503):
        renew.process_response(routed(route, A), Response(A, status=status))
    assert routed(route, A).meta["tor"]["username"] == key


class FakeManager:
    def __init__(self, limited: bool):
        self.limited, self.sent = limited, 0

    def new_identity(self, wait: bool):
        from crawlers.tor.manager import NewnymRateLimited

        if self.limited:
            raise NewnymRateLimited("rate limited", 7.0)
        self.sent += 1
        return {"sent": True}

    def close(self):
        pass


def test_newnym_after_repeated_renewals_respects_the_rate_limit(monkeypatch):
    monkeypatch.setattr(tor_circuits, "deferToThread", lambda fn, *a: defer.maybeDeferred(fn, *a))
    crawler = crawler_with(BRANDHOUND_TOR_CONTROL="127.0.0.1:9051")
    route, renew = TorRouteMiddleware.from_crawler(crawler), TorCircuitRenewalMiddleware.from_crawler(crawler)
    renew._manager = FakeManager(limited=False)
    for _ in range(6):  # two renewals of three failures each
        renew.process_exception(routed(route, A), TCPTimedOutError())
    assert renew._manager.sent == 1 and crawler.stats.get_value("brandhound/tor/newnym") == 1
    renew._manager = FakeManager(limited=True)
    for _ in range(6):
        renew.process_exception(routed(route, A), TCPTimedOutError())
    assert crawler.stats.get_value("brandhound/tor/newnym_rate_limited") == 1


def test_without_a_control_port_there_is_no_newnym(monkeypatch):
    calls = []
    monkeypatch.setattr(tor_circuits, "deferToThread", lambda fn, *a: calls.append(a))
    crawler = crawler_with()
    route, renew = TorRouteMiddleware.from_crawler(crawler), TorCircuitRenewalMiddleware.from_crawler(crawler)
    for _ in range(12):
        renew.process_exception(routed(route, A), TCPTimedOutError())
    assert calls == [] and crawler.stats.get_value("brandhound/tor/circuit_renewals") == 4
