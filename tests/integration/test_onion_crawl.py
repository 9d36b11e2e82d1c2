"""Crawling the onion sandbox over the private Tor network end to end into Elasticsearch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from brandhound import cluster
from sandbox.onion import daemon as onion_daemon
from tests.conftest import EXAMPLE_BRAND

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


def start_crawl(settings, home: Path, spider: str, lookups: Path) -> subprocess.Popen:
    env = dict(os.environ, BRANDHOUND_HOME=str(home), BRANDHOUND_ES_URL=settings.es.url,
               BRANDHOUND_ES_INDEX_PREFIX=settings.es.index_prefix, BRANDHOUND_SPOOL_DIR=str(settings.spool_dir),
               PYTHONPATH=str(REPO))
    code = ("import sys; from tests.integration import dns_record; dns_record.install(sys.argv[1]); "
            "from brandhound.cli import main; sys.exit(main(sys.argv[2:]))")
    argv = ["crawl", "--brand", str(EXAMPLE_BRAND), "--spider", spider, "--sandbox",
            "--set", "RETRY_TIMES=8", "--set", "AUTOTHROTTLE_START_DELAY=0.2"]
    return subprocess.Popen([sys.executable, "-c", code, str(lookups), *argv], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: float = 600) -> tuple[dict, str]:
    out, err = proc.communicate(timeout=timeout)
    log = out + err
    assert proc.returncode == 0, log[-5000:]
    return json.loads(out.strip().splitlines()[-1]), log


def docs(client, settings, kind: str) -> list[dict]:
    index = f"{settings.es.index_prefix}-{kind}"
    client.indices.refresh(index=index)
    return [h["_source"] for h in client.search(index=index, size=10_000, query={"match_all": {}})["hits"]["hits"]]


def truth_of(state) -> dict:
    return json.loads(Path(state["ground_truth"]).read_text(encoding="utf-8"))


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


def test_forum_dumps_survive_a_relay_killed_mid_crawl(onion_sandbox, onion_settings, tmp_path):
    home, state = onion_sandbox
    settings, client = onion_settings
    proc = start_crawl(settings, home, "onion_forum", tmp_path / "lookups.json")
    relay = state["nodes"]["relay1"]["pid"] if "nodes" in state else None
    if relay is None:
        relay = json.loads((Path(home) / "sandbox" / "tor" / "state.json").read_text())["nodes"]["relay1"]["pid"]
    os.kill(relay, signal.SIGKILL)
    summary, log = finish(proc)
    threads = [p for p in truth_of(state)["pages"] if p["site"] == "forum" and p["kind"] == "thread"]
    assert summary["brandhound/dumps/fetched"] >= len(threads)
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
