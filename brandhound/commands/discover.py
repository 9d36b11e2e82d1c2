"""``brandhound discover ct|nrd``: new look-alike domains of every brand as they appear (CT logs, NRD lists)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO, Any, Callable

COMMANDS = {"discover": "find new look-alike domains of every brand as they appear: CT logs, NRD lists"}


def _report(result: dict[str, Any], out: IO[str]) -> None:
    for item in result["flagged"]:
        out.write(json.dumps(item, ensure_ascii=False) + "\n")


def cmd_discover_ct(args: argparse.Namespace, settings: Any) -> int:
    """``brandhound discover ct``: JSON lines of the new flagged domains on stdout; 1 when a log failed."""
    from operations.discover import EXPECTED, run_ct

    try:
        result = run_ct(settings, args.brands, log_list=args.log_list, log_urls=args.log or [], since=args.since,
                        follow=args.follow, interval=args.interval, claim_entries=args.claim,
                        max_entries=args.max_entries)
    except EXPECTED as exc:
        print(f"brandhound discover ct: {exc}", file=sys.stderr)
        return 2
    _report(result, sys.stdout)
    return 1 if any(x["error"] for x in result["logs"]) else 0


def cmd_discover_nrd(args: argparse.Namespace, settings: Any) -> int:
    """``brandhound discover nrd``: JSON lines of the new flagged domains on stdout."""
    from operations.discover import EXPECTED, run_nrd

    try:
        result = run_nrd(settings, args.brands, args.source)
    except EXPECTED as exc:
        print(f"brandhound discover nrd: {exc}", file=sys.stderr)
        return 2
    _report(result, sys.stdout)
    return 0


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    from operations.discover import CLAIM_ENTRIES

    group = sub.add_parser("discover", help=COMMANDS["discover"], description=COMMANDS["discover"])
    discover = group.add_subparsers(dest="discover_command", required=True)
    ct = add(discover, "ct", cmd_discover_ct, "follow certificate-transparency logs (RFC 6962 and static-ct) and "
             "index look-alike domains of every brand as Site candidates and findings; JSON lines out")
    ct.add_argument("--brands", required=True, help="a brand profile directory (or one profile)")
    ct.add_argument("--log-list", help="log list JSON in the browsers' v3 format, a file or URL")
    ct.add_argument("--log", action="append", help="a log URL (repeatable); static:URL for a tiled log's monitoring prefix")
    ct.add_argument("--since", default="now", help="where a log never read starts: now (default), start, or an index")
    ct.add_argument("--follow", action="store_true", help="keep polling every --interval seconds")
    ct.add_argument("--interval", type=float, default=60.0, help="seconds between polls with --follow (default 60)")
    ct.add_argument("--claim", type=int, default=CLAIM_ENTRIES, help=f"entries per claimed range (default {CLAIM_ENTRIES})")
    ct.add_argument("--max-entries", type=int, help="at most this many entries per log and poll")
    nrd = add(discover, "nrd", cmd_discover_nrd, "score a newly-registered-domains list (text, .gz or .zip; file or "
              "URL) against every brand and index the look-alikes; JSON lines out")
    nrd.add_argument("--brands", required=True, help="a brand profile directory (or one profile)")
    nrd.add_argument("source", help="the list: a file or URL, plain text, .gz or .zip")
