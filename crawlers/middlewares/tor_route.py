"""Send ``.onion`` hosts, and hosts that must only be reached through Tor, over Tor — or nowhere.

For such a request this middleware sets ``request.meta["tor"]``::

    {"socks": ("127.0.0.1", 9050), "username": "bh-<hash>", "password": "brandhound"}

and brandhound's download handler then connects through Tor's SocksPort with the host NAME
(SOCKS5h), so the name is resolved by Tor and never by this machine. The username is an
isolation key per onion site and crawl job: with Tor's ``IsolateSOCKSAuth`` every site gets
circuits of its own, and one site cannot correlate our visits with another's.

When ``BRANDHOUND_TOR_SOCKS`` is not set, such a request is refused (IgnoreRequest), never
sent in the clear. A request that already carries ``meta["tor"]`` (a spider asked for Tor,
or a redirect from an onion page) stays on Tor. Tor requests never get an HTTP proxy
(``meta["proxy"]`` is set to None, which also keeps Scrapy's HttpProxyMiddleware off them);
the SSRF guard does not resolve them and the egress middleware leaves them alone.

Browser captures (``meta["playwright"]``) of Tor-routed pages are moved to the
``tor_capture`` Playwright context, whose Chromium goes through ``BRANDHOUND_TOR_BROWSER_SOCKS``
(socks5://, names resolved by Tor); without that setting they are refused too.

Settings: ``BRANDHOUND_TOR_SOCKS`` ("127.0.0.1:9050"; empty: no Tor),
``BRANDHOUND_TOR_ONLY_HOSTS`` (list; the spider's ``profile.tor_only_hosts`` count too; a
name covers its subdomains), ``BRANDHOUND_TOR_BROWSER_SOCKS``.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import weakref
from typing import Any, NoReturn
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

from crawlers.browser import TOR_CAPTURE_CONTEXT, tor_context_options

log = logging.getLogger(__name__)

#: The SOCKS password of every Tor request (the isolation is in the username).
SOCKS_PASSWORD = "brandhound"


class TorRequired(IgnoreRequest):
    """A request that may only go through Tor, and Tor is not configured; the message says which."""


def parse_socks(value: Any, setting: str = "BRANDHOUND_TOR_SOCKS") -> tuple[str, int] | None:
    """ "127.0.0.1:9050", "socks5h://127.0.0.1:9050", ("127.0.0.1", 9050) -> ("127.0.0.1", 9050); empty -> None."""
    if not value:
        return None
    host: str | None
    if isinstance(value, (tuple, list)) and len(value) == 2:
        host, port = str(value[0]), value[1]
    else:
        text = str(value).strip()
        if "://" not in text:
            text = "socks5h://" + text
        parts = urlsplit(text)
        if parts.scheme not in ("socks5h", "socks5"):
            raise ValueError(f"{setting}={value!r}: use host:port (Tor's SocksPort), e.g. 127.0.0.1:9050")
        try:
            host, port = parts.hostname, parts.port
        except ValueError:
            host, port = None, None
    try:
        port = int(port)
    except (TypeError, ValueError):
        port = 0
    if not host or not 0 < port < 65536:
        raise ValueError(f"{setting}={value!r}: use host:port (Tor's SocksPort), e.g. 127.0.0.1:9050")
    return host, port


def normalize_host(value: str) -> str:
    value = value.strip().lower()
    if "://" in value:
        value = urlsplit(value).hostname or ""
    return value.rstrip(".")


def is_onion(host: str) -> bool:
    return normalize_host(host).endswith(".onion")


def site_of(host: str) -> str:
    """What a circuit is isolated by: ``www.<x>.onion`` and ``<x>.onion`` are one onion service."""
    host = normalize_host(host)
    if host.endswith(".onion"):
        return ".".join(host.split(".")[-2:])
    return host


def isolation_key(host: str, job_id: str) -> str:
    """The SOCKS username for ``host``'s site in crawl ``job_id``: one Tor circuit group per (job, site).

    Hashed, so Tor's control port and logs see an opaque key, and the same site in another
    crawl job never shares circuits with this one."""
    digest = hashlib.sha256(f"{job_id}\n{site_of(host)}".encode()).hexdigest()
    return f"bh-{digest[:24]}"


class CircuitBook:
    """Per crawl: each onion site's circuit generation (part of its SOCKS isolation key)."""

    _per_crawler: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __init__(self) -> None:
        self.generations: dict[str, int] = {}

    @classmethod
    def of(cls, crawler: Crawler) -> CircuitBook:
        book = cls._per_crawler.get(crawler)
        if book is None:
            book = cls._per_crawler[crawler] = cls()
        return book

    def generation(self, site: str) -> int:
        return self.generations.get(site, 0)

    def renew(self, site: str) -> int:
        self.generations[site] = self.generation(site) + 1
        return self.generations[site]


