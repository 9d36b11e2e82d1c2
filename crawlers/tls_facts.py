"""The TLS certificate facts of an https response: issuer and validity dates (``Site.tls``).

Two sources, one per way a page is fetched: Chromium's security details of the main
response (scrapy-playwright keeps Playwright's ``response.security_details()`` in
``meta["playwright_security_details"]``), and the peer certificate of Scrapy's own
HTTP/1.1 download (``response.certificate``, a Twisted ``Certificate``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from scrapy.http import Response

from brandhound.items import Tls


def _timestamp(value: Any) -> datetime | None:
    """A Playwright validity bound (seconds since the epoch) as an aware datetime; None when unusable."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def tls_from_security_details(details: dict[str, Any] | None) -> Tls | None:
    """Playwright's ``security_details()`` ({issuer, validFrom, validTo, ...}) as ``Tls``; None without one."""
    if not isinstance(details, dict):
        return None
    issuer = details.get("issuer")
    tls = Tls(issuer=str(issuer) if issuer else None, not_before=_timestamp(details.get("validFrom")),
              not_after=_timestamp(details.get("validTo")))
    return tls if tls.issuer or tls.not_before or tls.not_after else None


def tls_from_certificate(certificate: Any) -> Tls | None:
    """A peer certificate (Twisted ``Certificate``, pyOpenSSL ``X509`` or ``cryptography`` certificate) as ``Tls``."""
    cert = getattr(certificate, "original", certificate)  # Twisted wraps pyOpenSSL's X509
    if hasattr(cert, "to_cryptography"):
        cert = cert.to_cryptography()
    if not hasattr(cert, "not_valid_before_utc"):
        return None
    return Tls(issuer=cert.issuer.rfc4514_string() or None, not_before=cert.not_valid_before_utc,
               not_after=cert.not_valid_after_utc)


def tls_of(response: Response) -> Tls | None:
    """The certificate facts of ``response``: from the browser when it rendered the page, else from
    Scrapy's TLS connection; None for plain http or when neither source has them."""
    if not response.url.startswith("https://"):
        return None
    details = response.meta.get("playwright_security_details") if response.request is not None else None
    return tls_from_security_details(details) or tls_from_certificate(getattr(response, "certificate", None))
