"""Crawl throughput (brandhound's full marketplace pipeline against a bare Scrapy spider) and
browser captures per minute with the memory of the crawl and its browser.

1. **Throughput.** Builds a sandbox web with ``--listings`` listings per marketplace (two
   marketplaces), serves it from its own process (``python -m sandbox.web.serve``), and crawls
   its marketplaces twice per round, each crawl in its own process:

   - ``full``: brandhound's ``marketplace`` spider with every pipeline (evidence, images,
     detector hook, Elasticsearch through the store) into throwaway indices;
   - ``bare``: a minimal Scrapy spider (below) that starts from the same URLs, follows the
     same result pages and listing links, and only reads each listing's title and price, on
     Scrapy's stock HTTP/1.1 handler: the peer the target is set against;
   - ``pooled``: the same spider on Scrapy's handler with brandhound's connection pool size
     (``crawlers.download_handler.KeepConnections``), so that full/pooled is the cost of the
     pipeline alone, without the pool's gain;
   - ``full-no-photos`` (with ``--no-photos-side``, a diagnostic): the full side without the
     listing-photo pipeline, to split the pipeline's cost into the photos' and the rest's.

   All run with the same concurrency, timeouts, retries and proxy (see ``FAIR``), over
   Scrapy's HTTP downloader. JavaScript-only listings are fetched by every side; brandhound's
   Chromium re-render of them is refused on the full side (``RefuseBrowserRender``), so no
   browser work is measured here. Rounds alternate the order (bare, pooled, full; then full,
   pooled, bare). Reports listing pages per second (listing pages / the crawl's
   ``elapsed_time_seconds``, spider open to close) for each side and the median ratios
   full/bare (target >= 0.7) and full/pooled, the same without the never-finishing page's
   tail, and fails when the sides did not fetch the same number of listing pages (within 1%).

2. **Browser.** Runs brandhound's ``surface`` spider (render, settle, full-page screenshot)
   on ``--captures`` URLs of the sandbox's official, fake-store and legitimate sites and their
   pages, each with a distinct ``?bench=<i>``, sampling every 0.5 s the memory (PSS and RSS from
   ``/proc``) of the crawl process and all its descendants (Playwright's driver, every Chromium
   process, found by process tree and by an environment tag). Reports captures per minute, peak
   memory, its growth after capture 50, and the Chromium processes left after the crawl exits.
   The stated bound: total PSS stays under 1,400 MiB, grows by less than 20% after capture 50
   (peak after it against the high-water mark up to it), and no Chromium process is left; the
   benchmark exits 1 when a run breaks it (or the listing counts differ).

    .venv/bin/python bench/crawl.py [--listings 2600] [--rounds 1] [--no-photos-side] [--captures 500] [--json FILE]

Uses the configured Elasticsearch cluster (by default the local node, started if needed).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import logging
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import scrapy  # noqa: E402
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler  # noqa: E402
from scrapy.exceptions import IgnoreRequest  # noqa: E402

from crawlers.download_handler import KeepConnections  # noqa: E402
from sandbox.processes import free_port, log_tail, python_env, start_process, terminate  # noqa: E402

PROFILE = REPO_ROOT / "examples" / "brands" / "kestrava" / "brand.yaml"

#: Same for both sides of the throughput comparison (and said in the output).
FAIR: dict[str, Any] = {
    "CONCURRENT_REQUESTS": 32,              # brandhound's default
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,    # brandhound's default (two marketplace hosts: 16 in flight)
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,          # brandhound's default is on; off for a fixed, equal concurrency
    "DOWNLOAD_TIMEOUT": 10,                 # the never-finishing page costs 2 x 10 s in one slot,
    "RETRY_TIMES": 1,                       # not 4 x 30 s
    "BRANDHOUND_RETRY_BACKOFF_S": 0,        # brandhound's retries wait; here they go at once, as the peer's do
}
#: brandhound's values of these are copied to the bare side, so only the pipeline differs.
SHARED_KEYS = ("USER_AGENT", "ROBOTSTXT_OBEY", "RETRY_ENABLED", "RETRY_HTTP_CODES", "REDIRECT_MAX_TIMES",
               "DOWNLOAD_MAXSIZE", "DOWNLOAD_WARNSIZE", "COOKIES_ENABLED", "TELNETCONSOLE_ENABLED",
               "CONCURRENT_ITEMS", "TWISTED_REACTOR", "LOG_LEVEL")

#: A single listing on either sandbox marketplace (bazaar: /item/<id>-<slug>, tori: /ilmoitus/<id>).
LISTING_PATH = re.compile(r"^/(item|ilmoitus)/[^/?#]+")
RESULTS_PATH = re.compile(r"^/(search$|c/|haku/|osasto/)")
RATIO_TARGET = 0.7
COUNT_TOLERANCE = 0.01

#: The stated browser bound: total PSS of the crawl process and all its browser processes (measured
#: on the 2-core development machine: about 1,050 MiB at peak, flat after the first captures), and
#: its growth after capture 50 (measured: under 5%).
MAX_PEAK_PSS_MIB = 1400
MAX_GROWTH_PCT = 20.0
SAMPLE_INTERVAL_S = 0.5
PSS_EVERY = 4  # PSS every 2 s, RSS every 0.5 s


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# =========================================================================== crawl processes
# Everything in this section runs in the child processes (one crawl per process).


class RefuseBrowserRender:
    """Downloader middleware for the full side: refuse brandhound's Chromium re-render of a
    JavaScript-only listing, so the throughput comparison is HTTP against HTTP. The listing page
    itself has been fetched over HTTP (and counted) before the spider asks for the re-render."""

    def process_request(self, request: scrapy.Request) -> None:
        if request.meta.get("playwright"):
            raise IgnoreRequest("bench: browser re-render disabled")
        return None


class PooledHTTP11DownloadHandler(KeepConnections, HTTP11DownloadHandler):
    """Scrapy's own HTTP/1.1 handler keeping as many idle connections per host as brandhound's
    does: the ``pooled`` peer, which separates the cost of brandhound's pipeline from the gain of
    its connection pool."""


class BareMarketSpider(scrapy.Spider):
    """The peer: same start URLs, same pagination (and its depth cap), same listing links;
    reads the title and price of each listing and yields a dict. No pipelines, no middlewares
    of brandhound's: the sandbox proxy is set in ``meta``."""

    name = "bare_market"

    def __init__(self, start_urls: list[str], proxy: str, max_result_pages: int = 50, listings: bool = True,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.start_urls = start_urls
        self.proxy = proxy
        self.max_result_pages = max_result_pages
        self.listings = listings  # False: result pages only (the warm-up)

    async def start(self):
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse_results, meta={"proxy": self.proxy}, cb_kwargs={"depth": 1})

    def parse_results(self, response, depth: int):
        for href in response.xpath("//a/@href").getall() if self.listings else ():
            url = response.urljoin(href)
            if LISTING_PATH.match(urlsplit(url).path):
                yield scrapy.Request(url, callback=self.parse_listing, meta={"proxy": self.proxy})
        if depth < self.max_result_pages:
            nxt = response.css("a[rel=next]::attr(href), a.seuraava::attr(href)").get()
            if nxt:
                yield response.follow(nxt, callback=self.parse_results, meta={"proxy": self.proxy},
                                      cb_kwargs={"depth": depth + 1})

    def parse_listing(self, response):
        title = response.css("h1::text").get()
        price = response.css(".price::text, .hinta::text").get()
        yield {"url": response.url, "title": title and title.strip(), "price": price and price.strip()}


