"""HTTP for the CT client, with the standard library: GETs through the egress proxy with a CA bundle,
the crawler's SSRF rule (only public addresses unless allowed), gzip bodies (static-ct-api data tiles),
and retries with exponential backoff and jitter on 429, 5xx and transport errors, honouring
``Retry-After``. A log that keeps failing raises :class:`CtHttpError` naming the URL; the caller
decides whether to go on with the next log.
"""

from __future__ import annotations

import gzip
import logging
import os
import random
import socket
import ssl
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from crawlers.middlewares.ssrf import is_public

log = logging.getLogger(__name__)

USER_AGENT = "brandhound-ct/0.1 (+https://github.com/brandhound)"
#: A data tile is 256 entries of a few kB; a get-entries batch 1,000 at most: nothing sane is larger.
MAX_BYTES = 64 * 1024 * 1024
DEFAULT_TIMEOUT = 30.0

#: ``fetch(url, timeout) -> (status, headers, body)``: how the client does HTTP (injectable for tests).
Fetcher = Callable[[str, float], tuple[int, Mapping[str, str], bytes]]


class CtHttpError(Exception):
    """A request failed for good (after its retries, or a status not worth retrying)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class NotFound(CtHttpError):
    """HTTP 404: for a partial tile, the full one may have replaced it."""


def _retryable(status: int) -> bool:
    return status == 429 or 500 <= status < 600


def _decode(body: bytes, headers: Mapping[str, str], url: str) -> bytes:
    encoding = next((v for k, v in headers.items() if k.lower() == "content-encoding"), "").lower().strip()
    if encoding in ("", "identity"):
        return body
    try:
        if encoding in ("gzip", "x-gzip"):
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    except (OSError, zlib.error, EOFError) as exc:
        raise CtHttpError(f"{url}: body is not valid {encoding}: {exc}") from None
    raise CtHttpError(f"{url}: unsupported Content-Encoding {encoding!r}")


def urllib_fetcher(proxy: str | None = None, ca_bundle: str | None = None) -> Fetcher:
    """GET with urllib through ``proxy`` for both schemes when given, verifying against ``ca_bundle``."""
    context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else ssl.create_default_context()
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context),
                                         urllib.request.ProxyHandler({"http": proxy, "https": proxy} if proxy else {}))

    def fetch(url: str, timeout: float) -> tuple[int, Mapping[str, str], bytes]:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, identity"})
        try:
            with opener.open(request, timeout=timeout) as resp:
                headers = dict(resp.headers.items())
                return resp.status, headers, _decode(resp.read(MAX_BYTES + 1), headers, url)
        except urllib.error.HTTPError as exc:
            body = exc.read(64 * 1024) if exc.fp is not None else b""
            return exc.code, dict(exc.headers.items()) if exc.headers else {}, body
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ConnectionError(f"{getattr(exc, 'reason', exc)}") from None

    return fetch


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date); None without one."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


@dataclass
class Backoff:
    """Exponential backoff with jitter: try ``n`` waits ``base * 2**n`` to twice that, at most ``cap``;
    a server's Retry-After wins when longer, up to ``retry_after_cap``."""

    retries: int = 5
    base: float = 0.5
    cap: float = 60.0
    retry_after_cap: float = 300.0

    def delay(self, attempt: int, asked: float | None, rng: random.Random) -> float:
        wait = min(self.cap, self.base * (2 ** attempt) * (1 + rng.random()))
        if asked is not None:
            wait = max(wait, min(asked, self.retry_after_cap))
        return wait


class HttpClient:
    """GETs for one CT client: SSRF rule, proxy, CA bundle, backoff. ``sleep`` is injectable for tests."""

    def __init__(self, *, fetch: Fetcher | None = None, proxy: str | None = None, ca_bundle: str | None = None,
                 allow_private: bool = False, timeout: float = DEFAULT_TIMEOUT, backoff: Backoff | None = None,
                 sleep: Callable[[float], None] = time.sleep, resolve: Callable[[str], list[str]] | None = None):
        self._fetch = fetch or urllib_fetcher(proxy, ca_bundle)
        self.allow_private = allow_private
        self.timeout = timeout
        self.backoff = backoff or Backoff()
        self.sleep = sleep
        self._resolve = resolve or _resolve
        self._checked: dict[str, str | None] = {}
        self._rng = random.Random()
        self.retries = 0  # how many requests were retried, for progress and tests

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kwargs: Any) -> HttpClient:
        """Configured like the crawl: ``BRANDHOUND_CT_PROXY`` or ``BRANDHOUND_EGRESS_PROXY``,
        ``BRANDHOUND_CT_CA_BUNDLE``, ``BRANDHOUND_CT_ALLOW_PRIVATE`` (the sandbox only), ``BRANDHOUND_CT_TIMEOUT``."""
        env = os.environ if env is None else env
        options: dict[str, Any] = {
            "proxy": env.get("BRANDHOUND_CT_PROXY") or env.get("BRANDHOUND_EGRESS_PROXY") or None,
            "ca_bundle": env.get("BRANDHOUND_CT_CA_BUNDLE") or None,
            "allow_private": env.get("BRANDHOUND_CT_ALLOW_PRIVATE", "").lower() in ("1", "true", "yes"),
        }
        if env.get("BRANDHOUND_CT_TIMEOUT"):
            options["timeout"] = float(env["BRANDHOUND_CT_TIMEOUT"])
        return cls(**(options | kwargs))

    def _refusal(self, url: str) -> str | None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return f"scheme {parts.scheme!r} is never fetched"
        host = (parts.hostname or "").lower()
        if not host:
            return "no host"
        if self.allow_private:
            return None
        if host not in self._checked:
            try:
                bad = [a for a in self._resolve(host) if not is_public(a)]
                self._checked[host] = f"{host} resolves to the non-public address {bad[0]}" if bad else None
            except OSError as exc:
                self._checked[host] = f"{host} does not resolve ({exc})"
        return self._checked[host]

    def get(self, url: str) -> bytes:
        """The body of ``url``; :class:`CtHttpError` once the retries are spent, :class:`NotFound` on 404."""
        why = self._refusal(url)
        if why:
            raise CtHttpError(f"refused {url}: {why}")
        attempt = 0
        while True:
            asked: float | None = None
            try:
                status, headers, body = self._fetch(url, self.timeout)
                if status == 200:
                    if len(body) > MAX_BYTES:
                        raise CtHttpError(f"{url}: answer larger than {MAX_BYTES} bytes")
                    return body
                if status == 404:
                    raise NotFound(f"{url}: HTTP 404", 404)
                if not _retryable(status):
                    raise CtHttpError(f"{url}: HTTP {status}: {body[:200]!r}", status)
                problem, asked = f"HTTP {status}", retry_after(headers)
            except ConnectionError as exc:
                problem, status = str(exc), None
            if attempt >= self.backoff.retries:
                raise CtHttpError(f"{url}: {problem}, {attempt} retries spent", status)
            wait = self.backoff.delay(attempt, asked, self._rng)
            log.warning("ct: %s: %s; retry %d in %.1f s", url, problem, attempt + 1, wait)
            self.retries += 1
            self.sleep(wait)
            attempt += 1


def _resolve(host: str) -> list[str]:
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)})
