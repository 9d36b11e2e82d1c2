"""Answers a request from a build's route table: the server's logic without the sockets.

Each host has static routes (path -> file and how to serve it) and
optionally an application (a marketplace's search). New kinds of host (an
RDAP service, say) are added by registering an application factory in
:data:`APPS` and writing its configuration at build time.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, replace
from functools import lru_cache
from http import HTTPStatus
from pathlib import Path
from typing import Any, Callable, Protocol

from sandbox.web.abuse_desks import Desks
from sandbox.web.markets import MarketApp
from sandbox.web.output import ROUTES_FILE
from sandbox.web.rdap import RdapApp

#: Host names that mean "the sandbox itself" (health checks, the host list).
OWN_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", ""})


@dataclass(frozen=True)
class Request:
    method: str
    host: str           # ASCII (punycode) host name, lowercase, no port
    path: str           # as sent, still percent-encoded
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    scheme: str = "http"

    @property
    def target(self) -> str:
        return self.path + ("?" + self.query if self.query else "")


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    # Send the headers and these bytes, then nothing more (a page that never finishes).
    hang: bytes | None = None

    @property
    def reason(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Unknown"


class App(Protocol):
    """``(status, body)`` as HTML, or ``(status, body, content type)``; None: not the app's path."""

    def handle(self, path: str, query: str) -> tuple[int, bytes] | tuple[int, bytes, str] | None: ...


APPS: dict[str, Callable[[Path, dict[str, Any]], App]] = {
    "market": lambda root, config: MarketApp(root / config["index"]),
    "rdap": lambda root, config: RdapApp(root / config["index"]),
}


def text_response(status: int, text: str, extra: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, text.encode(), [("Content-Type", "text/plain; charset=utf-8"), *(extra or [])])


class HostTable:
    """All hosts of one build and how each answers."""

    def __init__(self, root: Path):
        self.root = root
        table = json.loads((root / ROUTES_FILE).read_text(encoding="utf-8"))
        self._routes: dict[str, dict[str, dict[str, Any]]] = {h: v["routes"] for h, v in table["hosts"].items()}
        self._apps: dict[str, App] = {h: APPS[v["app"]["kind"]](root, v["app"])
                                      for h, v in table["hosts"].items() if v.get("app")}
        # Paths that exist in several query variants (/recent, /recent?page=2): an
        # unknown variant is a 404, not silently the first page.
        self._query_paths = {(h, k.partition("?")[0]) for h, routes in self._routes.items() for k in routes if "?" in k}
        self._hits: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._read = lru_cache(maxsize=8192)(self._read_file)
        # Notices taken down by the sandbox's abuse desks, by its (settable) clock.
        self.desks = Desks(root)

    @property
    def hosts(self) -> list[str]:
        return sorted(self._routes)

    def knows(self, host: str) -> bool:
        return host in self._routes or host in OWN_HOSTS

    def _read_file(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def respond(self, req: Request) -> Response:
        if req.host in OWN_HOSTS:
            return self._own(req)
        routes = self._routes.get(req.host)
        if routes is None:
            return text_response(502, f"sandbox: unknown host {req.host}\n")
        if req.method == "POST":
            refused = self.desks.receive(req.host, req.path, req.body, req.headers.get("content-type", ""))
            if refused is not None:
                return text_response(*refused)
        action = self.desks.respond(req.host, req.path)
        if action is not None:
            what, value = action
            if what == "alias":  # a re-listed item: the same page under its new URL
                req = replace(req, path=value, query="")
            elif what == "hang":
                return Response(200, b"", [("Content-Type", "text/html; charset=utf-8")], hang=b"<!doctype html>")
            elif what == "nxdomain":  # what a proxy says of a name that no longer resolves
                return text_response(502, f"sandbox: {req.host} does not resolve (NXDOMAIN)\n")
            else:
                return Response(value[0], value[1].encode(), [("Content-Type", "text/html; charset=utf-8")])
        route = routes.get(req.target)
        if route is None and req.query and (req.host, req.path) not in self._query_paths:
            route = routes.get(req.path)  # ignore tracking parameters and the like
        if route is not None:
            return self._serve(req, route)
        app = self._apps.get(req.host)
        if app is not None and req.method in ("GET", "HEAD"):
            answer = app.handle(req.path, req.query)
            if answer is not None:
                status, body, *content_type = answer
                return Response(status, body, [("Content-Type", content_type[0] if content_type
                                                else "text/html; charset=utf-8")])
        return Response(404, b"<!doctype html><title>404 Not Found</title><h1>Not Found</h1>",
                        [("Content-Type", "text/html; charset=utf-8")])

    def _serve(self, req: Request, route: dict[str, Any]) -> Response:
        if req.method == "POST" and "post" in route:
            route = route["post"]
        elif req.method not in ("GET", "HEAD") and not route.get("any_method"):
            return text_response(405, "method not allowed\n", [("Allow", "GET, HEAD")])
        if route.get("throttle"):
            key = (req.host, req.target)
            with self._lock:
                seen = self._hits[key] = self._hits.get(key, 0) + 1
            if seen <= route["throttle"]:
                return text_response(429, "too many requests, slow down\n",
                                     [("Retry-After", str(route.get("retry_after", 1)))])
        headers = [("Content-Type", route["type"])] if "type" in route else []
        headers += list(route.get("headers", {}).items())
        if "hang" in route:
            return Response(200, b"", headers, hang=route["hang"].encode())
        body = self._read(route["file"]) if "file" in route else b""
        return Response(route.get("status", 200), body, headers)

    def _own(self, req: Request) -> Response:
        control = self.desks.control(req.method, req.path, req.query, req.body)
        if control is not None:
            return Response(control[0], json.dumps(control[1]).encode(), [("Content-Type", "application/json")])
        if req.path == "/_sandbox/health":
            body = json.dumps({"status": "ok", "hosts": len(self._routes), "dir": str(self.root)}).encode()
            return Response(200, body, [("Content-Type", "application/json")])
        return text_response(200, "brandhound sandbox web; hosts:\n" + "".join(f"  {h}\n" for h in self.hosts))
