"""``brandhound crawl`` and ``brandhound extract-listing``: one crawl, or one saved page."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from brandhound.commands.output import out

if TYPE_CHECKING:
    from brandhound.config import Settings

COMMANDS = {
    "crawl": "run one spider for a brand and index what it finds",
    "extract-listing": "print the listing extracted from a saved HTML page, as JSON",
}
ONION_SPIDERS = ("onion_market", "onion_forum")
SPIDERS = ("marketplace", "surface", "paste", *ONION_SPIDERS)


def sandbox_options(p: argparse.ArgumentParser) -> None:
    """Where the sandbox web listens and how large it is built (for ``--sandbox`` crawls and the demo)."""
    p.add_argument("--sandbox-port", type=int, default=8899, help="port of the sandbox proxy (default 8899)")
    p.add_argument("--listings", type=int, default=300, help="listings per sandbox marketplace (default 300)")


def frontier_options(p: argparse.ArgumentParser) -> None:
    """``--frontier`` and ``--frontier-key``: one worker of a crawl shared through Redis."""
    p.add_argument("--frontier", metavar="REDIS_URL", default="",
                   help="share the crawl's frontier with other workers through this Redis (e.g. redis://127.0.0.1:6379/0)")
    p.add_argument("--frontier-key", metavar="NAME", default="",
                   help="the shared frontier's name: every worker of one crawl gives the same (default: the job id)")


def frontier_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The Scrapy settings ``--frontier`` adds; none without it."""
    from brandhound.config import ConfigError
    from crawlers.frontier import frontier_settings

    if not getattr(args, "frontier", ""):
        return {}
    key = args.frontier_key or args.job_id
    if not key:
        raise ConfigError("--frontier needs --frontier-key (or --job-id): the workers of one crawl find each other by it")
    return frontier_settings(args.frontier, key)


def setting_overrides(pairs: list[str]) -> dict[str, str]:
    """``--set NAME=VALUE`` options as Scrapy settings."""
    from brandhound.config import ConfigError

    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {pair!r}: expected NAME=VALUE (a Scrapy setting)")
        overrides[key] = value
    return overrides


def cmd_crawl(args: argparse.Namespace, settings: Settings) -> int:
    from brandhound import plugins
    from brandhound.commands.es import ensure_cluster
    from brandhound.profile import load_profile
    from crawlers.runner import Egress, run_crawl

    load_profile(args.brand)  # a bad profile fails here, with its message, before any crawl starts
    egress = Egress(proxy=os.environ.get("BRANDHOUND_EGRESS_PROXY") or None,
                    tor_socks=args.tor_socks or None, tor_browser_socks=args.tor_browser_socks or None,
                    tor_control=args.tor_control or None, tor_control_cookie=args.tor_control_cookie or None)
    seeds = list(args.seed)
    if args.sandbox:
        egress, seeds = plugins.environment("sandbox").crawl(settings, args, args.spider, seeds)
    if args.sandbox or settings.es_is_local_node:
        ensure_cluster(settings, 240)
    overrides: dict[str, Any] = {"BRANDHOUND_PROGRESS": not args.quiet, **setting_overrides(args.set),
                                 **frontier_overrides(args)}
    summary = run_crawl(args.spider, Path(args.brand), seeds, egress, job_id=args.job_id, overrides=overrides)
    out(json.dumps(summary))
    return 0 if summary.get("finish_reason") == "finished" else 1


def cmd_extract_listing(args: argparse.Namespace, settings: Settings) -> int:
    from brandhound.config import ConfigError
    from brandhound.html_text import decode_html
    from crawlers.listing_extraction import extract_listing

    try:
        body = Path(args.file).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{args.file}: cannot read: {exc.strerror}") from None
    listing = extract_listing(decode_html(body)[0], args.url)
    out(json.dumps(listing.to_json(), ensure_ascii=False))
    return 0 if listing.is_complete else 1


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    crawl = add(sub, "crawl", cmd_crawl, COMMANDS["crawl"])
    crawl.add_argument("--brand", required=True, help="brand profile YAML file")
    crawl.add_argument("--spider", required=True, choices=SPIDERS)
    crawl.add_argument("--tor-socks", default=os.environ.get("BRANDHOUND_TOR_SOCKS", ""), metavar="HOST:PORT",
                       help="Tor SocksPort for .onion and Tor-only hosts (default $BRANDHOUND_TOR_SOCKS; unset: refused)")
    crawl.add_argument("--tor-browser-socks", default=os.environ.get("BRANDHOUND_TOR_BROWSER_SOCKS", ""),
                       metavar="HOST:PORT", help="SocksPort for browser captures over Tor (one with IsolateDestAddr)")
    crawl.add_argument("--tor-control", default=os.environ.get("BRANDHOUND_TOR_CONTROL", ""), metavar="HOST:PORT",
                       help="Tor's ControlPort, for NEWNYM when an onion site keeps failing (default $BRANDHOUND_TOR_CONTROL)")
    crawl.add_argument("--tor-control-cookie", default=os.environ.get("BRANDHOUND_TOR_CONTROL_COOKIE", ""), metavar="FILE",
                       help="the ControlPort's authentication cookie file")
    crawl.add_argument("--seed", action="append", default=[], metavar="URL", help="start URL or domain (repeatable)")
    crawl.add_argument("--job-id", help="id recorded on every document (default: generated)")
    crawl.add_argument("--sandbox", action="store_true",
                       help="crawl the sandbox web, or for onion spiders the onion sandbox (started if needed)")
    crawl.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a Scrapy setting (repeatable)")
    crawl.add_argument("--quiet", action="store_true", help="no live status line on a terminal")
    sandbox_options(crawl)
    frontier_options(crawl)

    extract = add(sub, "extract-listing", cmd_extract_listing, COMMANDS["extract-listing"])
    extract.add_argument("file", help="HTML file")
    extract.add_argument("--url", required=True, help="the page's URL (resolves relative links)")