class Probe:
    """Counts what a crawl fetched, by kind, from the ``response_received`` signal (both sides
    alike), and writes the number of items through the pipelines to a progress file."""

    def __init__(self, crawler, progress_path: str | None):
        from scrapy import signals

        self.listing_responses = 0
        self.listing_urls: set[str] = set()
        self.listing_status: Counter[int] = Counter()
        self.result_pages = self.images = self.browser = self.other = 0
        self.items = 0
        self.opened: float | None = None
        self.first_response: float | None = None
        self.last_response: float | None = None
        self.last_item: float | None = None
        self.progress = open(progress_path, "w") if progress_path else None  # noqa: SIM115
        crawler.signals.connect(self.response_received, signal=signals.response_received)
        crawler.signals.connect(self.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    def spider_opened(self, spider) -> None:
        self.opened = time.monotonic()

    def response_received(self, response, request, spider) -> None:
        now = time.monotonic()
        self.first_response = self.first_response or now
        self.last_response = now
        meta = request.meta if request is not None else {}
        path = urlsplit(response.url).path
        if meta.get("brandhound_image"):
            self.images += 1
        elif meta.get("playwright"):
            self.browser += 1
        elif LISTING_PATH.match(path):
            self.listing_responses += 1
            self.listing_urls.add(response.url)
            self.listing_status[response.status] += 1
        elif RESULTS_PATH.match(path):
            self.result_pages += 1
        else:
            self.other += 1

    def item_scraped(self, item, response, spider) -> None:
        self.items += 1
        self.last_item = time.monotonic()
        if self.progress is not None:
            self.progress.seek(0)
            self.progress.write(f"{self.items}\n")
            self.progress.flush()

    def summary(self) -> dict[str, Any]:
        return {
            "listing_responses": self.listing_responses, "listing_pages": len(self.listing_urls),
            "listing_status": {str(k): v for k, v in sorted(self.listing_status.items())},
            "result_pages": self.result_pages, "image_responses": self.images,
            "browser_responses": self.browser, "other_responses": self.other, "items": self.items,
            "fetch_window_s": (self.last_response - self.first_response) if self.first_response else 0.0,
            # Spider open to the last response or item, whichever is later: the crawl's work without
            # the wait on requests that never answer (the never-finishing page) and without closing.
            "work_s": (max(self.last_response or 0, self.last_item or 0) - self.opened) if self.opened else 0.0,
        }


def child_main(spec_path: str) -> int:
    """One crawl, described by a JSON spec; writes its stats and probe counts to ``spec["out"]``."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    spec = json.loads(Path(spec_path).read_text())
    # As crawlers.runner.run_crawl: Scrapy owns logging in a crawl process.
    logging.getLogger().handlers.clear()
    if spec["side"] == "bare":
        settings = Settings()
        settings.setdict(spec["settings"], priority="cmdline")
        process = CrawlerProcess(settings)
        crawler = process.create_crawler(BareMarketSpider)
        kwargs: dict[str, Any] = {"start_urls": spec["start_urls"], "proxy": spec["proxy"],
                                  "listings": spec.get("listings", True)}
    else:
        from crawlers.runner import crawl_settings
        from sandbox.egress import sandbox_egress

        egress = sandbox_egress({"ground_truth": spec["ground_truth"], "proxy_url": spec["proxy"]})
        process = CrawlerProcess(crawl_settings(egress, spec["settings"]))
        crawler = process.create_crawler(spec["spider"])
        kwargs = {"brand": spec["brand"], "seeds": spec["seeds"], "job_id": spec["job_id"]}
    probe = Probe(crawler, spec.get("progress"))
    process.crawl(crawler, **kwargs)
    process.start()
    stats = crawler.stats.get_stats()
    result = {"stats": json.loads(json.dumps(stats, default=str)), "probe": probe.summary()}
    Path(spec["out"]).write_text(json.dumps(result))
    return 0


# =========================================================================== /proc


def _stat(pid: int) -> tuple[str, str, int, int] | None:
    """(comm, state, ppid, session) of ``pid``, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    return comm, fields[0], int(fields[1]), int(fields[3])


def _all_pids() -> list[int]:
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


TAG_VAR = "BRANDHOUND_BENCH_TAG"


def _has_tag(pid: int, tag: bytes) -> bool:
    try:
        return tag in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


def process_group(root: int, tag: str, tag_cache: dict[int, bool] | None = None) -> dict[int, str]:
    """``root``, its descendants, and every process carrying ``tag`` in its environment: Chromium
    starts its browser in a new session and double-forks its crash handler (reparented to init), so
    neither the process tree nor the session finds all of a crawl's processes; the environment
    (inherited by all of them) does. Returns pid -> comm, zombies left out. ``tag_cache`` remembers
    which pids were checked, so a sampler reads each process's environment once."""
    table = {pid: st for pid in _all_pids() if (st := _stat(pid)) is not None}
    children: dict[int, list[int]] = {}
    for pid, (_, _, ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    members: set[int] = set()
    todo = [root] if root in table else []
    while todo:
        pid = todo.pop()
        if pid not in members:
            members.add(pid)
            todo.extend(children.get(pid, []))
    marker = f"{TAG_VAR}={tag}".encode()
    cache = {} if tag_cache is None else tag_cache
    for pid in table:
        if pid not in members and pid != os.getpid():
            if pid not in cache:
                cache[pid] = _has_tag(pid, marker)
            if cache[pid]:
                members.add(pid)
    return {pid: table[pid][0] for pid in members if table[pid][1] != "Z"}


def pss_kib(pid: int) -> int | None:
    """PSS of ``pid`` in KiB from smaps_rollup (costly: about 6 ms for a Chromium process), None if unreadable."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` in KiB (cheap), 0 if gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def is_chromium(comm: str) -> bool:
    return "chrom" in comm.lower() or comm.startswith("headless_shell")


class MemorySampler(threading.Thread):
    """Every ``interval`` s: the total RSS of the crawl's process group, how many of its processes
    are Chromium's, and how many captures the crawl has reported so far; every ``pss_every``-th
    sample also the total PSS (smaps_rollup costs about 6 ms per Chromium process: at every
    sample it would take a tenth of a core from the crawl it measures)."""

    def __init__(self, root: int, tag: str, progress: Path, interval: float = SAMPLE_INTERVAL_S,
                 pss_every: int = PSS_EVERY):
        super().__init__(name="memory-sampler", daemon=True)
        self.root, self.tag, self.progress, self.interval, self.pss_every = root, tag, progress, interval, pss_every
        self.samples: list[dict[str, Any]] = []
        self.cpu_seen: dict[int, float] = {}  # pid -> its CPU seconds when last sampled
        self._tag_cache: dict[int, bool] = {}
        self._halt = threading.Event()
        self.t0 = time.monotonic()

    def captures(self) -> int:
        try:
            return int(self.progress.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def kind(self, pid: int, comm: str) -> str:
        if is_chromium(comm):
            return "chromium"
        if pid == self.root:
            return "crawl (python)"
        return "playwright driver (node)" if comm.startswith("node") else comm

    def run(self) -> None:
        n = 0
        while not self._halt.is_set():
            group = process_group(self.root, self.tag, self._tag_cache)
            with_pss = n % self.pss_every == 0
            rss = pss = 0
            by_kind: Counter[str] = Counter()
            for pid, comm in group.items():
                self.cpu_seen[pid] = max(self.cpu_seen.get(pid, 0.0), proc_cpu_s(pid))
                rss += rss_kib(pid)
                if with_pss:
                    p = pss_kib(pid) or 0
                    pss += p
                    by_kind[self.kind(pid, comm)] += p
            if group:
                self.samples.append({
                    "t": time.monotonic() - self.t0, "captures": self.captures(), "rss_kib": rss,
                    "pss_kib": pss if with_pss else None, "pss_by_kind_kib": dict(by_kind) if with_pss else None,
                    "chromium": sum(1 for c in group.values() if is_chromium(c)), "procs": len(group)})
                n += 1
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


# =========================================================================== parent


def proc_cpu_s(pid: int) -> float:
    """utime + stime of ``pid`` in seconds (0 if gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def self_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def es_cpu_s(client) -> float | None:
    try:
        nodes = client.nodes.stats(metric="process")["nodes"].values()
        return sum(n["process"]["cpu"]["total_in_millis"] for n in nodes) / 1000
    except Exception:  # noqa: BLE001 - a remote cluster may not tell; then it is not reported
        return None


def machine_busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent not idle (all cores), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _process_cpu_table() -> dict[tuple[int, int], float]:
    """(pid, start time) -> CPU seconds so far, for every process on the machine."""
    table = {}
    tick = os.sysconf("SC_CLK_TCK")
    for pid in _all_pids():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[(pid, int(fields[19]))] = (int(fields[11]) + int(fields[12])) / tick
    return table


def _is_ours(pid: int, run_id: str) -> bool:
    """Started by this benchmark (tagged), this process, or Elasticsearch (measured on its own)."""
    if pid == os.getpid():
        return True
    try:
        marker = f"{TAG_VAR}={run_id}".encode()
        if any(v.startswith(marker) for v in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")):
            return True
        return b"org.elasticsearch" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


class CpuMeter:
    """CPU seconds used during a crawl by the crawl process (with the children it reaped: the
    browser), the sandbox server, Elasticsearch, this process, and by every other process on the
    machine ("other_processes", measured per process: a busy neighbour makes the figures
    unreliable, so it is reported; processes that start and end within the crawl are missed)."""

    def __init__(self, server_pid: int, client, run_id: str):
        self.server_pid, self.client, self.run_id = server_pid, client, run_id
        self.t0 = time.monotonic()
        self.procs = _process_cpu_table()
        self.start = (children_cpu_s(), proc_cpu_s(server_pid), es_cpu_s(client), machine_busy_cpu_s(), self_cpu_s())

    def stop(self) -> dict[str, float | None]:
        crawl, server = children_cpu_s(), proc_cpu_s(self.server_pid)
        es, busy = es_cpu_s(self.client), machine_busy_cpu_s()
        procs = _process_cpu_table()
        foreign = sum(cpu - self.procs.get(key, 0.0) for key, cpu in procs.items() if not _is_ours(key[0], self.run_id))
        out: dict[str, float | None] = {
            "wall": round(time.monotonic() - self.t0, 1), "crawl": round(crawl - self.start[0], 1),
            "sandbox_server": round(server - self.start[1], 1),
            "elasticsearch": round(es - self.start[2], 1) if es is not None and self.start[2] is not None else None,
            "bench_itself": round(self_cpu_s() - self.start[4], 1),  # this process: the memory sampler
            "other_processes": round(max(0.0, foreign), 1),
            "machine_busy": round(busy - self.start[3], 1)}
        self.finish(out)
        return out

    @staticmethod
    def finish(out: dict[str, float | None]) -> None:
        """``unattributed``: the machine's busy time that no measured process accounts for (processes
        that lived and died within the crawl, kernel work)."""
        known = sum(v or 0 for k, v in out.items() if k not in ("wall", "machine_busy", "unattributed"))
        out["unattributed"] = round(max(0.0, (out["machine_busy"] or 0) - known), 1)


def sandbox_health(port: int, build_dir: Path) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
    try:
        conn.request("GET", "/_sandbox/health", headers={"Host": "127.0.0.1"})
        resp = conn.getresponse()
        return resp.status == 200 and json.loads(resp.read() or b"{}").get("dir") == str(build_dir)
    except (OSError, ValueError, http.client.HTTPException):
        return False
    finally:
        conn.close()


class SandboxServer:
    def __init__(self, build_dir: Path, log_path: Path, tag: str):
        self.build_dir, self.log_path, self.tag = build_dir, log_path, tag
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, deadline_s: float = 60.0) -> None:
        self.proc = start_process(
            [sys.executable, "-m", "sandbox.web.serve", "--dir", str(self.build_dir), "--port", str(self.port)],
            what="the sandbox server", log=self.log_path, ready=lambda: sandbox_health(self.port, self.build_dir),
            deadline_s=deadline_s, stop=terminate, detached=True, env={TAG_VAR: self.tag})

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc)


WARN_NOISE = re.compile(r"https?://\S+|\b\d[\d.,]*\b")


def log_digest(path: Path) -> dict[str, Any]:
    """ERROR lines (first few) and WARNING lines grouped by their text without URLs and numbers."""
    errors, warnings = [], Counter()
    for line in path.read_text(errors="replace").splitlines():
        if "] ERROR:" in line or " ERROR " in line[:60]:
            errors.append(line[:300])
        elif "] WARNING:" in line:
            warnings[WARN_NOISE.sub("#", line.split("] WARNING:", 1)[1]).strip()[:110]] += 1
    return {"errors": len(errors), "first_errors": errors[:5], "warnings": dict(warnings.most_common(8))}


def run_child(spec: dict[str, Any], work: Path, name: str, timeout_s: float, tag: str,
              sampler_progress: Path | None = None) -> tuple[dict[str, Any], MemorySampler | None, Path, int]:
    """Run one crawl in its own process (and session), tagged with ``tag`` in its environment."""
    spec_path, out_path, log_path = work / f"{name}.spec.json", work / f"{name}.out.json", work / f"{name}.log"
    spec["out"] = str(out_path)
    env = python_env({**spec.pop("env", {}), TAG_VAR: tag})
    spec_path.write_text(json.dumps(spec))
    code = "import sys; from bench.crawl import child_main; sys.exit(child_main(sys.argv[1]))"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", code, str(spec_path)], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT, env=env,
                                start_new_session=True)
    sampler = None
    if sampler_progress is not None:
        sampler = MemorySampler(proc.pid, tag, sampler_progress)
        sampler.start()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        terminate(proc)
        raise RuntimeError(f"crawl {name} did not finish within {timeout_s:.0f}s:\n{log_tail(log_path)}") from None
    except BaseException:  # Ctrl-C: the crawl is in its own session and did not get the signal
        terminate(proc)
        raise
    finally:
        if sampler is not None:
            sampler.stop()
    if proc.returncode != 0 or not out_path.exists():
        raise RuntimeError(f"crawl {name} failed (exit {proc.returncode}):\n{log_tail(log_path)}")
    return json.loads(out_path.read_text()), sampler, log_path, proc.pid


def start_urls_of_marketplace_spider(seeds: list[str]) -> list[str]:
    """Exactly the requests brandhound's marketplace spider starts with (profile searches, then seeds)."""
    from crawlers.spiders.marketplace import MarketplaceSpider

    spider = MarketplaceSpider(brand=str(PROFILE), seeds=seeds)

    async def collect() -> list[str]:
        return [request.url async for request in spider.start()]

    return asyncio.run(collect())


def throughput(args, work: Path, server: SandboxServer, truth: dict, client, run_id: str) -> dict[str, Any]:
    import crawlers.settings as project
    from brandhound import cluster

    shared = {k: getattr(project, k) for k in SHARED_KEYS}
    seeds = truth["seeds"]["marketplace"]
    start_urls = start_urls_of_marketplace_spider(seeds)
    full_settings = {
        **FAIR,
        "DOWNLOADER_MIDDLEWARES": {**project.DOWNLOADER_MIDDLEWARES, "bench.crawl.RefuseBrowserRender": 40},
    }
    bare_settings = {
        **shared, **FAIR,
        # Scrapy's own HTTP/1.1 handler (brandhound's, on the full side, subclasses it).
        "DOWNLOAD_HANDLERS": {"http": "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler",
                              "https": "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"},
    }
    pooled_handler = f"{__name__ if __name__ != '__main__' else 'bench.crawl'}.PooledHTTP11DownloadHandler"
    pooled_settings = {**bare_settings, "DOWNLOAD_HANDLERS": {"http": pooled_handler, "https": pooled_handler}}
    # The diagnostic side: the full pipeline without listing photos, so the report splits the pipeline's
    # cost into what the photos cost and what the rest of it (extraction, detection, indexing) costs.
    no_photos_settings = {**full_settings, "ITEM_PIPELINES": {
        path: order for path, order in project.ITEM_PIPELINES.items() if path != "pipelines.images.ImageEvidencePipeline"}}
    # Warm-up: the sandbox renders result pages on first request and caches them; let neither side
    # pay for that. Result pages only (no listing is fetched, so the 429 page's counter is untouched).
    t0 = time.perf_counter()
    warm, _, _, _ = run_child({"side": "bare", "start_urls": start_urls, "proxy": server.proxy_url,
                               "settings": bare_settings, "listings": False}, work, "warm-up", args.timeout,
                             f"{run_id}-warm-up")
    log(f"warm-up: {warm['probe']['result_pages']} result pages in {time.perf_counter() - t0:.1f}s")
    sides = ["bare", "pooled", "full"] + (["full-no-photos"] if args.no_photos_side else [])
    order: list[str] = []
    for r in range(args.rounds):
        order += sides if r % 2 == 0 else sides[::-1]
    runs: list[dict[str, Any]] = []
    prefixes: list[str] = []
    try:
        for i, side in enumerate(order):
            name = f"{side}-{i + 1}"
            if side.startswith("full"):
                prefix = f"bench-crawl-{run_id}-{i + 1}"
                prefixes.append(prefix)
                spec = {"side": "full", "spider": "marketplace", "brand": str(PROFILE), "seeds": seeds,
                        "job_id": f"bench-{run_id}-{i + 1}", "proxy": server.proxy_url,
                        "ground_truth": str(server.build_dir / "ground_truth.json"),
                        "settings": full_settings if side == "full" else no_photos_settings,
                        "env": {"BRANDHOUND_ES_INDEX_PREFIX": prefix,
                                "BRANDHOUND_EVIDENCE_DIR": str(work / f"evidence-{i + 1}"),
                                "BRANDHOUND_SPOOL_DIR": str(work / f"spool-{i + 1}")}}
            else:
                spec = {"side": "bare", "start_urls": start_urls, "proxy": server.proxy_url,
                        "settings": bare_settings if side == "bare" else pooled_settings}
            log(f"crawl {name}: running ...")
            meter = CpuMeter(server.proc.pid, client, run_id)
            result, _, log_path, _ = run_child(spec, work, name, args.timeout, f"{run_id}-{name}")
            cpu = meter.stop()
            stats, probe = result["stats"], result["probe"]
            elapsed = float(stats["elapsed_time_seconds"])
            probe["fetch_window_s"], probe["work_s"] = round(probe["fetch_window_s"], 2), round(probe["work_s"], 2)
            run = {"side": side, "order": i + 1, **probe, "elapsed_s": round(elapsed, 2),
                   "listing_pages_per_s": round(probe["listing_pages"] / elapsed, 1),
                   "listing_pages_per_work_s": round(probe["listing_pages"] / probe["work_s"], 1),
                   "requests_per_s": round(stats.get("downloader/request_count", 0) / elapsed, 1),
                   "cpu_s": cpu,
                   "requests": stats.get("downloader/request_count", 0),
                   "finish_reason": stats.get("finish_reason"), "log": log_digest(log_path)}
            if side.startswith("full"):
                run["es"] = {k: stats.get(f"brandhound/es/{k}", 0) for k in ("indexed", "spooled", "rejected")}
                run["listings_extracted"] = stats.get("brandhound/listings/extracted", 0)
                run["rerenders_refused"] = stats.get("brandhound/listings/rendered", 0)
                run["images"] = {k: stats.get(f"brandhound/images/{k}", 0) for k in ("stored", "refused", "failed")}
                name_listings = f"{prefix}-listings"
                client.indices.refresh(index=name_listings)
                run["es"]["listing_docs"] = client.count(index=name_listings)["count"]
                cluster.delete_indices(client, prefix)
            runs.append(run)
            log(f"crawl {name}: {probe['listing_pages']} listing pages ({probe['listing_responses']} responses), "
                f"{probe['result_pages']} result pages, {probe['image_responses']} images, "
                f"{elapsed:.1f}s -> {run['listing_pages_per_s']:.1f} listing pages/s "
                f"({run['listing_pages_per_work_s']:.1f}/s over {probe['work_s']:.1f}s without the tail); "
                f"CPU s {cpu}; {run['log']['errors']} ERROR lines")
    finally:
        for prefix in prefixes:
            cluster.delete_indices(client, prefix)

    counts = [r["listing_pages"] for r in runs]
    spread = (max(counts) - min(counts)) / max(1, max(counts))
    def median_of(side: str, key: str = "listing_pages_per_s") -> float:
        return statistics.median(r[key] for r in runs if r["side"] == side)

    bare, pooled, full = median_of("bare"), median_of("pooled"), median_of("full")
    bare_w, pooled_w, full_w = (median_of(s, "listing_pages_per_work_s") for s in ("bare", "pooled", "full"))
    if args.no_photos_side:
        no_photos, no_photos_w = median_of("full-no-photos"), median_of("full-no-photos", "listing_pages_per_work_s")
    listing_pages = sum(1 for p in truth["pages"] if p["kind"] in ("listing", "bad"))
    return {
        "sandbox_listing_pages": listing_pages,
        "js_only_listings": sum(1 for p in truth["pages"] if p["kind"] == "listing" and p["rendering"] == "js"),
        "start_urls": len(start_urls),
        "settings_both_sides": FAIR
        | {k: shared[k] for k in ("DOWNLOAD_MAXSIZE", "RETRY_HTTP_CODES", "REDIRECT_MAX_TIMES")}
        | {"proxy": "sandbox proxy (full: brandhound's egress middleware; bare: meta['proxy'])",
           "max_result_pages": 50},
        "browser_rerender": "refused on the full side by bench.crawl.RefuseBrowserRender (JS-only listings are "
                            "fetched over HTTP by every side; Chromium is never started)",
        "peers": {"bare": "BareMarketSpider on Scrapy's stock HTTP/1.1 handler (the peer the target is set against)",
                  "pooled": "the same spider on Scrapy's handler with brandhound's connection pool size, so that "
                            "full/pooled is the cost of the pipeline alone"},
        "listing_pages_spread": round(spread, 4),
        "listing_counts_match": spread <= COUNT_TOLERANCE,
        "runs": runs,
        "bare_listing_pages_per_s": round(bare, 1),
        "pooled_listing_pages_per_s": round(pooled, 1),
        "full_listing_pages_per_s": round(full, 1),
        "ratio": round(full / bare, 3),
        "ratio_same_pool": round(full / pooled, 3),
        "rates_without_tail": {"bare": round(bare_w, 1), "pooled": round(pooled_w, 1), "full": round(full_w, 1),
                               "ratio": round(full_w / bare_w, 3), "ratio_same_pool": round(full_w / pooled_w, 3),
                               "note": "listing pages / (spider open to the last response or item): without the "
                                       "wait on the never-finishing page's retry and without closing"},
        **({"full_without_photos": {
            "listing_pages_per_s": round(no_photos, 1), "listing_pages_per_work_s": round(no_photos_w, 1),
            "ratio": round(no_photos / bare, 3), "ratio_on_work_time": round(no_photos_w / bare_w, 3),
            "note": "diagnostic only: the full pipeline without pipelines.images.ImageEvidencePipeline (no photo "
                    "requests, no image evidence); not a configuration brandhound runs"}}
           if args.no_photos_side else {}),
        "target": RATIO_TARGET,
        # Both ratios: over elapsed time the never-finishing page's wait, equal on both sides, can
        # hide most of the difference, so the target counts as met only on work time as well.
        "meets_target": full / bare >= RATIO_TARGET and full_w / bare_w >= RATIO_TARGET,
    }


def capture_urls(truth: dict, n: int) -> tuple[list[str], int]:
    pages = [u for p in truth["pages"] if p["kind"] == "site" and p["label"] in ("official", "fake_store", "legit")
             for u in p["pages"]]
    distinct = list(dict.fromkeys(pages))
    urls = []
    for i in range(n):
        url = distinct[i % len(distinct)]
        urls.append(f"{url}{'&' if '?' in url else '?'}bench={i}")
    return urls, len(distinct)


def browser(args, work: Path, server: SandboxServer, truth: dict, client, run_id: str) -> dict[str, Any]:
    from brandhound import cluster

    seeds, distinct = capture_urls(truth, args.captures)
    prefix, tag = f"bench-crawl-{run_id}-surface", f"{run_id}-surface"
    progress = work / "surface.progress"
    progress.write_text("0\n")
    spec = {"side": "full", "spider": "surface", "brand": str(PROFILE), "seeds": seeds,
            "job_id": f"bench-{run_id}-surface", "proxy": server.proxy_url,
            "ground_truth": str(server.build_dir / "ground_truth.json"), "settings": {},
            "progress": str(progress),
            "env": {"BRANDHOUND_ES_INDEX_PREFIX": prefix, "BRANDHOUND_EVIDENCE_DIR": str(work / "evidence-surface"),
                    "BRANDHOUND_SPOOL_DIR": str(work / "spool-surface")}}
    log(f"browser: {len(seeds)} capture URLs ({distinct} distinct pages cycled) ...")
    meter = CpuMeter(server.proc.pid, client, run_id)
    try:
        result, sampler, log_path, pid = run_child(spec, work, "surface", args.timeout, tag,
                                                   sampler_progress=progress)
    finally:
        cluster.delete_indices(client, prefix)
    cpu = meter.stop()
    assert sampler is not None
    # Chromium is not always reaped through the crawl process, so its CPU can miss the rusage of
    # the children: take the per-process CPU seen by the sampler when it is more.
    sampled = round(sum(sampler.cpu_seen.values()), 1)
    if cpu["crawl"] is not None and sampled > cpu["crawl"]:
        cpu["crawl"] = sampled
        CpuMeter.finish(cpu)
    # What is left of the crawl's processes once it has exited (tree or tag): must be nothing.
    # Chromium's crash handlers exit shortly after their browser; allow them a few seconds.
    left_now = process_group(pid, tag)
    deadline = time.monotonic() + 5.0
    left_later = left_now
    while left_later and time.monotonic() < deadline:
        time.sleep(0.25)
        left_later = process_group(pid, tag)
    left_chromium = {p: c for p, c in left_later.items() if is_chromium(c)}
    for p in left_later:  # started (indirectly) by this benchmark: never leave them running
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass

    stats = result["stats"]
    elapsed = float(stats["elapsed_time_seconds"])
    captures = int(stats.get("brandhound/sites/captured", 0))
    mib = lambda kib: round(kib / 1024, 1)  # noqa: E731
    every = [s for s in sampler.samples if s["chromium"]]  # while the browser is up
    samples = [s for s in every if s["pss_kib"] is not None]
    peak = max(samples, key=lambda s: s["pss_kib"])
    peak_rss = max(s["rss_kib"] for s in every)

    def growth_after_50(key: str, series: list[dict]) -> tuple[float | None, float | None, float]:
        """(high-water mark up to capture 50, growth % of the peak after it over that mark, peak after it).
        The high-water mark, not the single sample at capture 50, which can land in a trough between pages."""
        upto = [s[key] for s in series if s["captures"] <= 50]
        after = [s[key] for s in series if s["captures"] >= 50]
        if not upto or not after:
            return None, None, 0
        return max(upto), (max(after) / max(upto) - 1) * 100, max(after)

    hwm50, growth, peak_after50 = growth_after_50("pss_kib", samples)
    _, rss_growth, _ = growth_after_50("rss_kib", every)
    # The trend, free of single-sample noise: median over captures 50-100 against the last 10%.
    early = [s["pss_kib"] for s in samples if 50 <= s["captures"] < 100]
    late = [s["pss_kib"] for s in samples if s["captures"] >= 0.9 * captures]
    drift = (statistics.median(late) / statistics.median(early) - 1) * 100 if early and late else None
    bound = {"max_peak_total_pss_mib": args.max_peak_mib, "max_growth_pct_after_capture_50": args.max_growth_pct,
             "chromium_left_after_exit": 0}
    within = (mib(peak["pss_kib"]) <= args.max_peak_mib and growth is not None
              and growth <= args.max_growth_pct and not left_chromium)
    return {
        "capture_urls": len(seeds),
        "distinct_pages_cycled": distinct,
        "note": (f"{len(seeds)} captures cycle through {distinct} sandbox pages on 127.0.0.1 (each with its own "
                 "?bench=<i>, so none is deduplicated); repeated, local, small pages make this optimistic "
                 "against the open web"),
        "captures": captures,
        "items_indexed": stats.get("brandhound/es/indexed", 0),
        "elapsed_s": round(elapsed, 1),
        "captures_per_min": round(captures / elapsed * 60, 1),
        "cpu_s": cpu,
        "finish_reason": stats.get("finish_reason"),
        "fetch_failed": {k.rsplit("/", 1)[1]: v for k, v in stats.items() if k.startswith("brandhound/fetch_failed/")},
        "playwright_browsers_launched": stats.get("playwright/browser_count", 0),
        "settings": "brandhound's defaults (crawlers.settings: AutoThrottle on, 2 contexts x 4 pages, "
                    "DOWNLOAD_TIMEOUT 30, RETRY_TIMES 3)",
        "memory": {
            "measure": "sum over the crawl process, its descendants and every process tagged with its environment "
                       "(Chromium's crash handlers): RSS (VmRSS) every 0.5 s, which counts Chromium's shared pages "
                       "once per process, and PSS (smaps_rollup) every 2 s, which does not; the bound is on PSS",
            "samples": len(sampler.samples), "interval_s": SAMPLE_INTERVAL_S,
            "pss_interval_s": SAMPLE_INTERVAL_S * PSS_EVERY,
            "peak_total_pss_mib": mib(peak["pss_kib"]), "peak_at_capture": peak["captures"],
            "peak_pss_by_kind_mib": {k: mib(v) for k, v in sorted(peak["pss_by_kind_kib"].items())},
            "peak_total_rss_mib": mib(peak_rss),
            "rss_growth_pct_after_capture_50": round(rss_growth, 1) if rss_growth is not None else None,
            "pss_high_water_up_to_capture_50_mib": mib(hwm50) if hwm50 else None,
            "peak_pss_after_capture_50_mib": mib(peak_after50),
            "growth_pct_after_capture_50": round(growth, 1) if growth is not None else None,
            "median_pss_captures_50_100_mib": mib(statistics.median(early)) if early else None,
            "median_pss_last_10pct_mib": mib(statistics.median(late)) if late else None,
            "drift_pct": round(drift, 1) if drift is not None else None,
            "max_processes": max(s["procs"] for s in every),
            "max_chromium_processes": max(s["chromium"] for s in every),
            "timeline": [{"captures": s["captures"], "pss_mib": mib(s["pss_kib"]), "procs": s["procs"]}
                         for s in samples[:: max(1, len(samples) // 12)]],
        },
        "processes_left_at_exit": len(left_now),
        "processes_left_after_5s": len(left_later),
        "chromium_left_after_exit": len(left_chromium),
        "bound": bound,
        "within_bound": within,
        "log": log_digest(log_path),
    }


def _cpu_records(result: dict[str, Any]) -> list[tuple[str, dict]]:
    records = [(f"crawl {r['side']}-{r['order']}", r["cpu_s"]) for r in result.get("throughput", {}).get("runs", [])]
    if "browser" in result:
        records.append(("browser captures", result["browser"]["cpu_s"]))
    return records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=2600,
                        help="listings per sandbox marketplace (there are two)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of bare, pooled and full, alternating the order")
    parser.add_argument("--no-photos-side", action="store_true",
                        help="also run, each round, the full pipeline without its listing-photo pipeline (diagnostic: "
                             "what the photos cost against the rest of the pipeline)")
    parser.add_argument("--captures", type=int, default=500, help="browser captures for the memory measurement")
    parser.add_argument("--only", choices=["crawl", "browser"], help="run one of the two measurements")
    parser.add_argument("--max-peak-mib", type=float, default=MAX_PEAK_PSS_MIB, help="bound: peak total PSS")
    parser.add_argument("--max-growth-pct", type=float, default=MAX_GROWTH_PCT,
                        help="bound: growth of the peak total PSS after capture 50 over its high-water mark up to it")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds allowed per crawl")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--keep", metavar="DIR", help="keep the work directory (build, logs) here")
    args = parser.parse_args()

    from brandhound.commands.es import ensure_cluster
    from brandhound.config import load_settings
    from sandbox.web import build

    run_id = uuid.uuid4().hex[:8]
    tmp = tempfile.TemporaryDirectory(prefix="bench-crawl-")
    work = Path(args.keep) if args.keep else Path(tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    build_dir = work / "sandbox"
    server = SandboxServer(build_dir, work / "sandbox.log", f"{run_id}-sandbox")
    result: dict[str, Any] = {"benchmark": "crawl", "listings_per_marketplace": args.listings,
                              "rounds": args.rounds, "machine": {"cpus": os.cpu_count()}}
    client = None
    try:
        t0 = time.perf_counter()
        truth_path = build(PROFILE, build_dir, listings_per_marketplace=args.listings)
        truth = json.loads(truth_path.read_text())
        log(f"sandbox: {args.listings} listings per marketplace built in {time.perf_counter() - t0:.1f}s")
        client = ensure_cluster(load_settings(), 300).options(request_timeout=120)
        server.start()
        log(f"sandbox: serving on {server.proxy_url} (pid {server.proc.pid})")
        if args.only in (None, "crawl"):
            result["throughput"] = throughput(args, work, server, truth, client, run_id)
        if args.only in (None, "browser"):
            result["browser"] = browser(args, work, server, truth, client, run_id)
    finally:
        server.stop()
        if client is not None:
            client.close()
        tmp.cleanup()

    # A neighbour on the machine skews every figure: say so when it used more than 10% of it.
    # For the crawls "unattributed" is a neighbour's short-lived processes (or the kernel's work);
    # for the browser it also holds Chromium renderers that lived less than a sample, so it is not used.
    busy = [(name, c) for name, c in _cpu_records(result)
            if (c["other_processes"] + (c["unattributed"] if name.startswith("crawl") else 0))
            > 0.10 * c["wall"] * (os.cpu_count() or 1)]
    result["quiet_machine"] = not busy
    for name, c in busy:
        log(f"warning: other processes used {c['other_processes']:.0f} CPU s (unattributed: {c['unattributed']:.0f}) "
            f"during {name} ({c['wall']:.0f} s wall, "
            f"{os.cpu_count()} cores): its figures are unreliable")
    print(json.dumps(result))
    failures = []
    if "throughput" in result:
        t = result["throughput"]
        log(f"| marketplace crawl, {t['sandbox_listing_pages']:,} listing pages over HTTP | full pipeline "
            f"{t['full_listing_pages_per_s']:,.1f} pages/s | "
            f"bare Scrapy {t['bare_listing_pages_per_s']:,.1f} pages/s | "
            f"ratio {t['ratio']:.2f} (target >= {RATIO_TARGET}) |")
        log(f"| same, peer with brandhound's connection pool | full pipeline {t['full_listing_pages_per_s']:,.1f} "
            f"pages/s | pooled Scrapy {t['pooled_listing_pages_per_s']:,.1f} pages/s | ratio {t['ratio_same_pool']:.2f} |")
        w = t["rates_without_tail"]
        log(f"| same, without the never-finishing page's tail | full pipeline {w['full']:,.1f} pages/s | "
            f"bare Scrapy {w['bare']:,.1f} pages/s | ratio {w['ratio']:.2f} (pooled peer: {w['ratio_same_pool']:.2f}) |")
        if "full_without_photos" in t:
            n = t["full_without_photos"]
            log(f"| diagnostic: full pipeline without listing photos | {n['listing_pages_per_s']:,.1f} pages/s "
                f"({n['listing_pages_per_work_s']:,.1f} on work time) | ratio {n['ratio']:.2f} "
                f"({n['ratio_on_work_time']:.2f} on work time) |")
        if not t["listing_counts_match"]:
            failures.append(f"listing pages fetched differ by {t['listing_pages_spread']:.1%} between runs "
                            f"({[r['listing_pages'] for r in t['runs']]})")
        if not t["meets_target"]:
            log(f"note: target {RATIO_TARGET} not met (ratio {t['ratio']:.2f} over elapsed time, "
                f"{w['ratio']:.2f} on work time; both must reach it)")
    if "browser" in result:
        b, m = result["browser"], result["browser"]["memory"]
        log(f"| browser captures (surface spider), {b['captures']} captures | "
            f"{b['captures_per_min']:,.0f} captures/min | "
            f"peak total PSS {m['peak_total_pss_mib']:,.0f} MiB (RSS sum {m['peak_total_rss_mib']:,.0f} MiB), "
            f"{m['pss_high_water_up_to_capture_50_mib']} MiB up to capture 50, growth after it "
            f"{m['growth_pct_after_capture_50']}% | "
            f"bound: peak PSS < {args.max_peak_mib:.0f} MiB, growth < {args.max_growth_pct:.0f}%, 0 Chromium left "
            f"({b['chromium_left_after_exit']} left) |")
        if not b["within_bound"]:
            failures.append(f"browser memory bound broken: peak {m['peak_total_pss_mib']} MiB "
                            f"(max {args.max_peak_mib}), "
                            f"growth {m['growth_pct_after_capture_50']}% (max {args.max_growth_pct}%), "
                            f"{b['chromium_left_after_exit']} Chromium processes left")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    for f in failures:
        log(f"FAILED: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
