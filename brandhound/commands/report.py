"""``brandhound kibana build|import|export`` and ``brandhound report``: what analysts look at."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from brandhound.config import Settings
    from reporting.kibana_client import KibanaClient

COMMANDS = {"kibana": "Kibana saved objects: data views, searches, dashboards",
            "report": "write the brand-risk report (HTML and PDF) for the last --since"}


def _read_objects(path: Path) -> list[dict]:
    from reporting.kibana_client import KibanaError
    from reporting.saved_objects import read_ndjson

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KibanaError(f"{path}: cannot read the saved objects: {exc.strerror}") from None
    try:
        objects = read_ndjson(text, str(path))
    except ValueError as exc:
        raise KibanaError(str(exc)) from None
    if not objects:
        raise KibanaError(f"{path}: holds no saved objects")
    return objects


def cmd_kibana_build(args: argparse.Namespace, settings: Settings) -> int:
    from reporting.saved_objects import build_objects, to_ndjson

    objects = build_objects(args.index_prefix or settings.es.index_prefix, args.evidence_base_url)
    Path(args.out).write_text(to_ndjson(objects), encoding="utf-8")
    print(f"wrote {len(objects)} saved objects to {args.out}")
    return 0


def _client(args: argparse.Namespace) -> KibanaClient:
    from reporting.kibana_client import KibanaClient, KibanaSettings

    return KibanaClient(KibanaSettings.from_env(args.url, args.space, dict(os.environ)))


def cmd_kibana_import(args: argparse.Namespace, settings: Settings) -> int:
    from reporting.saved_objects import to_ndjson

    path = Path(args.file)
    objects = _read_objects(path)
    result = _client(args).import_objects(to_ndjson(objects))
    print(f"imported {result.get('successCount', 0)} saved objects from {path} into {args.url}"
          f" (space {args.space or 'default'})")
    return 0


def cmd_kibana_export(args: argparse.Namespace, settings: Settings) -> int:
    from reporting.kibana_client import export_ndjson

    wanted = _read_objects(Path(args.objects))
    ndjson = export_ndjson(_client(args), wanted)
    if args.out == "-":
        sys.stdout.write(ndjson)
    else:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(ndjson, encoding="utf-8")
        print(f"wrote {len(ndjson.splitlines())} saved objects to {args.out}")
    return 0


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime, timezone

    from brandhound import cluster
    from brandhound.evidence import EvidenceStore
    from brandhound.profile import load_profile
    from reporting.queries import ReportQueries
    from reporting.report import make_report
    from reporting.takedown_metrics import compute
    from reporting.window import parse_since
    from takedown.service import TakedownService

    since = parse_since(args.since)
    profile = load_profile(args.brand)
    client = cluster.make_client(settings.es)
    try:
        queries = ReportQueries(client, settings.es.index_prefix, profile)
        end = datetime.now(timezone.utc)
        notices = TakedownService(client, settings.es.index_prefix, profile, EvidenceStore(settings.evidence_dir)).list()
        data, files = make_report(queries, since, Path(args.out), EvidenceStore(settings.evidence_dir), now=end,
                                  takedown_metrics=compute(notices, end, since=end - since))
    finally:
        client.close()
    print(f"brand-risk report for {profile.name}: {data.flagged} flagged findings, {data.campaign_count} campaigns, "
          f"{data.takedowns.total} takedowns, {data.leaked_accounts} newly leaked accounts")
    print(f"  {files.html}\n  {files.pdf}")
    return 0


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    from reporting.saved_objects import DEFAULT_EVIDENCE_BASE_URL, DEFAULT_NDJSON

    kibana = sub.add_parser("kibana", help=COMMANDS["kibana"])
    kibana = kibana.add_subparsers(dest="kibana_command", required=True)
    build = add(kibana, "build", cmd_kibana_build, "regenerate the saved objects from the item schema")
    build.add_argument("--out", default=str(DEFAULT_NDJSON), help=f"NDJSON file (default {DEFAULT_NDJSON})")
    build.add_argument("--index-prefix", help="index prefix of the data views (default $BRANDHOUND_ES_INDEX_PREFIX)")
    build.add_argument("--evidence-base-url", default=DEFAULT_EVIDENCE_BASE_URL,
                       help=f"URL evidence file paths are linked under (default {DEFAULT_EVIDENCE_BASE_URL})")
    for name, func, help_ in (
        ("import", cmd_kibana_import, "import saved objects into Kibana (overwriting ours); "
                                      "credentials from BRANDHOUND_KIBANA_API_KEY(_FILE) or _USERNAME/_PASSWORD(_FILE)"),
        ("export", cmd_kibana_export, "export brandhound's saved objects from Kibana, with analysts' changes, to NDJSON"),
    ):
        p = add(kibana, name, func, help_)
        p.add_argument("--url", default=os.environ.get("BRANDHOUND_KIBANA_URL"), required="BRANDHOUND_KIBANA_URL" not in os.environ,
                       help="Kibana base URL, e.g. https://kibana.internal:5601 (default $BRANDHOUND_KIBANA_URL)")
        p.add_argument("--space", help="Kibana space id (default: the default space)")
    kibana.choices["import"].add_argument("--file", default=str(DEFAULT_NDJSON), help="NDJSON to import")
    export = kibana.choices["export"]
    export.add_argument("--objects", default=str(DEFAULT_NDJSON), help="NDJSON naming the objects to export")
    export.add_argument("--out", default="-", help="NDJSON file to write, e.g. deploy/kibana/brandhound.ndjson (default stdout)")

    report = add(sub, "report", cmd_report, COMMANDS["report"])
    report.add_argument("--brand", required=True, help="brand profile (YAML)")
    report.add_argument("--since", default="7d", help="window: 12h, 7d, 2w... (default 7d)")
    report.add_argument("--out", required=True, help="directory for report.html, report.pdf and their images")
