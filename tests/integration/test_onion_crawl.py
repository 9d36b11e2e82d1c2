"""Crawling the onion sandbox over the private Tor network end to end into Elasticsearch."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from brandhound import cluster
from sandbox.onion import daemon as onion_daemon
from sandbox.processes import port_open
from sandbox.tor import daemon as tor_daemon
from tests.support.paths import EXAMPLE_BRAND
from tests.integration.crawls import crawl_env
from tests.polling import poll

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def onion_sandbox(tmp_path_factory):
    home = tmp_path_factory.mktemp("onion-home")
    state = onion_daemon.up(home, profile_path=EXAMPLE_BRAND)
    yield home, state
    onion_daemon.down(home)


@pytest.fixture(scope="module")
def onion_settings(base_settings, es_node, tmp_path_factory):
    settings = replace(base_settings, es=replace(base_settings.es, index_prefix="bh-test-onion"),
                       spool_dir=tmp_path_factory.mktemp("spool"))
    client = cluster.make_client(settings.es)
    cluster.delete_indices(client, settings.es.index_prefix)
    yield settings, client
    cluster.delete_indices(client, settings.es.index_prefix)
    client.close()


def start_crawl(settings, home: Path, spider: str, lookups: Path, *extra: str) -> subprocess.Popen:
    env = crawl_env(settings, home) | {"PYTHONPATH": str(REPO)}
    code = ("import sys; from tests.integration import dns_record; dns_record.install(sys.argv[1]); "
            "from brandhound.commands import main; sys.exit(main(sys.argv[2:]))")
    argv = ["crawl", "--brand", str(EXAMPLE_BRAND), "--spider", spider, "--sandbox",
            "--set", "RETRY_TIMES=8", "--set", "AUTOTHROTTLE_START_DELAY=0.2", *extra]
    return subprocess.Popen([sys.executable, "-c", code, str(lookups), *argv], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: float = 600) -> tuple[dict, str]:
    out, err = proc.communicate(timeout=timeout)
    return summary_of(proc, out, out + err)


def summary_of(proc: subprocess.Popen, out: str, log: str) -> tuple[dict, str]:
    assert proc.returncode == 0, log[-5000:]
    return json.loads(out.strip().splitlines()[-1]), log


def docs(client, settings, kind: str) -> list[dict]:
    index = f"{settings.es.index_prefix}-{kind}"
    client.indices.refresh(index=index)
    return [h["_source"] for h in client.search(index=index, size=10_000, query={"match_all": {}})["hits"]["hits"]]


def tor_evidence(home: Path, log: str) -> str:
    """What a failed Tor crawl says about why: its Tor lines (SOCKS replies, renewals, NEWNYM), then
    the tails of the client's and the onion service host's notice logs."""
    tor_lines = [line for line in log.splitlines()
                 if re.search(r"SOCKS|NEWNYM|new circuits|Tor client|Retrying|Gave up", line)]
    parts = ["--- the crawl's Tor lines", *tor_lines[-40:], "--- the crawl's last lines", log[-2000:]]
    nodes = Path(home) / "sandbox" / "tor" / "net" / "nodes"
    for name in ("client1", "onion"):
        try:
            tail = (nodes / name / "notice.log").read_text(errors="replace").splitlines()[-25:]
        except OSError as exc:
            tail = [f"(unreadable: {exc})"]
        parts += [f"--- {nodes / name / 'notice.log'}", *tail]
    return "\n".join(parts)


def truth_of(state) -> dict:
    return json.loads(Path(state["ground_truth"]).read_text(encoding="utf-8"))


def forum_threads(state) -> list[dict]:
    return [p for p in truth_of(state)["pages"] if p["site"] == "forum" and p["kind"] == "thread"]


def test_onion_market_listings_are_extracted_over_tor_without_local_dns(onion_sandbox, onion_settings, tmp_path):
    home, state = onion_sandbox
    settings, client = onion_settings
    lookups = tmp_path / "lookups.json"
    summary, log = finish(start_crawl(settings, home, "onion_market", lookups))
    market = state["onions"]["market"]
    expected = {p["path"]: p for p in truth_of(state)["pages"] if p["site"] == "market" and p["kind"] == "listing"}
    got = {d["url"]["path"]: d for d in docs(client, settings, "listings") if d["url"]["domain"] == market}
    correct = sum(1 for path, p in expected.items() if path in got and got[path]["title"] == p["title"]
                  and got[path]["price"]["amount"] == pytest.approx(p["price"]) and got[path]["price"]["currency"] == p["currency"])
    assert correct >= 0.98 * len(expected), (correct, len(expected))
    # The slow listing and the one that answers 503 twice are there too: nothing lost to Tor's pace.
    for fault in ("slow", "http_503"):
        assert any(p["fault"] == fault and path in got for path, p in expected.items()), fault
    # The onion sources feed the same detectors.
    flagged = {f["url"]["path"] for f in docs(client, settings, "findings")
               if f["kind"] == "counterfeit_listing" and f["verdict"] == "flagged" and f["url"]["domain"] == market}
    counterfeit = {path for path, p in expected.items() if p["label"] == "counterfeit"}
    assert len(flagged & counterfeit) >= 0.95 * len(counterfeit) and len(flagged - counterfeit) <= 0.05 * len(flagged)
    names = json.loads(lookups.read_text())
    assert not [n for n in names if n.endswith(".onion")], "a .onion name went to the local resolver"
    assert summary["brandhound/es/rejected"] == 0


class CrawlLog:
    """A running crawl's log, read line by line as it is written (run it with ``LOGSTATS_INTERVAL=1``
    for a "Crawled N pages" line every second)."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.lines: list[str] = []
        self._reader = threading.Thread(target=lambda: self.lines.extend(proc.stderr), daemon=True)
        self._reader.start()

    def __enter__(self) -> CrawlLog:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:  # the test failed before the crawl ended: it ends here
            self.proc.kill()
            self.proc.wait(timeout=30)

    def text(self) -> str:
        return "".join(self.lines)

    def pages(self) -> list[int]:
        """The page counts of the LogStats lines so far."""
        return [int(m.group(1)) for line in list(self.lines) if (m := re.search(r"Crawled (\d+) pages", line))]

    def running(self) -> bool:
        assert self.proc.poll() is None, f"the crawl exited ({self.proc.returncode}):\n{self.text()[-5000:]}"
        return True

    def finish(self, timeout: float = 600) -> tuple[dict, str]:
        self.proc.wait(timeout=timeout)
        out = self.proc.stdout.read()
        self._reader.join(timeout=10)
        return summary_of(self.proc, out, out + self.text())


