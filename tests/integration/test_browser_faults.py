"""The capture browser failing under a crawl: a page whose script never yields, and Chromium killed
in the middle. The hanging page is recorded as failed, the pages the crash interrupted are fetched
again, the crawl finishes, and no Playwright or Chromium process is left."""

from __future__ import annotations

import http.server
import os
import pwd
import signal
import threading
import uuid

from tests.support.paths import EXAMPLE_BRAND
from tests.integration.crawls import crawl_env
from tests.integration.fake_web import EgressProxy, QuietSite, crawl_process, descendants, finished_crawl, tagged_pids
from tests.polling import poll

PAGES = 12


class _Shop(QuietSite):
    served: list[str] = []

    def do_GET(self):  # noqa: N802
        path = "/" + self.path.split("://", 1)[-1].split("/", 1)[-1]
        if path.startswith("/hang"):
            body = b"<html><head><title>busy</title><script>for (;;) {}</script></head><body>never</body></html>"
        elif path.startswith("/p/"):
            n = path.rsplit("/", 1)[-1]
            body = f"<html><head><title>Kestrava outlet {n}</title></head><body><h1>Kestrava -70% {n}</h1></body></html>".encode()
        else:
            body = b"not here"
        _Shop.served.append(path)
        self.answer(200 if path.startswith(("/p/", "/hang")) else 404, body)




def _browser_main(crawl_pid: int) -> int | None:
    """The crawl's top Chromium process (its parent is not a Chromium)."""
    tree = descendants(crawl_pid)
    for pid, name in tree.items():
        if "chrom" in name:
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    stat = fh.read()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            if "chrom" not in tree.get(ppid, ""):
                return pid
    return None


def test_a_hanging_page_and_a_crashed_browser_lose_nothing_and_leave_no_process(settings, tmp_path):
    _Shop.served.clear()
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Shop)
    proxy = EgressProxy(site.server_address[1])
    for server in (site, proxy):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    spec = {
        "brand": str(EXAMPLE_BRAND),
        "proxy": f"http://127.0.0.1:{proxy.server_address[1]}",
        "overrides": {"shop-faults.example": "93.184.215.14"},
        "seeds": ["http://shop-faults.example/hang"] + [f"http://shop-faults.example/p/{i}" for i in range(PAGES)],
        # One page at a time, so that the kill lands on a capture in progress; a short navigation timeout.
        "settings": {"PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": 8000, "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 1,
                     "CONCURRENT_REQUESTS": 2, "BRANDHOUND_OFFICIAL_REFERENCES": False},
    }
    env = crawl_env(settings, tmp_path)
    env["BRANDHOUND_TEST_TAG"] = tag = uuid.uuid4().hex
    proc = crawl_process("surface", spec, env)
    try:
        poll(lambda: sum(p.startswith("/p/") for p in _Shop.served) >= 3, 180, "the first captures")
        browser = poll(lambda: _browser_main(proc.pid), 30, "the crawl's Chromium")
        browser_uid = os.stat(f"/proc/{browser}").st_uid
        os.kill(browser, signal.SIGKILL)
        summary, err = finished_crawl(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        for server in (site, proxy):
            server.shutdown()
    assert summary["finish_reason"] == "finished"
    # A root crawl's browser runs as its own unprivileged user (with Chromium's sandbox); otherwise as the crawl's.
    expected_uid = pwd.getpwnam("brandhound-browser").pw_uid if os.geteuid() == 0 else os.geteuid()
    assert browser_uid == expected_uid != 0
    assert summary["playwright/browser_count"] >= 2, "a new browser was started after the crash"
    captured = summary["brandhound/sites/captured"]
    assert captured == PAGES, f"{captured} of {PAGES} pages captured; {summary['fetch_failed']}\n{err[-2000:]}"
    assert "fetch failed: http://shop-faults.example/hang" in err
    left = tagged_pids(tag)
    assert left == set(), "Playwright or Chromium processes were left behind"
    print(f"browser fault figures: {captured}/{PAGES} pages captured, {summary['playwright/browser_count']} browsers "
          f"started, hanging page failed, {len(left)} processes left")
