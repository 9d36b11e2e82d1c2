"""Exports of a batch of notices: RFC 5322 e-mails, PDF letters, a CSV, and a ZIP bundle with manifests.

:func:`export_batch` writes ``<out>/batch-<time>/`` (one ``<notice id>/`` directory per notice
with ``notice.txt``, ``notice.eml``, ``notice.pdf``, ``report.json`` and ``evidence/``, its
``manifest.json``, plus ``batch.csv`` and the batch ``manifest.json``) and zips it to
``<out>/batch-<time>.zip``. Headers are built by the standard library's ``email`` package
with a policy that refuses CR or LF in a header value; untrusted text never reaches a header
unsanitised anyway. WeasyPrint renders the letters with a URL fetcher that fetches nothing,
so no markup can make it reach the network or the file system. CSV cells that a spreadsheet
would run as a formula are quoted.
"""

from __future__ import annotations

import csv
import json
import mimetypes
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Callable, Iterable

from cryptography import x509

from brandhound.evidence import EvidenceStore
from brandhound.items import File, Takedown, utcnow
from brandhound.pdf import html_to_pdf
from brandhound.profile import BrandProfile
from brandhound.warc import SUFFIX as WARC_SUFFIX
from takedown import bundle
from takedown.lifecycle import TakedownError
from takedown.render import RenderedNotice, render_notice
from takedown.text import one_line

FORMATS = ("eml", "pdf", "csv")
#: The policy for .eml files: CRLF line ends, and header values with CR/LF raise.
EML_POLICY = SMTP.clone(raise_on_defect=True)


@dataclass
class ExportResult:
    directory: Path
    zip_path: Path
    manifest_sha256: str
    notice_manifests: dict[str, str] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def _address(name: str | None, email: str | None) -> Address | None:
    if not email:
        return None
    try:
        return Address(display_name=one_line(name, 120), addr_spec=email.strip())
    except (ValueError, IndexError) as exc:
        raise TakedownError(f"recipient address {email!r} is not a valid e-mail address: {exc}") from None


def evidence_files(notice: Takedown) -> list[tuple[File, str, str]]:
    """``(stored file, role, bundle file name)`` of every evidence file a notice carries."""
    out = []
    for n, e in enumerate(notice.evidence, 1):
        for role, f in (("page", e.html), ("screenshot", e.screenshot), ("warc", e.warc),
                        *(("image", i) for i in e.images)):
            if f is not None and f.path and f.hash.sha256:
                # bundle.verify reads the records of files named *.warc.gz; a path's suffix alone is .gz
                suffix = WARC_SUFFIX if role == "warc" else (
                    Path(f.path).suffix or mimetypes.guess_extension(f.mime_type or "") or "")
                out.append((f, role, f"evidence/{n:03d}-{role}-{f.hash.sha256[:16]}{suffix}"))
    return out


def email_message(notice: Takedown, rendered: RenderedNotice, profile: BrandProfile, notice_dir: Path,
                  now: datetime) -> EmailMessage:
    """The notice as an e-mail: text and HTML bodies, screenshots and form data attached."""
    holder = profile.rights_holder
    msg = EmailMessage(policy=EML_POLICY)
    msg["From"] = Address(display_name=f"{holder.signatory.name} ({holder.legal_name})",
                          addr_spec=holder.signatory.email)
    to = _address(notice.recipient.name, notice.recipient.email)
    if to is not None:
        msg["To"] = to
    msg["Reply-To"] = Address(display_name=holder.legal_name, addr_spec=holder.email)
    msg["Subject"] = one_line(rendered.subject, 250)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(idstring=notice.doc_id()[:16], domain=holder.email.rsplit("@", 1)[1])
    msg["X-Brandhound-Notice"] = notice.doc_id()
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    for _, role, name in evidence_files(notice):
        if role == "screenshot":
            ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
            main, sub = ctype.split("/", 1)
            msg.add_attachment((notice_dir / name).read_bytes(), maintype=main, subtype=sub,
                               filename=Path(name).name)
    if (notice_dir / "report.json").exists():
        msg.add_attachment((notice_dir / "report.json").read_bytes(), maintype="application", subtype="json",
                           filename="report.json")
    return msg


