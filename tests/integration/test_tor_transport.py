"""Crawling onion services over the sandbox's real Tor network with brandhound's download handler
(SOCKS5h, isolation per onion site), and the stem-driven TorManager against the client's
ControlPort. Crawls run in subprocesses (a Twisted reactor cannot restart). Needs Debian's tor.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawlers.middlewares.tor_route import isolation_key
from crawlers.tor import NewnymRateLimited, TorBootstrapTimeout, TorControlError, TorManager
from sandbox.local_http import QuietSite, serve
from sandbox.processes import free_ports as _free_ports
from tests.polling import poll
from tests.support.tor import BIG_BODY_BYTES, SITE_PAGES

pytestmark = [pytest.mark.filterwarnings("ignore:setDaemon:DeprecationWarning")]  # stem 1.8's threads

ROOT = Path(__file__).resolve().parents[2]

#: A crawl in its own process. Records every name given to the local resolver *before* Twisted,
#: asyncio or Scrapy are imported (Twisted binds socket.getaddrinfo at import time).
CRAWL_SCRIPT = r'''
import json, socket, sys, time

LOOKUPS = []
_real_getaddrinfo, _real_gethostbyname, _real_gethostbyname_ex = socket.getaddrinfo, socket.gethostbyname, socket.gethostbyname_ex

def _getaddrinfo(host, *a, **k):
    LOOKUPS.append(str(host)); return _real_getaddrinfo(host, *a, **k)

def _gethostbyname(host):
    LOOKUPS.append(str(host)); return _real_gethostbyname(host)

def _gethostbyname_ex(host):
    LOOKUPS.append(str(host)); return _real_gethostbyname_ex(host)

socket.getaddrinfo, socket.gethostbyname, socket.gethostbyname_ex = _getaddrinfo, _gethostbyname, _gethostbyname_ex

import scrapy
from scrapy.crawler import CrawlerProcess
from crawlers.runner import Egress, crawl_settings

cfg = json.loads(sys.argv[1])
RESULTS = []
T0 = time.monotonic()


class TorProbe(scrapy.Spider):
    name = "tor_probe"
    job_id = cfg["job_id"]

    async def start(self):
        for spec in cfg["requests"]:
            yield self.make(spec)

    def make(self, spec):
        meta = dict(spec.get("meta", {}))
        if spec.get("capture"):
            from crawlers.browser import capture_meta
            meta.update(capture_meta())
        return scrapy.Request(spec["url"], meta=meta, dont_filter=True,
                              callback=self.parse, errback=self.failed, cb_kwargs={"then": spec.get("then", [])})

    def parse(self, response, then):
        tor = response.request.meta.get("tor") or {}
        from crawlers.browser import screenshot_from
        shot = screenshot_from(response.request.meta)
        RESULTS.append({"url": response.url, "status": response.status, "body": response.text,
                        "username": tor.get("username"), "proxy": response.request.meta.get("proxy"),
                        "context": response.request.meta.get("playwright_context"),
                        "screenshot_png": bool(shot and shot.startswith(b"\x89PNG")),
                        "t": time.monotonic() - T0})
        for spec in then:
            yield self.make(spec)

    def failed(self, failure):
        RESULTS.append({"url": failure.request.url, "error": type(failure.value).__name__,
                        "message": str(failure.value), "t": time.monotonic() - T0,
                        "retries": failure.request.meta.get("retry_times", 0)})


egress = Egress(tor_socks=cfg["tor_socks"], allow_private=cfg.get("allow_private", False))
overrides = {"ITEM_PIPELINES": {}, "SPIDER_MODULES": [], "AUTOTHROTTLE_ENABLED": False, "LOG_LEVEL": "INFO",
             "TELNETCONSOLE_ENABLED": False, **cfg.get("settings", {})}
process = CrawlerProcess(crawl_settings(egress, overrides), install_root_handler=True)
crawler = process.create_crawler(TorProbe)
process.crawl(crawler)
process.start()
stats = {k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, (int, float, str))}
print("RESULT " + json.dumps({"results": RESULTS, "lookups": LOOKUPS, "stats": stats}))
'''


def run_crawl(tmp_path: Path, cfg: dict, timeout: float = 240) -> tuple[dict, str]:
    script = tmp_path / "tor_crawl.py"
    script.write_text(CRAWL_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(var, None)
    proc = subprocess.run([sys.executable, str(script), json.dumps(cfg)], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=timeout)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    line = next(line for line in reversed(proc.stdout.splitlines()) if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):]), log


def by_url(results: list[dict]) -> dict[str, dict]:
    return {r["url"]: r for r in results}


def test_tor_is_installed():
    # A missing tor fails loudly here (./brandhound.sh installs it), never a silent skip.
    assert shutil.which("tor") and Path("/usr/bin/tor").exists(), "Debian's tor package is missing: apt-get install tor"


# --------------------------------------------------------------------------- crawling onions


def test_crawl_fetches_two_onions_over_separate_circuits_without_local_dns(tor_network, tmp_path):
    from stem.control import EventType

    shop, forum = tor_network.onion_address("shop"), tor_network.onion_address("forum")
    job_id = f"tor-test-{secrets.token_hex(4)}"
    streams: dict[str, dict] = {}  # stream id -> {"target", "circ"}
    circ_users: dict[str, str] = {}  # circuit id -> SOCKS username (CIRC events)

    def on_stream(event):
        entry = streams.setdefault(event.id, {})
        entry["target"] = event.target_address
        if event.status == "SUCCEEDED":
            entry["circ"] = event.circ_id

    def on_circ(event):
        if getattr(event, "socks_username", None):
            circ_users[event.id] = event.socks_username

    page_specs = lambda host: [{"url": f"http://{host}{path}"} for path in ("/p2", "/p3")]  # noqa: E731
    bad_onion = "a" * 56 + ".onion"  # not a valid v3 address (checksum): Tor answers 0xF6 at once
    cfg = {
        "job_id": job_id, "tor_socks": f"127.0.0.1:{tor_network.client_socks_port}",
        "settings": {"DOWNLOAD_MAXSIZE": 100_000, "DOWNLOAD_WARNSIZE": 0, "DOWNLOAD_TIMEOUT": 90, "RETRY_TIMES": 3},
        "requests": [
            {"url": f"http://{shop}/", "then": page_specs(shop) + [
                {"url": f"http://{shop}/big"},
                {"url": f"http://{shop}/slow", "meta": {"download_timeout": 3, "dont_retry": True}}]},
            {"url": f"http://{forum}/", "then": page_specs(forum)},
            {"url": f"http://{bad_onion}/"},
            # a clearnet name the SSRF guard resolves (and refuses): proves the recorder sees that resolver
            {"url": "http://localhost:1/"},
        ],
    }
    with tor_network.controller() as ctl:
        ctl.add_event_listener(on_stream, EventType.STREAM)
        ctl.add_event_listener(on_circ, EventType.CIRC)
        out, log = run_crawl(tmp_path, cfg)
        results = by_url(out["results"])

        # Bodies arrived, from the right site, keyed by the site's isolation key, with no HTTP proxy.
        for name, host in (("shop", shop), ("forum", forum)):
            for path, body in SITE_PAGES[name].items():
                got = results.get(f"http://{host}{path}")
                assert got and got.get("status") == 200, (path, got, log[-4000:])
                assert got["body"].encode() == body
                assert got["username"] == isolation_key(host, job_id) and got["proxy"] is None
        # download_maxsize and per-request timeouts work over SOCKS as they do directly.
        big = results[f"http://{shop}/big"]
        assert big["error"] == "DownloadCancelledError" and str(BIG_BODY_BYTES) in big["message"], big
        slow = results[f"http://{shop}/slow"]
        assert slow["error"] == "DownloadTimeoutError" and "longer than 3" in slow["message"], slow
        # Tor's ExtendedErrors arrive as a clear error, not retried (a retry cannot fix the address).
        bad = results[f"http://{bad_onion}/"]
        assert bad["error"] == "SocksRequestRefused" and "onion service invalid address (reply 0xf6)" in bad["message"]
        assert bad["retries"] == 0
        # No .onion name (nor anything else) went to the local resolver in the crawl process.
        assert not [h for h in out["lookups"] if ".onion" in h.lower()], out["lookups"]
        assert set(out["lookups"]) == {"localhost"}, out["lookups"]
        assert results["http://localhost:1/"]["error"] == "SsrfRefused"
        assert out["stats"].get("brandhound/tor/routed", 0) >= 9

        # The two onion sites were fetched over different circuits, each isolated by its own username.
        def circuits_of(host):
            short = host.removesuffix(".onion")
            return {s["circ"] for s in streams.values() if s.get("circ") and s["target"].removesuffix(".onion") == short}

        shop_circs, forum_circs = poll(lambda: (circuits_of(shop), circuits_of(forum)) if circuits_of(shop)
                                       and circuits_of(forum) else None, 10, "STREAM events of both onions")
        for circ in shop_circs | forum_circs:
            if circ not in circ_users:  # the event may predate the username; ask Tor for the circuit
                circ_users.update({c.id: c.socks_username for c in ctl.get_circuits() if c.socks_username})
        assert shop_circs.isdisjoint(forum_circs), (shop_circs, forum_circs)
        assert {circ_users.get(c) for c in shop_circs} == {isolation_key(shop, job_id)}
        assert {circ_users.get(c) for c in forum_circs} == {isolation_key(forum, job_id)}


@pytest.fixture
def https_site(tmp_path):
    """An HTTPS server on 127.0.0.1 with a self-signed certificate (reached through Tor's exit)."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True, timeout=60)

    class Handler(QuietSite):
        def do_GET(self):  # noqa: N802
            self.answer(200, b"<html><body>tls over tor</body></html>")

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = serve(Handler, tls=context)
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_https_to_a_tor_only_host_goes_through_the_exit_with_tls_over_socks(tor_network, https_site, onion_sites,
                                                                            tmp_path):
    from stem.control import EventType

    targets: list[tuple[str, int]] = []
    with tor_network.controller() as ctl:
        ctl.add_event_listener(lambda e: e.status == "SUCCEEDED" and targets.append((e.target_address, e.target_port)),
                               EventType.STREAM)
        url = f"https://127.0.0.1:{https_site}/"
        direct = f"http://localhost:{onion_sites['forum'].server_address[1]}/p2"  # in the same crawl, not Tor-only
        out, log = run_crawl(tmp_path, {
            "job_id": "tor-https", "tor_socks": f"127.0.0.1:{tor_network.client_socks_port}", "allow_private": True,
            "settings": {"BRANDHOUND_TOR_ONLY_HOSTS": ["127.0.0.1"], "RETRY_TIMES": 6, "DOWNLOAD_TIMEOUT": 30},
            "requests": [{"url": url}, {"url": direct}]})
        got = by_url(out["results"])[url]
        assert got.get("status") == 200 and "tls over tor" in got["body"], (got, log[-4000:])
        assert got["username"] == isolation_key("127.0.0.1", "tor-https") and got["proxy"] is None
        plain = by_url(out["results"])[direct]
        assert plain.get("status") == 200 and plain["username"] is None, plain  # clearnet stays direct
        # Tor reports the exit stream's target as "127.0.0.1.<exit fingerprint>.exit"
        assert poll(lambda: [t for t in targets if t[1] == https_site and t[0].startswith("127.0.0.1")], 10,
                    "the STREAM event of the exit fetch")
    # Only the direct request's name was resolved locally (by Twisted): never the Tor-routed one, nor the
    # SOCKS port's address (a literal).
    assert set(out["lookups"]) == {"localhost"}, out["lookups"]


def test_browser_capture_of_an_onion_goes_through_tor(tor_network, tmp_path):
    assert shutil.which("chromium") or os.environ.get("BRANDHOUND_CHROMIUM"), "Chromium is missing"
    shop = tor_network.onion_address("shop")
    out, log = run_crawl(tmp_path, {
        "job_id": "tor-browser", "tor_socks": f"127.0.0.1:{tor_network.client_socks_port}",
        "settings": {"BRANDHOUND_TOR_BROWSER_SOCKS": f"127.0.0.1:{tor_network.browser_socks_port}",
                     "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": 90_000, "DOWNLOAD_TIMEOUT": 120, "RETRY_TIMES": 3},
        "requests": [{"url": f"http://{shop}/", "capture": True}]})
    got = by_url(out["results"]).get(f"http://{shop}/")
    assert got and got.get("status") == 200, (out["results"], log[-4000:])
    assert "Kestrava outlet" in got["body"] and got["screenshot_png"]
    assert got["context"] == "tor_capture"
    assert out["stats"].get("playwright/browser_count") == 1
    assert not [h for h in out["lookups"] if ".onion" in h], out["lookups"]


def test_onion_requests_without_tor_are_refused_not_sent(tor_network, tmp_path):
    shop = tor_network.onion_address("shop")
    out, log = run_crawl(tmp_path, {"job_id": "no-tor", "tor_socks": None,
                                    "requests": [{"url": f"http://{shop}/"}]})
    (result,) = out["results"]
    assert result["error"] == "TorRequired", result
    assert result["message"] == (f"refusing http://{shop}/: .onion hosts are only fetched through Tor and "
                                 "BRANDHOUND_TOR_SOCKS is not set")
    assert out["stats"].get("downloader/request_count", 0) == 0
    assert not [h for h in out["lookups"] if ".onion" in h]


# --------------------------------------------------------------------------- the manager


@pytest.fixture
def manager(tor_network):
    tor = TorManager.attach(tor_network.control_port, cookie_path=tor_network.control_cookie_path, timeout=10)
    yield tor
    tor.close()


def test_manager_bootstrap_circuits_and_health(tor_network, manager):
    status = manager.wait_bootstrapped(deadline_s=30)
    assert status["progress"] == 100 and status["tag"] == "done"
    assert manager.socks_port in (tor_network.client_socks_port, tor_network.browser_socks_port)
    circuits = poll(lambda: [c for c in manager.circuits() if c.status == "BUILT"], 30, "a built circuit")
    assert all(c.id and c.path and c.purpose for c in circuits)
    assert any(c.socks_username for c in manager.circuits())  # the readiness checks' and crawls' isolation
    health = manager.health()
    json.dumps(health)
    assert health["reachable"] and health["bootstrap_progress"] == 100 and health["error"] is None
    assert health["circuits_established"] >= 1 and health["socks_port"] == manager.socks_port
    assert health["control"] == f"127.0.0.1:{tor_network.control_port}" and health["version"]


def test_manager_new_identity_respects_the_rate_limit(manager):
    first = manager.new_identity(max_wait_s=15)
    assert first["sent"] and manager.last_newnym == first["at"]
    with pytest.raises(NewnymRateLimited) as info:
        manager.new_identity(wait=False)
    assert 0 < info.value.wait_s <= 10 and "rate limited" in str(info.value)
    second = manager.new_identity(max_wait_s=15)  # waits out the limit (Tor's 10 s), then sends once
    assert second["sent"] and second["waited_s"] > 0 and second["at"] - first["at"] >= 9.5
    assert manager.health()["last_newnym"] == second["at"]


def test_manager_errors_name_the_port_and_the_problem(tor_network, tmp_path):
    (closed,) = _free_ports(1)  # nothing listens there
    started = time.monotonic()
    with pytest.raises(TorControlError, match=rf"^Tor control port 127\.0\.0\.1:{closed}: connection refused — is tor running\?$"):
        TorManager.attach(closed, timeout=5)
    bogus = tmp_path / "control_auth_cookie"
    bogus.write_bytes(secrets.token_bytes(32))
    with pytest.raises(TorControlError, match=rf"Tor control port 127\.0\.0\.1:{tor_network.control_port}: cookie authentication failed"):
        TorManager.attach(tor_network.control_port, cookie_path=bogus, timeout=5)
    with pytest.raises(TorControlError, match="cannot read the auth cookie"):
        TorManager.attach(tor_network.control_port, cookie_path=tmp_path / "missing", timeout=5)
    assert time.monotonic() - started < 10
    unreachable = TorManager(address="127.0.0.1", port=closed, timeout=5).health()
    assert unreachable["reachable"] is False and "connection refused — is tor running?" in unreachable["error"]


def _network_client_config(tor_network) -> dict[str, str | list[str]]:
    """The torrc options that make a tor a client of the sandbox network (not of the public one)."""
    lines = tor_network.nodes["client1"].torrc.read_text().splitlines()
    return {
        "TestingTorNetwork": "1", "DirAuthority": [line.split(" ", 1)[1] for line in lines if line.startswith("DirAuthority ")],
        "UseMicrodescriptors": "0", "AssumeReachable": "1", "PathsNeededToBuildCircuits": "0.25",
        "FetchDirInfoEarly": "1", "FetchDirInfoExtraEarly": "1", "LearnCircuitBuildTimeout": "0", "AddressDisableIPv6": "1",
    }


def test_manager_launches_its_own_tor_and_waits_for_bootstrap(tor_network, tmp_path):
    socks_port, control_port = _free_ports(2)
    tor = TorManager.launch(tmp_path / "tor-data", socks_port=socks_port, control_port=control_port,
                            config=_network_client_config(tor_network), start_timeout=60)
    try:
        pid = tor.process.pid
        status = tor.wait_bootstrapped(deadline_s=120)
        assert status["progress"] == 100
        health = tor.health()
        assert health["reachable"] and health["socks_port"] == socks_port and health["pid"] == pid
    finally:
        tor.close()
    assert tor.process.poll() is not None  # a launched tor is stopped by close()


def test_bootstrap_deadline_reports_the_last_phase(tmp_path):
    socks_port, control_port, dead_dir = _free_ports(3)
    fingerprint = "0" * 40
    tor = TorManager.launch(tmp_path / "tor-data", socks_port=socks_port, control_port=control_port, config={
        "TestingTorNetwork": "1", "DirAuthority": f"dead orport={dead_dir} v3ident={'1' * 40} 127.0.0.1:{dead_dir} {fingerprint}",
    })
    try:
        started = time.monotonic()
        expected = rf"Tor control port 127\.0\.0\.1:{control_port}: tor did not bootstrap within 3 s"
        with pytest.raises(TorBootstrapTimeout, match=expected) as info:
            tor.wait_bootstrapped(deadline_s=3)
        assert time.monotonic() - started < 8
        assert info.value.status["progress"] is not None and info.value.status["progress"] < 100
    finally:
        tor.close()


# Keep this the last test that uses tor_network: it stops the Tor client.
def test_stopped_tor_client_fails_fast_with_a_clear_error(tor_network, tmp_path):
    tor_network.kill("client1")
    shop = tor_network.onion_address("shop")
    out, log = run_crawl(tmp_path, {"job_id": "stopped", "tor_socks": f"127.0.0.1:{tor_network.client_socks_port}",
                                    "settings": {"RETRY_TIMES": 2}, "requests": [{"url": f"http://{shop}/"}]})
    (result,) = out["results"]
    assert result["error"] == "SocksProxyUnreachable", result
    assert result["message"] == (f"Tor SOCKS port 127.0.0.1:{tor_network.client_socks_port}: "
                                 "connection refused — is tor running?")
    assert out["stats"].get("retry/count") == 2  # retried (a restarted tor would have been used), then given up
    assert result["t"] < 10, result  # quickly, not after a timeout
    health = TorManager("127.0.0.1", tor_network.control_port, timeout=5).health()
    assert health["reachable"] is False and "connection refused — is tor running?" in health["error"]