class TorRouteMiddleware:
    def __init__(self, crawler: Crawler, socks: tuple[str, int] | None, tor_only_hosts: list[str],
                 browser_socks: tuple[str, int] | None = None):
        self.crawler = crawler
        self.socks = socks
        self.browser_socks = browser_socks
        self._configured_hosts = [normalize_host(h) for h in tor_only_hosts if normalize_host(h)]
        self._hosts: frozenset[str] | None = None
        self._fallback_job = f"crawl-{secrets.token_hex(8)}"

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TorRouteMiddleware:
        s = crawler.settings
        # Never NotConfigured: without Tor this middleware is what refuses onion requests.
        return cls(crawler, parse_socks(s.get("BRANDHOUND_TOR_SOCKS")), s.getlist("BRANDHOUND_TOR_ONLY_HOSTS"),
                   parse_socks(s.get("BRANDHOUND_TOR_BROWSER_SOCKS"), "BRANDHOUND_TOR_BROWSER_SOCKS"))

    # -- decisions

    @property
    def tor_only_hosts(self) -> frozenset[str]:
        """Settings' hosts plus the spider's profile ``tor_only_hosts`` (read once the spider exists)."""
        if self._hosts is None:
            hosts = set(self._configured_hosts)
            spider = getattr(self.crawler, "spider", None)
            profile = getattr(spider, "profile", None)
            for host in getattr(profile, "tor_only_hosts", None) or []:
                if normalize_host(str(host)):
                    hosts.add(normalize_host(str(host)))
            if spider is None:
                return frozenset(hosts)  # not cached: the profile may come with the spider
            self._hosts = frozenset(hosts)
        return self._hosts

    def is_tor_only(self, host: str) -> bool:
        host = normalize_host(host)
        return any(host == h or host.endswith("." + h) for h in self.tor_only_hosts)

    def needs_tor(self, host: str) -> bool:
        return is_onion(host) or self.is_tor_only(host)

    def job_id(self) -> str:
        return str(getattr(getattr(self.crawler, "spider", None), "job_id", None) or self._fallback_job)

    # -- the middleware

    def process_request(self, request: Request) -> None:
        host = normalize_host(urlsplit(request.url).hostname or "")
        asked = bool(request.meta.get("tor"))
        if not (asked or self.needs_tor(host)):
            return None
        why = ".onion hosts" if is_onion(host) else ("Tor-only hosts" if self.is_tor_only(host) else "requests marked tor")
        if self.socks is None:
            self._refuse(request, f"{why} are only fetched through Tor and BRANDHOUND_TOR_SOCKS is not set")
        # A site that kept failing has been given a new circuit generation (tor_circuits): new key, new circuits.
        generation = CircuitBook.of(self.crawler).generation(site_of(host))
        job = self.job_id() if generation == 0 else f"{self.job_id()}#{generation}"
        request.meta["tor"] = {"socks": self.socks, "username": isolation_key(host, job), "password": SOCKS_PASSWORD}
        # No HTTP proxy, ever: None also stops HttpProxyMiddleware from applying *_proxy env variables.
        request.meta["proxy"] = None
        if request.meta.get("playwright"):
            if self.browser_socks is None:
                self._refuse(request, f"browser captures of {why} go through Tor and "
                                      "BRANDHOUND_TOR_BROWSER_SOCKS is not set")
            if request.meta.get("playwright_context") not in (None, TOR_CAPTURE_CONTEXT):
                log.debug("moving %s to the %s browser context", request.url[:300], TOR_CAPTURE_CONTEXT)
            request.meta["playwright_context"] = TOR_CAPTURE_CONTEXT
            request.meta["playwright_context_kwargs"] = tor_context_options(self.browser_socks)
        self.crawler.stats.inc_value("brandhound/tor/routed")
        return None

    def _refuse(self, request: Request, why: str) -> NoReturn:
        self.crawler.stats.inc_value("brandhound/tor/refused")
        message = f"refusing {request.url[:300]}: {why}"
        log.warning(message)
        raise TorRequired(message)
