"""Issues RFC 3161 time-stamp tokens: a TSTInfo over the requested imprint, signed in CMS with the TSA's key.

The TSA's certificate is issued by the sandbox web's CA (:func:`sandbox.web.tls.ensure_ca`) with the
critical timeStamping extended key usage, so clients verify it exactly as they would a public TSA's:
the CA's certificate is their trust anchor.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Callable
from pathlib import Path

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sandbox.web.tls import CA_KEY, ensure_ca
from takedown.timestamping import TimeStampResp

TSA_CERT = "tsa.pem"
TSA_KEY = "tsa-key.pem"
#: A policy arc of our own: the sandbox's tokens say they come from no public TSA.
POLICY = "1.3.6.1.4.1.99999.3161.1"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _issue_tsa_certificate(ca_dir: Path) -> None:
    ca = x509.load_pem_x509_certificate(ensure_ca(ca_dir).read_bytes())
    ca_key = serialization.load_pem_private_key((ca_dir / CA_KEY).read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = _utcnow()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "brandhound sandbox"),
                                 x509.NameAttribute(NameOID.COMMON_NAME, "brandhound sandbox TSA")]))
        .issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # Back-dated so that tokens dated by the sandbox's simulated clock, days back, still fall inside.
        .not_valid_before(now - dt.timedelta(days=400)).not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_cert_sign=False,
                                     crl_sign=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    key_path = ca_dir / TSA_KEY
    key_path.touch(mode=0o600)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    (ca_dir / TSA_CERT).write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _rejection(text: str, failure: str) -> bytes:
    return TimeStampResp({"status": {"status": "rejection", "status_string": [text],
                                     "fail_info": tsp.PKIFailureInfo({failure})}}).dump()


class TimeStampAuthority:
    """Answers DER TimeStampReqs with DER TimeStampResps; ``clock`` is the genTime (the sandbox's clock)."""

    def __init__(self, ca_dir: Path, clock: Callable[[], dt.datetime] = _utcnow):
        ca_dir.mkdir(parents=True, exist_ok=True)
        if not (ca_dir / TSA_CERT).exists() or not (ca_dir / TSA_KEY).exists():
            _issue_tsa_certificate(ca_dir)
        self.anchor_path = ensure_ca(ca_dir)
        self.certificate = x509.load_pem_x509_certificate((ca_dir / TSA_CERT).read_bytes())
        self._key = serialization.load_pem_private_key((ca_dir / TSA_KEY).read_bytes(), password=None)
        self._cert = asn1_x509.Certificate.load(self.certificate.public_bytes(serialization.Encoding.DER))
        self.clock = clock
        self._serials = itertools.count(int(clock().timestamp() * 1000))

    def respond(self, request_der: bytes) -> bytes:
        try:
            request = tsp.TimeStampReq.load(request_der, strict=True)
            imprint = request["message_imprint"]
            algorithm = imprint["hash_algorithm"]["algorithm"].native
            hashed = imprint["hashed_message"].native
        except ValueError:
            return _rejection("not a DER TimeStampReq", "bad_data_format")
        if algorithm != "sha256" or len(hashed) != 32:
            return _rejection(f"unsupported imprint algorithm {algorithm}", "bad_alg")
        if request["req_policy"].native not in (None, POLICY):
            return _rejection("unaccepted policy", "unaccepted_policy")
        info = tsp.TSTInfo({
            "version": "v1", "policy": POLICY, "message_imprint": imprint, "serial_number": next(self._serials),
            "gen_time": self.clock().astimezone(dt.timezone.utc), "accuracy": {"seconds": 1},
            "nonce": request["nonce"].native,
        })
        return TimeStampResp({"status": {"status": "granted"},
                                  "time_stamp_token": self._token(info, request["cert_req"].native)}).dump()

    def _token(self, info: tsp.TSTInfo, with_certificate: bool) -> cms.ContentInfo:
        econtent = info.dump()
        cert_id = {"cert_hash": hashlib.sha256(self._cert.dump()).digest(), "hash_algorithm": {"algorithm": "sha256"}}
        signed_attrs = cms.CMSAttributes([
            {"type": "content_type", "values": ["tst_info"]},
            {"type": "message_digest", "values": [hashlib.sha256(econtent).digest()]},
            {"type": "signing_certificate_v2", "values": [{"certs": [cert_id]}]},
        ])
        signature = self._key.sign(signed_attrs.dump(), ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg,union-attr]
        signer = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": {
                "issuer": self._cert.issuer, "serial_number": self._cert.serial_number}}),
            "digest_algorithm": {"algorithm": "sha256"}, "signed_attrs": signed_attrs,
            "signature_algorithm": {"algorithm": "sha256_ecdsa"}, "signature": signature,
        })
        return cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData({
            "version": "v3", "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {"content_type": "tst_info", "content": info},
            "certificates": [self._cert] if with_certificate else [],
            "signer_infos": [signer],
        })})
