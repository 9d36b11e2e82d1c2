"""Domain registration facts over RDAP (RFC 9083): when, through which registrar, abuse contact.

A domain's RDAP server is found in an IANA-style DNS bootstrap registry (RFC 9224:
``services`` pairs of TLD lists and base URLs), read from a file or a URL:
``BRANDHOUND_RDAP_BOOTSTRAP`` (a Scrapy setting or an environment variable), by default
IANA's. The client then fetches ``<base>domain/<name>`` for the *registered* domain of a
host (``shop.example.co.uk`` asks for ``example.co.uk``, an IDN for its punycode name),
with a timeout, through an HTTP(S) proxy and with a CA bundle when configured, using only
the standard library (``urllib``).

What it reads, tolerating the variety of real servers (a missing field is None, never an
exception): the ``registration``, ``expiration`` and ``last changed`` events; the
registrar entity's name (vCard ``fn`` or ``org``) and IANA id; the ``abuse`` contact's
e-mail, nested in the registrar entity (the ICANN profile) or at the top level;
nameservers; status. A response that is not JSON, or not an RDAP domain object, raises
:class:`RdapError` with a message saying what was wrong; an unregistered name raises
:class:`RdapNotFound`. Answers (and "not found") are cached in memory for a while, so a
crawl asks once per domain.
"""

from __future__ import annotations

import json
import logging
import os
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import quote, urlsplit

from brandhound.items import Rdap
from brandhound.urls import registered_domain

log = logging.getLogger(__name__)

IANA_BOOTSTRAP = "https://data.iana.org/rdap/dns.json"
ACCEPT = "application/rdap+json, application/json;q=0.9"
#: A body larger than this is not an RDAP answer.
MAX_BYTES = 2 * 1024 * 1024
DEFAULT_TIMEOUT = 10.0

#: ``fetch(url, timeout) -> (status, headers, body)``: how the client does HTTP (injectable for tests).
Fetcher = Callable[[str, float], tuple[int, Mapping[str, str], bytes]]


class RdapError(Exception):
    """The lookup failed: no server for the TLD, a transport error, or an answer that is not RDAP."""


class RdapNotFound(RdapError):
    """The registry does not know the name (HTTP 404)."""


@dataclass(frozen=True)
class RdapRecord:
    """What RDAP says about one registered domain."""

    domain: str                                 # the registered domain asked for, punycode
    ldh_name: str | None = None
    unicode_name: str | None = None
    handle: str | None = None
    created: datetime | None = None
    expires: datetime | None = None
    updated: datetime | None = None
    registrar: str | None = None
    registrar_iana_id: str | None = None
    abuse_email: str | None = None
    abuse_phone: str | None = None
    nameservers: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    server: str | None = None                   # the URL answered

    def age_days(self, now: datetime | None = None) -> float | None:
        """Days since registration, or None when the registration date is unknown."""
        if self.created is None:
            return None
        now = now or datetime.now(timezone.utc)
        return (now - self.created).total_seconds() / 86400

    def to_item(self) -> Rdap:
        """The :class:`brandhound.items.Rdap` object a :class:`~brandhound.items.Site` keeps."""
        return Rdap(registrar=self.registrar, registrar_abuse_email=self.abuse_email, created=self.created)


# --------------------------------------------------------------------------- parsing


def parse_date(value: Any) -> datetime | None:
    """An RFC 3339 date as an aware UTC datetime; None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text[-1:] in "zZ":
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _vcard_props(entity: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """``(name, value)`` of every well-formed property of an entity's jCard (RFC 7095)."""
    card = entity.get("vcardArray")
    if not (isinstance(card, list) and len(card) >= 2 and card[0] == "vcard" and isinstance(card[1], list)):
        return []
    out = []
    for prop in card[1]:
        if isinstance(prop, list) and len(prop) >= 4 and isinstance(prop[0], str):
            out.append((prop[0].lower(), prop[3]))
    return out


def _text(value: Any) -> str | None:
    if isinstance(value, list):  # structured values (org, adr) are lists of components
        value = " ".join(str(v) for v in value if isinstance(v, str) and v)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _vcard_value(entity: Mapping[str, Any], *names: str) -> str | None:
    props = _vcard_props(entity)
    for name in names:
        for prop, value in props:
            if prop == name and (text := _text(value)):
                return text
    return None


