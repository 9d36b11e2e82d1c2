"""The capture browser under the SSRF rules (sandbox setting off): a hostile page's redirects, frames,
images, scripts' fetches and popups towards internal addresses never connect; the page is still
captured; no Chromium process is left behind."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
import uuid

from tests.conftest import EXAMPLE_BRAND
from tests.integration.crawls import crawl_env
from tests.integration.fake_web import EgressProxy, tagged_pids


class _Internal(http.server.BaseHTTPRequestHandler):
    """Stands for the crawler's LAN, 127.0.0.1 services and the metadata service: must never be hit."""

    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        _Internal.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class _ScamSite(http.server.BaseHTTPRequestHandler):
    """The public web as the egress proxy reaches it: one scam host."""

    internal = ""
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802
        path = self.path.split("scam-page.example", 1)[-1] or "/"
        if path.startswith("/go"):
            self._send(302, b"", location=f"http://{_ScamSite.internal}/admin")
        elif path == "/":
            page = f"""<!doctype html><html><head><title>Kestrava outlet -80%</title></head><body>
<h1>Kestrava outlet</h1>
<img src="http://{_ScamSite.internal}/img.png">
<iframe src="http://metadata.example/latest/meta-data/"></iframe>
<iframe src="http://rebinds.example/"></iframe>
<script>
fetch("http://{_ScamSite.internal}/fetch").catch(() => null);
window.open("http://{_ScamSite.internal}/popup");
const a = document.createElement("a"); a.href = "/payload.exe"; a.download = "payload.exe"; document.body.appendChild(a); a.click();
</script></body></html>""".encode()
            self._send(200, page, content_type="text/html; charset=utf-8")
        else:
            self._send(200, b"MZ-not-really", content_type="application/octet-stream")

    def _send(self, status: int, body: bytes, content_type: str = "text/plain", location: str | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


CRAWL = """
import json, sys
from pathlib import Path
from crawlers.runner import Egress, run_crawl
spec = json.loads(sys.argv[1])
summary = run_crawl("surface", Path(spec["brand"]), spec["seeds"],
                    Egress(proxy=spec["proxy"], host_overrides=spec["overrides"]), job_id="browser-egress")
print(json.dumps(summary, default=str))
"""


def test_hostile_page_cannot_send_the_capture_browser_inwards(settings, tmp_path):
    internal = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Internal)
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ScamSite)
    _ScamSite.internal = f"127.0.0.1:{internal.server_address[1]}"
    _Internal.hits.clear()
    proxy = EgressProxy(site.server_address[1])
    for server in (internal, site, proxy):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    spec = {
        "brand": str(EXAMPLE_BRAND),
        "proxy": f"http://127.0.0.1:{proxy.server_address[1]}",
        # The guard's view of DNS: the scam host is public; two names point inwards.
        "overrides": {"scam-page.example": "93.184.215.14", "metadata.example": "169.254.169.254",
                      "rebinds.example": "10.1.2.3"},
        "seeds": ["http://scam-page.example/", "http://scam-page.example/go"],
    }
    env = crawl_env(settings, tmp_path)
    env["BRANDHOUND_TEST_TAG"] = tag = uuid.uuid4().hex
    try:
        proc = subprocess.run([sys.executable, "-c", CRAWL, json.dumps(spec)], capture_output=True, text=True,
                              env=env, timeout=300)
    finally:
        for server in (internal, site, proxy):
            server.shutdown()
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert _Internal.hits == [], f"the browser reached internal addresses: {_Internal.hits}"
    inward = [a for a in proxy.asked if "127.0.0.1" in a or "169.254" in a or "metadata" in a or "rebinds" in a]
    assert inward == [], f"the egress proxy was asked for internal targets: {inward}"
    assert any("scam-page.example" in a for a in proxy.asked), proxy.asked
    # image, fetch, popup, the redirect's target (127.0.0.1), the two frames (169.254.169.254, 10.1.2.3)
    assert summary.get("brandhound/ssrf_refused_in_browser", 0) >= 4, summary
    assert "SSRF guard refused the capture browser's connection to metadata.example:80" in proc.stderr
    assert summary.get("item_scraped_count", 0) >= 1, "the scam page itself is still captured"
    assert tagged_pids(tag) == set(), "Playwright or Chromium processes were left behind"
