"""Tor routing: which requests go over Tor, with which isolation; what is refused; what is never
resolved locally; and the SOCKS5h handshake of the Twisted transport (on a memory reactor)."""

from __future__ import annotations

import asyncio
import socket
import struct
from types import SimpleNamespace

import pytest
from scrapy import Request
from scrapy.utils.test import get_crawler
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure

import crawlers.settings as project
from crawlers.browser import TOR_CAPTURE_CONTEXT, capture_meta
from crawlers.download_handler import TorRouteError, socks_proxy_from_meta
from crawlers.middlewares.egress import EgressProxyMiddleware
from crawlers.middlewares.ssrf import SsrfGuardMiddleware, SsrfRefused
from crawlers.middlewares.tor_route import (TorRequired, TorRouteMiddleware, isolation_key, parse_socks,
                                            site_of)
from crawlers.tor.socks import (SocksClientEndpoint, SocksError, SocksProxy, SocksProxyUnreachable,
                                SocksRequestRefused, SocksTimeout)

ONION_A = "a" * 56 + ".onion"
ONION_B = "b" * 56 + ".onion"


def _crawler(spider=None, **settings):
    crawler = get_crawler(settings_dict=settings)
    crawler.stats.open_spider()
    if spider is not None:
        crawler.spider = spider
    return crawler


def _route(spider=None, **settings) -> TorRouteMiddleware:
    return TorRouteMiddleware.from_crawler(_crawler(spider, **settings))


def _spider(job_id="job-1", tor_only=()):
    return SimpleNamespace(job_id=job_id, profile=SimpleNamespace(tor_only_hosts=list(tor_only)))


# --------------------------------------------------------------------------- routing decisions


def test_onion_request_is_routed_over_tor_with_its_isolation_key():
    mw = _route(_spider(), BRANDHOUND_TOR_SOCKS="127.0.0.1:9050")
    request = Request(f"http://{ONION_A}/listing/1")
    assert mw.process_request(request) is None
    tor = request.meta["tor"]
    assert tor["socks"] == ("127.0.0.1", 9050)
    assert tor["username"] == isolation_key(ONION_A, "job-1") and tor["username"].startswith("bh-")
    assert tor["password"]
    assert request.meta["proxy"] is None  # never an HTTP proxy (and HttpProxyMiddleware stays off)
    assert mw.crawler.stats.get_value("brandhound/tor/routed") == 1


def test_isolation_keys_differ_per_onion_site_and_per_job_but_not_per_page():
    mw = _route(_spider(), BRANDHOUND_TOR_SOCKS="127.0.0.1:9050")
    keys = {}
    for url in (f"http://{ONION_A}/", f"http://{ONION_A}/forum?page=2", f"http://www.{ONION_A}/",
                f"http://{ONION_B}/", f"https://{ONION_B.upper()}/x"):
        request = Request(url)
        mw.process_request(request)
        keys[url] = request.meta["tor"]["username"]
    a = {keys[f"http://{ONION_A}/"], keys[f"http://{ONION_A}/forum?page=2"], keys[f"http://www.{ONION_A}/"]}
    b = {keys[f"http://{ONION_B}/"], keys[f"https://{ONION_B.upper()}/x"]}
    assert len(a) == 1 and len(b) == 1 and a != b
    assert site_of(f"www.{ONION_A}") == ONION_A
    assert isolation_key(ONION_A, "job-1") != isolation_key(ONION_A, "job-2")
    assert ONION_A not in isolation_key(ONION_A, "job-1")  # opaque to Tor's logs and control port


def test_tor_only_hosts_from_settings_and_from_the_brand_profile():
    mw = _route(_spider(tor_only=["Leaks.Example.NET"]), BRANDHOUND_TOR_SOCKS="127.0.0.1:9050",
                BRANDHOUND_TOR_ONLY_HOSTS=["paste.example.org"])
    for url in ("https://paste.example.org/raw/1", "https://cdn.paste.example.org/x", "http://leaks.example.net/"):
        request = Request(url)
        mw.process_request(request)
        assert request.meta["tor"]["socks"] == ("127.0.0.1", 9050), url
    for url in ("https://example.org/", "https://notpaste.example.org/", "https://shop.example.com/"):
        request = Request(url)
        mw.process_request(request)
        assert "tor" not in request.meta and "proxy" not in request.meta, url


