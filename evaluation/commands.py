"""``brandhound evaluate``: precision, recall and F1 of every detector, per corpus, beside the peers.

Registered under the ``brandhound.commands`` entry point (the core command line does not import
the evaluation suite).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from brandhound.progress import ProgressLine
from evaluation import suite
from evaluation.corpus import EXAMPLE_BRAND

if TYPE_CHECKING:
    from brandhound.config import Settings
    from evaluation.metrics import Result

COMMANDS = {"evaluate": "precision, recall and F1 of every detector on the sandbox and on public real-world corpora, "
                        "beside the peers measured in the same run"}


def _table(results: list[Result]) -> list[str]:
    extras = sorted({name for r in results for name, _ in r.extra})
    head = ["corpus", "split", "system", "measure", "precision", "recall", "F1", "TP", "FP", "FN", *extras, "note"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in results:
        m, extra = r.metrics, dict(r.extra)
        cells = [r.corpus, r.split, r.system, m.kind, f"{m.precision:.3f}", f"{m.recall:.3f}", f"{m.f1:.3f}",
                 str(m.true_positives), str(m.false_positives), str(m.false_negatives),
                 *(f"{extra[name]:.4g}" if name in extra else "" for name in extras), r.note]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from evaluation import sandbox

    names = suite.names(args.corpus or ["sandbox"])
    results: list[Result] = []
    # On standard error, and off with --json or --quiet: the table or the JSON on standard output stays clean.
    bar = ProgressLine(sys.stderr, False if args.json or args.quiet else None)
    begun = time.monotonic()
    for i, name in enumerate(names, 1):
        started = time.monotonic()
        bar.update(f"evaluate: {name} ({i} of {len(names)}), {started - begun:.0f} s so far", force=True)
        try:
            if name == "sandbox":
                results += sandbox.evaluate(profile_path=Path(args.brand), listings_per_marketplace=args.listings)
            else:
                results += suite.run(name, args.split, peers=not args.no_peers)
        finally:
            bar.done()
        if bar.enabled:
            print(f"evaluated {name} in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps([r.as_dict() for r in results], ensure_ascii=False), flush=True)
    else:
        print("\n".join(_table(results)), flush=True)
    return 0


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``evaluate`` to the command line."""
    evaluate = add(sub, "evaluate", cmd_evaluate, COMMANDS["evaluate"])
    evaluate.add_argument("--corpus", action="append", metavar="NAME",
                          help=f"all, or one of {', '.join(suite.CORPORA)} (repeatable; default: sandbox)")
    evaluate.add_argument("--split", default="test", choices=("test", "dev", "all"),
                          help="which part of a real-world corpus: test (only reported, the default), dev (tuned on) "
                               "or all; the sandbox is always measured whole")
    evaluate.add_argument("--no-peers", action="store_true", help="measure brandhound only")
    evaluate.add_argument("--brand", default=str(EXAMPLE_BRAND),
                          help="brand profile the sandbox imitates (default: the example brand)")
    evaluate.add_argument("--listings", type=int, default=300, help="listings per sandbox marketplace (default 300)")
    evaluate.add_argument("--json", action="store_true", help="one JSON list of rows instead of a table")
    evaluate.add_argument("--quiet", action="store_true", help="no progress line on a terminal")
