"""The capture browser under the SSRF rules (sandbox setting off): a hostile page's redirects, frames,
images, scripts' fetches and popups towards internal addresses never connect; the page is still
captured; no Chromium process is left behind."""

from __future__ import annotations

import http.server
import threading
import uuid

from tests.support.paths import EXAMPLE_BRAND
from tests.integration.crawls import crawl_env
from tests.integration.fake_web import EgressProxy, QuietSite, crawl_process, finished_crawl, tagged_pids


class _Internal(QuietSite):
    """Stands for the crawler's LAN, 127.0.0.1 services and the metadata service: must never be hit."""

    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        _Internal.hits.append(self.path)
        self.answer(200, b"ok", "text/plain")


class _ScamSite(QuietSite):
    """The public web as the egress proxy reaches it: one scam host."""

    internal = ""

    def do_GET(self):  # noqa: N802
        path = self.path.split("scam-page.example", 1)[-1] or "/"
        if path.startswith("/go"):
            self.answer(302, location=f"http://{_ScamSite.internal}/admin")
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
            self.answer(200, page)
        else:
            self.answer(200, b"MZ-not-really", "application/octet-stream")




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
        proc = crawl_process("surface", spec, env)
        summary, log = finished_crawl(proc)
    finally:
        for server in (internal, site, proxy):
            server.shutdown()
    assert _Internal.hits == [], f"the browser reached internal addresses: {_Internal.hits}"
    inward = [a for a in proxy.asked if "127.0.0.1" in a or "169.254" in a or "metadata" in a or "rebinds" in a]
    assert inward == [], f"the egress proxy was asked for internal targets: {inward}"
    assert any("scam-page.example" in a for a in proxy.asked), proxy.asked
    # image, fetch, popup, the redirect's target (127.0.0.1), the two frames (169.254.169.254, 10.1.2.3)
    assert summary.get("brandhound/ssrf_refused_in_browser", 0) >= 4, summary
    assert "SSRF guard refused the capture browser's connection to metadata.example:80" in log
    assert summary.get("item_scraped_count", 0) >= 1, "the scam page itself is still captured"
    assert tagged_pids(tag) == set(), "Playwright or Chromium processes were left behind"
