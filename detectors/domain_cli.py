"""Command-line entry points for the domain detectors (wired as ``brandhound permute-domain`` and
``brandhound score-domain``). Both write JSON lines to standard output and return an exit status:
0 on success, 2 when the input is unusable (the reason goes to standard error)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import IO

from brandhound.profile import ProfileError, load_profile
from detectors.domain_permutations import KINDS, permutations
from detectors.domain_similarity import DomainScorer


def permute_domain_command(domain: str, kinds: list[str] | None = None, *, out: IO[str] | None = None) -> int:
    """One JSON line per look-alike of ``domain``: ``{"domain", "punycode", "kind"}``.
    ``kinds`` limits the permutation families (see :data:`detectors.domain_permutations.KINDS`)."""
    out = out or sys.stdout
    unknown = [k for k in kinds or [] if k not in KINDS]
    if unknown:
        print(f"unknown permutation kind(s): {', '.join(unknown)}; choose from {', '.join(KINDS)}", file=sys.stderr)
        return 2
    try:
        candidates = permutations(domain, kinds or None)
    except ValueError as exc:
        print(f"{domain!r}: {exc}", file=sys.stderr)
        return 2
    for c in candidates:
        out.write(json.dumps({"domain": c.domain, "punycode": c.punycode, "kind": c.kind}, ensure_ascii=False) + "\n")
    return 0


def _read_domains(domains: list[str] | str) -> list[str]:
    if domains == "-" or domains == ["-"]:
        lines = sys.stdin.read().splitlines()
    else:
        lines = [domains] if isinstance(domains, str) else list(domains)
    return [x.strip() for x in lines if x.strip() and not x.lstrip().startswith("#")]


def score_domain_command(profile_path: str, domains: list[str] | str, threshold: float | None = None, *,
                         out: IO[str] | None = None) -> int:
    """One JSON line per domain (or URL) in ``domains`` (``"-"``: one per line on standard input):
    ``{"domain", "punycode", "score", "threshold", "verdict", "matched_official", "signals", "explanation"}``.
    The verdict is ``flagged`` at or above ``threshold`` (default: the brand profile's threshold)."""
    out = out or sys.stdout
    try:
        profile = load_profile(profile_path)
    except (ProfileError, OSError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    limit = profile.threshold if threshold is None else threshold
    scorer = DomainScorer.from_profile(profile)
    names = _read_domains(domains)
    for given, result in zip(names, scorer.score_many(names)):
        out.write(json.dumps({
            "input": given, "domain": result.domain, "punycode": result.punycode, "score": result.score,
            "threshold": limit, "verdict": result.verdict(limit), "matched_official": result.matched_official,
            "signals": [asdict(s) for s in result.signals], "explanation": result.explanation,
        }, ensure_ascii=False) + "\n")
    return 0