def test_requests_a_spider_marks_for_tor_stay_on_tor_and_are_rekeyed_per_host():
    mw = _route(_spider(), BRANDHOUND_TOR_SOCKS="127.0.0.1:9050")
    # e.g. a redirect from an onion page to a clearnet mirror keeps meta["tor"]
    request = Request("http://mirror.example.com/", meta={"tor": {"socks": ("127.0.0.1", 1), "username": "old"}})
    mw.process_request(request)
    assert request.meta["tor"]["socks"] == ("127.0.0.1", 9050)
    assert request.meta["tor"]["username"] == isolation_key("mirror.example.com", "job-1")


def test_without_tor_onion_and_tor_only_requests_are_refused_never_sent_in_the_clear():
    mw = _route(_spider(tor_only=["paste.example.org"]))
    request = Request(f"http://{ONION_A}/")
    with pytest.raises(TorRequired) as info:
        mw.process_request(request)
    assert str(info.value) == (f"refusing http://{ONION_A}/: .onion hosts are only fetched through Tor "
                               "and BRANDHOUND_TOR_SOCKS is not set")
    with pytest.raises(TorRequired, match="Tor-only hosts are only fetched through Tor"):
        mw.process_request(Request("https://paste.example.org/"))
    with pytest.raises(TorRequired, match="requests marked tor"):
        mw.process_request(Request("https://example.com/", meta={"tor": True}))
    assert mw.crawler.stats.get_value("brandhound/tor/refused") == 3
    clear = Request("https://example.com/")
    assert mw.process_request(clear) is None and "tor" not in clear.meta


def test_browser_captures_over_tor_use_the_tor_context_or_are_refused():
    request = Request(f"http://{ONION_A}/", meta=capture_meta())
    with pytest.raises(TorRequired, match="BRANDHOUND_TOR_BROWSER_SOCKS is not set"):
        _route(_spider(), BRANDHOUND_TOR_SOCKS="127.0.0.1:9050").process_request(request)
    mw = _route(_spider(), BRANDHOUND_TOR_SOCKS="127.0.0.1:9050", BRANDHOUND_TOR_BROWSER_SOCKS="127.0.0.1:9150")
    request = Request(f"http://{ONION_A}/", meta=capture_meta())
    mw.process_request(request)
    assert request.meta["playwright_context"] == TOR_CAPTURE_CONTEXT
    assert request.meta["playwright_context_kwargs"]["proxy"] == {"server": "socks5://127.0.0.1:9150"}
    clear = Request("https://example.com/", meta=capture_meta())
    mw.process_request(clear)
    assert clear.meta["playwright_context"] == "capture" and "playwright_context_kwargs" not in clear.meta


@pytest.mark.parametrize(("value", "expected"), [
    ("127.0.0.1:9050", ("127.0.0.1", 9050)), ("socks5h://127.0.0.1:9150", ("127.0.0.1", 9150)),
    ("[::1]:9050", ("::1", 9050)), (("127.0.0.1", "9050"), ("127.0.0.1", 9050)), ("", None), (None, None)])
def test_parse_socks(value, expected):
    assert parse_socks(value) == expected


@pytest.mark.parametrize("value", ["127.0.0.1", "http://127.0.0.1:8080", "127.0.0.1:0", "127.0.0.1:port"])
def test_parse_socks_refuses_what_is_not_a_socks_port(value):
    with pytest.raises(ValueError, match="BRANDHOUND_TOR_SOCKS"):
        parse_socks(value)


