"""Serves a build of the onion sites: one threaded HTTP/1.1 server per site, each on its own
127.0.0.1 port, so the Host header (``<56 chars>.onion`` through Tor) is ignored.

Routes come from the build's ``routes.json`` (written by ``sandbox.web.output.Output``); beyond
the sandbox web's keys (file, type, status, headers, post) a route may carry ``delay`` (seconds to
wait before answering) and ``unavailable`` (answer 503 with ``retry_after`` that many times first,
counted per server process). ``/_sandbox/health`` answers the site's name and build directory.
"""

from __future__ import annotations

import http.server
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sandbox.web.output import ROUTES_FILE

log = logging.getLogger("sandbox.onion")
HEALTH_PATH = "/_sandbox/health"
NOT_FOUND = b"<!DOCTYPE html><html><head><title>404</title></head><body><h1>404</h1><p>Nothing here.</p></body></html>"


class _Site:
    """One site of a build: its routes, its files (read once) and its fault counters."""

    def __init__(self, build_dir: Path, name: str, routes: dict[str, Any]):
        self.build_dir = build_dir
        self.name = name
        self.routes = routes
        self._files: dict[str, bytes] = {}
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self.request_log: list[tuple[str, str, int]] = []

    def file(self, rel: str) -> bytes:
        data = self._files.get(rel)
        if data is None:
            data = self._files[rel] = (self.build_dir / rel).read_bytes()
        return data

    def count(self, target: str) -> int:
        with self._lock:
            self._counts[target] = self._counts.get(target, 0) + 1
            return self._counts[target]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every answer has a Content-Length
    server_version = "nginx"
    sys_version = ""
    site: _Site  # set on the per-site subclass

    def log_message(self, fmt: str, *args: Any) -> None:
        log.debug("%s %s", self.site.name, fmt % args)

    def _send(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        target = self.path
        self.site.request_log.append((self.site.name, target, status))

    def _target(self) -> str:
        if self.path.startswith(("http://", "https://")):  # absolute form from a proxy-minded client
            parts = urlsplit(self.path)
            return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return self.path

    def _answer(self) -> None:
        target = self._target()
        if target == HEALTH_PATH:
            body = json.dumps({"site": self.site.name, "dir": str(self.site.build_dir), "pid": os.getpid()}).encode()
            return self._send(200, body, "application/json")
        route = self.site.routes.get(target)
        if route is None:
            return self._send(404, NOT_FOUND)
        if self.command == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(min(length, 1 << 20))
            post = route.get("post")
            if post is None:
                return self._send(405, b"method not allowed\n", "text/plain", {"Allow": "GET, HEAD"})
            return self._send(200, self.site.file(post["file"]), post["type"])
        if route.get("unavailable") and self.site.count(target) <= route["unavailable"]:
            return self._send(503, b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
                              headers={"Retry-After": str(route.get("retry_after", 1))})
        if route.get("delay"):
            time.sleep(route["delay"])  # this request's own thread: others are answered meanwhile
        body = self.site.file(route["file"]) if "file" in route else b""
        self._send(route.get("status", 200), body, route.get("type", "text/html; charset=utf-8"),
                   route.get("headers"))

    def do_GET(self) -> None:
        self._answer()

    do_HEAD = do_GET
    do_POST = do_GET


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class OnionSites:
    """Serve the build in ``build_dir``: ``ports`` maps each site to a port (0: any free one).

    Use as a context manager, or call ``start()`` / ``stop()``; ``ports`` then holds the real ports.
    """

    def __init__(self, build_dir: str | Path, ports: dict[str, int], host: str = "127.0.0.1"):
        self.build_dir = Path(build_dir).resolve()
        table = json.loads((self.build_dir / ROUTES_FILE).read_text(encoding="utf-8"))["hosts"]
        unknown = set(ports) - set(table)
        if unknown:
            raise ValueError(f"no site {sorted(unknown)} in {self.build_dir} (it has {sorted(table)})")
        self.sites = {name: _Site(self.build_dir, name, table[name]["routes"]) for name in ports}
        self.ports = dict(ports)
        self.host = host
        self._servers: dict[str, _Server] = {}

    def start(self) -> OnionSites:
        try:
            for name, site in self.sites.items():
                handler = type(f"_Handler_{name}", (_Handler,), {"site": site})
                server = _Server((self.host, self.ports[name]), handler)
                self._servers[name] = server
                self.ports[name] = server.server_address[1]
                threading.Thread(target=server.serve_forever, name=f"onion-{name}", daemon=True).start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def request_log(self) -> list[tuple[str, str, int]]:
        return [entry for site in self.sites.values() for entry in site.request_log]

    def __enter__(self) -> OnionSites:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