def test_onion_crawl_completes_across_a_tor_client_restart(onion_sandbox, settings, es, tmp_path):
    """The Tor client is SIGKILLed mid-crawl and restarted: the crawl holds its Tor requests until
    the client is back and bootstrapped, loses no listing and indexes none twice."""
    home, state = onion_sandbox
    tor_daemon.revive(home)  # every node running to begin with, whatever an earlier test killed
    # The onion spiders' own retry budget (6), not the other tests' 8.
    with CrawlLog(start_crawl(settings, home, "onion_market", tmp_path / "lookups.json",
                              "--set", "RETRY_TIMES=6", "--set", "LOGSTATS_INTERVAL=1")) as crawl:
        poll(lambda: crawl.running() and crawl.pages() and crawl.pages()[-1] >= 20, 180,
             "the crawl fetching its first 20 pages")
        tor = tor_daemon.status(home)
        client = tor["nodes"]["client1"]
        os.kill(client["pid"], signal.SIGKILL)
        killed = time.monotonic()
        poll(lambda: not port_open(tor["client_socks_port"]), 10, "the killed client's SocksPort refusing connections")
        # A real outage: the crawl gets no page for 30 s (a tor that crashed and was restarted by its
        # supervisor), long enough for requests that failed at once to spend their retries and be lost.
        at_kill = len(crawl.pages())
        poll(lambda: crawl.running() and len(crawl.pages()) >= at_kill + 31 and len(set(crawl.pages()[-30:])) == 1,
             120, "the crawl making no progress for 30 s while its Tor client is down")
        revived = tor_daemon.revive(home)
        down_s = time.monotonic() - killed
        assert revived["revived"] == ["client1"] and revived["nodes"]["client1"]["pid"] != client["pid"]
        assert revived["nodes"]["client1"]["ports"] == client["ports"]

        summary, log = crawl.finish()
    market = state["onions"]["market"]
    expected = {p["path"] for p in truth_of(state)["pages"] if p["site"] == "market" and p["kind"] == "listing"}
    indexed = [d["url"]["path"] for d in docs(es, settings, "listings") if d["url"]["domain"] == market]
    duplicates = len(indexed) - len(set(indexed))
    held, retries, gave_up = (summary[name] for name in ("brandhound/tor/requests_held", "retry/count",
                                                         "retry/max_reached"))
    print(f"\nTor client restart mid-crawl: {len(expected)} listings expected, {len(set(indexed) & expected)} indexed, "
          f"{duplicates} duplicates, {summary['brandhound/listings/extracted']} extracted, "
          f"{summary['brandhound/images/failed']} images failed; client down {down_s:.1f} s (the crawl waited "
          f"{summary['brandhound/tor/client_down_seconds']:.1f} s), {held:.0f} requests held, {retries:.0f} retries, "
          f"{gave_up:.0f} given up; crawl {summary['elapsed_time_seconds']:.0f} s")
    assert set(indexed) >= expected, sorted(expected - set(indexed))[:5]
    assert duplicates == 0 and summary["brandhound/listings/extracted"] == len(expected)
    # Nothing gave up retrying either: the listings' images, fetched over Tor too, are all there.
    assert summary["brandhound/images/failed"] == 0 and gave_up == 0
    assert summary["log_count/ERROR"] == 0 and summary["brandhound/es/rejected"] == 0
    assert "Tor client down" in log and summary["brandhound/tor/client_outages"] == 1 and held > 0
    # The crawl read the revived client's bootstrap over a new ControlPort connection (or said why not).
    assert re.search(r"Tor client \S+ back after [0-9.]+ s", log), log[-3000:]


