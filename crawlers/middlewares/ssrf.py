"""Refuse requests that would reach internal networks (SSRF).

Scam pages link, and redirect, to wherever they like: 127.0.0.1, the cloud
metadata service at 169.254.169.254, the office LAN. Every request, redirects
included (Scrapy sends them through the middlewares again), is checked here:
only http(s), and only hosts whose every address is public. The sandbox turns
the address check off with ``SSRF_ALLOW_PRIVATE``; the scheme check stays.

Host names are resolved with ``BRANDHOUND_HOST_OVERRIDES`` first (the
sandbox's hosts file), then the system resolver in a thread. A name that does
not resolve is refused too: there is nothing to fetch and nothing safe to
assume. Known limit: a hostile DNS server can answer differently to the
download a moment later (DNS rebinding); an egress proxy that enforces the
same rule closes that gap in production. ``.onion`` names and requests routed
through Tor (``meta["tor"]``, see tor_route) are never resolved here: Tor
resolves them at the far end; only literal addresses are checked for them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

log = logging.getLogger(__name__)

ALLOWED_SCHEMES = frozenset({"http", "https"})


class SsrfRefused(IgnoreRequest):
    """The request would reach a forbidden address or scheme; the message says which."""


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _literal_ip(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


class AddressPolicy:
    """Which hosts may be reached: the address check shared by this middleware and the capture
    browser's egress guard (``crawlers.browser_egress``)."""

    def __init__(self, allow_private: bool, overrides: dict[str, str]):
        self.allow_private = allow_private
        self.overrides = {k.lower(): v for k, v in overrides.items()}
        self._cache: dict[str, tuple[str, ...]] = {}

    @classmethod
    def from_settings(cls, settings) -> AddressPolicy:
        return cls(settings.getbool("SSRF_ALLOW_PRIVATE"), settings.getdict("BRANDHOUND_HOST_OVERRIDES"))

    async def addresses(self, host: str) -> tuple[str, ...]:
        """The host's addresses (overrides first); :class:`SsrfRefused` when it does not resolve."""
        literal = _literal_ip(host)
        if literal:
            return (literal,)
        if host in self.overrides:
            return (self.overrides[host],)
        if host not in self._cache:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError) as exc:
                raise SsrfRefused(f"refused {host}: it does not resolve ({exc})") from None
            self._cache[host] = tuple(sorted({str(info[4][0]) for info in infos}))
        return self._cache[host]

    async def refusal(self, host: str) -> str | None:
        """Why ``host`` must not be reached, or None; raises :class:`SsrfRefused` for names that do not resolve."""
        if self.allow_private:
            return None
        for address in await self.addresses(host):
            if not is_public(address):
                return f"{host} resolves to the non-public address {address}"
        return None


class SsrfGuardMiddleware:
    def __init__(self, crawler: Crawler, policy: AddressPolicy):
        self.crawler = crawler
        self.policy = policy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SsrfGuardMiddleware:
        return cls(crawler, AddressPolicy.from_settings(crawler.settings))

    async def process_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        scheme = parts.scheme.lower()
        if scheme not in ALLOWED_SCHEMES:
            self._refuse(request, f"scheme {scheme!r} is never fetched")
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            self._refuse(request, "no host")
        if host.endswith(".onion") or request.meta.get("tor"):
            # Onion names, and every Tor-routed name, are Tor's to resolve, never ours: only a
            # literal address can be checked here.
            literal = _literal_ip(host)
            if literal and not self.policy.allow_private and not is_public(literal):
                self._refuse(request, f"{host} is the non-public address {literal}")
            return None
        why = await self.policy.refusal(host)
        if why:
            self._refuse(request, why)
        return None

    def _refuse(self, request: Request, why: str) -> None:
        self.crawler.stats.inc_value("brandhound/ssrf_refused")
        log.warning("SSRF guard refused %s: %s", request.url[:300], why)
        raise SsrfRefused(f"refused {request.url[:300]}: {why}")
