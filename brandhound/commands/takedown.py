"""``brandhound takedown ...`` and ``brandhound findings confirm|dismiss``: notices and triage."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from brandhound.commands.output import out

if TYPE_CHECKING:
    from brandhound.config import Settings
    from takedown.service import TakedownService

COMMANDS = {"takedown": "takedown notices: draft, review, export, verify, recheck, metrics", "findings": "triage findings"}
EXAMPLE_BRAND = Path(__file__).resolve().parents[2] / "examples" / "brands" / "kestrava" / "brand.yaml"


def service_for(args: argparse.Namespace, settings: Settings, lookups: bool = False) -> TakedownService:
    """The takedown service for ``args.brand``; with ``lookups``, recipients found over RDAP (in the
    environment ``--sandbox`` names, when given) unless ``--no-rdap``."""
    from brandhound import plugins
    from brandhound.profile import load_profile
    from detectors.rdap import RdapClient
    from takedown.hosting import HostingLookup
    from takedown.recipients import RecipientFinder
    from takedown.service import TakedownService

    profile = load_profile(args.brand)
    finder = None
    if lookups and not args.no_rdap:
        rdap, hosting = (plugins.environment("sandbox").lookups(settings) if args.sandbox
                         else (RdapClient.from_settings(), HostingLookup.from_env()))
        finder = RecipientFinder(profile, rdap, hosting)
    elif lookups:
        finder = RecipientFinder(profile)
    return TakedownService.from_settings(settings, profile, finder)


def _summary(notice: Any) -> str:
    r = notice.recipient
    to = r.email or r.form_url or "NO ADDRESS"
    flag = " [UNREVIEWED]" if notice.unreviewed else ""
    return (f"{notice.doc_id()}  {notice.status:<12} {r.kind:<15} {notice.language}  {len(notice.finding_ids):>3} "
            f"finding(s)  {r.name} <{to}>{flag}")


def cmd_draft(args: argparse.Namespace, settings: Settings) -> int:
    service = service_for(args, settings, lookups=True)
    result = service.draft_from_findings(by=args.by, include_flagged=args.flagged)
    if args.flagged:
        out("NOTE: --flagged drafts include findings no analyst has confirmed; they are labelled UNREVIEWED "
             "and are for demonstrations, not for sending")
    out(f"{result.findings} findings: {len(result.created)} notices created, {len(result.updated)} drafts updated, "
         f"{len(result.followups)} follow-ups, {len(set(result.kept))} notices past draft left unchanged, "
         f"{len(result.superseded)} superseded drafts rejected")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from brandhound.mapping import to_document

    notices = service_for(args, settings).list(status=args.status, recipient_kind=args.kind)
    for notice in notices:
        out(json.dumps(to_document(notice), ensure_ascii=False, default=str) if args.json else _summary(notice))
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    notice = service_for(args, settings).get(args.id)
    out(_summary(notice))
    out(f"Subject: {notice.subject_line}\n")
    out(notice.body or "")
    return 0


def cmd_approve(args: argparse.Namespace, settings: Settings) -> int:
    out(_summary(service_for(args, settings).approve(args.id, by=args.by)))
    return 0


def cmd_reject(args: argparse.Namespace, settings: Settings) -> int:
    out(_summary(service_for(args, settings).reject(args.id, reason=args.reason, by=args.by)))
    return 0


def cmd_mark(args: argparse.Namespace, settings: Settings) -> int:
    out(_summary(service_for(args, settings).mark(args.id, args.status, by=args.by, reason=args.reason)))
    return 0


def cmd_edit(args: argparse.Namespace, settings: Settings) -> int:
    from takedown.lifecycle import TakedownError

    fields = {}
    if args.remarks is not None:
        fields["remarks"] = sys.stdin.read() if args.remarks == "-" else args.remarks
    if args.language:
        fields["language"] = args.language
    if not fields:
        raise TakedownError("nothing to edit: give --remarks TEXT (or - for stdin) and/or --language")
    out(_summary(service_for(args, settings).edit_free_text(args.id, fields, by=args.by)))
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from brandhound.progress import ProgressLine

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    bar = ProgressLine(sys.stderr, False if args.quiet else None)
    try:
        result = service_for(args, settings).export(Path(args.out), ids=args.id or None, status=args.status,
                                                    formats=formats, progress=bar.update)
    finally:
        bar.done()
    out(f"exported {len(result.notice_manifests)} notices to {result.directory}")
    out(f"bundle {result.zip_path} (manifest SHA-256 {result.manifest_sha256})")
    return 0


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from takedown.bundle import verify
    from takedown.timestamping import load_anchors

    anchors = load_anchors(settings.tsa_trust_anchor) if settings.tsa_trust_anchor else None
    report = verify(args.bundle, anchors)
    for problem in report.problems:
        out(f"FAILED: {problem}")
    out(f"{report.bundle}: {'OK' if report.ok else 'ALTERED'}: {report.files_checked} files checked, "
        f"{len(report.notices)} notices, {len(report.problems)} problems; {report.timestamp}")
    return 0 if report.ok else 1


def cmd_recheck(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import asdict
    from datetime import timedelta

    from takedown.recheck import MIN_GAP, recheck
    from takedown.refetch import HttpRefetcher

    fetch = HttpRefetcher.from_env(allow_private=True) if args.allow_private else HttpRefetcher.from_env()
    gap = MIN_GAP if args.min_gap_hours is None else timedelta(hours=args.min_gap_hours)
    summary = recheck(service_for(args, settings), fetch, min_gap=gap)
    if args.json:
        for n in summary.notices:
            out(json.dumps({"notice": n.notice_id, "status": n.status, "closed": n.closed, "error": n.error,
                            "confirmed": n.confirmed, "checks": [asdict(c) for c in n.checks]},
                           ensure_ascii=False, default=str))
        out(json.dumps({"totals": summary.totals()}))
        return 0
    for n in summary.notices:
        out(f"{n.notice_id}  {n.status}{'  (closed now)' if n.closed else ''}"
            f"{'  NOT RECORDED: ' + n.error if n.error else ''}")
        for c in n.checks:
            confirmed = "  confirmed" if c.url in n.confirmed else ""
            out(f"    {c.outcome:<11} {c.signal:<18} {c.status_code or '-':>4}  {c.url}{confirmed}")
    t = summary.totals()
    out(f"{t['notices']} notices, {t['urls']} URLs checked: {t['removed']} removed, {t['unreachable']} unreachable, "
        f"{t['online']} online; {t['closed']} notices closed as removed, {t['errors']} not recorded")
    return 0


def cmd_metrics(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime, timezone

    from reporting.takedown_metrics import compute, metrics_table, parse_moment

    clock = datetime.now(timezone.utc)
    now = parse_moment(args.now, clock, "--now") if args.now else clock
    since = parse_moment(args.since, now) if args.since else None
    metrics = compute(service_for(args, settings).list(), now, since=since)
    out(metrics.to_json() if args.json else metrics_table(metrics))
    return 0


def _triage(status: str) -> Callable[[argparse.Namespace, Settings], int]:
    def command(args: argparse.Namespace, settings: Settings) -> int:
        from brandhound.cluster import make_client
        from takedown.triage import set_finding_status

        client = make_client(settings.es)
        try:
            ids = set_finding_status(client, settings.es.index_prefix, args.ids, status, args.by,
                                     getattr(args, "reason", None))
        finally:
            client.close()
        out(f"{status} {len(ids)} finding(s)")
        return 0

    return command


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    from takedown.export import FORMATS
    from takedown.lifecycle import STATUSES
    from takedown.recipients import RECIPIENT_KINDS

    default_by = os.environ.get("BRANDHOUND_USER") or getpass.getuser()

    def common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--brand", default=str(EXAMPLE_BRAND), help="brand profile (YAML; default: the example brand)")
        p.add_argument("--by", default=default_by, help=f"who acts, recorded in the history (default {default_by})")
        return p

    takedown = sub.add_parser("takedown", help=COMMANDS["takedown"])
    takedown = takedown.add_subparsers(dest="takedown_command", required=True)
    draft = common(add(takedown, "draft", cmd_draft, "draft (or refresh) notices from the brand's confirmed findings"))
    draft.add_argument("--flagged", action="store_true",
                       help="also flagged findings nobody reviewed (demos; such notices are labelled UNREVIEWED)")
    draft.add_argument("--sandbox", action="store_true", help="look registrars and hosts up in the running sandbox web")
    draft.add_argument("--no-rdap", action="store_true", help="no RDAP lookups: the sites' RDAP facts and the profile only")
    listing = common(add(takedown, "list", cmd_list, "list the brand's notices, newest first"))
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--kind", choices=RECIPIENT_KINDS, help="only this recipient kind")
    listing.add_argument("--json", action="store_true", help="one JSON document per line")
    common(add(takedown, "show", cmd_show, "print one notice")).add_argument("id")
    common(add(takedown, "approve", cmd_approve, "approve a draft for sending")).add_argument("id")
    reject = common(add(takedown, "reject", cmd_reject, "reject a notice, saying why"))
    reject.add_argument("id")
    reject.add_argument("--reason", required=True)
    mark = common(add(takedown, "mark", cmd_mark, "record a later status: sent, acknowledged, removed, rejected"))
    mark.add_argument("id")
    mark.add_argument("status", choices=STATUSES)
    mark.add_argument("--reason", help="why (required for rejected)")
    edit = common(add(takedown, "edit", cmd_edit, "edit a draft's remarks or language"))
    edit.add_argument("id")
    edit.add_argument("--remarks", help="free text added to the notice (- reads standard input)")
    edit.add_argument("--language", help="one of the brand's notice languages")
    export = common(add(takedown, "export", cmd_export, "export notices as .eml, PDF and CSV with a ZIP bundle"))
    export.add_argument("--status", default="approved", choices=STATUSES, help="notices of this status (default approved)")
    export.add_argument("--id", action="append", help="only this notice (repeatable; overrides --status)")
    export.add_argument("--format", default=",".join(FORMATS), help=f"comma-separated: {', '.join(FORMATS)} (default all)")
    export.add_argument("--out", required=True, help="directory for the batch")
    export.add_argument("--quiet", action="store_true", help="no progress line on a terminal")
    verify_cmd = add(takedown, "verify", cmd_verify, "verify a bundle (ZIP or directory) against its manifests")
    verify_cmd.add_argument("bundle")
    metrics = common(add(takedown, "metrics", cmd_metrics,
                         "notices sent, removal rate, time to notice and to removal, re-up rates, per recipient "
                         "(method: docs/takedown-metrics.md)"))
    metrics.add_argument("--since", help="only notices sent since then: a window back from now (30d, 12h, 2w) "
                                         "or an ISO 8601 date or time (default: every notice)")
    metrics.add_argument("--now", help="the moment the figures are taken at, ISO 8601 (default: now; for a "
                                       "simulated clock)")
    metrics.add_argument("--json", action="store_true", help="the figures as one JSON document")
    recheck_cmd = add(takedown, "recheck", cmd_recheck,
                      "re-fetch sent notices' URLs; close notices whose every URL is confirmed removed")
    recheck_cmd.add_argument("--brand", default=str(EXAMPLE_BRAND), help="brand profile (YAML; default: the example brand)")
    recheck_cmd.add_argument("--min-gap-hours", type=float,
                             help="hours between the two removed sightings that confirm a removal (default 4)")
    recheck_cmd.add_argument("--allow-private", action="store_true",
                             help="fetch private addresses too (the sandbox web only)")
    recheck_cmd.add_argument("--json", action="store_true", help="one JSON document per notice, then the totals")

    findings = sub.add_parser("findings", help=COMMANDS["findings"]).add_subparsers(dest="findings_command", required=True)
    confirm = add(findings, "confirm", _triage("confirmed"), "confirm findings: they become takedown notices")
    confirm.add_argument("ids", nargs="+", metavar="ID")
    confirm.add_argument("--by", default=default_by, help=f"who confirms (default {default_by})")
    dismiss = add(findings, "dismiss", _triage("dismissed"), "dismiss findings as false positives")
    dismiss.add_argument("ids", nargs="+", metavar="ID")
    dismiss.add_argument("--reason", required=True)
    dismiss.add_argument("--by", default=default_by, help=f"who dismisses (default {default_by})")