# After the client restart: this test kills a relay for good.
def test_forum_dumps_survive_a_relay_killed_mid_crawl(onion_sandbox, onion_settings, tmp_path):
    home, state = onion_sandbox
    settings, client = onion_settings
    proc = start_crawl(settings, home, "onion_forum", tmp_path / "lookups.json")
    relay = state["nodes"]["relay1"]["pid"] if "nodes" in state else None
    if relay is None:
        relay = json.loads((Path(home) / "sandbox" / "tor" / "state.json").read_text())["nodes"]["relay1"]["pid"]
    os.kill(relay, signal.SIGKILL)
    summary, log = finish(proc)
    (tmp_path / "crawl.log").write_text(log, encoding="utf-8")
    threads = forum_threads(state)
    print(f"\nrelay killed mid-crawl: {summary['brandhound/dumps/fetched']} of {len(threads)} forum threads' dumps "
          f"fetched, {summary['retry/count']} retries waiting {summary['brandhound/retry/wait_seconds']:.0f} s, "
          f"{summary['retry/max_reached']} given up, failures {summary['fetch_failed']}; "
          f"crawl {summary['elapsed_time_seconds']:.0f} s")
    assert summary["brandhound/dumps/fetched"] >= len(threads), tor_evidence(home, log)
    pages = [d for d in docs(client, settings, "pages") if d["url"]["domain"] == state["onions"]["forum"]]
    assert all("path" not in d.get("file", {}) for d in pages)  # dumps are hashed, never stored
    leaks = docs(client, settings, "leaks")
    everything = json.dumps(pages) + json.dumps(leaks) + log
    for thread in threads:
        for dump in thread["dumps"]:
            for cred in dump["credentials"]:
                assert cred["password"] not in everything
    # The forum's corporate credentials reach the leak detector through Tor like the paste site's.
    corporate = {c["email"].lower() for t in threads for d in t["dumps"] for c in d["credentials"] if c["brand_domain"]}
    found = {(leak.get("user") or {}).get("email", "").lower() for leak in leaks if leak["kind"] == "credential"}
    assert corporate and corporate <= found, sorted(corporate - found)[:5]


# After the relay test: this one takes the onion service's host down, then brings every node back.
def test_forum_crawl_waits_out_an_onion_service_that_is_down(onion_sandbox, settings, es, tmp_path):
    """The tor process hosting the onion services is down when the crawl starts and comes back
    after 20 s without a page: the retries' backoff outlasts the outage, nothing is lost."""
    home, state = onion_sandbox
    tor_daemon.revive(home)
    os.kill(tor_daemon.status(home)["nodes"]["onion"]["pid"], signal.SIGKILL)
    with CrawlLog(start_crawl(settings, home, "onion_forum", tmp_path / "lookups.json",
                              "--set", "RETRY_TIMES=6", "--set", "LOGSTATS_INTERVAL=1")) as crawl:
        poll(lambda: crawl.running() and len(crawl.pages()) >= 20 and not any(crawl.pages()), 120,
             "the crawl getting no page for 20 s while the onion services are down")
        down_s = len(crawl.pages())
        revived = tor_daemon.revive(home)
        assert revived["revived"] == ["onion"]
        summary, log = crawl.finish()
    threads = forum_threads(state)
    print(f"\nonion service down for {down_s} s: {summary['brandhound/dumps/fetched']} of {len(threads)} forum "
          f"threads' dumps fetched, {summary['retry/count']} retries waiting {summary['brandhound/retry/wait_seconds']:.0f} s "
          f"in all, {summary['retry/max_reached']} given up; crawl {summary['elapsed_time_seconds']:.0f} s")
    assert summary["brandhound/dumps/fetched"] >= len(threads), log[-5000:]
    assert summary["retry/count"] > 0 and summary["brandhound/retry/waits"] == summary["retry/count"]
    assert summary["retry/max_reached"] == 0
