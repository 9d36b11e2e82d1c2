"""Evidence bundles: the manifests verify; one altered, added or missing byte fails verification."""

from __future__ import annotations

import json
import shutil
import zipfile

import pytest

from brandhound.evidence import EvidenceStore
from brandhound.profile import load_profile
from takedown.bundle import MANIFEST, verify
from takedown.drafting import plan_notices
from takedown.export import export_batch
from takedown.lifecycle import TakedownError
from takedown.recipients import RecipientFinder
from sandbox.takedown_samples import sample_cases
from tests.support.paths import EXAMPLE_BRAND

PROFILE = load_profile(EXAMPLE_BRAND)


@pytest.fixture
def batch(tmp_path):
    store = EvidenceStore(tmp_path / "evidence")
    samples = sample_cases(store, PROFILE)
    notices = plan_notices(samples.cases, PROFILE, RecipientFinder(PROFILE))
    result = export_batch(notices, PROFILE, store, tmp_path / "out", formats=("eml", "csv"))
    return result, notices, samples, store


def test_manifests_list_every_file_with_its_hash(batch):
    result, notices, _, _ = batch
    report = verify(result.zip_path)
    assert report.ok, report.problems
    assert sorted(report.notices) == sorted(n.doc_id() for n in notices)
    manifest = json.loads((result.directory / MANIFEST).read_text())
    listed = set(manifest["files"])
    on_disk = {p.relative_to(result.directory).as_posix() for p in result.files} - {MANIFEST}
    assert listed == on_disk
    assert manifest["tool"].startswith("brandhound ") and manifest["generated_at"]
    for notice in notices:
        assert notice.manifest_sha256 == result.notice_manifests[notice.doc_id()]
        per_notice = json.loads((result.directory / notice.doc_id() / MANIFEST).read_text())
        assert per_notice["notice_id"] == notice.doc_id()
        for entry in per_notice["evidence"]:
            assert entry["captured_at"] and entry["final_url"]


def test_bundled_evidence_is_the_stored_evidence(batch):
    result, notices, _, store = batch
    market = next(n for n in notices if n.recipient.kind == "marketplace")
    for entry in market.evidence:
        assert entry.images and entry.images[0].hash.sha256 in market.body
        for f in (entry.html, entry.screenshot, *entry.images):
            copies = list((result.directory / market.doc_id() / "evidence").glob(f"*{f.hash.sha256[:16]}*"))
            assert copies and copies[0].read_bytes() == store.read(f)


def flip_byte(data: bytes, at: int = 0) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


@pytest.mark.parametrize("victim", ["evidence", "notice.txt", "batch.csv", "notice manifest"])
def test_one_altered_byte_in_a_zip_fails(batch, tmp_path, victim):
    result, notices, _, _ = batch
    with zipfile.ZipFile(result.zip_path) as zf:
        names = zf.namelist()
        contents = {n: zf.read(n) for n in names}
    target = {"evidence": next(n for n in names if "/evidence/" in n and n.endswith(".png")),
              "notice.txt": next(n for n in names if n.endswith("notice.txt")),
              "batch.csv": "batch.csv",
              "notice manifest": next(n for n in names if n.endswith(f"/{MANIFEST}"))}[victim]
    contents[target] = flip_byte(contents[target], len(contents[target]) // 2)
    altered = tmp_path / "altered.zip"
    with zipfile.ZipFile(altered, "w") as zf:
        for name, data in contents.items():
            zf.writestr(name, data)
    report = verify(altered)
    assert not report.ok
    assert any(target in p for p in report.problems)


def test_altered_added_and_removed_files_in_a_directory_fail(batch, tmp_path):
    result, *_ = batch
    copy = tmp_path / "copy"
    shutil.copytree(result.directory, copy)
    assert verify(copy).ok
    eml = next(copy.rglob("notice.eml"))
    eml.write_bytes(flip_byte(eml.read_bytes(), 10))
    (copy / "extra.txt").write_text("slipped in")
    next(copy.rglob("*.html")).unlink()
    problems = "\n".join(verify(copy).problems)
    assert "the file was altered" in problems and "extra.txt: in the bundle but not in" in problems
    assert "but missing" in problems


def test_not_a_bundle_is_a_clear_error(tmp_path):
    with pytest.raises(TakedownError, match="no such bundle"):
        verify(tmp_path / "nope.zip")
    (tmp_path / "x.zip").write_bytes(b"not a zip")
    with pytest.raises(TakedownError, match="not a bundle directory or ZIP"):
        verify(tmp_path / "x.zip")


def test_evidence_altered_in_the_store_is_not_bundled(tmp_path):
    store = EvidenceStore(tmp_path / "evidence")
    samples = sample_cases(store, PROFILE)
    notices = plan_notices(samples.cases[:1], PROFILE, RecipientFinder(PROFILE))
    shot = notices[0].evidence[0].screenshot
    path = store.root / shot.path
    path.write_bytes(flip_byte(path.read_bytes(), 5))
    with pytest.raises(TakedownError, match="does not match its recorded SHA-256"):
        export_batch(notices, PROFILE, store, tmp_path / "out", formats=("csv",))


def test_exports_never_contain_a_clear_secret(batch):
    result, _, samples, _ = batch
    for path in [*result.files, result.zip_path]:
        data = path.read_bytes()
        for secret in samples.clear_secrets:
            assert secret.encode() not in data, path


def test_unknown_format_is_refused(tmp_path, batch):
    _, notices, _, store = batch
    with pytest.raises(TakedownError, match="unknown export format"):
        export_batch(notices, PROFILE, store, tmp_path / "o2", formats=("docx",))


def test_an_export_reports_each_notice_then_the_bundle(tmp_path):
    store = EvidenceStore(tmp_path / "evidence")
    notices = plan_notices(sample_cases(store, PROFILE).cases, PROFILE, RecipientFinder(PROFILE))
    heard: list[str] = []
    export_batch(notices, PROFILE, store, tmp_path / "out", formats=("csv",), progress=heard.append)
    assert len(heard) == len(notices) + 1
    assert heard[0].startswith(f"takedown export: 0 of {len(notices)} notices written, now {notices[0].doc_id()}")
    assert heard[-1] == f"takedown export: {len(notices)} notices written, zipping the bundle"
