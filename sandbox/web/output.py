"""Writes a build: files per host under ``hosts/<host>/`` and the route table.

The route table (``routes.json``) maps each host's URL paths to a file and how
to serve it (content type, status, extra headers, or a behaviour such as
"answer 429 twice" or "never finish"). Keeping behaviours in data lets the
server stay a small generic interpreter, and lets many URLs share one file
(every listing photo of a marketplace is one of a few dozen images).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sandbox.web.fileio import write_json
from sandbox.web.images import Media

ROUTES_FILE = "routes.json"
HTML = "text/html; charset=utf-8"
SUFFIX_BY_TYPE = {"text/html": ".html", "text/plain": ".txt", "application/json": ".json", "text/css": ".css"}


class Output:
    def __init__(self, root: Path):
        self.root = root
        self.hosts: dict[str, dict[str, Any]] = {}
        self._written_media: set[tuple[str, str]] = set()

    # ----------------------------------------------------------------- helpers

    def _host(self, host: str) -> dict[str, Any]:
        return self.hosts.setdefault(host, {"routes": {}, "app": None})

    def _route(self, host: str, path: str, route: dict[str, Any]) -> None:
        routes = self._host(host)["routes"]
        if path in routes:
            raise ValueError(f"two routes for {host}{path}")
        routes[path] = route

    def _file_name(self, path: str, content_type: str) -> str:
        """A file name for a URL path: the path itself, a query folded in, a suffix added."""
        base, _, query = path.partition("?")
        name = base.strip("/") or "index"
        if base.endswith("/") and base != "/":
            name += "/index"
        if query:
            name += "@" + re.sub(r"[^A-Za-z0-9=_.-]", "_", query)
        suffix = SUFFIX_BY_TYPE.get(content_type.split(";")[0].strip(), "")
        if suffix and not name.endswith(suffix):
            name += suffix
        return name

    def write_file(self, host: str, name: str, data: bytes) -> str:
        rel = f"hosts/{host}/{name}"
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return rel

    # ----------------------------------------------------------------- routes

    def page(self, host: str, path: str, body: str | bytes, *, content_type: str = HTML, status: int = 200,
             headers: dict[str, str] | None = None, throttle: int = 0, retry_after: int = 1,
             on_post: str | bytes | None = None) -> None:
        """A document at ``path``. ``throttle``: answer 429 (with ``retry_after``) that many times first.
        ``on_post``: the document a POST to the same path gets (a login form posting to itself)."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        route: dict[str, Any] = {"file": self.write_file(host, self._file_name(path, content_type), data),
                                 "type": content_type}
        if status != 200:
            route["status"] = status
        if headers:
            route["headers"] = headers
        if throttle:
            route["throttle"] = throttle
            route["retry_after"] = retry_after
        if on_post is not None:
            post = on_post.encode("utf-8") if isinstance(on_post, str) else on_post
            route["post"] = {"file": self.write_file(host, self._file_name(path + "@post", content_type), post),
                             "type": content_type}
        self._route(host, path, route)

    def media(self, host: str, path: str, media: Media) -> None:
        """An image at ``path``; the file is written once per host however many paths show it."""
        rel = f"hosts/{host}/media/{media.name}"
        if (host, media.name) not in self._written_media:
            self.write_file(host, f"media/{media.name}", media.data)
            self._written_media.add((host, media.name))
        self._route(host, path, {"file": rel, "type": media.content_type})

    def redirect(self, host: str, path: str, location: str, status: int = 301) -> None:
        self._route(host, path, {"status": status, "headers": {"Location": location}})

    def hang(self, host: str, path: str, first_bytes: str) -> None:
        """Headers and ``first_bytes``, then silence until the client gives up."""
        self._route(host, path, {"hang": first_bytes, "type": HTML})

    def sink(self, host: str, path: str, location: str) -> None:
        """Accepts anything (a phishing kit's collector) and sends the visitor on to ``location``."""
        self._route(host, path, {"status": 302, "headers": {"Location": location}, "any_method": True})

    def app(self, host: str, kind: str, **config: Any) -> None:
        """A dynamic application for a host (a marketplace's search), configured by data."""
        self._host(host)["app"] = {"kind": kind, **config}

    def save(self) -> Path:
        target = self.root / ROUTES_FILE
        write_json(target, {"version": 1, "hosts": self.hosts}, indent=None)
        return target