def test_the_project_places_tor_routing_before_the_ssrf_guard_and_egress():
    mws = project.DOWNLOADER_MIDDLEWARES
    tor = mws["crawlers.middlewares.tor_route.TorRouteMiddleware"]
    assert tor < mws["crawlers.middlewares.ssrf.SsrfGuardMiddleware"] < mws["crawlers.middlewares.egress.EgressProxyMiddleware"]
    assert project.BRANDHOUND_TOR_SOCKS == "" and project.BRANDHOUND_TOR_ONLY_HOSTS == []


def test_runner_turns_egress_tor_fields_into_settings():
    from crawlers.runner import Egress, crawl_settings

    settings = crawl_settings(Egress(tor_socks="127.0.0.1:9050", tor_browser_socks="127.0.0.1:9150"))
    assert settings.get("BRANDHOUND_TOR_SOCKS") == "127.0.0.1:9050"
    assert settings.get("BRANDHOUND_TOR_BROWSER_SOCKS") == "127.0.0.1:9150"
    assert crawl_settings(Egress()).get("BRANDHOUND_TOR_SOCKS") == ""


# --------------------------------------------------------------------------- egress and SSRF skip Tor


def test_egress_proxy_is_never_applied_to_tor_requests():
    crawler = _crawler(_spider(tor_only=["paste.example.org"]), BRANDHOUND_TOR_SOCKS="127.0.0.1:9050",
                       BRANDHOUND_EGRESS_PROXY="http://proxy.internal:3128")
    route, egress = TorRouteMiddleware.from_crawler(crawler), EgressProxyMiddleware.from_crawler(crawler)
    for url in (f"http://{ONION_A}/", "https://paste.example.org/"):
        request = Request(url)
        route.process_request(request)
        egress.process_request(request)
        assert request.meta["tor"] and request.meta["proxy"] is None, url
    clear = Request("https://example.com/")
    route.process_request(clear)
    egress.process_request(clear)
    assert clear.meta["proxy"] == "http://proxy.internal:3128" and "tor" not in clear.meta
    # a spider-made tor request is skipped by egress even before routing
    marked = Request("https://example.com/", meta={"tor": True})
    egress.process_request(marked)
    assert "proxy" not in marked.meta


@pytest.fixture
def lookups(monkeypatch):
    """Every name given to the local resolver; answers a public address without any DNS."""
    seen: list[str] = []

    def recording_getaddrinfo(host, *args, **kwargs):
        seen.append(str(host))
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 0))]

    def recording_gethostbyname(host):
        seen.append(str(host))
        return "93.184.215.14"

    monkeypatch.setattr(socket, "getaddrinfo", recording_getaddrinfo)
    monkeypatch.setattr(socket, "gethostbyname", recording_gethostbyname)
    return seen


def _run_chain(crawler, request):
    """TorRoute (40), then the SSRF guard (50), then egress (700), as the downloader would."""
    TorRouteMiddleware.from_crawler(crawler).process_request(request)
    asyncio.run(SsrfGuardMiddleware.from_crawler(crawler).process_request(request))
    try:
        EgressProxyMiddleware.from_crawler(crawler).process_request(request)
    except Exception:  # noqa: BLE001  (NotConfigured without an egress proxy)
        pass


def test_ssrf_guard_never_resolves_onion_or_tor_routed_names(lookups):
    crawler = _crawler(_spider(tor_only=["paste.example.org"]), BRANDHOUND_TOR_SOCKS="127.0.0.1:9050",
                       BRANDHOUND_EGRESS_PROXY="http://proxy.internal:3128")
    for url in (f"http://{ONION_A}/", f"https://www.{ONION_B}/x", "https://paste.example.org/raw/1",
                "http://mirror.example.com/"):
        meta = {"tor": True} if "mirror" in url else {}
        _run_chain(crawler, Request(url, meta=meta))
    assert lookups == []
    # the recorder works: a clearnet name is resolved by the guard
    _run_chain(crawler, Request("https://shop.example.com/"))
    assert lookups == ["shop.example.com"]


