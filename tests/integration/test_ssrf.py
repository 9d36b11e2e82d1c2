"""The SSRF guard with the sandbox setting off: internal addresses are never contacted."""

import http.server
import json
import subprocess
import sys
import threading

from tests.support.paths import EXAMPLE_BRAND
from tests.integration.crawls import crawl_env
from tests.integration.fake_web import QuietSite, crawl_process, finished_crawl


class _Counting(QuietSite):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's naming)
        _Counting.hits.append(self.path)
        self.answer(200, b"<title>internal admin</title>")


def test_internal_addresses_are_refused_before_any_connection(settings, tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    seeds = [f"http://127.0.0.1:{port}/admin", "http://169.254.169.254/latest/meta-data/",
             f"http://[::ffff:127.0.0.1]:{port}/x", f"http://localhost:{port}/y"]
    env = crawl_env(settings, tmp_path)
    try:
        args = [sys.executable, "-m", "brandhound.commands", "crawl", "--brand", str(EXAMPLE_BRAND), "--spider", "marketplace"]
        for seed in seeds:
            args += ["--seed", seed]
        proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    finally:
        server.shutdown()
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert _Counting.hits == []
    assert summary["brandhound/ssrf_refused"] == len(seeds)
    assert "resolves to the non-public address 169.254.169.254" in proc.stderr
    assert "resolves to the non-public address 127.0.0.1" in proc.stderr


class _ScamProxy(QuietSite):
    """An egress proxy that is also the scam site: public-looking hosts whose pages redirect inwards."""

    hits: list[str] = []
    internal = ""

    def do_GET(self):  # noqa: N802
        _ScamProxy.hits.append(self.path)
        hops = {
            "http://scam-redirect.example/start": f"http://{_ScamProxy.internal}/admin",
            "http://scam-redirect.example/hop1": "http://scam-hop.example/hop2",
            "http://scam-hop.example/hop2": "http://169.254.169.254/latest/meta-data/",
            "http://scam-redirect.example/file": "file:///etc/passwd",
            "http://scam-redirect.example/rebind": "http://rebinds.example/x",
        }
        target = hops.get(self.path)
        self.answer(302 if target else 404, location=target)




def test_redirect_chains_and_non_http_schemes_into_internal_targets_are_refused(settings, tmp_path):
    """Public-looking pages (their names resolve to public addresses) redirect, directly or over
    hops, to 127.0.0.1, the metadata service, a name that resolves inwards and file:; seeds of
    file: and data: URLs too. Only the public hops reach the egress proxy; nothing internal does."""
    internal = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ScamProxy)
    for server in (internal, proxy):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    _Counting.hits.clear()
    _ScamProxy.hits.clear()
    _ScamProxy.internal = f"127.0.0.1:{internal.server_address[1]}"
    spec = {
        "brand": str(EXAMPLE_BRAND),
        "proxy": f"http://127.0.0.1:{proxy.server_address[1]}",
        # Public addresses as the guard's view of DNS; the egress proxy on 127.0.0.1 does the fetching.
        "overrides": {"scam-redirect.example": "93.184.215.14", "scam-hop.example": "1.1.1.1",
                      "rebinds.example": "10.0.0.5"},
        "seeds": ["http://scam-redirect.example/start", "http://scam-redirect.example/hop1",
                  "http://scam-redirect.example/file", "http://scam-redirect.example/rebind",
                  "file:///etc/passwd", "data:text/html,<title>x</title>"],
    }
    try:
        summary, log = finished_crawl(crawl_process("marketplace", spec, crawl_env(settings, tmp_path)))
    finally:
        internal.shutdown()
        proxy.shutdown()
    assert _Counting.hits == [], "the internal server was reached"
    assert sorted(_ScamProxy.hits) == sorted(["http://scam-redirect.example/start", "http://scam-redirect.example/hop1",
                                              "http://scam-hop.example/hop2", "http://scam-redirect.example/file",
                                              "http://scam-redirect.example/rebind"])
    # 127.0.0.1, 169.254.169.254 and 10.0.0.5 after redirects; the file: and data: seeds. A redirect
    # to file: is not even followed (Scrapy follows http(s) only): the 302 is the page's answer.
    assert summary["brandhound/ssrf_refused"] == 5, summary
    assert "fetch failed: http://scam-redirect.example/file: HttpError" in log
    for why in ("non-public address 127.0.0.1", "non-public address 169.254.169.254",
                "rebinds.example resolves to the non-public address 10.0.0.5", "scheme 'file' is never fetched",
                "scheme 'data' is never fetched"):
        assert why in log, why
