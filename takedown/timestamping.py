"""RFC 3161 time-stamps over a bundle manifest's SHA-256: request one from a Time-Stamp Authority, verify one.

A token proves the manifest (and so every file it lists) existed no later than the TSA's
``genTime``; it is only worth that if every link is checked, so :func:`verify_response` checks
the status, the message imprint against the manifest's hash, the nonce we sent, the signature
over the signed attributes (whose message digest must be the TSTInfo's), and that the signing
certificate is a time-stamping certificate issued by the configured trust anchor and valid then.
"""

from __future__ import annotations

import hashlib
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from asn1crypto import cms, core, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from takedown.lifecycle import TakedownError

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


class TimeStampResp(core.Sequence):
    """RFC 3161's TimeStampResp, whose token is OPTIONAL (absent on a rejection); asn1crypto requires it."""

    _fields = [("status", tsp.PKIStatusInfo), ("time_stamp_token", cms.ContentInfo, {"optional": True})]


class TimestampError(TakedownError):
    """A time-stamp that could not be had, or does not prove what it should."""


@dataclass(frozen=True)
class Timestamp:
    """A verified token's facts."""

    gen_time: datetime
    serial_number: int
    policy: str
    tsa: str          # the signing certificate's subject
    anchor: str       # the trust anchor it chains to; empty when none was given


def build_request(sha256: bytes, nonce: int) -> bytes:
    """A DER TimeStampReq for a SHA-256 digest, asking for the TSA's certificate in the token."""
    if len(sha256) != 32:
        raise ValueError(f"expected a 32-byte SHA-256 digest, got {len(sha256)} bytes")
    return tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": sha256},
        "nonce": nonce, "cert_req": True,
    }).dump()


def load_anchors(path: Path) -> list[x509.Certificate]:
    """The trust anchors (PEM, one or more certificates) in ``path``."""
    try:
        return x509.load_pem_x509_certificates(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise TimestampError(f"TSA trust anchor {path}: cannot be read as PEM certificates: {exc}") from None


def request_timestamp(url: str, sha256: bytes, anchors: list[x509.Certificate], *, timeout: float = 30) -> bytes:
    """POST a request for ``sha256`` to the TSA at ``url``; returns the DER TimeStampResp once verified."""
    nonce = secrets.randbits(63)
    http = urllib.request.Request(url, data=build_request(sha256, nonce), method="POST",
                                  headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE})
    try:
        with urllib.request.urlopen(http, timeout=timeout) as reply:
            kind = reply.headers.get("Content-Type", "")
            body = reply.read()
    except (urllib.error.URLError, OSError) as exc:
        raise TimestampError(f"TSA {url}: no time-stamp: {exc}") from None
    if kind.split(";")[0].strip() != REPLY_TYPE:
        raise TimestampError(f"TSA {url}: answered {kind or 'no content type'}, not {REPLY_TYPE}")
    verify_response(body, sha256, anchors, nonce=nonce)
    return body


def _fail(what: str) -> TimestampError:
    return TimestampError(f"time-stamp token: {what}")


def _attribute(attrs: cms.CMSAttributes, name: str) -> core.Asn1Value:
    values = [a["values"] for a in attrs if a["type"].native == name]
    if len(values) != 1 or len(values[0]) != 1:
        raise _fail(f"signed attributes need exactly one {name}")
    return values[0][0]


def _signer_certificate(signed: cms.SignedData, signer: cms.SignerInfo) -> x509.Certificate:
    sid = signer["sid"]
    if sid.name != "issuer_and_serial_number":
        raise _fail("signer identified by key id; only issuer and serial number is supported")
    for choice in signed["certificates"] or []:
        cert = choice.chosen
        if (choice.name == "certificate" and cert.issuer == sid.chosen["issuer"]
                and cert.serial_number == sid.chosen["serial_number"].native):
            return x509.load_der_x509_certificate(cert.dump())
    raise _fail("the signing certificate is not in the token")


def _check_signature(cert: x509.Certificate, signer: cms.SignerInfo, hash_name: str) -> None:
    # The signature covers the attributes DER-encoded as a SET, not with the [0] tag they carry.
    data = signer["signed_attrs"].untag().dump()
    signature = signer["signature"].native
    key = cert.public_key()
    algorithm = _HASHES[hash_name]()
    declared = signer["signature_algorithm"]
    expected = "ecdsa" if isinstance(key, ec.EllipticCurvePublicKey) else ("rsassa_pkcs1v15", "rsassa_pss")
    try:
        declared_hash = declared.hash_algo
    except ValueError:  # a bare algorithm (rsaEncryption, rsassa-pss) names no hash of its own
        declared_hash = hash_name
    if declared.signature_algo not in expected or declared_hash != hash_name:
        raise _fail(f"signature algorithm {declared['algorithm'].native} does not fit the TSA key "
                    f"and the digest {hash_name}")
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey):
            pad = (padding.PSS(padding.MGF1(algorithm), padding.PSS.AUTO)
                   if signer["signature_algorithm"].signature_algo == "rsassa_pss" else padding.PKCS1v15())
            key.verify(signature, data, pad, algorithm)
        else:
            raise _fail(f"unsupported TSA key type {type(key).__name__}")
    except InvalidSignature:
        raise _fail("the signature over the signed attributes does not verify with the TSA certificate: "
                    "the token was altered") from None


