"""The ``brandhound`` command line."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Callable

import elasticsearch

from brandhound import cluster, plugins
from brandhound.config import ConfigError, Settings, load_settings
from brandhound.items import ITEM_TYPES
from brandhound.localnode import LocalNode, LocalNodeError
from brandhound.mapping import index_mapping, schema_markdown
from brandhound.profile import BrandProfile, ProfileError, load_profile
from brandhound.spool import Spool, SpoolError
from brandhound.store import StoreError, open_store
from crawlers import frontier
import reporting.cli
import takedown.cli
import takedown.console.cli
import operations.airflow_home
import brandhound.es_roles_cli

log = logging.getLogger("brandhound")

#: Failures that are the user's to fix: printed as one clear message, no traceback.
EXPECTED_ERRORS = (ConfigError, ProfileError, plugins.PluginMissing, LocalNodeError, cluster.ClusterError, SpoolError, StoreError,
                   *reporting.cli.ERRORS, *takedown.cli.ERRORS)


def _out(line: str = "") -> None:
    print(line, flush=True)


# --------------------------------------------------------------------------- es


def _local_node_or_refuse(settings: Settings) -> LocalNode:
    if not settings.es_is_local_node:
        raise ConfigError(
            f"BRANDHOUND_ES_URL is {settings.es.url}, not the local node at 127.0.0.1:{settings.local_node.port}; "
            "`brandhound es up/down` manage only the local node"
        )
    return LocalNode.from_settings(settings)


def ensure_cluster(settings: Settings, deadline_s: float) -> elasticsearch.Elasticsearch:
    """Start the local node when it is the configured cluster; wait for health either way."""
    if settings.es_is_local_node:
        node = LocalNode.from_settings(settings)
        status = node.start(deadline_s=deadline_s)
        log.info("local Elasticsearch running, pid %s", status.pid)
    client = cluster.make_client(settings.es)
    cluster.wait_for_health(client, deadline_s)
    return client


def cmd_es_up(args: argparse.Namespace, settings: Settings) -> int:
    _local_node_or_refuse(settings)
    client = ensure_cluster(settings, args.deadline)
    cluster.init_indices(client, settings.es.index_prefix)
    return _print_status(settings, client, as_json=False)


def cmd_es_down(args: argparse.Namespace, settings: Settings) -> int:
    node = _local_node_or_refuse(settings)
    _out("stopped Elasticsearch" if node.stop(args.deadline) else "Elasticsearch was not running")
    return 0


def cmd_es_status(args: argparse.Namespace, settings: Settings) -> int:
    client = cluster.make_client(settings.es)
    return _print_status(settings, client, as_json=args.json)


def cmd_es_init(args: argparse.Namespace, settings: Settings) -> int:
    client = cluster.make_client(settings.es)
    for name in cluster.init_indices(client, settings.es.index_prefix):
        _out(f"ready: {name}")
    return 0


def cmd_es_reset(args: argparse.Namespace, settings: Settings) -> int:
    if not args.yes:
        _out(f"This deletes every {settings.es.index_prefix}-* index at {settings.es.url}. Run again with --yes.")
        return 2
    client = cluster.make_client(settings.es)
    cluster.delete_indices(client, settings.es.index_prefix)
    for name in cluster.init_indices(client, settings.es.index_prefix):
        _out(f"recreated: {name}")
    return 0


def _print_status(settings: Settings, client: elasticsearch.Elasticsearch, as_json: bool) -> int:
    try:
        info = cluster.cluster_info(client)
    except cluster.ClusterError as exc:
        if as_json:
            _out(json.dumps({"url": settings.es.url, "reachable": False, "error": str(exc)}))
        else:
            _out(f"Elasticsearch at {settings.es.url}: unreachable ({exc})")
        return 1
    counts = cluster.index_counts(client, settings.es.index_prefix)
    report = {
        "url": settings.es.url,
        "reachable": True,
        "cluster": info.cluster_name,
        "health": info.status,
        "version": ", ".join(info.versions),
        "jvm": ", ".join(info.jvm),
        "client": elasticsearch.__versionstr__,
        "features": {"ilm": info.has_ilm, "ingest_pipelines": info.has_ingest},
        "indices": counts,
    }
    if as_json:
        _out(json.dumps(report))
    else:
        _out(f"Elasticsearch {report['version']} at {settings.es.url}: cluster {info.cluster_name!r}, health {info.status}")
        _out(f"  JVM: {report['jvm']}; Python client {report['client']}")
        _out("  optional features: " + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in report["features"].items()))
        for name, count in counts.items():
            _out(f"  {name}: {'missing' if count is None else f'{count} documents'}")
    return 0 if info.status in {"green", "yellow"} else 1


# --------------------------------------------------------------------------- profile, spool, schema


def cmd_profile_check(args: argparse.Namespace, settings: Settings) -> int:
    failed = 0
    for path in args.files:
        try:
            profile = load_profile(path)
        except ProfileError as exc:
            print(exc, file=sys.stderr)
            failed += 1
            continue
        _out(f"{path}: OK: {_profile_summary(profile)}")
    return 1 if failed else 0


def _profile_summary(profile: BrandProfile) -> str:
    return (
        f"brand {profile.name!r} ({profile.id}): {len(profile.products)} products, "
        f"{len(profile.official_domains)} official domains, {len(profile.marketplaces)} marketplaces, "
        f"counterfeit wording in {', '.join(sorted(profile.counterfeit_keywords))}, "
        f"notices in {', '.join(profile.notice_languages)}"
    )


def cmd_spool_status(args: argparse.Namespace, settings: Settings) -> int:
    with Spool(settings.spool_dir) as spool:
        st = spool.status()
    _out(f"spool {st.directory}: {st.records} documents in {st.segments} segments ({st.bytes} bytes)")
    return 0


def cmd_spool_replay(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    try:
        emptied = store.replay()
    finally:
        store.close()
    _out(f"replayed {store.stats.replayed} documents" + ("" if emptied else "; Elasticsearch is unavailable, the rest wait"))
    return 0 if emptied else 1


def cmd_schema_mapping(args: argparse.Namespace, settings: Settings) -> int:
    by_name = {t.INDEX: t for t in ITEM_TYPES}
    _out(json.dumps(index_mapping(by_name[args.index]), indent=2))
    return 0


def cmd_schema_docs(args: argparse.Namespace, settings: Settings) -> int:
    text = schema_markdown()
    if args.write:
        Path(args.write).write_text(text + "\n", encoding="utf-8")
        _out(f"wrote {args.write}")
    else:
        _out(text)
    return 0


# --------------------------------------------------------------------------- crawl, extraction


ONION_SPIDERS = ("onion_market", "onion_forum")
SPIDERS = ("marketplace", "surface", "paste", *ONION_SPIDERS)


def cmd_crawl(args: argparse.Namespace, settings: Settings) -> int:
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
    overrides = {}
    for pair in args.set:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {pair!r}: expected NAME=VALUE (a Scrapy setting)")
        overrides[key] = value
    overrides.update(frontier.overrides_from_args(args))
    summary = run_crawl(args.spider, Path(args.brand), seeds, egress, job_id=args.job_id, overrides=overrides)
    _out(json.dumps(summary))
    return 0 if summary.get("finish_reason") == "finished" else 1


def cmd_extract_listing(args: argparse.Namespace, settings: Settings) -> int:
    from brandhound.html_text import decode_html
    from crawlers.listing_extraction import extract_listing

    try:
        body = Path(args.file).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{args.file}: cannot read: {exc.strerror}") from None
    listing = extract_listing(decode_html(body)[0], args.url)
    _out(json.dumps(listing.to_json(), ensure_ascii=False))
    return 0 if listing.is_complete else 1


# --------------------------------------------------------------------------- triage


def _listing_from_json(data: dict, source: str):
    """A Listing from what ``extract-listing`` prints; local image files are hashed, URLs kept."""
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
    from detectors.counterfeit_listing import ListingScorer
    from detectors.official_images import OfficialImages

    profile = load_profile(args.brand)
    scorer = ListingScorer(profile, OfficialImages.from_profile(profile))
    for source, data in _json_inputs(args.listing):
        finding = scorer.score(_listing_from_json(data, source)).finding
        out = {"input": source, "kind": "counterfeit_listing", "score": 0.0, "verdict": "clear",
               "explanation": "not about the brand: no brand name and no official photo", "signals": []}
        if finding is not None:
            doc = to_document(finding)
            out.update({k: doc.get(k) for k in ("score", "threshold", "verdict", "explanation", "signals")})
        _out(json.dumps(out, ensure_ascii=False))
    return 0


def cmd_match_image(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import asdict

    from brandhound.image_fingerprint import ImageRefused, fingerprint
    from detectors.official_images import OfficialImages

    official = OfficialImages.from_profile(load_profile(args.brand))
    status = 0
    for path in args.image:
        try:
            facts = fingerprint(Path(path).read_bytes())
        except OSError as exc:
            _out(json.dumps({"image": path, "error": f"cannot read: {exc.strerror}"}))
            status = 1
            continue
        except ImageRefused as exc:
            _out(json.dumps({"image": path, "error": str(exc)}))
            status = 1
            continue
        match = official.match(facts.phash)
        _out(json.dumps({"image": path, "phash": facts.phash, "dhash": facts.dhash,
                         "match": asdict(match) if match else None}))
    return status


def cmd_permute_domain(args: argparse.Namespace, settings: Settings) -> int:
    from detectors.domain_cli import permute_domain_command

    return permute_domain_command(args.domain, args.kind or None)


def cmd_score_domain(args: argparse.Namespace, settings: Settings) -> int:
    from detectors.domain_cli import score_domain_command

    domains = "-" if args.domain in ([], ["-"]) else args.domain
    return score_domain_command(args.brand, domains, args.threshold)


def cmd_scan_leaks(args: argparse.Namespace, settings: Settings) -> int:
    from detectors.leak_cli import scan_leaks_command

    return scan_leaks_command(args.brand, args.source, settings)


# --------------------------------------------------------------------------- wiring


def sandbox_options(p: argparse.ArgumentParser) -> None:
    """Where the sandbox web listens and how large it is built (for ``--sandbox`` crawls and the demo)."""
    p.add_argument("--sandbox-port", type=int, default=8899, help="port of the sandbox proxy (default 8899)")
    p.add_argument("--listings", type=int, default=300, help="listings per sandbox marketplace (default 300)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="brandhound", description=__doc__)
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(subparsers: argparse._SubParsersAction, name: str, func: Callable, help_: str) -> argparse.ArgumentParser:
        p = subparsers.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        return p

    es = sub.add_parser("es", help="the Elasticsearch cluster and the local node").add_subparsers(dest="es_command", required=True)
    up = add(es, "up", cmd_es_up, "fetch, start and prepare the local single-node Elasticsearch")
    up.add_argument("--deadline", type=float, default=240, help="seconds to wait for health (default 240)")
    down = add(es, "down", cmd_es_down, "stop the local node cleanly")
    down.add_argument("--deadline", type=float, default=60, help="seconds before a stuck node is killed")
    status = add(es, "status", cmd_es_status, "health, version, optional features and document counts")
    status.add_argument("--json", action="store_true", help="one JSON object instead of text")
    add(es, "init", cmd_es_init, "create or update the index templates and indices")
    reset = add(es, "reset", cmd_es_reset, "delete and recreate brandhound's indices (all documents are lost)")
    reset.add_argument("--yes", action="store_true", help="really delete")

    crawl = add(sub, "crawl", cmd_crawl, "run one spider for a brand and index what it finds")
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
    sandbox_options(crawl)
    frontier.add_frontier_options(crawl)

    extract = add(sub, "extract-listing", cmd_extract_listing, "print the listing extracted from a saved HTML page, as JSON")
    extract.add_argument("file", help="HTML file")
    extract.add_argument("--url", required=True, help="the page's URL (resolves relative links)")

    score = add(sub, "score-listing", cmd_score_listing, "score listings (JSON as extract-listing prints) as counterfeits; JSON lines out")
    score.add_argument("--brand", required=True, help="brand profile (YAML)")
    score.add_argument("listing", nargs="+", help="listing JSON files, or - for JSON lines on stdin")
    match = add(sub, "match-image", cmd_match_image, "match images against the brand's official photos and logos; JSON lines out")
    match.add_argument("--brand", required=True, help="brand profile (YAML)")
    match.add_argument("image", nargs="+", help="image files")
    permute = add(sub, "permute-domain", cmd_permute_domain,
                  "generate look-alike domains of a domain (every dnstwist permutation kind); JSON lines out")
    permute.add_argument("domain", help="a domain, e.g. kestrava.com")
    permute.add_argument("--kind", action="append", help="only this permutation kind (repeatable)")
    score_domain = add(sub, "score-domain", cmd_score_domain, "score domains as look-alikes of the brand's; JSON lines out")
    score_domain.add_argument("--brand", required=True, help="brand profile (YAML)")
    score_domain.add_argument("--threshold", type=float, help="verdict threshold (default: the profile's)")
    score_domain.add_argument("domain", nargs="*", help="domains or URLs, or - (or nothing) for one per line on stdin")
    scan = add(sub, "scan-leaks", cmd_scan_leaks, "scan a dump (file or -) for the brand's leaked credentials, "
               "cards and secrets, as a stream; JSON lines out, secrets masked")
    scan.add_argument("--brand", required=True, help="brand profile (YAML)")
    scan.add_argument("source", help="a file, or - for standard input")
    profile = sub.add_parser("profile", help="brand profiles").add_subparsers(dest="profile_command", required=True)
    check = add(profile, "check", cmd_profile_check, "validate brand profile files")
    check.add_argument("files", nargs="+", help="brand profile YAML files")

    spool = sub.add_parser("spool", help="documents waiting for Elasticsearch").add_subparsers(dest="spool_command", required=True)
    add(spool, "status", cmd_spool_status, "how many documents wait in the spool")
    add(spool, "replay", cmd_spool_replay, "send the spooled documents to Elasticsearch now")

    schema = sub.add_parser("schema", help="the item schema").add_subparsers(dest="schema_command", required=True)
    mapping = add(schema, "mapping", cmd_schema_mapping, "print the index mapping of one item kind")
    mapping.add_argument("index", choices=[t.INDEX for t in ITEM_TYPES])
    docs = add(schema, "docs", cmd_schema_docs, "print (or --write) the schema reference in Markdown")
    docs.add_argument("--write", metavar="FILE", help="write to FILE, e.g. docs/schema.md")
    reporting.cli.add_commands(sub, add)
    takedown.cli.add_commands(sub, add)
    operations.airflow_home.add_commands(sub, add)
    brandhound.es_roles_cli.add_commands(sub, add)
    takedown.console.cli.add_commands(sub, add)
    for register in plugins.command_registrars():
        register(sub, add)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = os.environ.get("BRANDHOUND_LOG_LEVEL") or ["WARNING", "INFO", "DEBUG"][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The HTTP client logs every request and retry; the store reports what matters.
    logging.getLogger("elastic_transport").setLevel(max(logging.ERROR, logging.getLogger().level))
    try:
        settings = load_settings()
        return args.func(args, settings)
    except EXPECTED_ERRORS as exc:
        print(f"brandhound: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader (`| head`) went away; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
