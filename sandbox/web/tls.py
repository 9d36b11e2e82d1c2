"""The sandbox's certificate authority and the per-host certificates it issues.

The CA is made once per build directory (``ca.pem``, ``ca-key.pem``); a
certificate for each host is issued on first use, written under ``certs/``
(the ssl module loads certificates only from files) and its SSL context
cached. Keys are ECDSA P-256: quick to make and accepted by every client.

Like the RDAP registry, the build stores each host's certificate *age*
(``certificate-ages.json``), not a date: a certificate is dated that many days
before it is issued, so look-alike sites always show a freshly issued
certificate and the established sites an old one, however old the build is.
"""

from __future__ import annotations

import datetime as dt
import random
import ssl
import threading
from pathlib import Path
from typing import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sandbox.web.fileio import read_json, write_atomic, write_json

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
CERTS_DIR = "certs"
LEAF_KEY = "leaf-key.pem"
AGES_FILE = "certificate-ages.json"
#: Days since issue of a look-alike's certificate (issued just before it went live) and of an
#: established site's (renewed at some point of its validity); hosts not in the file get the first.
RECENT_DAYS = (1, 20)
ESTABLISHED_DAYS = (60, 330)
VALIDITY_DAYS = 390


def _write_private(path: Path, data: bytes) -> None:
    write_atomic(path, data, 0o600)  # a sandbox key, but still a key


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def ensure_ca(directory: Path) -> Path:
    """Create the CA in ``directory`` unless one is there; returns the certificate's path."""
    cert_path, key_path = directory / CA_CERT, directory / CA_KEY
    if cert_path.exists() and key_path.exists():
        return cert_path
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "brandhound sandbox"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "brandhound sandbox CA")])
    now = dt.datetime.now(dt.timezone.utc)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert_path


def write_certificate_ages(directory: Path, recent: Iterable[str], established: Iterable[str],
                           seed: int) -> dict[str, int]:
    """Days since issue of each host's certificate, recent ones for ``recent``; written to ``AGES_FILE``."""
    rng = random.Random(f"{seed}:certificates")
    ages = {host: rng.randint(*RECENT_DAYS) for host in sorted(set(recent))}
    ages |= {host: rng.randint(*ESTABLISHED_DAYS) for host in sorted(set(established) - set(ages))}
    write_json(directory / AGES_FILE, ages)
    return ages


class CertificateAuthority:
    """Issues and caches one server certificate (and SSL context) per host name."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.ca_path = ensure_ca(directory)
        self._ca_cert = x509.load_pem_x509_certificate(self.ca_path.read_bytes())
        self._ca_key = serialization.load_pem_private_key((directory / CA_KEY).read_bytes(), password=None)
        self._certs = directory / CERTS_DIR
        self._certs.mkdir(exist_ok=True)
        self._leaf_key_path = self._certs / LEAF_KEY
        if not self._leaf_key_path.exists():
            # One key for every leaf: issuing stays cheap, each host still has its own certificate.
            _write_private(self._leaf_key_path, _key_pem(ec.generate_private_key(ec.SECP256R1())))
        self._leaf_key = serialization.load_pem_private_key(self._leaf_key_path.read_bytes(), password=None)
        self._ages: dict[str, int] = read_json(directory / AGES_FILE)
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def certificate_path(self, host: str) -> Path:
        """The PEM certificate for ``host`` (ASCII/punycode form), issued if needed."""
        path = self._certs / f"{host}.pem"
        if not path.exists():
            write_atomic(path, self._issue(host).public_bytes(serialization.Encoding.PEM))
        return path

    def _issue(self, host: str) -> x509.Certificate:
        issued = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=self._ages.get(host, RECENT_DAYS[0]))
        ca_ski = self._ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(self._ca_cert.subject)
            .public_key(self._leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            # Under 398 days, the longest validity browsers accept for a server certificate.
            .not_valid_before(issued).not_valid_after(issued + dt.timedelta(days=VALIDITY_DAYS))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._leaf_key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .sign(self._ca_key, hashes.SHA256())
        )

    def context(self, host: str) -> ssl.SSLContext:
        """A server-side SSL context presenting ``host``'s certificate; HTTP/1.1 only."""
        with self._lock:
            ctx = self._contexts.get(host)
            if ctx is None:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(self.certificate_path(host), self._leaf_key_path)
                # Offer only HTTP/1.1, or Chromium would pick h2, which the server does not speak.
                ctx.set_alpn_protocols(["http/1.1"])
                self._contexts[host] = ctx
            return ctx

