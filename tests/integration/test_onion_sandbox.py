"""The onion sandbox end to end: ``sandbox.onion.daemon`` builds and serves the dark-web market and
the leak forum, starts a private Tor network of real tor processes in front of them, and the pages
come back through the client's SocksPort (remote DNS) as the ground truth says.
No Elasticsearch. Needs Debian's ``tor`` package: without it these tests fail, they never skip."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lxml import html as lxml_html

from sandbox.onion import daemon
from sandbox.tor import http_get
from tests.support.paths import EXAMPLE_BRAND, ROOT
from tests.polling import poll

pytestmark = [pytest.mark.filterwarnings("ignore:setDaemon:DeprecationWarning")]  # stem 1.8's threads

ONION_URL_RE = re.compile(r"^http://[a-z2-7]{56}\.onion/$")



def tor_processes(home: Path) -> list[int]:
    """pids of processes whose command line names a path under ``home`` and runs tor."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if cmdline and b"tor" in cmdline.split(b"\0")[0] and str(home).encode() in cmdline:
            pids.append(int(proc.name))
    return pids


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, BRANDHOUND_HOME=str(home))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "brandhound.commands", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)


def test_tor_is_installed():
    assert shutil.which("tor") and shutil.which("tor-gencert"), "Debian's tor package is missing: apt-get install tor"


@pytest.fixture(scope="module")
def onion(tmp_path_factory):
    """(home, state, truth) of an onion sandbox started by the daemon in a home of its own."""
    assert shutil.which("tor"), "Debian's tor package is missing: apt-get install tor"
    home = tmp_path_factory.mktemp("onion-home")
    try:
        state = daemon.up(home, profile_path=EXAMPLE_BRAND, deadline_s=180)
        print(f"\nonion sandbox: Tor bootstrapped in {state['bootstrap_seconds']:.1f} s, onions reachable after "
              f"{state['onion_ready_seconds']:.1f} s, up in {state['up_seconds']:.1f} s")
        truth = json.loads(Path(state["ground_truth"]).read_text(encoding="utf-8"))
        yield home, state, truth
    finally:
        daemon.down(home)


def get(state: dict, site: str, path: str, *, user: str = "onion-test", timeout: float = 60.0):
    """GET a page of ``site`` through the client's SocksPort; the first try may meet a cold circuit."""
    url = state["onion_urls"][site] + path.lstrip("/")
    return poll(lambda: http_get(url, state["client_socks_port"], username=user, timeout=timeout), 90,
                f"GET {url} through Tor")


def pages(truth: dict, kind: str, **match) -> list[dict]:
    return [p for p in truth["pages"] if p["kind"] == kind and all(p.get(k) == v for k, v in match.items())]


def test_up_reports_onion_urls_ports_and_bootstrap_time(onion):
    home, state, _ = onion
    assert state["running"] and state["server_running"] and state["tor_running"]
    assert set(state["onion_urls"]) == {"market", "forum"}
    assert all(ONION_URL_RE.match(u) for u in state["onion_urls"].values())
    assert state["onion_urls"]["market"] != state["onion_urls"]["forum"]
    assert state["client_socks_port"] and state["browser_socks_port"] and state["control_port"]
    assert Path(state["control_cookie_path"]).is_file()
    assert 0 < state["bootstrap_seconds"] <= state["onion_ready_seconds"] <= state["up_seconds"]
    assert Path(state["ground_truth"]).is_file()
    # Idempotent: a second up finds everything running and changes nothing.
    again = daemon.up(home, profile_path=EXAMPLE_BRAND)
    assert again["running"] and not again["stale"]
    assert again["onion_urls"] == state["onion_urls"] and again["pid"] == state["pid"]


