"""Re-fetching a notice's URL over plain HTTP for the removal re-check, under the crawler's SSRF rule.

Every hop (the URL and each redirect) must be http(s) to a host whose every address is public
(:func:`crawlers.middlewares.ssrf.is_public`), unless the egress allows private addresses (the sandbox);
host overrides (the sandbox's hosts file) are looked up first. Failures are results, not exceptions:
a name that does not exist is ``nxdomain`` (a removal signal); a temporary DNS failure, a timeout, a refused
or reset connection, a TLS failure or an address the rule refuses are unreachable errors.
Known limits: Chromium re-captures (with a screenshot) and Tor for onion sites are not done here yet;
such URLs are fetched over plain HTTP, and ``.onion`` URLs are reported unreachable.
"""

from __future__ import annotations

import os
import socket
import ssl
import urllib.error
import urllib.request
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from crawlers.middlewares.ssrf import ALLOWED_SCHEMES, is_public
from takedown.recheck import FetchResult

USER_AGENT = "Mozilla/5.0 (compatible; brandhound-recheck/0.1; +https://github.com/brandhound)"
MAX_BYTES = 5 * 1024 * 1024
DEFAULT_TIMEOUT = 20.0
_NO_SUCH_NAME = {getattr(socket, n) for n in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, n)}


class _Refused(Exception):
    def __init__(self, error: str, detail: str):
        super().__init__(detail)
        self.error, self.detail = error, detail


def _resolve(host: str) -> list[str]:
    # typeshed types sockaddr[0] as str | int for every family; the address is always a str.
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)})


class HttpRefetcher:
    """``fetch(url) -> FetchResult`` over urllib, through the egress proxy when there is one."""

    def __init__(self, *, proxy: str | None = None, allow_private: bool = False,
                 host_overrides: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT,
                 ca_bundle: str | None = None, resolve: Callable[[str], list[str]] = _resolve):
        self.allow_private = allow_private
        self.overrides = {k.lower(): v for k, v in (host_overrides or {}).items()}
        self.timeout = timeout
        self._resolve = resolve
        context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else ssl.create_default_context()
        guard = self

        class Redirects(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001 - urllib's signature
                guard.check(newurl)
                return super().redirect_request(req, fp, code, msg, headers, newurl)

        handlers: list[urllib.request.BaseHandler] = [Redirects(), urllib.request.HTTPSHandler(context=context)]
        handlers.append(urllib.request.ProxyHandler({"http": proxy, "https": proxy} if proxy else {}))
        self._opener = urllib.request.build_opener(*handlers)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kwargs) -> HttpRefetcher:
        """Configured like the crawl's egress: ``BRANDHOUND_EGRESS_PROXY``, ``BRANDHOUND_RECHECK_CA_BUNDLE``,
        ``BRANDHOUND_RECHECK_ALLOW_PRIVATE`` (the sandbox only), ``BRANDHOUND_RECHECK_TIMEOUT``."""
        env = os.environ if env is None else env
        options: dict[str, Any] = {"proxy": env.get("BRANDHOUND_EGRESS_PROXY") or None,
                   "ca_bundle": env.get("BRANDHOUND_RECHECK_CA_BUNDLE") or None,
                   "allow_private": env.get("BRANDHOUND_RECHECK_ALLOW_PRIVATE", "").lower() in ("1", "true", "yes")}
        if env.get("BRANDHOUND_RECHECK_TIMEOUT"):
            options["timeout"] = float(env["BRANDHOUND_RECHECK_TIMEOUT"])
        return cls(**(options | kwargs))

    def check(self, url: str) -> None:
        """Raise :class:`_Refused` when ``url`` must not be fetched (scheme, onion, SSRF rule, no such name)."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in ALLOWED_SCHEMES:
            raise _Refused("refused", f"scheme {parts.scheme!r} is never fetched")
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            raise _Refused("refused", f"{url[:200]} has no host")
        if host.endswith(".onion"):
            raise _Refused("refused", "onion sites are re-checked over Tor, which this fetcher does not do yet")
        try:
            addresses = [self.overrides[host]] if host in self.overrides else self._resolve(host)
        except socket.gaierror as exc:
            if exc.errno in _NO_SUCH_NAME:
                raise _Refused("nxdomain", f"{host} does not resolve: {exc.strerror}") from None
            raise _Refused("dns_error", f"{host}: temporary DNS failure: {exc.strerror}") from None
        if self.allow_private:
            return
        bad = [a for a in addresses if not is_public(a)]
        if bad:
            raise _Refused("refused", f"{host} resolves to the non-public address {bad[0]}")

    def __call__(self, url: str) -> FetchResult:
        try:
            self.check(url)
            request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "text/html,*/*"})
            try:
                response = self._opener.open(request, timeout=self.timeout)
            except urllib.error.HTTPError as exc:  # 4xx/5xx: a response like any other here
                response = exc
            with response:
                body = response.read(MAX_BYTES + 1)
                if len(body) > MAX_BYTES:
                    return FetchResult(url, response.status, response.url, error="too_large",
                                       detail=f"the answer is larger than {MAX_BYTES} bytes")
                return FetchResult(url, response.status, response.url, body,
                                   content_type=response.headers.get("Content-Type"))
        except _Refused as exc:
            return FetchResult(url, error=exc.error, detail=exc.detail)
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, _Refused):
                return FetchResult(url, error=reason.error, detail=reason.detail)
            return _transport_error(url, reason if isinstance(reason, BaseException) else OSError(str(reason)))
        except (OSError, ValueError) as exc:
            return _transport_error(url, exc)


def _transport_error(url: str, exc: BaseException) -> FetchResult:
    if isinstance(exc, TimeoutError | socket.timeout):
        error = "timeout"
    elif isinstance(exc, ssl.SSLError | ssl.CertificateError):
        error = "tls_error"
    elif isinstance(exc, socket.gaierror):
        error = "nxdomain" if exc.errno in _NO_SUCH_NAME else "dns_error"
    else:
        error = "connection_error"
    return FetchResult(url, error=error, detail=f"{type(exc).__name__}: {exc}")


def is_onion(url: str) -> bool:
    """True for a URL whose host is a Tor onion service (the only ones re-fetched over Tor)."""
    return (urlsplit(url).hostname or "").lower().rstrip(".").endswith(".onion")


class RefetcherChain:
    """``fetch(url)`` that picks the transport the capture used: Tor for ``.onion`` hosts, the browser for
    URLs captured in Chromium (``browser_urls``), plain HTTP otherwise.

    Without a Tor or browser fetcher configured the URL goes to plain HTTP, which reports onion hosts
    unreachable rather than guessing a removal.
    """

    def __init__(self, http: Callable[[str], FetchResult], *, tor: Callable[[str], FetchResult] | None = None,
                 browser: Callable[[str], FetchResult] | None = None, browser_urls: set[str] | None = None):
        self.http, self.tor, self.browser = http, tor, browser
        self.browser_urls = set(browser_urls or ())

    def choose(self, url: str) -> Callable[[str], FetchResult]:
        if is_onion(url):
            return self.tor or self.http
        if self.browser is not None and url in self.browser_urls:
            return self.browser
        return self.http

    def __call__(self, url: str) -> FetchResult:
        return self.choose(url)(url)
