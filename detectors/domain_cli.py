"""Command-line entry points for the domain detectors (wired as ``brandhound permute-domain`` and
``brandhound score-domain``). Both write JSON lines to standard output and return an exit status:
0 on success, 2 when the input is unusable (the reason goes to standard error)."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict
from typing import IO

from brandhound.profile import DetectionProfile, ProfileError, load_profiles
from detectors.domain_brands import MultiBrandScorer
from detectors.domain_permutations import KINDS, permutations


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


def _profiles(profile_path: str | None, official_domains: list[str] | None, names: list[str] | None):
    """The brands to score against: a profile file, a directory of them, or one brand from flags."""
    if official_domains:
        first = official_domains[0].lower()
        label = first.split(".")[0]
        return [DetectionProfile(id=re.sub(r"[^a-z0-9-]+", "-", label).strip("-") or "brand", name=(names or [label])[0],
                                 names=names or [label], official_domains=official_domains)]
    if names:
        raise ValueError("--names needs --domains (the brand's official domains) too")
    if not profile_path:
        raise ValueError("give a brand profile, --brands DIR, or --domains (and --names)")
    return load_profiles(profile_path, detect_only=True)


def score_domain_command(profile_path: str | None, domains: list[str] | str, threshold: float | None = None, *,
                         official_domains: list[str] | None = None, names: list[str] | None = None,
                         out: IO[str] | None = None) -> int:
    """One JSON line per domain (or URL) in ``domains`` (``"-"``: one per line on standard input):
    ``{"input", "brand", "brand_name", "domain", "punycode", "score", "threshold", "verdict",
    "matched_official", "signals", "explanation"}``, scored against every brand: ``profile_path`` is a
    profile file or a directory of profiles (minimal ones do), or ``official_domains`` (and ``names``)
    describe one brand without a profile. ``brand`` is the brand the name resembles most (null: none).
    The verdict is ``flagged`` at or above ``threshold`` (default: that brand's profile threshold)."""
    out = out or sys.stdout
    try:
        scorer = MultiBrandScorer(_profiles(profile_path, official_domains, names))
    except (ProfileError, OSError, ValueError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    given = _read_domains(domains)
    for name, result in zip(given, scorer.score_many(given)):
        limit = result.threshold if threshold is None else threshold
        r = result.result
        out.write(json.dumps({
            "input": name, "brand": result.brand, "brand_name": result.brand_name, "domain": r.domain,
            "punycode": r.punycode, "score": r.score, "threshold": limit,
            "verdict": r.verdict(limit), "matched_official": r.matched_official,
            "signals": [asdict(s) for s in r.signals], "explanation": r.explanation,
        }, ensure_ascii=False) + "\n")
    return 0