def test_ssrf_guard_still_refuses_literal_internal_addresses_over_tor(lookups):
    guard = SsrfGuardMiddleware.from_crawler(_crawler(_spider()))
    with pytest.raises(SsrfRefused, match="non-public address 10.0.0.5"):
        asyncio.run(guard.process_request(Request("http://10.0.0.5/", meta={"tor": {"socks": ("127.0.0.1", 9050)}})))
    assert lookups == []


def test_socks_proxy_from_meta():
    proxy = socks_proxy_from_meta({"socks": ("127.0.0.1", 9050), "username": "bh-1", "password": "pw"})
    assert proxy == SocksProxy("127.0.0.1", 9050, "bh-1", "pw")
    assert proxy.pool_key() != SocksProxy("127.0.0.1", 9050, "bh-2", "pw").pool_key()
    with pytest.raises(TorRouteError, match="TorRouteMiddleware"):
        socks_proxy_from_meta(True)


# --------------------------------------------------------------------------- the SOCKS5h handshake


class _Recorder(Protocol):
    def __init__(self):
        self.data = b""
        self.lost = None

    def dataReceived(self, data):
        self.data += data

    def connectionLost(self, reason=None):
        self.lost = reason


def _connect(proxy=SocksProxy("127.0.0.1", 9050, "bh-key", "pw"), host=ONION_A, port=80, timeout=30.0):
    reactor = MemoryReactorClock()
    endpoint = SocksClientEndpoint(reactor, proxy, host, port, timeout=timeout)
    results: list = []
    d = endpoint.connect(Factory.forProtocol(_Recorder))
    d.addBoth(results.append)
    host_, port_, factory, tcp_timeout, _ = reactor.tcpClients[0]
    assert (host_, port_, tcp_timeout) == ("127.0.0.1", 9050, timeout)  # only the proxy is connected to
    transport = StringTransport()
    proto = factory.buildProtocol(None)
    proto.makeConnection(transport)
    return reactor, proto, transport, results, d, factory


def _reply(code: int) -> bytes:
    return b"\x05" + bytes([code]) + b"\x00\x01" + b"\x00" * 4 + b"\x00\x00"


def test_handshake_sends_credentials_and_the_name_unresolved_then_hands_over(lookups):
    reactor, proto, transport, results, _d, _f = _connect()
    assert transport.value() == b"\x05\x01\x02"  # username/password only: isolation is not optional
    transport.clear()
    proto.dataReceived(b"\x05\x02")
    assert transport.value() == b"\x01\x06bh-key\x02pw"
    transport.clear()
    proto.dataReceived(b"\x01\x00")
    name = ONION_A.encode()
    assert transport.value() == b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack(">H", 80)
    assert results == []
    proto.dataReceived(_reply(0x00) + b"HTTP/1.1 200 OK\r\n")  # the reply and the first bytes of the response
    (inner,) = results
    assert isinstance(inner, _Recorder) and inner.transport is transport
    assert inner.data == b"HTTP/1.1 200 OK\r\n"
    proto.dataReceived(b"more")
    assert inner.data.endswith(b"more")
    reactor.advance(60)  # the handshake timer is gone once the connection is open
    assert not transport.disconnecting
    assert lookups == []


@pytest.mark.parametrize(("code", "kind", "text"), [
    (0xF0, SocksError, "onion service descriptor can not be found (reply 0xf0)"),
    (0xF2, SocksError, "onion service introduction failed"),
    (0xF3, SocksError, "rendezvous failed"),
    (0xF7, SocksError, "introduction timed out"),
    (0x06, SocksError, "TTL expired"),
    (0x04, SocksError, "host unreachable"),
    (0xF6, SocksRequestRefused, "onion service invalid address (reply 0xf6)"),
    (0xF4, SocksRequestRefused, "missing client authorization"),
])
def test_socks_replies_become_clear_errors(code, kind, text):
    _reactor, proto, transport, results, _d, _f = _connect()
    proto.dataReceived(b"\x05\x02")
    proto.dataReceived(b"\x01\x00")
    proto.dataReceived(_reply(code))
    (failure,) = results
    assert isinstance(failure, Failure) and type(failure.value) is kind
    assert f"could not connect to {ONION_A}:80" in str(failure.value) and text in str(failure.value)
    assert failure.value.code == code
    assert transport.disconnecting or getattr(transport, "disconnected", False)


