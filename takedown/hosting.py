"""Who hosts a site: the network owner of its address and their abuse contact, over RDAP.

The address comes from a resolver: DNS in production, or a published map of host ->
address (the sandbox's ``/sandbox/hosting.json``, since every sandbox host really resolves
to 127.0.0.1). The network is then found the way ARIN's and RIPE's RDAP servers answer it:
an RFC 9224 IPv4 bootstrap registry (CIDR -> base URL, by default IANA's) picks the server,
``<base>ip/<address>`` returns an ``ip network`` object (RFC 9083 section 5.4), and its
``registrant`` entity names the provider, with the ``abuse`` contact nested inside it (or at
the top level, as some registries put it). Parsing reuses :mod:`detectors.rdap`'s readers.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import quote

from brandhound.urls import registered_domain
from detectors.rdap import (
    RdapClient,
    RdapError,
    RdapNotFound,
    RdapRecord,
    _abuse_contact,
    _decode_json,
    _entities,
    _roles,
    _text,
    _vcard_value,
)

IANA_IPV4_BOOTSTRAP = "https://data.iana.org/rdap/ipv4.json"

#: ``resolve(host) -> IPv4 address or None``.
Resolver = Callable[[str], "str | None"]


@dataclass(frozen=True)
class HostingRecord:
    """What RDAP says about the network a host's address belongs to."""

    address: str
    network: str | None = None          # handle, e.g. NET-198-51-100-0-1
    provider: str | None = None         # the registrant's name
    abuse_email: str | None = None
    server: str | None = None           # the URL that answered


def dns_resolver(host: str) -> str | None:
    """The host's first IPv4 address from the system resolver, or None."""
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return None
    return str(infos[0][4][0]) if infos else None


def map_resolver(hosting: Mapping[str, str]) -> Resolver:
    """Resolve from a published map of registered domain (or host) -> address."""
    table = {k.lower(): v for k, v in hosting.items()}

    def resolve(host: str) -> str | None:
        host = host.lower().rstrip(".")
        return table.get(host) or table.get(registered_domain(host) or host)

    return resolve


def parse_network(data: Any, address: str, server: str | None = None) -> HostingRecord:
    """An RDAP ``ip network`` object (decoded JSON) as a :class:`HostingRecord`."""
    if not isinstance(data, dict) or data.get("objectClassName") != "ip network":
        if isinstance(data, dict) and "errorCode" in data:
            raise RdapError(f"RDAP error for {address}: {data.get('errorCode')} {data.get('title') or ''}".strip())
        raise RdapError(f"RDAP answer for {address} is not an ip network object")
    top = _entities(data)
    owner = next((e for e in top if {"registrant", "administrative"} & set(_roles(e))), None)
    provider = email = None
    if owner is not None:
        provider = _vcard_value(owner, "fn", "org") or _text(owner.get("handle"))
        email, _ = _abuse_contact(_entities(owner))
    if not email:
        email, _ = _abuse_contact(top)
    return HostingRecord(address=address, network=_text(data.get("handle")),
                         provider=provider or _text(data.get("name")), abuse_email=email, server=server)


class HostingLookup(RdapClient):
    """Finds the hosting provider of a host: resolve, then an RDAP ``ip`` query.

    ``bootstrap`` is an IPv4 bootstrap registry (its keys are CIDRs, not TLDs; the parent
    class loads it from a file, a URL or a dict and keeps it)."""

    def __init__(self, bootstrap: dict | str | Path = IANA_IPV4_BOOTSTRAP, *, resolve: Resolver = dns_resolver,
                 **kwargs: Any):
        super().__init__(bootstrap, **kwargs)
        self.resolve = resolve

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kwargs: Any) -> HostingLookup | None:
        """Configured by ``BRANDHOUND_RDAP_IP_BOOTSTRAP`` ("off": no lookups, returns None),
        ``BRANDHOUND_HOSTING_MAP`` (a JSON file of host -> address used instead of DNS) and the
        domain client's proxy, CA bundle and timeout variables."""
        env = os.environ if env is None else env
        bootstrap = env.get("BRANDHOUND_RDAP_IP_BOOTSTRAP") or IANA_IPV4_BOOTSTRAP
        if bootstrap.lower() in ("off", "none", "false", "0"):
            return None
        resolve: Resolver = dns_resolver
        if env.get("BRANDHOUND_HOSTING_MAP"):
            path = Path(env["BRANDHOUND_HOSTING_MAP"])
            try:
                resolve = map_resolver(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:
                raise RdapError(f"BRANDHOUND_HOSTING_MAP={path}: cannot read a JSON host -> address map: {exc}") from None
        proxy = env.get("BRANDHOUND_RDAP_PROXY") or env.get("BRANDHOUND_EGRESS_PROXY") or None
        return cls(bootstrap, resolve=resolve, proxy=proxy, ca_bundle=env.get("BRANDHOUND_RDAP_CA_BUNDLE") or None,
                   **kwargs)

    def use_published_map(self, url: str) -> None:
        """Resolve from a JSON host -> address map at ``url`` (a sandbox registry's stand-in for DNS)."""
        status, _, body = self._fetch(url, self.timeout)
        if status != 200:
            raise RdapError(f"the hosting map {url} answered HTTP {status}")
        table = _decode_json(body, f"hosting map {url}")
        if not isinstance(table, dict):
            raise RdapError(f"the hosting map {url} is not a JSON object of host -> address")
        self.resolve = map_resolver(table)

    def server_for_address(self, address: str) -> str | None:
        ip = ipaddress.ip_address(address)
        best: tuple[int, str] | None = None
        for cidr, urls in self.bootstrap().services.items():
            try:
                net = ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                continue
            if net.version == ip.version and ip in net and (best is None or net.prefixlen > best[0]):
                best = (net.prefixlen, urls[0])
        return best[1] if best else None

    def lookup_host(self, host: str) -> HostingRecord:
        """The hosting provider of ``host``. Raises :class:`RdapError` (or :class:`RdapNotFound`)."""
        address = self.resolve(host)
        if not address:
            raise RdapError(f"{host} does not resolve to an IPv4 address")
        # The cache is the RDAP client's, shared by domain and network records.
        answer: HostingRecord | RdapRecord | RdapNotFound | None = self._cache.get(address)
        if answer is None:
            answer = self._query_network(address)
            self._cache.put(address, answer)  # type: ignore[arg-type]
        if isinstance(answer, RdapNotFound):
            raise answer
        return answer  # type: ignore[return-value]

    def _query_network(self, address: str) -> HostingRecord | RdapNotFound:
        """Ask the address's RDAP server; "not registered" is an answer (cached), other failures raise."""
        base = self.server_for_address(address)
        if base is None:
            raise RdapError(f"no RDAP server for {address} in the IPv4 bootstrap registry")
        url = f"{base}ip/{quote(address)}"
        status, _, body = self._fetch(url, self.timeout)
        if status == 404:
            return RdapNotFound(f"{address} is in no registered network (RDAP {url} answered 404)")
        if status != 200:
            raise RdapError(f"RDAP {url} answered HTTP {status}")
        return parse_network(_decode_json(body, f"RDAP answer {url}"), address, url)