def _refuse_fetch(url: str, *args: object, **kwargs: object) -> dict:
    raise ValueError(f"notice letters load no external resources (refused {url[:80]!r})")


def pdf_letter(html: str) -> bytes:
    return html_to_pdf(html, url_fetcher=_refuse_fetch)


def _cell(value: object) -> str:
    text = one_line(value, 2000)
    # A leading =, +, - or @ makes spreadsheets evaluate the cell (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t") else text


CSV_COLUMNS = ("id", "status", "recipient_kind", "recipient_name", "recipient_email", "form_url", "language",
               "findings", "urls", "subject", "unreviewed", "last_change_at", "last_change_by", "manifest_sha256")


def write_csv(path: Path, notices: Iterable[Takedown], manifests: dict[str, str]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for n in notices:
            last = n.history[-1] if n.history else None
            writer.writerow([_cell(v) for v in (
                n.doc_id(), n.status, n.recipient.kind, n.recipient.name, n.recipient.email, n.recipient.form_url,
                n.language, len(n.finding_ids), " ".join(n.urls), n.subject_line, "yes" if n.unreviewed else "no",
                last.at.isoformat() if last else "", last.by if last else "", manifests.get(n.doc_id(), ""))])


def export_batch(notices: list[Takedown], profile: BrandProfile, evidence: EvidenceStore, out_dir: Path,
                 formats: Iterable[str] = FORMATS, now: datetime | None = None,
                 tsa: tuple[str, list[x509.Certificate]] | None = None,
                 progress: Callable[[str], object] | None = None) -> ExportResult:
    """Write the batch's files and ZIP bundle; fills each notice's ``manifest_sha256``.

    ``progress`` (a progress line's ``update``) hears which notice is being written, then the bundle's steps.

    With ``tsa`` (the Time-Stamp Authority's URL and trust anchors), the batch manifest gets an
    RFC 3161 token, ``manifest.tsr``, kept on each notice as ``timestamp_token``.
    """
    formats = tuple(formats)
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise TakedownError(f"unknown export format(s) {', '.join(sorted(unknown))}; choose from {', '.join(FORMATS)}")
    if not notices:
        raise TakedownError("no notices to export")
    now = now or utcnow()
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    root = Path(out_dir) / f"batch-{stamp}"
    root.mkdir(parents=True, exist_ok=False)
    manifests: dict[str, str] = {}
    for done, notice in enumerate(notices):
        nid = notice.doc_id()
        if progress is not None:
            progress(f"takedown export: {done} of {len(notices)} notices written, now {nid}")
        notice_dir = root / nid
        notice_dir.mkdir()
        for stored, _, name in evidence_files(notice):
            bundle.copy_evidence(evidence, stored, notice_dir / name)
        rendered = render_notice(notice, profile, now=now)
        (notice_dir / "notice.txt").write_text(rendered.text, encoding="utf-8")
        if notice.report:
            (notice_dir / "report.json").write_text(
                json.dumps(json.loads(notice.report), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        if "eml" in formats:
            message = email_message(notice, rendered, profile, notice_dir, now)
            (notice_dir / "notice.eml").write_bytes(message.as_bytes(policy=EML_POLICY))
        if "pdf" in formats:
            (notice_dir / "notice.pdf").write_bytes(pdf_letter(rendered.html))
        manifests[nid] = bundle.notice_manifest(notice_dir, notice, now)
        notice.manifest_sha256 = manifests[nid]
    if "csv" in formats:
        write_csv(root / "batch.csv", notices, manifests)
    batch_sha = bundle.batch_manifest(root, manifests, now)
    if tsa is not None:
        if progress is not None:
            progress(f"takedown export: {len(notices)} notices written, time-stamping the manifest at {tsa[0]}")
        token = bundle.timestamp_manifest(root, *tsa)
        for notice in notices:
            notice.timestamp_token = token
    if progress is not None:
        progress(f"takedown export: {len(notices)} notices written, zipping the bundle")
    zip_path = bundle.zip_tree(root, Path(out_dir) / f"batch-{stamp}.zip")
    return ExportResult(directory=root, zip_path=zip_path, manifest_sha256=batch_sha, notice_manifests=manifests,
                        files=sorted(p for p in root.rglob("*") if p.is_file()))
