"""An onion site failing with onion-service SOCKS replies: the reply is in the log, and NEWNYM comes at once."""

from __future__ import annotations

import logging

from scrapy import Request
from scrapy.utils.test import get_crawler
from twisted.internet import defer
from twisted.internet.error import TCPTimedOutError

import crawlers.middlewares.tor_circuits as tor_circuits
from crawlers.middlewares.tor_circuits import TorCircuitRenewalMiddleware
from crawlers.middlewares.tor_route import TorRouteMiddleware
from crawlers.tor.socks import (SocksError, SocksProxy, SocksRequestRefused, SocksTimeout, onion_service_failure,
                                reply_error)

ONION = "a" * 56 + ".onion"
URL = f"http://{ONION}/thread/1"
PROXY = SocksProxy("127.0.0.1", 9050, "crawl", "x")


def test_a_socks_error_names_the_reply_code_and_what_it_means():
    exc = reply_error(0xF2, PROXY, ONION, 80)
    assert isinstance(exc, SocksError) and exc.code == 0xF2
    assert str(exc) == (f"SOCKS proxy 127.0.0.1:9050 could not connect to {ONION}:80: "
                        "onion service introduction failed (reply 0xf2)")
    assert "unknown error (reply 0x42)" in str(reply_error(0x42, PROXY, ONION, 80))


def test_onion_service_failures_are_told_from_the_others():
    assert [onion_service_failure(reply_error(code, PROXY, ONION, 80)) for code in (0xF0, 0xF2, 0xF3, 0xF7)] == [
        0xF0, 0xF2, 0xF3, 0xF7]
    # A circuit that timed out, a timeout of ours, a refused address: not the onion service's state.
    assert onion_service_failure(reply_error(0x06, PROXY, ONION, 80)) is None
    assert onion_service_failure(SocksTimeout("no handshake within 90 s")) is None
    refused = reply_error(0xF6, PROXY, ONION, 80)
    assert isinstance(refused, SocksRequestRefused) and onion_service_failure(refused) is None
    assert onion_service_failure(TCPTimedOutError()) is None


class FakeManager:
    def __init__(self):
        self.sent = 0

    def new_identity(self, wait: bool):
        self.sent += 1
        return {"sent": True}

    def close(self):
        pass


def middlewares(monkeypatch):
    monkeypatch.setattr(tor_circuits, "deferToThread", lambda fn, *a: defer.maybeDeferred(fn, *a))
    crawler = get_crawler(settings_dict={"BRANDHOUND_TOR_SOCKS": "127.0.0.1:9050",
                                         "BRANDHOUND_TOR_CONTROL": "127.0.0.1:9051"})
    route, renew = TorRouteMiddleware.from_crawler(crawler), TorCircuitRenewalMiddleware.from_crawler(crawler)
    renew._manager = FakeManager()
    return crawler, route, renew


def fail(route, renew, exc: BaseException) -> None:
    request = Request(URL)
    route.process_request(request)
    renew.process_exception(request, exc)


def test_onion_service_replies_send_newnym_at_the_first_renewal(monkeypatch, caplog):
    crawler, route, renew = middlewares(monkeypatch)
    with caplog.at_level(logging.INFO, logger="crawlers.middlewares.tor_circuits"):
        for _ in range(3):
            fail(route, renew, reply_error(0xF3, PROXY, ONION, 80))
    assert renew._manager.sent == 1 and crawler.stats.get_value("brandhound/tor/newnym") == 1
    assert "onion service rendezvous failed (reply 0xf3)" in caplog.text and "sent NEWNYM" in caplog.text
    assert f"{URL} failed (1 in a row): SocksError: SOCKS proxy" in caplog.text  # every failure, with its reply


def test_other_failures_still_wait_for_the_second_renewal(monkeypatch):
    crawler, route, renew = middlewares(monkeypatch)
    for _ in range(3):
        fail(route, renew, reply_error(0x06, PROXY, ONION, 80))
    assert renew._manager.sent == 0 and crawler.stats.get_value("brandhound/tor/circuit_renewals") == 1
    for _ in range(3):
        fail(route, renew, TCPTimedOutError())
    assert renew._manager.sent == 1


def test_stem_chatter_stays_out_of_the_crawl_log():
    import crawlers.tor.manager  # noqa: F401  (quiets stem on import, as the middleware's manager does)

    assert logging.getLogger("stem").getEffectiveLevel() == logging.WARNING
