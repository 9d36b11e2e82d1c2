"""Evidence bundles: every exported file listed with its SHA-256 and size in a JSON manifest.

A batch export is a directory (and the same tree zipped) holding, per notice, its letter,
e-mail, form data and evidence files under ``<notice id>/`` with a ``<notice id>/manifest.json``;
the batch ``manifest.json`` at the top lists every other file, the notices with their
manifests' SHA-256 (also kept on the Takedown document as ``manifest_sha256``), the
generation time and the tool version. :func:`verify` recomputes every hash, so altering
one byte of any bundled file, or adding or removing one, is reported.

When a Time-Stamp Authority is configured, ``manifest.tsr`` next to the batch manifest holds its
RFC 3161 answer over the manifest's SHA-256 (:mod:`takedown.timestamping`), and :func:`verify`
checks that token too; a capture's WARC (``*.warc.gz``) is read back and its record digests
recomputed, so what was served is checked, not only the file's hash.

Evidence files are copied from the evidence store, which names each file by its SHA-256;
a stored file that no longer matches its name is refused at export rather than bundled.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from brandhound import __version__
from brandhound.evidence import EvidenceStore
from cryptography import x509

from brandhound import warc
from brandhound.items import File, Hash, Takedown
from takedown import timestamping
from takedown.lifecycle import TakedownError

MANIFEST = "manifest.json"
TOKEN = "manifest.tsr"
FORMAT = "brandhound-takedown-bundle/1"
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_entries(root: Path, below: Path | None = None, skip: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """``{relative posix path: {sha256, size}}`` for every file under ``below`` (default ``root``)."""
    entries = {}
    for path in sorted((below or root).rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and rel not in skip:
            entries[rel] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    return entries


def write_json(path: Path, data: Any) -> str:
    """Write ``data`` as JSON; returns the file's SHA-256."""
    body = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8") + b"\n"
    path.write_bytes(body)
    return hashlib.sha256(body).hexdigest()


def copy_evidence(store: EvidenceStore, file: File, target: Path) -> None:
    """Copy a stored evidence file, refusing one whose bytes no longer match its recorded hash."""
    data = store.read(file)
    if hashlib.sha256(data).hexdigest() != file.hash.sha256:
        raise TakedownError(f"evidence file {file.path} does not match its recorded SHA-256 {file.hash.sha256}: "
                            "it was altered in the evidence store; not bundled")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def notice_manifest(notice_dir: Path, notice: Takedown, generated_at: datetime) -> str:
    """Write ``<notice dir>/manifest.json``; returns its SHA-256."""
    evidence = [{
        "finding_id": e.finding_id, "kind": e.kind, "url": e.url, "final_url": e.final_url,
        "captured_at": e.captured_at.isoformat() if e.captured_at else None,
        "html_sha256": e.html.hash.sha256 if e.html else None,
        "screenshot_sha256": e.screenshot.hash.sha256 if e.screenshot else None,
        "image_sha256s": [i.hash.sha256 for i in e.images],
    } for e in notice.evidence]
    return write_json(notice_dir / MANIFEST, {
        "format": FORMAT, "notice_id": notice.doc_id(), "status": notice.status,
        "recipient": {"kind": notice.recipient.kind, "name": notice.recipient.name, "email": notice.recipient.email},
        "generated_at": generated_at.isoformat(), "tool": f"brandhound {__version__}",
        "evidence": evidence, "files": file_entries(notice_dir.parent, notice_dir, skip=(f"{notice_dir.name}/{MANIFEST}",)),
    })


def batch_manifest(root: Path, notices: dict[str, str], generated_at: datetime) -> str:
    """Write the batch ``manifest.json`` at ``root``; ``notices``: id -> its manifest's SHA-256."""
    return write_json(root / MANIFEST, {
        "format": FORMAT, "generated_at": generated_at.isoformat(), "tool": f"brandhound {__version__}",
        "notices": [{"id": nid, "manifest": f"{nid}/{MANIFEST}", "manifest_sha256": sha}
                    for nid, sha in sorted(notices.items())],
        "files": file_entries(root, skip=(MANIFEST,)),
    })


def timestamp_manifest(root: Path, tsa_url: str, anchors: list[x509.Certificate], timeout: float = 30) -> File:
    """Have the batch manifest at ``root`` time-stamped; writes the verified answer to ``manifest.tsr``."""
    manifest = (root / MANIFEST).read_bytes()
    answer = timestamping.request_timestamp(tsa_url, hashlib.sha256(manifest).digest(), anchors, timeout=timeout)
    (root / TOKEN).write_bytes(answer)
    return File(path=TOKEN, size=len(answer), mime_type=timestamping.REPLY_TYPE,
                hash=Hash(sha256=hashlib.sha256(answer).hexdigest()))


