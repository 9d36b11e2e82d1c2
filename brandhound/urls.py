"""URL canonicalisation and the parts of a URL that analysts filter on.

A canonical URL is the identity of a page, listing or site: it names the
document id, so two spellings of one URL must give one document. The
registrable domain comes from tldextract's bundled public-suffix snapshot;
it never fetches the list over the network.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import tldextract
from w3lib.url import canonicalize_url

from brandhound.items import Url

#: Query parameters that only track the visitor; they never change the page.
TRACKING_PARAMS = frozenset({"gclid", "fbclid", "msclkid", "dclid", "yclid", "mc_cid", "mc_eid", "_ga", "igshid"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

_extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


class UrlError(ValueError):
    """A URL that cannot be canonicalised; the message quotes it."""


def canonicalize(url: str) -> str:
    """Canonical form: lowercase scheme and host (IDNs in punycode), no default port,
    no fragment, no tracking parameters, sorted query, normalised percent-encoding."""
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise UrlError(f"{url[:200]!r} is not a valid URL: {exc}") from None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise UrlError(f"{url[:200]!r} is not an absolute http(s) URL")
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
         if k.lower() not in TRACKING_PARAMS and not k.lower().startswith("utm_")]
    )
    try:
        host = parts.hostname.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise UrlError(f"{url[:200]!r} has a host name that is not valid IDNA") from None
    try:
        port = parts.port
    except ValueError:
        raise UrlError(f"{url[:200]!r} has an invalid port") from None
    scheme = parts.scheme.lower()
    # The netloc is rebuilt from host and port, so credentials in the URL are
    # dropped: they identify no page and must never be stored.
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal keeps its brackets
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    try:
        return canonicalize_url(urlunsplit((scheme, netloc, parts.path or "/", query, "")))
    except ValueError as exc:
        raise UrlError(f"{url[:200]!r} is not a valid URL: {exc}") from None


def unicode_host(host: str) -> str:
    try:
        return host.encode("ascii").decode("idna")
    except UnicodeError:
        return host


@lru_cache(maxsize=65536)
def domain_parts(host: str) -> tuple[str | None, str | None]:
    """``(registered_domain, public suffix)`` of ``host``, both in Unicode; None for IP addresses."""
    result = _extract(host)
    if not result.suffix:
        return None, None
    return unicode_host(f"{result.domain}.{result.suffix}"), unicode_host(result.suffix)


def registered_domain(url_or_host: str) -> str | None:
    host = urlsplit(url_or_host).hostname if "://" in url_or_host else url_or_host
    return domain_parts(host.lower().rstrip("."))[0] if host else None


def url_fields(url: str, original: str | None = None) -> Url:
    """The ECS ``url.*`` object of ``url`` (canonicalised), remembering ``original`` when it differs."""
    full = canonicalize(url)
    parts = urlsplit(full)
    host = parts.hostname or ""
    registered, suffix = domain_parts(host)
    return Url(
        full=full,
        original=original if original and original != full else None,
        scheme=parts.scheme,
        domain=unicode_host(host),
        registered_domain=registered,
        top_level_domain=suffix,
        path=parts.path,
    )
