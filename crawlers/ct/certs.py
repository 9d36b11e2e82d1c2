"""What a logged certificate says that discovery needs: its DNS names, issuer and validity.

Works on a DER certificate (``x509_entry``) and on a precertificate's bare TBSCertificate
(``precert_entry``): the ``cryptography`` package reads only whole certificates, so a TBS is
wrapped in a Certificate with an empty signature (never verified: the log vouches for the
entry, and only its names and dates are read). Names are the subject's common names and the
SAN dNSNames, wildcard labels stripped, punycode decoded to Unicode, lower-cased, de-duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import idna
from cryptography import x509
from cryptography.x509.oid import NameOID

from brandhound.urls import unicode_host

#: AlgorithmIdentifier ecdsa-with-SHA256 and an empty BIT STRING: the wrapper's signature, never checked.
_DUMMY_SIGNATURE = bytes.fromhex("300a06082a8648ce3d040302") + b"\x03\x01\x00"


class CertificateError(ValueError):
    """DER that is not a certificate (or TBSCertificate); the message says what failed."""


@dataclass(frozen=True)
class CertificateFacts:
    names: tuple[str, ...]          # DNS names, Unicode, lower case, no wildcards, unique, in order
    issuer: str | None              # RFC 4514 distinguished name
    not_before: datetime | None
    not_after: datetime | None
    serial: str | None              # hex


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def wrap_tbs(tbs: bytes) -> bytes:
    """A DER Certificate around a TBSCertificate, with a dummy signature."""
    body = tbs + _DUMMY_SIGNATURE
    return b"\x30" + _der_length(len(body)) + body


def dns_name(raw: str) -> str | None:
    """``raw`` as discovery compares it: wildcard labels dropped, Unicode, lower case; None if not a host name."""
    name = raw.strip().rstrip(".").lower()
    while name.startswith("*."):
        name = name[2:]
    if not name or "*" in name or " " in name or "." not in name:
        return None
    if any(label.startswith("xn--") for label in name.split(".")):
        try:
            name = idna.decode(name)
        except (idna.IDNAError, UnicodeError):
            # Registries accept names IDNA 2008 rejects; IDNA 2003 reads more of them, else the wire form stays.
            name = unicode_host(name)
    return name.lower()


def facts(der: bytes, *, tbs: bool = False) -> CertificateFacts:
    """The names, issuer and validity of a DER certificate (``tbs``: a bare TBSCertificate)."""
    try:
        cert = x509.load_der_x509_certificate(wrap_tbs(der) if tbs else der)
        raw = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            raw += san.get_values_for_type(x509.DNSName)
        except x509.ExtensionNotFound:
            pass
        issuer = cert.issuer.rfc4514_string()
        not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
        serial = format(cert.serial_number, "x")
    except (ValueError, TypeError) as exc:
        raise CertificateError(f"not a readable {'TBSCertificate' if tbs else 'certificate'}: {exc}") from None
    names: dict[str, None] = {}
    for value in raw:
        if isinstance(value, str) and (name := dns_name(value)):
            names[name] = None
    return CertificateFacts(tuple(names), issuer, not_before, not_after, serial)