def _check_certificate(cert: x509.Certificate, anchors: list[x509.Certificate] | None, at: datetime) -> str:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        raise _fail(f"TSA certificate {cert.subject.rfc4514_string()} has no extended key usage") from None
    # RFC 3161 2.3: the time-stamping purpose, alone and critical.
    if list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING] or not eku.critical:
        raise _fail(f"TSA certificate {cert.subject.rfc4514_string()} is not a time-stamping certificate "
                    "(critical extended key usage timeStamping only)")
    if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        raise _fail(f"TSA certificate {cert.subject.rfc4514_string()} was not valid at {at.isoformat()}")
    if anchors is None:
        return ""
    for anchor in anchors:
        if anchor.subject == cert.issuer:
            try:
                cert.verify_directly_issued_by(anchor)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return anchor.subject.rfc4514_string()
    raise _fail(f"TSA certificate {cert.subject.rfc4514_string()} (issuer {cert.issuer.rfc4514_string()}) "
                "is not issued by the configured trust anchor")


def _parse(der: bytes) -> tuple[str, list[str] | None, cms.ContentInfo | None]:
    """``(status, status text, token)`` of a TimeStampResp, or of a bare token (status granted)."""
    try:
        parsed = TimeStampResp.load(der, strict=True)
        status = parsed["status"]
        # Parse eagerly: asn1crypto defers it, and a damaged answer must fail here, not later.
        token = parsed["time_stamp_token"]
        return status["status"].native, status["status_string"].native, token if token.contents else None
    except (ValueError, KeyError, TypeError):
        pass
    try:
        token = cms.ContentInfo.load(der, strict=True)
        token.native  # noqa: B018 - forces the whole structure to parse
        return "granted", None, token
    except (ValueError, KeyError, TypeError) as exc:
        raise _fail(f"not a TimeStampResp or TimeStampToken: {exc}") from None


def verify_response(der: bytes, sha256: bytes, anchors: list[x509.Certificate] | None, *,
                    nonce: int | None = None) -> Timestamp:
    """Verify a DER TimeStampResp (or a bare TimeStampToken) over ``sha256``; raises :class:`TimestampError`.

    With ``anchors`` None everything but the certificate's issuer is checked, and the result's
    ``anchor`` is empty: the token is intact, but who vouches for the TSA is left to the reader.
    """
    status, text, token = _parse(der)
    if status not in {"granted", "granted_with_mods"}:
        raise _fail(f"the TSA did not grant it (status {status}{': ' + ', '.join(text) if text else ''})")
    if token is None:
        raise _fail("the TSA granted it but sent no token")
    try:
        if token["content_type"].native != "signed_data":
            raise _fail("not CMS signed data")
        signed = token["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise _fail("the signed content is not a TSTInfo")
        info = encap["content"].parsed
        if len(signed["signer_infos"]) != 1:
            raise _fail("expected exactly one signer")
        signer = signed["signer_infos"][0]
        hash_name = signer["digest_algorithm"]["algorithm"].native
        if hash_name not in _HASHES:
            raise _fail(f"unsupported digest algorithm {hash_name}")
        imprint = info["message_imprint"]
        if imprint["hash_algorithm"]["algorithm"].native != "sha256" or imprint["hashed_message"].native != sha256:
            raise _fail(f"its message imprint is {imprint['hashed_message'].native.hex()}, not the manifest's "
                        f"SHA-256 {sha256.hex()}: the manifest changed after it was time-stamped")
        if nonce is not None and info["nonce"].native != nonce:
            raise _fail("its nonce is not the one sent: a replayed or mixed-up answer")
        attrs = signer["signed_attrs"]
        if not attrs:
            raise _fail("no signed attributes")
        if _attribute(attrs, "content_type").native != "tst_info":
            raise _fail("the signed content-type attribute is not TSTInfo")
        econtent = encap["content"].contents
        if _attribute(attrs, "message_digest").native != hashlib.new(hash_name, econtent).digest():
            raise _fail("the signed message digest is not the TSTInfo's: the TSTInfo was altered")
        cert = _signer_certificate(signed, signer)
        _check_signature(cert, signer, hash_name)
        gen_time = info["gen_time"].native
        anchor = _check_certificate(cert, anchors, gen_time)
    except TimestampError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a damaged token breaks in the parsers, it is refused
        raise _fail(f"malformed: {exc}") from None
    return Timestamp(gen_time=gen_time, serial_number=info["serial_number"].native, policy=info["policy"].dotted,
                     tsa=cert.subject.rfc4514_string(), anchor=anchor)

