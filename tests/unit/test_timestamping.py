"""RFC 3161 time-stamps from the sandbox TSA on 127.0.0.1: real tokens verify, altered ones and wrong anchors fail."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import shutil
import zlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from brandhound.config import ConfigError, load_settings
from brandhound.evidence import EvidenceStore
from brandhound.profile import load_profile
from brandhound.warc import capture_warc_bytes
from sandbox.local_http import QuietSite, serve
from sandbox.takedown_samples import sample_cases
from sandbox.tsa.authority import TSA_CERT, TimeStampAuthority
from sandbox.tsa.server import serve_tsa
from sandbox.web.tls import CA_KEY
from takedown import bundle
from takedown.drafting import plan_notices
from takedown.export import export_batch
from takedown.recipients import RecipientFinder
from tests.support.paths import EXAMPLE_BRAND
from takedown.timestamping import TimeStampResp, TimestampError, build_request, load_anchors, request_timestamp, verify_response

AT = dt.datetime(2026, 12, 1, 10, 30, tzinfo=dt.timezone.utc)
DIGEST = hashlib.sha256(b"a manifest").digest()


@pytest.fixture(scope="module")
def tsa(tmp_path_factory):
    authority = TimeStampAuthority(tmp_path_factory.mktemp("tsa"), clock=lambda: AT)
    server = serve_tsa(authority)
    yield authority, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def anchors(tsa):
    return load_anchors(tsa[0].anchor_path)


@pytest.fixture(scope="module")
def answer(tsa, anchors):
    return request_timestamp(tsa[1], DIGEST, anchors)


def test_a_real_token_verifies(tsa, anchors, answer):
    stamp = verify_response(answer, DIGEST, anchors)
    assert stamp.gen_time == AT
    assert stamp.tsa == tsa[0].certificate.subject.rfc4514_string() and "sandbox CA" in stamp.anchor


def test_another_digest_or_nonce_is_refused(tsa, anchors, answer):
    with pytest.raises(TimestampError, match="message imprint .* not the manifest's SHA-256"):
        verify_response(answer, hashlib.sha256(b"another").digest(), anchors)
    nonce_answer = tsa[0].respond(build_request(DIGEST, 1234))
    assert verify_response(nonce_answer, DIGEST, anchors, nonce=1234)
    with pytest.raises(TimestampError, match="nonce"):
        verify_response(nonce_answer, DIGEST, anchors, nonce=4321)


def test_every_altered_byte_of_what_is_signed_is_refused(answer, anchors):
    # The TSTInfo, the signed attributes and the signature itself; the CMS envelope's own
    # fields (versions, algorithm lists) are unsigned by design and not what the token proves.
    signed = TimeStampResp.load(answer)["time_stamp_token"]["content"]
    signer = signed["signer_infos"][0]
    regions = [signed["encap_content_info"]["content"].contents, signer["signed_attrs"].contents,
               signer["signature"].contents]
    checked = 0
    for region in regions:
        start = answer.find(region)
        assert start > 0
        for position in range(start, start + len(region), 3):
            altered = bytearray(answer)
            altered[position] ^= 0x01
            with pytest.raises(TimestampError):
                verify_response(bytes(altered), DIGEST, anchors)
            checked += 1
    assert checked > 100


def test_a_certificate_from_another_ca_is_not_trusted(tmp_path, answer):
    other = TimeStampAuthority(tmp_path / "other")
    with pytest.raises(TimestampError, match="not issued by the configured trust anchor"):
        verify_response(answer, DIGEST, load_anchors(other.anchor_path))
    # Without an anchor the token is still checked, and the result says the issuer was not.
    assert verify_response(answer, DIGEST, None).anchor == ""


def test_rejections_and_bad_answers(tsa, anchors, not_a_tsa):
    with pytest.raises(TimestampError, match="did not grant it .*rejection"):
        verify_response(tsa[0].respond(b"not der"), DIGEST, anchors)
    with pytest.raises(TimestampError, match="not a TimeStampResp"):
        verify_response(b"\x30\x03\x02\x01\x05", DIGEST, anchors)
    with pytest.raises(TimestampError, match="not application/timestamp-reply"):
        request_timestamp(f"http://127.0.0.1:{not_a_tsa.server_address[1]}/", DIGEST, anchors)
    with pytest.raises(TimestampError, match="TSA http://127.0.0.1:9/: no time-stamp"):
        request_timestamp("http://127.0.0.1:9/", DIGEST, anchors, timeout=5)


class WebPage(QuietSite):
    def do_POST(self) -> None:
        self.answer(200, b"<html>hello</html>")


@pytest.fixture
def not_a_tsa():
    server = serve(WebPage)
    yield server
    server.shutdown()
    server.server_close()


# --------------------------------------------------------------------------- bundles


def small_bundle(root, warc_data: bytes):
    (root / "n1" / "evidence").mkdir(parents=True)
    (root / "n1" / "evidence" / "001-capture.warc.gz").write_bytes(warc_data)
    bundle.batch_manifest(root, {}, AT)
    return root


WARC = capture_warc_bytes(url="https://shop.example/x", request_headers={}, status=200, response_headers={},
                          body=b"<html>fake Acme</html>", screenshot=b"\x89PNG", captured_at=AT)


def test_bundle_token_verifies_and_altered_manifest_or_token_fails(tmp_path, tsa, anchors):
    root = small_bundle(tmp_path / "b", WARC)
    assert bundle.verify(root, anchors).timestamp == "no timestamp" and bundle.verify(root, anchors).ok
    token = bundle.timestamp_manifest(root, tsa[1], anchors)
    assert token.path == bundle.TOKEN and (root / bundle.TOKEN).stat().st_size == token.size
    report = bundle.verify(root, anchors)
    assert report.ok, report.problems
    assert report.timestamp.startswith(f"timestamp {AT.isoformat()}") and "issued by" in report.timestamp
    assert "NOT checked" in bundle.verify(root, None).timestamp
    zipped = bundle.verify(bundle.zip_tree(root, tmp_path / "b.zip"), anchors)
    assert zipped.ok and zipped.timestamp == report.timestamp

    altered = shutil.copytree(root, tmp_path / "manifest-altered")
    manifest = (altered / bundle.MANIFEST).read_text().replace(AT.isoformat(), "2026-12-02T00:00:00+00:00")
    (altered / bundle.MANIFEST).write_text(manifest)
    report = bundle.verify(altered, anchors)
    assert not report.ok and any("manifest changed after it was time-stamped" in p for p in report.problems)

    tampered = shutil.copytree(root, tmp_path / "token-altered")
    data = bytearray((tampered / bundle.TOKEN).read_bytes())
    data[-10] ^= 0x01
    (tampered / bundle.TOKEN).write_bytes(bytes(data))
    report = bundle.verify(tampered, anchors)
    assert not report.ok and report.problems[0].startswith(f"{bundle.TOKEN}: time-stamp token:")


def test_a_warc_altered_with_a_matching_manifest_still_fails(tmp_path):
    # Someone who rewrites the WARC and the manifests together is caught by the record digests.
    root = small_bundle(tmp_path / "b", _rewritten(WARC))
    report = bundle.verify(root)
    assert not report.ok and any("payload digest failed" in p for p in report.problems)


def _rewritten(data: bytes) -> bytes:
    out, rest = [], data
    while rest:
        d = zlib.decompressobj(31)
        record = d.decompress(rest)
        rest = d.unused_data
        out.append(gzip.compress(record.replace(b"fake Acme", b"real Acme")))
    return b"".join(out)


def test_settings(tmp_path):
    anchor = tmp_path / "ca.pem"
    anchor.write_text("x")
    settings = load_settings({"BRANDHOUND_HOME": str(tmp_path), "BRANDHOUND_TSA_URL": "http://127.0.0.1:1/",
                              "BRANDHOUND_TSA_TRUST_ANCHOR": str(anchor)})
    assert settings.tsa_url == "http://127.0.0.1:1/" and settings.tsa_trust_anchor == anchor
    assert load_settings({"BRANDHOUND_HOME": str(tmp_path)}).tsa_url is None
    with pytest.raises(ConfigError, match="BRANDHOUND_TSA_TRUST_ANCHOR"):
        load_settings({"BRANDHOUND_HOME": str(tmp_path), "BRANDHOUND_TSA_URL": "http://127.0.0.1:1/"})
    with pytest.raises(TimestampError, match="cannot be read as PEM"):
        load_anchors(anchor)


def test_a_certificate_without_the_time_stamping_purpose_is_refused(tmp_path):
    authority = TimeStampAuthority(tmp_path)
    # Re-issue the same key's certificate for TLS servers instead of time-stamping.
    ca = x509.load_pem_x509_certificate(authority.anchor_path.read_bytes())
    ca_key = serialization.load_pem_private_key((tmp_path / CA_KEY).read_bytes(), password=None)
    old = authority.certificate
    builder = (x509.CertificateBuilder().subject_name(old.subject).issuer_name(ca.subject)
               .public_key(old.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(old.not_valid_before_utc).not_valid_after(old.not_valid_after_utc)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=True))
    (tmp_path / TSA_CERT).write_bytes(builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    answer = TimeStampAuthority(tmp_path).respond(build_request(DIGEST, 7))
    with pytest.raises(TimestampError, match="not a time-stamping certificate"):
        verify_response(answer, DIGEST, load_anchors(authority.anchor_path))


def test_an_export_with_a_tsa_is_stamped_and_carries_the_captures_warc(tmp_path, tsa, anchors):
    profile = load_profile(EXAMPLE_BRAND)
    store = EvidenceStore(tmp_path / "evidence")
    notices = plan_notices(sample_cases(store, profile).cases, profile, RecipientFinder(profile))
    entry = notices[0].evidence[0]
    entry.warc = store.put(capture_warc_bytes(url=entry.url or "https://shop.example/", request_headers=[], status=200,
                                              response_headers=[("Content-Type", "text/html")], body=b"<html>x</html>",
                                              screenshot=None, captured_at=AT), suffix=".warc.gz",
                           mime_type="application/warc")
    result = export_batch(notices, profile, store, tmp_path / "out", formats=("csv",), tsa=(tsa[1], anchors))
    assert (result.directory / bundle.TOKEN).is_file()
    assert all(n.timestamp_token is not None and n.timestamp_token.path == bundle.TOKEN for n in notices)
    warcs = sorted(result.directory.rglob("*.warc.gz"))
    assert len(warcs) == 1 and "-warc-" in warcs[0].name
    report = bundle.verify(result.zip_path, anchors)
    assert report.ok and report.timestamp != "no timestamp", report.problems
    warcs[0].write_bytes(warcs[0].read_bytes()[:-8] + b"\0" * 8)  # the served page altered after export
    assert not bundle.verify(result.directory, anchors).ok
