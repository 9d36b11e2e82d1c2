"""Certificates and precertificates for the sandbox CT logs, issued by the sandbox web's CA
(:mod:`sandbox.web.tls` makes and keeps it): several SANs, wildcards, validity dated by age.

One leaf key signs nothing and is shared by every certificate (the web's CA does the same), so a
build of thousands stays quick; each certificate still has its own serial and names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sandbox.web.tls import CA_KEY, VALIDITY_DAYS, ensure_ca


@dataclass(frozen=True)
class Issued:
    """One certificate as a log holds it."""

    der: bytes                          # the certificate, or the precertificate (with the poison extension)
    tbs: bytes | None = None            # precertificates: the TBSCertificate without the poison, as logged
    issuer_key_hash: bytes | None = None


class Issuer:
    """Issues leaf certificates and precertificates with the CA in ``ca_dir`` (created when missing)."""

    def __init__(self, ca_dir: Path):
        ca_dir.mkdir(parents=True, exist_ok=True)
        self.ca = x509.load_pem_x509_certificate(ensure_ca(ca_dir).read_bytes())
        self._key = serialization.load_pem_private_key((ca_dir / CA_KEY).read_bytes(), password=None)
        self.ca_der = self.ca.public_bytes(serialization.Encoding.DER)
        spki = self.ca.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        self.key_hash = hashlib.sha256(spki).digest()
        self._leaf = ec.generate_private_key(ec.SECP256R1()).public_key()
        self._aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca.public_key())

    def _builder(self, names: list[str], serial: int, issued: dt.datetime) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self.ca.subject).public_key(self._leaf).serial_number(serial)
            .not_valid_before(issued).not_valid_after(issued + dt.timedelta(days=VALIDITY_DAYS))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(self._aki, critical=False)
        )

    def issue(self, names: list[str], serial: int, issued: dt.datetime, precert: bool = False) -> Issued:
        """A certificate for ``names`` (ASCII forms; the first is also the CN), or a precertificate."""
        builder = self._builder(names, serial, issued)
        if not precert:
            return Issued(builder.sign(self._key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
        # The logged TBS is the precertificate's without the poison: the same builder, unpoisoned.
        tbs = builder.sign(self._key, hashes.SHA256()).tbs_certificate_bytes
        poisoned = builder.add_extension(x509.PrecertPoison(), critical=True).sign(self._key, hashes.SHA256())
        return Issued(poisoned.public_bytes(serialization.Encoding.DER), tbs, self.key_hash)
