"""The sandbox's commands: ``brandhound sandbox ...`` and the demo main job, ``brandhound run``.

Registered under the ``brandhound.commands`` entry point: the core command line has no idea the
sandbox exists, and the demo runs on the same commands a user runs by hand.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from brandhound.commands.crawl import sandbox_options
from brandhound.commands.output import out
from brandhound.progress import ProgressLine

if TYPE_CHECKING:
    import elasticsearch

    from brandhound.config import Settings
    from brandhound.profile import BrandProfile

log = logging.getLogger("brandhound")
COMMANDS = {"run": "the main job: local Elasticsearch, the sandbox web crawled end to end, a report",
            "sandbox": "the sandbox web on 127.0.0.1"}
#: The brand every demo imitates unless told otherwise.
EXAMPLE_BRAND = str(Path(__file__).resolve().parent.parent / "examples/brands/kestrava/brand.yaml")


def _progress(args: argparse.Namespace) -> ProgressLine:
    """The start-up's progress line on standard error: off with --quiet or --json, or off a terminal."""
    return ProgressLine(sys.stderr, False if getattr(args, "quiet", False) or getattr(args, "json", False) else None)


def cmd_sandbox_up(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.environment import web_up

    bar = _progress(args)
    try:
        state = web_up(settings, args, progress=bar.update)
    finally:
        bar.done()
    truth = json.loads(Path(state["ground_truth"]).read_text(encoding="utf-8"))
    out(f"sandbox web running: proxy {state['proxy_url']}, {len(truth['proxy_hosts'])} hosts, "
         f"{len(truth['pages'])} labelled pages (ground truth {state['ground_truth']})")
    return 0


def cmd_sandbox_down(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.web import daemon as web_daemon

    out("stopped the sandbox web" if web_daemon.down(settings.home) else "the sandbox web was not running")
    return 0


def cmd_sandbox_status(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.web import daemon as web_daemon

    state = web_daemon.status(settings.home)
    out(json.dumps(state, indent=2) if args.json else
         (f"sandbox web running on {state['proxy_url']}" if state["running"] else "sandbox web not running"))
    return 0 if state["running"] else 1


def _onion_summary(state: dict) -> str:
    sites = ", ".join(f"{name} {url}" for name, url in (state.get("onion_urls") or {}).items())
    return (f"onion sandbox running: {sites}; SOCKS 127.0.0.1:{state['client_socks_port']} "
            f"(browsers {state['browser_socks_port']}), control {state['control_port']}; "
            f"Tor bootstrapped in {state['bootstrap_seconds']:.1f} s, onions reachable after "
            f"{state.get('onion_ready_seconds') or 0:.1f} s; ground truth {state['ground_truth']}")


def cmd_sandbox_tor_up(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.onion import daemon as onion_daemon

    bar = _progress(args)
    try:
        state = onion_daemon.up(settings.home, profile_path=args.brand, deadline_s=args.deadline, progress=bar.update)
    except onion_daemon.SandboxError as exc:
        bar.done()
        print(f"brandhound: {exc}", file=sys.stderr)
        return 1
    bar.done()
    if args.json:
        out(json.dumps(state, indent=2))
    else:
        if state.get("stale"):
            out("note: the running onion sites were built from another profile; "
                 "`brandhound sandbox tor down` to rebuild")
        out(_onion_summary(state) + f" (up in {state['up_seconds']:.1f} s)")
    return 0


def cmd_sandbox_tor_down(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.onion import daemon as onion_daemon

    out("stopped the onion sandbox and its Tor network" if onion_daemon.down(settings.home)
         else "the onion sandbox was not running")
    return 0


def cmd_sandbox_tor_status(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.onion import daemon as onion_daemon

    state = onion_daemon.status(settings.home)
    if args.json:
        out(json.dumps(state, indent=2))
    elif state["running"]:
        out(_onion_summary(state))
    else:
        out(f"onion sandbox not running (sites' server {'up' if state['server_running'] else 'down'}, "
             f"Tor network {'up' if state['tor_running'] else 'down'})")
    return 0 if state["running"] else 1


#: The sandbox answers in milliseconds: a page that takes 10 s never finishes.
SANDBOX_CRAWL_SETTINGS = ("DOWNLOAD_TIMEOUT=10", "RETRY_TIMES=2")
MAIN_JOB_SPIDERS = ("marketplace", "surface", "paste")


def _crawl_subprocess(args: argparse.Namespace, spider: str) -> dict:
    """One crawl per process: Twisted's reactor cannot be restarted within one."""
    cmd = [sys.executable, "-m", "brandhound.commands", "crawl", "--brand", args.brand, "--spider", spider, "--sandbox",
           "--sandbox-port", str(args.sandbox_port), "--listings", str(args.listings)]
    for setting in SANDBOX_CRAWL_SETTINGS:
        cmd += ["--set", setting]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL if not args.verbose else None,
                          text=True)
    lines = proc.stdout.strip().splitlines()
    try:
        summary = json.loads(lines[-1])
    except (IndexError, ValueError):
        summary = {"finish_reason": f"crashed (exit {proc.returncode})"}
    return summary


def _after_crawls(args: argparse.Namespace, settings: Settings, client: elasticsearch.Elasticsearch,
                  profile: BrandProfile) -> None:
    """The rest of the data flow, as the Airflow DAGs run it: campaigns, takedown drafts, the report."""
    from brandhound.commands.report import cmd_report
    from brandhound.commands.takedown import cmd_draft
    from detectors.campaigns import assign_campaigns
    from detectors.official_images import OfficialImages

    client.indices.refresh(index=f"{settings.es.index_prefix}-*")
    counts = assign_campaigns(client, settings.es.index_prefix, profile.id, OfficialImages.from_profile(profile))
    out(f"campaigns: {counts['findings']} flagged findings grouped into {counts['campaigns']} campaigns")
    # No analyst has confirmed anything in a demo: the drafts are made from flagged findings and say so.
    cmd_draft(argparse.Namespace(brand=args.brand, by="brandhound run", flagged=True, sandbox=True, no_rdap=False),
              settings)
    cmd_report(argparse.Namespace(brand=args.brand, since="7d", out=str(settings.home / "report")), settings)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """The main job on the embedded default: the local node and the sandbox web."""
    from brandhound import cluster
    from brandhound.commands.es import ensure_cluster, print_status
    from brandhound.commands.profile import profile_summary
    from brandhound.profile import load_profile
    from brandhound.store import open_store
    from sandbox.environment import web_up

    profile = load_profile(args.brand)
    out(f"brand profile {args.brand}: {profile_summary(profile)}")
    client = ensure_cluster(settings, args.deadline)
    for name in cluster.init_indices(client, settings.es.index_prefix):
        log.info("index ready: %s", name)
    store = open_store(settings)
    try:
        if not store.replay():
            out(f"Elasticsearch took no spooled documents; they stay in {settings.spool_dir}")
    finally:
        store.close()
    if store.stats.replayed:
        out(f"replayed {store.stats.replayed} spooled documents")
    failed = 0
    if not args.no_crawl:
        state = web_up(settings, args)
        out(f"sandbox web: proxy {state['proxy_url']}, ground truth {state['ground_truth']}")
        for spider in MAIN_JOB_SPIDERS:
            summary = _crawl_subprocess(args, spider)
            ok = summary.get("finish_reason") == "finished"
            failed += not ok
            problems = sum(summary.get("fetch_failed", {}).values())
            out(f"crawl {spider}: {summary.get('finish_reason')}; {summary.get('item_scraped_count', 0)} pages captured, "
                 f"{summary.get('brandhound/es/indexed', 0)} documents indexed, "
                 f"{summary.get('brandhound/es/spooled', 0)} spooled, {problems} pages failed (see the crawl log with -v)")
        _after_crawls(args, settings, client, profile)
    code = print_status(settings, client, as_json=False)
    return code or (1 if failed else 0)


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``run`` and ``sandbox ...`` to the command line."""
    run = add(sub, "run", cmd_run, COMMANDS["run"])
    run.add_argument("--brand", required=True, help="brand profile YAML file")
    run.add_argument("--deadline", type=float, default=240, help="seconds to wait for Elasticsearch (default 240)")
    run.add_argument("--no-crawl", action="store_true", help="only prepare Elasticsearch and report")
    sandbox_options(run)

    sandbox = sub.add_parser("sandbox", help=COMMANDS["sandbox"]).add_subparsers(dest="sandbox_command", required=True)
    sb_up = add(sandbox, "up", cmd_sandbox_up, "build (if needed) and start the sandbox web")
    sb_up.add_argument("--brand", default=EXAMPLE_BRAND, help="brand profile the sandbox imitates (default: the example brand)")
    sandbox_options(sb_up)
    sb_up.add_argument("--quiet", action="store_true", help="no progress line on a terminal")
    add(sandbox, "down", cmd_sandbox_down, "stop the sandbox web")
    sb_status = add(sandbox, "status", cmd_sandbox_status, "is the sandbox web running")
    sb_status.add_argument("--json", action="store_true")
    tor = sandbox.add_parser("tor", help="the onion sandbox: a dark-web market and a leak forum on a private Tor network")
    tor = tor.add_subparsers(dest="tor_command", required=True)
    tor_up = add(tor, "up", cmd_sandbox_tor_up, "build (if needed) and serve the onion sites, start the private Tor network")
    tor_up.add_argument("--brand", default=EXAMPLE_BRAND, help="brand profile the onion sites imitate (default: the example brand)")
    tor_up.add_argument("--deadline", type=float, default=180, help="seconds Tor may take to become ready (default 180)")
    tor_up.add_argument("--json", action="store_true", help="the state as JSON instead of a summary")
    tor_up.add_argument("--quiet", action="store_true", help="no progress line on a terminal")
    add(tor, "down", cmd_sandbox_tor_down, "stop the onion sites and the Tor network")
    tor_status = add(tor, "status", cmd_sandbox_tor_status, "are the onion sites and the Tor network running")
    tor_status.add_argument("--json", action="store_true")