def test_retryable_socks_errors_are_what_scrapy_retries():
    from scrapy.downloadermiddlewares.retry import RetryMiddleware
    from scrapy.utils.misc import load_object

    crawler = get_crawler(settings_dict={"RETRY_ENABLED": True})
    retry = RetryMiddleware.from_crawler(crawler)
    exceptions = tuple(load_object(e) if isinstance(e, str) else e for e in crawler.settings.getlist("RETRY_EXCEPTIONS"))
    assert retry is not None
    assert isinstance(SocksError("x", 0xF0), exceptions) and isinstance(SocksProxyUnreachable("x"), exceptions)
    assert isinstance(SocksTimeout("x"), exceptions)
    assert not isinstance(SocksRequestRefused("x", 0xF6), exceptions)


def test_refused_socks_port_and_handshake_timeout_and_cancel():
    from twisted.internet.error import ConnectionRefusedError

    reactor = MemoryReactorClock()
    endpoint = SocksClientEndpoint(reactor, SocksProxy("127.0.0.1", 9050, "u", "p"), ONION_A, 80, timeout=5)
    results: list = []
    endpoint.connect(Factory.forProtocol(_Recorder)).addBoth(results.append)
    connector = reactor.connectors[0]
    reactor.tcpClients[0][2].clientConnectionFailed(connector, Failure(ConnectionRefusedError()))
    (failure,) = results
    assert failure.check(SocksProxyUnreachable)
    assert str(failure.value) == "Tor SOCKS port 127.0.0.1:9050: connection refused — is tor running?"

    reactor, proto, transport, results, _d, _f = _connect(timeout=5)
    proto.dataReceived(b"\x05\x02")
    reactor.advance(5.1)
    (failure,) = results
    assert failure.check(SocksTimeout) and "within 5 s" in str(failure.value)

    reactor, proto, transport, results, d, _f = _connect(timeout=5)
    d.cancel()
    (failure,) = results
    from twisted.internet.defer import CancelledError

    assert failure.check(CancelledError)


def test_without_credentials_no_auth_is_offered_and_a_proxy_wanting_auth_is_an_error():
    _reactor, proto, transport, results, _d, _f = _connect(proxy=SocksProxy("127.0.0.1", 9050))
    assert transport.value() == b"\x05\x01\x00"
    proto.dataReceived(b"\x05\xff")
    (failure,) = results
    assert failure.check(SocksError) and "refused our authentication method" in str(failure.value)


def test_socks_agent_pools_connections_per_isolation_group():
    from twisted.internet.defer import Deferred

    from crawlers.tor.socks import SocksAgent

    class RecordingPool:
        persistent = True

        def __init__(self):
            self.calls = []

        def getConnection(self, key, endpoint):  # noqa: N802
            self.calls.append((key, endpoint))
            return Deferred()

    pool, reactor = RecordingPool(), MemoryReactorClock()
    for user in ("bh-a", "bh-b", "bh-a"):
        agent = SocksAgent.through(reactor, SocksProxy("127.0.0.1", 9050, user, "pw"), None, timeout=5, pool=pool)
        agent.request(b"GET", f"http://{ONION_A}/".encode())
    keys = [key for key, _ in pool.calls]
    assert keys[0] == (b"http", ONION_A.encode(), 80, "socks5h", "127.0.0.1", 9050, "bh-a", "pw")
    assert keys[0] != keys[1] and keys[0] == keys[2]
    assert repr(pool.calls[0][1]) == f"<SocksClientEndpoint {ONION_A}:80 via socks5h://127.0.0.1:9050>"
