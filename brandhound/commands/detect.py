"""The detectors on their own: score listings, match images, permute and score domains, scan dumps."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from brandhound.commands.output import out

if TYPE_CHECKING:
    from brandhound.config import Settings

COMMANDS = {
    "score-listing": "score listings (JSON as extract-listing prints) as counterfeits; JSON lines out",
    "match-image": "match images against the brand's official photos and logos; JSON lines out",
    "permute-domain": "generate look-alike domains of a domain (every dnstwist permutation kind); JSON lines out",
    "score-domain": "score domains as look-alikes of the brands' (every brand of a profile directory); JSON lines out",
    "scan-leaks": "scan dumps (files, directories or -) for the brands' leaked credentials, cards and secrets, "
                  "as a stream; JSON lines out, secrets masked",
}


def _listing_from_json(data: dict, source: str):
    """A Listing from what ``extract-listing`` prints; local image files are hashed, URLs kept."""
    from brandhound.config import ConfigError
    from brandhound.image_fingerprint import ImageRefused, fingerprint
    from brandhound.items import Image, Listing, Price, Product, Seller, Url

    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a JSON object with title, price, currency, ... (as extract-listing prints)")
    images = []
    for ref in data.get("images") or []:
        image = Image(url=str(ref))
        if not str(ref).startswith(("http://", "https://")):
            try:
                image.phash = fingerprint(Path(ref).read_bytes()).phash
            except (OSError, ImageRefused) as exc:
                print(f"brandhound: {source}: image {ref}: {exc}", file=sys.stderr)
        images.append(image)
    try:
        return Listing(url=Url(full=str(data.get("url") or source)), title=data.get("title"),
                       description=data.get("description"),
                       price=Price(amount=float(data["price"]) if data.get("price") is not None else None,
                                   currency=data.get("currency")),
                       product=Product(brand=data.get("brand"), sku=data.get("sku")),
                       seller=Seller(name=data.get("seller"), ratings_count=data.get("ratings_count")),
                       quantity=data.get("quantity"), images=images)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _json_inputs(paths: list[str]):
    """(source, object) for each file argument, or for each JSON line on stdin with ``-``."""
    from brandhound.config import ConfigError

    for path in paths:
        if path == "-":
            for n, line in enumerate(sys.stdin, 1):
                if line.strip():
                    try:
                        yield f"stdin line {n}", json.loads(line)
                    except ValueError as exc:
                        raise ConfigError(f"stdin line {n}: not JSON: {exc}") from None
            continue
        try:
            yield path, json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
        except ValueError as exc:
            raise ConfigError(f"{path}: not JSON: {exc}") from None


def cmd_score_listing(args: argparse.Namespace, settings: Settings) -> int:
    from brandhound.mapping import to_document
    from brandhound.profile import load_profile
    from detectors.counterfeit_listing import ListingScorer
    from detectors.official_images import OfficialImages

    profile = load_profile(args.brand)
    scorer = ListingScorer(profile, OfficialImages.from_profile(profile))
    for source, data in _json_inputs(args.listing):
        finding = scorer.score(_listing_from_json(data, source)).finding
        row = {"input": source, "kind": "counterfeit_listing", "score": 0.0, "verdict": "clear",
               "explanation": "not about the brand: no brand name and no official photo", "signals": []}
        if finding is not None:
            doc = to_document(finding)
            row.update({k: doc.get(k) for k in ("score", "threshold", "verdict", "explanation", "signals")})
        out(json.dumps(row, ensure_ascii=False))
    return 0


def cmd_match_image(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import asdict

    from brandhound.image_fingerprint import ImageRefused, fingerprint
    from brandhound.profile import load_profile
    from detectors.official_images import OfficialImages

    cache = None if args.no_index_cache else "default"
    official = OfficialImages.from_profile(load_profile(args.brand, detect_only=True), cache_dir=cache)
    status = 0
    for path in args.image:
        try:
            data = Path(path).read_bytes()
            facts = fingerprint(data)
            match = official.match_image(data)
        except OSError as exc:
            out(json.dumps({"image": path, "error": f"cannot read: {exc.strerror}"}))
            status = 1
            continue
        except ImageRefused as exc:
            out(json.dumps({"image": path, "error": str(exc)}))
            status = 1
            continue
        out(json.dumps({"image": path, "phash": facts.phash, "dhash": facts.dhash,
                        "match": asdict(match) if match else None,
                        "explanation": match.explanation if match else "no official photo or logo matches"}))
    return status


def cmd_permute_domain(args: argparse.Namespace, settings: Settings) -> int:
    from detectors.domain_cli import permute_domain_command

    return permute_domain_command(args.domain, args.kind or None)


def cmd_score_domain(args: argparse.Namespace, settings: Settings) -> int:
    from brandhound.config import ConfigError
    from detectors.domain_cli import score_domain_command

    if not args.brand and not args.domains:
        raise ConfigError("score-domain: give --brand FILE|DIR (brand profiles) or --domains (the official domains)")
    domains = "-" if args.domain in ([], ["-"]) else args.domain
    return score_domain_command(args.brand, domains, args.threshold, official_domains=_split(args.domains),
                                names=_split(args.names))


def _split(value: str | None) -> list[str] | None:
    """A comma-separated option as a list; None when it was not given."""
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def cmd_scan_leaks(args: argparse.Namespace, settings: Settings) -> int:
    from detectors.leak_cli import scan_leaks_command

    return scan_leaks_command(args.brand, args.source, settings, domains=args.domains, bins=args.bins,
                              prefixes=args.prefixes, progress=False if args.quiet else None)


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    score = add(sub, "score-listing", cmd_score_listing, COMMANDS["score-listing"])
    score.add_argument("--brand", required=True, help="brand profile (YAML)")
    score.add_argument("listing", nargs="+", help="listing JSON files, or - for JSON lines on stdin")
    match = add(sub, "match-image", cmd_match_image, COMMANDS["match-image"])
    match.add_argument("--brand", required=True,
                       help="brand profile (YAML; a minimal one does: products' images and logos)")
    match.add_argument("--no-index-cache", action="store_true",
                       help="build the official photos' index afresh instead of reading it from the cache")
    match.add_argument("image", nargs="+", help="image files")
    permute = add(sub, "permute-domain", cmd_permute_domain, COMMANDS["permute-domain"])
    permute.add_argument("domain", help="a domain, e.g. kestrava.com")
    permute.add_argument("--kind", action="append", help="only this permutation kind (repeatable)")
    score_domain = add(sub, "score-domain", cmd_score_domain, COMMANDS["score-domain"])
    score_domain.add_argument("--brand", "--brands", dest="brand", metavar="FILE|DIR",
                              help="brand profile, or a directory of profiles: every name is scored against every "
                                   "brand (minimal profiles do: id, name, names, official_domains)")
    score_domain.add_argument("--domains", metavar="A,B", help="the official domains of one brand, without a profile")
    score_domain.add_argument("--names", metavar="A,B", help="with --domains: the brand's names (default: from the domains)")
    score_domain.add_argument("--threshold", type=float, help="verdict threshold (default: the profile's)")
    score_domain.add_argument("domain", nargs="*", help="domains or URLs, or - (or nothing) for one per line on stdin")
    scan = add(sub, "scan-leaks", cmd_scan_leaks, COMMANDS["scan-leaks"])
    scan.add_argument("--brand", "--brands", dest="brand", metavar="FILE|DIR",
                      help="brand profile, or a directory of profiles (minimal ones do: corporate_email_domains, "
                           "card_bin_ranges, secret_prefixes)")
    scan.add_argument("--domains", metavar="A,B", help="corporate e-mail domains to look for, without a profile")
    scan.add_argument("--bins", metavar="R,R", help="card BIN ranges (411111 or 411100-411199), without a profile")
    scan.add_argument("--prefixes", metavar="P,P", help="secret key prefixes, without a profile")
    scan.add_argument("--quiet", action="store_true", help="no progress line on a terminal")
    scan.add_argument("source", nargs="+", help="files and directories (walked recursively), or - for standard input")