def zip_tree(root: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(root).as_posix())
    return target


# --------------------------------------------------------------------------- verification


@dataclass
class Verification:
    bundle: str
    files_checked: int = 0
    notices: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: What the manifest's time-stamp proves, or "no timestamp".
    timestamp: str = "no timestamp"

    @property
    def ok(self) -> bool:
        return not self.problems


class _Tree:
    """Read access to a bundle, zipped or unpacked."""

    def __init__(self, bundle: Path):
        self.bundle = bundle
        if bundle.is_dir():
            self.names = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
            self._zip = None
        else:
            try:
                self._zip = zipfile.ZipFile(bundle)
            except (OSError, zipfile.BadZipFile) as exc:
                raise TakedownError(f"{bundle}: not a bundle directory or ZIP file: {exc}") from None
            self.names = {n for n in self._zip.namelist() if not n.endswith("/")}

    def sha256(self, name: str) -> tuple[str, int]:
        digest, size = hashlib.sha256(), 0
        fh = self._zip.open(name) if self._zip else open(self.bundle / name, "rb")
        with fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(chunk)
                size += len(chunk)
        return digest.hexdigest(), size

    def read(self, name: str) -> bytes:
        return self._zip.read(name) if self._zip else (self.bundle / name).read_bytes()


def _check(tree: _Tree, listed: dict[str, Any], report: Verification, where: str) -> None:
    for name, facts in sorted(listed.items()):
        if PurePosixPath(name).is_absolute() or ".." in PurePosixPath(name).parts:
            report.problems.append(f"{where}: refuses the path {name!r}")
            continue
        if name not in tree.names:
            report.problems.append(f"{name}: listed in {where} but missing")
            continue
        digest, size = tree.sha256(name)
        report.files_checked += 1
        if digest != facts.get("sha256") or size != facts.get("size"):
            report.problems.append(f"{name}: SHA-256 {digest} ({size} bytes) does not match {where} "
                                   f"({facts.get('sha256')}, {facts.get('size')} bytes): the file was altered")


def _check_timestamp(tree: _Tree, report: Verification, anchors: list[x509.Certificate] | None) -> None:
    if TOKEN not in tree.names:
        return
    try:
        stamp = timestamping.verify_response(tree.read(TOKEN), hashlib.sha256(tree.read(MANIFEST)).digest(), anchors)
    except timestamping.TimestampError as exc:
        report.timestamp = f"{TOKEN}: INVALID"
        report.problems.append(f"{TOKEN}: {exc}")
        return
    trust = (f"its certificate issued by {stamp.anchor}" if stamp.anchor
             else "its issuer NOT checked: no TSA trust anchor configured")
    report.timestamp = (f"timestamp {stamp.gen_time.isoformat()} (serial {stamp.serial_number}) by {stamp.tsa}, "
                        f"{trust}")


def verify(bundle: str | Path, anchors: list[x509.Certificate] | None = None) -> Verification:
    """Check a bundle (ZIP or directory) against its manifests, its WARCs' record digests and its
    time-stamp token (against ``anchors``, the TSA trust anchors); problems say which file and how."""
    bundle = Path(bundle)
    if not bundle.exists():
        raise TakedownError(f"{bundle}: no such bundle")
    tree = _Tree(bundle)
    report = Verification(str(bundle))
    if MANIFEST not in tree.names:
        raise TakedownError(f"{bundle}: has no {MANIFEST}; not a brandhound takedown bundle")
    try:
        manifest = json.loads(tree.read(MANIFEST))
        files = manifest["files"]
        notices = manifest["notices"]
    except (ValueError, KeyError, TypeError) as exc:
        raise TakedownError(f"{bundle}: {MANIFEST} is not a bundle manifest: {exc}") from None
    _check(tree, files, report, MANIFEST)
    for extra in sorted(tree.names - set(files) - {MANIFEST, TOKEN}):
        report.problems.append(f"{extra}: in the bundle but not in {MANIFEST}")
    for notice in notices:
        name = notice.get("manifest", "")
        report.notices.append(notice.get("id", "?"))
        if name in tree.names and tree.sha256(name)[0] != notice.get("manifest_sha256"):
            report.problems.append(f"{name}: its SHA-256 is not the one recorded for notice {notice.get('id')}")
        if name in tree.names:
            try:
                _check(tree, json.loads(tree.read(name))["files"], report, name)
            except (ValueError, KeyError, TypeError):
                report.problems.append(f"{name}: not a notice manifest")
    for name in sorted(n for n in tree.names if n.endswith(warc.SUFFIX)):
        report.problems.extend(warc.check_warc(tree.read(name), name).problems)
    _check_timestamp(tree, report, anchors)
    return report