def _roles(entity: Mapping[str, Any]) -> set[str]:
    roles = entity.get("roles")
    return {r.lower() for r in roles if isinstance(r, str)} if isinstance(roles, list) else set()


def _entities(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    entities = obj.get("entities")
    return [e for e in entities if isinstance(e, dict)] if isinstance(entities, list) else []


def _abuse_contact(entities: list[Mapping[str, Any]]) -> tuple[str | None, str | None]:
    for entity in entities:
        if "abuse" in _roles(entity):
            email = _vcard_value(entity, "email")
            if email and email.lower().startswith("mailto:"):
                email = email[len("mailto:"):]
            phone = _vcard_value(entity, "tel")
            if phone and phone.lower().startswith("tel:"):
                phone = phone[len("tel:"):]
            if email or phone:
                return (email.lower() if email else None), phone
    return None, None


def parse_domain(data: Any, domain: str, server: str | None = None) -> RdapRecord:
    """An RDAP domain object (already decoded JSON) as a :class:`RdapRecord`."""
    if not isinstance(data, dict):
        raise RdapError(f"RDAP answer for {domain} is a JSON {type(data).__name__}, not an object")
    kind = data.get("objectClassName")
    if kind != "domain":
        if "errorCode" in data:
            raise RdapError(f"RDAP error for {domain}: {data.get('errorCode')} {data.get('title') or ''}".strip())
        raise RdapError(f"RDAP answer for {domain} is not a domain object (objectClassName {kind!r})")
    events: dict[str, datetime | None] = {}
    for event in data.get("events") or []:
        if isinstance(event, dict) and isinstance(event.get("eventAction"), str):
            events.setdefault(event["eventAction"].lower(), parse_date(event.get("eventDate")))
    top = _entities(data)
    registrar = next((e for e in top if "registrar" in _roles(e)), None)
    name = iana_id = None
    abuse_email = abuse_phone = None
    if registrar is not None:
        name = _vcard_value(registrar, "fn", "org") or _text(registrar.get("handle"))
        for pid in registrar.get("publicIds") or []:
            if isinstance(pid, dict) and "iana" in str(pid.get("type", "")).lower():
                iana_id = _text(str(pid.get("identifier", "")))
        abuse_email, abuse_phone = _abuse_contact(_entities(registrar))
    if not abuse_email and not abuse_phone:
        abuse_email, abuse_phone = _abuse_contact(top)
    nameservers = []
    for ns in data.get("nameservers") or []:
        if isinstance(ns, dict) and isinstance(ns.get("ldhName"), str):
            nameservers.append(ns["ldhName"].lower().rstrip("."))
    status = tuple(s for s in data.get("status") or [] if isinstance(s, str)) if isinstance(
        data.get("status"), list) else ()
    return RdapRecord(
        domain=domain,
        ldh_name=_text(data.get("ldhName")),
        unicode_name=_text(data.get("unicodeName")),
        handle=_text(data.get("handle")),
        created=events.get("registration"),
        expires=events.get("expiration"),
        updated=events.get("last changed"),
        registrar=name,
        registrar_iana_id=iana_id,
        abuse_email=abuse_email,
        abuse_phone=abuse_phone,
        nameservers=tuple(nameservers),
        status=status,
        server=server,
    )


# --------------------------------------------------------------------------- bootstrap


class Bootstrap:
    """An RFC 9224 DNS bootstrap registry: TLD -> RDAP base URLs."""

    def __init__(self, services: dict[str, list[str]]):
        self.services = services

    @classmethod
    def from_json(cls, data: Any, source: str = "bootstrap") -> Bootstrap:
        if not isinstance(data, dict) or not isinstance(data.get("services"), list):
            raise RdapError(f"{source} is not an RDAP bootstrap registry (no 'services' list)")
        services: dict[str, list[str]] = {}
        for entry in data["services"]:
            if not (isinstance(entry, list) and len(entry) >= 2 and isinstance(entry[0], list)
                    and isinstance(entry[1], list)):
                continue
            urls = [u if u.endswith("/") else u + "/" for u in entry[1] if isinstance(u, str) and "://" in u]
            # HTTPS first (RFC 9224 section 3: prefer it when both are listed).
            urls.sort(key=lambda u: not u.lower().startswith("https://"))
            for tld in entry[0]:
                if isinstance(tld, str) and urls:
                    services.setdefault(tld.lower().strip("."), urls)
        if not services:
            raise RdapError(f"{source} lists no RDAP service")
        return cls(services)

    def server_for(self, domain: str) -> str | None:
        """The base URL for ``domain`` (ASCII): the longest matching label suffix wins."""
        labels = domain.lower().strip(".").split(".")
        for i in range(len(labels)):
            urls = self.services.get(".".join(labels[i:]))
            if urls:
                return urls[0]
        return None


def _decode_json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise RdapError(f"{what} is not valid JSON: {exc}") from None


# --------------------------------------------------------------------------- HTTP


def urllib_fetcher(proxy: str | None = None, ca_bundle: str | None = None) -> Fetcher:
    """HTTP(S) GET with urllib: through ``proxy`` (http://host:port) for both schemes when given,
    verifying certificates against ``ca_bundle`` when given (else the system's store)."""
    context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else ssl.create_default_context()
    handlers: list[Any] = [urllib.request.HTTPSHandler(context=context),
                           urllib.request.ProxyHandler({"http": proxy, "https": proxy} if proxy else {})]
    opener = urllib.request.build_opener(*handlers)

    def fetch(url: str, timeout: float) -> tuple[int, Mapping[str, str], bytes]:
        request = urllib.request.Request(url, headers={"Accept": ACCEPT, "User-Agent": "brandhound-rdap/0.1"})
        try:
            with opener.open(request, timeout=timeout) as resp:
                return resp.status, dict(resp.headers.items()), resp.read(MAX_BYTES + 1)
        except urllib.error.HTTPError as exc:
            body = exc.read(MAX_BYTES + 1) if exc.fp is not None else b""
            return exc.code, dict(exc.headers.items()) if exc.headers else {}, body
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RdapError(f"cannot fetch {url}: {reason}") from None

    return fetch


# --------------------------------------------------------------------------- the client


@dataclass
class _Cache:
    size: int
    ttl: float
    negative_ttl: float
    entries: OrderedDict = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: str) -> RdapRecord | RdapNotFound | None:
        with self.lock:
            hit = self.entries.get(key)
            if hit is None:
                return None
            expires, value = hit
            if expires < time.monotonic():
                del self.entries[key]
                return None
            self.entries.move_to_end(key)
            return value

    def put(self, key: str, value: RdapRecord | RdapNotFound) -> None:
        ttl = self.negative_ttl if isinstance(value, RdapNotFound) else self.ttl
        with self.lock:
            self.entries[key] = (time.monotonic() + ttl, value)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