def test_market_pages_through_tor_match_the_ground_truth(onion):
    _, state, truth = onion
    first = pages(truth, "results", category=None, page=1)[0]
    resp = get(state, "market", first["path"])
    tree = lxml_html.fromstring(resp.body)
    assert resp.status == 200 and tree.xpath("//a[@class='item']/@href") == first["listings"]
    assert tree.xpath("//link[@rel='next']/@href") == [first["next"]]
    second = get(state, "market", first["next"])
    assert lxml_html.fromstring(second.body).xpath("//a[@class='item']/@href") == \
        pages(truth, "results", path=first["next"])[0]["listings"]

    ordinary = [p for p in pages(truth, "listing") if not p["fault"]]
    sample = [next(p for p in ordinary if p["label"] == label and p["structured"] == structured)
              for label in ("genuine", "counterfeit", "unrelated") for structured in ("jsonld", "none")]
    for entry in sample:
        resp = get(state, "market", entry["path"])
        tree = lxml_html.fromstring(resp.body)
        assert resp.status == 200
        assert " ".join(tree.xpath("//h2[@class='title']")[0].text_content().split()) == entry["title"]
        assert " ".join(tree.xpath("//td[@class='price']")[0].text_content().split()) == entry["price_text"]
        assert tree.xpath("//td[@class='vendor']/text()") == [entry["seller"]]
        assert bool(tree.xpath("//script[@type='application/ld+json']")) == (entry["structured"] == "jsonld")
    image = get(state, "market", sample[1]["images"][0])
    assert image.status == 200 and image.headers["Content-Type"].startswith("image/") and len(image.body) > 1000


def test_forum_threads_through_tor_carry_the_labelled_dumps(onion):
    _, state, truth = onion
    board = pages(truth, "board", page=1)[0]
    tree = lxml_html.fromstring(get(state, "forum", board["path"]).body)
    assert tree.xpath("//a[@class='thread']/@href") == board["threads"]
    thread = next(t for t in pages(truth, "thread")
                  if any(c["brand_domain"] for d in t["dumps"] for c in d["credentials"]))
    resp = get(state, "forum", thread["path"])
    tree = lxml_html.fromstring(resp.body)
    assert resp.status == 200 and len(tree.xpath("//div[@class='post']")) == thread["posts"]
    dumps = "\n".join(pre.text_content() for pre in tree.xpath("//pre"))
    for dump in thread["dumps"]:
        for cred in dump["credentials"]:
            assert cred["user"] in dumps and cred["password"] in dumps
        for card in dump["cards"]:
            assert card["text"] in dumps
        for secret in dump["secrets"]:
            assert secret["value"] in dumps


def test_fault_pages_through_tor(onion):
    _, state, truth = onion
    faults = {p["fault"]: p for p in pages(truth, "listing") if p["fault"]}
    flaky = faults["http_503"]
    url = state["onion_urls"]["market"] + flaky["path"].lstrip("/")
    get(state, "market", "/")  # a warm circuit for this SOCKS user, so each try below reaches the server
    statuses = [http_get(url, state["client_socks_port"], username="onion-test", timeout=60).status
                for _ in range(3)]
    assert statuses == [503, 503, 200]
    slow = faults["slow"]
    started = time.monotonic()
    resp = http_get(state["onion_urls"]["market"] + slow["path"].lstrip("/"), state["client_socks_port"],
                    username="onion-test", timeout=60)
    elapsed = time.monotonic() - started
    assert resp.status == 200 and slow["delay_seconds"] <= elapsed < 50
    assert slow["title"] in resp.text


def test_cli_status_reports_the_running_sandbox(onion):
    home, state, _ = onion
    proc = cli(home, "sandbox", "tor", "status", "--json")
    assert proc.returncode == 0, proc.stderr
    reported = json.loads(proc.stdout)
    assert reported["running"] and reported["onion_urls"] == state["onion_urls"]
    assert reported["client_socks_port"] == state["client_socks_port"]
    proc = cli(home, "sandbox", "tor", "status")
    assert proc.returncode == 0 and "onion sandbox running" in proc.stdout
    assert state["onion_urls"]["market"] in proc.stdout and "bootstrapped in" in proc.stdout


def test_down_leaves_no_tor_process(onion):
    # Last in this module: it stops the sandbox the tests above share.
    home, state, _ = onion
    assert tor_processes(home)
    proc = cli(home, "sandbox", "tor", "down")
    assert proc.returncode == 0 and "stopped" in proc.stdout, proc.stderr
    poll(lambda: not tor_processes(home), 20, "every tor process of the sandbox gone")
    assert not Path(f"/proc/{state['pid']}/cmdline").exists() or \
        b"sandbox.onion.serve" not in Path(f"/proc/{state['pid']}/cmdline").read_bytes()
    status = cli(home, "sandbox", "tor", "status")
    assert status.returncode == 1 and "not running" in status.stdout
