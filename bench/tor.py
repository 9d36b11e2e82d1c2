"""Onion crawling through the private Tor network: pages/s and success rate, with and without faults.

1. Starts a private Tor network (``sandbox.tor.TorNetwork``, 8 tor processes) with two onion
   services in front of one local HTTP server, and reports how long bootstrapping took.
2. ``clean``: a Scrapy crawl with brandhound's settings (Tor routing middleware, SOCKS5h download
   handler, the onion spiders' politeness ``TOR_CRAWL_SETTINGS``) fetches ``--pages`` distinct
   onion pages, half on each onion, in its own process.
3. ``faults``: the same crawl while the benchmark injects circuit failures: every
   ``--fault-interval`` seconds it closes every built circuit of the client through stem (streams
   on them die mid-flight), and it kills a middle relay at a third of the crawl and starts it
   again at two thirds.
4. ``peer``: the same pages fetched with a plain blocking SOCKS5 client (``sandbox.tor.socks``)
   from as many threads as the crawl has requests in flight, no faults: what Tor itself allows.

Reports onion pages per second, success rate (pages answered 200 / pages asked), retries and
circuits closed; target: success >= 99% with failures injected.

    .venv/bin/python bench/tor.py [--pages 1000] [--fault-interval 2] [--json FILE]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import scrapy  # noqa: E402

from sandbox.local_http import QuietSite, serve  # noqa: E402

SUCCESS_TARGET = 0.99
PAGE_BYTES = 4096


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# =========================================================================== the onion sites


class PageHandler(QuietSite):
    """``/page/<n>``: a small HTML page that names its number (so a mixed-up answer is caught)."""

    def do_GET(self) -> None:  # noqa: N802
        number = self.path.rsplit("/", 1)[-1]
        head = f"<html><head><title>page {number}</title></head><body><h1 id='n'>{number}</h1><p>"
        self.answer(200, (head + "x" * max(0, PAGE_BYTES - len(head) - 20) + "</p></body></html>").encode())


# =========================================================================== the crawl (child process)


class OnionPagesSpider(scrapy.Spider):
    name = "bench_onion_pages"

    def __init__(self, urls: list[str], **kwargs: Any):
        super().__init__(**kwargs)
        self.urls = urls
        self.ok: set[str] = set()
        self.wrong: list[str] = []

    async def start(self):
        for url in self.urls:
            yield scrapy.Request(url, callback=self.parse, errback=self.failed)

    def parse(self, response):
        number = response.css("#n::text").get()
        if response.status == 200 and number == response.url.rsplit("/", 1)[-1]:
            self.ok.add(response.url)
        else:
            self.wrong.append(response.url)

    def failed(self, failure) -> None:
        self.logger.warning("gave up on %s: %s", failure.request.url, failure.getErrorMessage()[:200])


def child_main(spec_path: str) -> int:
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    import crawlers.settings as project
    from crawlers.spiders.onion import TOR_CRAWL_SETTINGS

    spec = json.loads(Path(spec_path).read_text())
    settings = Settings()
    settings.setmodule(project, priority="project")
    settings.setdict({**TOR_CRAWL_SETTINGS, "ITEM_PIPELINES": {}, "LOG_LEVEL": "INFO",
                      "BRANDHOUND_TOR_SOCKS": spec["socks"], "BRANDHOUND_TOR_CONTROL": spec["control"],
                      "BRANDHOUND_TOR_CONTROL_COOKIE": spec["cookie"], "TELNETCONSOLE_ENABLED": False}, priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(OnionPagesSpider)
    process.crawl(crawler, urls=spec["urls"])
    process.start()
    stats = crawler.stats.get_stats()
    spider = crawler.spider
    Path(spec["out"]).write_text(json.dumps({
        "ok": len(spider.ok), "wrong": len(spider.wrong),
        "elapsed_s": float(stats.get("elapsed_time_seconds", 0)),
        "retries": stats.get("retry/count", 0), "retry_gave_up": stats.get("retry/max_reached", 0),
        "circuit_renewals": stats.get("brandhound/tor/circuit_renewals", 0),
        "newnym": stats.get("brandhound/tor/newnym", 0),
        "newnym_rate_limited": stats.get("brandhound/tor/newnym_rate_limited", 0),
        "requests": stats.get("downloader/request_count", 0),
        "exceptions": {k.rsplit("/", 1)[-1]: v for k, v in stats.items() if k.startswith("downloader/exception_type_count/")},
    }))
    return 0


# =========================================================================== parent


class CircuitBreaker(threading.Thread):
    """Closes every built circuit of the client every ``interval`` s; kills a relay at ``kill_at``
    of ``expected_s`` and starts it again at ``restart_at``."""

    def __init__(self, net, interval: float, expected_s: float):
        super().__init__(name="circuit-breaker", daemon=True)
        self.net, self.interval, self.expected_s = net, interval, expected_s
        self.closed = 0
        self.relay_events: list[str] = []
        self._halt = threading.Event()

    def run(self) -> None:
        from stem import CircStatus

        t0 = time.monotonic()
        killed = restarted = False
        with self.net.controller("client1") as controller:
            while not self._halt.wait(self.interval):
                for circ in controller.get_circuits():
                    if circ.status == CircStatus.BUILT:
                        try:
                            controller.close_circuit(circ.id)
                            self.closed += 1
                        except Exception:  # noqa: BLE001 - it closed by itself meanwhile
                            pass
                elapsed = time.monotonic() - t0
                if not killed and elapsed > self.expected_s / 3:
                    self.net.kill("relay1")
                    killed = True
                    self.relay_events.append(f"relay1 killed at {elapsed:.1f} s")
                elif killed and not restarted and elapsed > 2 * self.expected_s / 3:
                    self.net.restart("relay1")
                    restarted = True
                    self.relay_events.append(f"relay1 restarted at {time.monotonic() - t0:.1f} s")

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=60)


def crawl(work: Path, name: str, urls: list[str], net, timeout_s: float) -> dict[str, Any]:
    spec_path, out_path, log_path = work / f"{name}.spec.json", work / f"{name}.out.json", work / f"{name}.log"
    spec_path.write_text(json.dumps({"urls": urls, "socks": f"127.0.0.1:{net.client_socks_port}",
                                     "control": f"127.0.0.1:{net.control_port}", "cookie": str(net.control_cookie_path),
                                     "out": str(out_path)}))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    code = "import sys; from bench.tor import child_main; sys.exit(child_main(sys.argv[1]))"
    with open(log_path, "wb") as out:
        proc = subprocess.run([sys.executable, "-c", code, str(spec_path)], stdout=out, stderr=subprocess.STDOUT,
                              cwd=REPO_ROOT, env=env, timeout=timeout_s, check=False)
    if proc.returncode != 0 or not out_path.exists():
        raise RuntimeError(f"crawl {name} failed (exit {proc.returncode}); log: {log_path}")
    result = json.loads(out_path.read_text())
    result["pages"] = len(urls)
    result["success"] = round(result["ok"] / len(urls), 4)
    result["pages_per_s"] = round(result["ok"] / result["elapsed_s"], 2) if result["elapsed_s"] else 0.0
    return result


def peer(urls: list[str], socks_port: int, threads: int) -> dict[str, Any]:
    from sandbox.tor.socks import http_get

    def fetch(url: str) -> bool:
        try:
            return http_get(url, socks_port, username=url.split("/")[2], timeout=90).status == 200
        except OSError:
            return False

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        ok = sum(pool.map(fetch, urls))
    elapsed = time.monotonic() - t0
    return {"pages": len(urls), "ok": ok, "success": round(ok / len(urls), 4), "elapsed_s": round(elapsed, 2),
            "pages_per_s": round(ok / elapsed, 2), "threads": threads}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--fault-interval", type=float, default=2.0, help="seconds between circuit closures")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds allowed per crawl")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--keep", metavar="DIR", help="keep the work directory (network, logs) here")
    args = parser.parse_args()

    from crawlers.spiders.onion import TOR_CRAWL_SETTINGS
    from sandbox.tor.network import TorNetwork

    tmp = tempfile.TemporaryDirectory(prefix="bench-tor-")
    work = Path(args.keep) if args.keep else Path(tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    server = serve(PageHandler)  # the benchmark closes circuits under the crawl's feet
    port = server.server_address[1]
    net = TorNetwork(work / "net", onion_services={"a": port, "b": port})
    result: dict[str, Any] = {"benchmark": "tor", "pages": args.pages, "machine": {"cpus": os.cpu_count()},
                              "crawl_settings": TOR_CRAWL_SETTINGS}
    try:
        net.start(deadline_s=240)
        result["network"] = {"tor_processes": len(net.nodes), "bootstrap_s": round(net.bootstrap_seconds, 2),
                             "onion_ready_s": round(net.onion_ready_seconds, 2)}
        log(f"network: {len(net.nodes)} tor processes; client bootstrapped in {net.bootstrap_seconds:.1f} s, "
            f"onions answering after {net.onion_ready_seconds:.1f} s")
        onions = [net.onion_address("a"), net.onion_address("b")]
        urls = [f"http://{onions[i % 2]}/page/{i}" for i in range(args.pages)]
        clean = crawl(work, "clean", urls, net, args.timeout)
        log(f"clean:  {clean['ok']}/{clean['pages']} pages ({clean['success']:.1%}) in {clean['elapsed_s']:.1f} s "
            f"-> {clean['pages_per_s']:.1f} pages/s; {clean['retries']} retries")
        breaker = CircuitBreaker(net, args.fault_interval, expected_s=clean["elapsed_s"])
        breaker.start()
        try:
            faulty = crawl(work, "faults", [u + "?f" for u in urls], net, args.timeout)
        finally:
            breaker.stop()
        faulty.update({"circuits_closed": breaker.closed, "relay_events": breaker.relay_events,
                       "fault_interval_s": args.fault_interval})
        log(f"faults: {faulty['ok']}/{faulty['pages']} pages ({faulty['success']:.1%}) in {faulty['elapsed_s']:.1f} s "
            f"-> {faulty['pages_per_s']:.1f} pages/s; {faulty['retries']} retries, {breaker.closed} circuits closed, "
            f"{faulty['circuit_renewals']} site circuit renewals, {faulty['newnym']} NEWNYM "
            f"({faulty['newnym_rate_limited']} rate-limited), "
            f"{'; '.join(breaker.relay_events)}")
        in_flight = 2 * int(TOR_CRAWL_SETTINGS["CONCURRENT_REQUESTS_PER_DOMAIN"])
        baseline = peer([u + "?p" for u in urls], net.client_socks_port, threads=in_flight)
        log(f"peer:   plain SOCKS client, {in_flight} threads: {baseline['ok']}/{baseline['pages']} pages in "
            f"{baseline['elapsed_s']:.1f} s -> {baseline['pages_per_s']:.1f} pages/s")
        result.update({"clean": clean, "faults": faulty, "peer": baseline,
                       "ratio_clean_to_peer": round(clean["pages_per_s"] / baseline["pages_per_s"], 3)
                       if baseline["pages_per_s"] else None,
                       "target_success_with_faults": SUCCESS_TARGET,
                       "meets_target": faulty["success"] >= SUCCESS_TARGET})
    finally:
        net.stop()
        server.shutdown()
        if not args.keep:
            tmp.cleanup()
    print(json.dumps(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    n = result["network"]
    log(f"| onion crawl, {args.pages:,} pages over the private Tor network | clean {result['clean']['pages_per_s']:.1f} "
        f"pages/s, success {result['clean']['success']:.1%} | with circuit failures {result['faults']['pages_per_s']:.1f} "
        f"pages/s, success {result['faults']['success']:.1%} | plain SOCKS client {result['peer']['pages_per_s']:.1f} pages/s "
        f"| bootstrap {n['bootstrap_s']:.1f} s, onions ready {n['onion_ready_s']:.1f} s |")
    if not result["meets_target"]:
        log(f"note: success with faults {result['faults']['success']:.1%} is below the target {SUCCESS_TARGET:.0%}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