def rdap_name(domain_or_url: str) -> str:
    """The name to ask RDAP about: the registered domain of a host or URL, in punycode."""
    text = domain_or_url.strip()
    host = (urlsplit(text).hostname if "://" in text else text.split("/", 1)[0]) or ""
    host = host.lower().rstrip(".")
    if not host:
        raise RdapError(f"{domain_or_url!r} has no host name")
    zone = registered_domain(host) or host
    try:
        return zone.encode("idna").decode("ascii")
    except UnicodeError:
        raise RdapError(f"{zone!r} is not a valid IDN") from None


class RdapClient:
    """Looks domains up over RDAP. Thread-safe; one per crawl or process.

    ``bootstrap``: a :class:`Bootstrap`, a parsed registry, a file path, or a URL
    (``file://`` too), loaded on first use. ``fetch``: how to do HTTP; default urllib
    through ``proxy`` with ``ca_bundle``.
    """

    def __init__(self, bootstrap: Bootstrap | dict | str | Path = IANA_BOOTSTRAP, *, fetch: Fetcher | None = None,
                 proxy: str | None = None, ca_bundle: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 cache_size: int = 4096, cache_ttl: float = 24 * 3600, negative_ttl: float = 3600,
                 bootstrap_retry: float = 600):
        # What to load the registry from when none was given ready-made.
        self._bootstrap_source: dict | str | Path = IANA_BOOTSTRAP if isinstance(bootstrap, Bootstrap) else bootstrap
        self._bootstrap: Bootstrap | None = bootstrap if isinstance(bootstrap, Bootstrap) else None
        self._bootstrap_failed: tuple[float, RdapError] | None = None
        self._bootstrap_retry = bootstrap_retry
        self._fetch = fetch or urllib_fetcher(proxy, ca_bundle)
        self.timeout = timeout
        self._cache = _Cache(cache_size, cache_ttl, negative_ttl)
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any = None, env: Mapping[str, str] | None = None,
                      **kwargs: Any) -> RdapClient | None:
        """A client configured by Scrapy settings (``settings.get``) or else the environment:
        ``BRANDHOUND_RDAP_BOOTSTRAP`` (file or URL; "off" disables RDAP: returns None),
        ``BRANDHOUND_RDAP_PROXY`` (default ``BRANDHOUND_EGRESS_PROXY``), ``BRANDHOUND_RDAP_CA_BUNDLE``,
        ``BRANDHOUND_RDAP_TIMEOUT`` (seconds)."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = settings.get(name) if settings is not None else None
            if value in (None, ""):
                value = env.get(name)
            return str(value).strip() if value not in (None, "") else None

        bootstrap = get("BRANDHOUND_RDAP_BOOTSTRAP") or IANA_BOOTSTRAP
        if bootstrap.lower() in ("off", "none", "false", "0"):
            return None
        timeout = get("BRANDHOUND_RDAP_TIMEOUT")
        try:
            seconds = float(timeout) if timeout else DEFAULT_TIMEOUT
        except ValueError:
            raise RdapError(f"BRANDHOUND_RDAP_TIMEOUT={timeout!r} is not a number of seconds") from None
        return cls(bootstrap, proxy=get("BRANDHOUND_RDAP_PROXY") or get("BRANDHOUND_EGRESS_PROXY"),
                   ca_bundle=get("BRANDHOUND_RDAP_CA_BUNDLE"), timeout=seconds, **kwargs)

    # ----------------------------------------------------------------- bootstrap

    def bootstrap(self) -> Bootstrap:
        with self._lock:
            if self._bootstrap is not None:
                return self._bootstrap
            if self._bootstrap_failed and time.monotonic() - self._bootstrap_failed[0] < self._bootstrap_retry:
                raise self._bootstrap_failed[1]
            try:
                self._bootstrap = self._load_bootstrap(self._bootstrap_source)
            except RdapError as exc:
                self._bootstrap_failed = (time.monotonic(), exc)
                raise
            return self._bootstrap

    def _load_bootstrap(self, source: dict | str | Path) -> Bootstrap:
        if isinstance(source, dict):
            return Bootstrap.from_json(source)
        text = str(source)
        if text.startswith(("http://", "https://")):
            status, _, body = self._fetch(text, self.timeout)
            if status != 200:
                raise RdapError(f"RDAP bootstrap {text} answered HTTP {status}")
            return Bootstrap.from_json(_decode_json(body, f"RDAP bootstrap {text}"), text)
        path = Path(text[len("file://"):] if text.startswith("file://") else text)
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise RdapError(f"cannot read the RDAP bootstrap file {path}: {exc.strerror or exc}") from None
        return Bootstrap.from_json(_decode_json(body, f"RDAP bootstrap {path}"), str(path))

    # ----------------------------------------------------------------- lookups

    def lookup(self, domain: str) -> RdapRecord:
        """The registration of ``domain``'s registered domain (a host or URL is fine).
        Raises :class:`RdapNotFound` or :class:`RdapError`."""
        name = rdap_name(domain)
        cached = self._cache.get(name)
        if isinstance(cached, RdapNotFound):
            raise cached
        if cached is not None:
            return cached
        base = self.bootstrap().server_for(name)
        if base is None:
            raise RdapError(f"no RDAP server for .{name.rsplit('.', 1)[-1]} in the bootstrap registry")
        url = f"{base}domain/{quote(name)}"
        status, _, body = self._fetch(url, self.timeout)
        if status == 404:
            missing = RdapNotFound(f"{name} is not registered (RDAP {url} answered 404)")
            self._cache.put(name, missing)
            raise missing
        if status != 200:
            raise RdapError(f"RDAP {url} answered HTTP {status}")
        if len(body) > MAX_BYTES:
            raise RdapError(f"RDAP {url} answered more than {MAX_BYTES} bytes")
        record = parse_domain(_decode_json(body, f"RDAP answer {url}"), name, url)
        self._cache.put(name, record)
        return record

    def try_lookup(self, domain: str) -> RdapRecord | None:
        """:meth:`lookup`, or None (logged) when it fails."""
        try:
            return self.lookup(domain)
        except RdapError as exc:
            log.info("RDAP lookup of %s failed: %s", domain, exc)
            return None
