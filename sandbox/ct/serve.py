"""Serve the sandbox CT logs on 127.0.0.1: ``python -m sandbox.ct.serve --dir BUILD --port PORT``.

``/rfc6962/ct/v1/get-sth`` and ``/rfc6962/ct/v1/get-entries`` (at most ``--max-batch`` entries an
answer, as real logs cap them), ``get-sth-consistency`` and ``get-proof-by-hash``, ``/static/checkpoint``, ``/static/tile/<L>/<N>[.p/<W>]``,
``/static/tile/data/<N>[.p/<W>]`` (gzip-encoded, as static-ct-api allows without negotiation) and
``/static/issuer/<fingerprint>``; ``/log_list.json`` names both logs (log_list v3). For tests:
``POST /_sandbox/publish?size=N`` grows both trees to N entries, ``POST /_sandbox/fault?status=429&count=2
&retry_after=1`` makes the next requests to the logs fail, ``/_sandbox/health`` answers when ready.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import signal
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from crawlers.ct.tiles import decode_index
from sandbox.ct.build import ENTRIES_FILE, LOG_KEYS
from sandbox.ct.logs import SandboxLog
from sandbox.local_http import QuietServer, QuietSite

JSON = "application/json"
BINARY = "application/octet-stream"


def log_list(port: int, logs: dict[str, SandboxLog]) -> dict:
    """A log_list v3 document naming the two logs."""
    base = f"http://127.0.0.1:{port}"

    def common(log: SandboxLog, what: str) -> dict:
        return {"description": f"brandhound sandbox {what} log", "log_id": base64.b64encode(log.log_id).decode(),
                "key": base64.b64encode(log.public_key).decode(), "mmd": 60,
                "state": {"usable": {"timestamp": "2026-01-01T00:00:00Z"}}}

    return {"version": "1.0", "log_list_timestamp": "2026-01-01T00:00:00Z", "operators": [{
        "name": "brandhound sandbox", "email": ["ct@sandbox.invalid"],
        "logs": [common(logs["rfc6962"], "RFC 6962") | {"url": f"{base}/rfc6962/"}],
        "tiled_logs": [common(logs["static"], "static-ct") | {"submission_url": f"{base}/static/",
                                                               "monitoring_url": f"{base}/static/"}],
    }]}


class Faults:
    """The next ``count`` log requests answer ``status`` (with ``Retry-After`` when given)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.status, self.count, self.retry_after, self.served = 0, 0, None, 0

    def take(self) -> tuple[int, str | None] | None:
        with self.lock:
            if self.count <= 0:
                return None
            self.count -= 1
            self.served += 1
            return self.status, self.retry_after


class CtHandler(QuietSite):
    server: QuietServer

    def _json(self, data: object, status: int = 200) -> None:
        self.answer(status, json.dumps(data).encode(), JSON)

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        logs: dict[str, SandboxLog] = self.server.logs
        if parts.path == "/_sandbox/publish":
            size = int(query.get("size", "0"))
            heads = {name: log.publish(size).tree_size for name, log in logs.items()}
            return self._json({"tree_size": heads})
        if parts.path == "/_sandbox/fault":
            faults: Faults = self.server.faults
            with faults.lock:
                faults.status, faults.count = int(query.get("status", "500")), int(query.get("count", "1"))
                faults.retry_after = query.get("retry_after")
            return self._json({"ok": True})
        self.answer(404, b"not found", "text/plain")

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        logs: dict[str, SandboxLog] = self.server.logs
        if path == "/_sandbox/health":
            return self._json({"dir": str(self.server.build_dir), "tree_size": logs["rfc6962"].published,
                               "faults_served": self.server.faults.served})
        if path == "/log_list.json":
            return self._json(log_list(self.server.server_address[1], logs))
        fault = self.server.faults.take() if path.startswith(("/rfc6962/", "/static/")) else None
        if fault:
            status, retry = fault
            self.send_response(status)
            if retry is not None:
                self.send_header("Retry-After", retry)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path.startswith("/rfc6962/"):
            return self._rfc6962(logs["rfc6962"], path[len("/rfc6962/"):], parse_qs(parts.query))
        if path.startswith("/static/"):
            return self._static(logs["static"], path[len("/static/"):])
        self.answer(404, b"not found", "text/plain")

    def _rfc6962(self, log: SandboxLog, path: str, query: dict[str, list[str]]) -> None:
        if path == "ct/v1/get-sth":
            return self._json(log.sth_json())
        if path == "ct/v1/get-entries":
            try:
                start, end = int(query["start"][0]), int(query["end"][0])
            except (KeyError, ValueError, IndexError):
                return self._json({"error_message": "start and end are required integers"}, 400)
            if start < 0 or end < start or start >= log.published:
                return self._json({"error_message": "range outside the tree"}, 400)
            return self._json({"entries": log.get_entries(start, end, self.server.max_batch)})
        b64 = lambda hashes: [base64.b64encode(h).decode() for h in hashes]  # noqa: E731
        if path == "ct/v1/get-sth-consistency":
            try:
                proof = log.consistency(int(query["first"][0]), int(query["second"][0]))
            except (KeyError, ValueError, IndexError):
                return self._json({"error_message": "first and second are required integers"}, 400)
            if proof is None:
                return self._json({"error_message": "tree sizes outside the tree"}, 400)
            return self._json({"consistency": b64(proof)})
        if path == "ct/v1/get-proof-by-hash":
            try:
                found = log.proof_by_hash(base64.b64decode(query["hash"][0], validate=True),
                                          int(query["tree_size"][0]))
            except (KeyError, ValueError, IndexError):
                return self._json({"error_message": "hash (base64) and tree_size (integer) are required"}, 400)
            if found is None:
                return self._json({"error_message": "no such leaf in a tree of that size"}, 404)
            return self._json({"leaf_index": found[0], "audit_path": b64(found[1])})
        self.answer(404, b"not found", "text/plain")

    def _static(self, log: SandboxLog, path: str) -> None:
        if path == "checkpoint":
            return self.answer(200, log.checkpoint().encode(), "text/plain; charset=utf-8")
        if path.startswith("issuer/"):
            if path[len("issuer/"):] == hashlib.sha256(log.ca_der).hexdigest():
                return self.answer(200, log.ca_der, "application/pkix-cert")
            return self.answer(404, b"not found", "text/plain")
        if path.startswith("tile/"):
            level, _, rest = path[len("tile/"):].partition("/")
            index_path, _, width_text = rest.partition(".p/")
            try:
                n = decode_index(index_path)
                width = int(width_text) if width_text else None
            except ValueError:
                return self.answer(404, b"not a tile path", "text/plain")
            if level == "data":
                body = log.data_tile(n, width)
                if body is not None:
                    return self._gzip(body)
            elif level.isdigit() and int(level) <= 5:
                body = log.hash_tile(int(level), n, width)
                if body is not None:
                    return self.answer(200, body, BINARY)
        self.answer(404, b"not found", "text/plain")

    def _gzip(self, body: bytes) -> None:
        data = gzip.compress(body, compresslevel=1)
        self.send_response(200)
        self.send_header("Content-Type", BINARY)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def load_logs(build_dir: Path, port: int) -> dict[str, SandboxLog]:
    data = json.loads((build_dir / ENTRIES_FILE).read_text())
    ca = base64.b64decode(data["ca"])
    return {api: SandboxLog(api, build_dir / LOG_KEYS[api], data["entries"], ca, f"127.0.0.1:{port}/{api}")
            for api in ("rfc6962", "static")}


def make_server(build_dir: Path, port: int = 0, max_batch: int = 100, published: int | None = None) -> QuietServer:
    server = QuietServer(("127.0.0.1", port), CtHandler)
    server.build_dir = build_dir
    server.logs = load_logs(build_dir, server.server_address[1])
    server.max_batch = max_batch
    server.faults = Faults()
    if published is not None:
        for log in server.logs.values():
            log.published = 0
            log.publish(published)
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--port", type=int, default=8898)
    parser.add_argument("--max-batch", type=int, default=100, help="most entries one get-entries answer holds")
    parser.add_argument("--published", type=int, default=None, help="entries published at start (default: all)")
    args = parser.parse_args(argv)
    server = make_server(args.dir.resolve(), args.port, args.max_batch, args.published)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"sandbox CT logs on http://127.0.0.1:{server.server_address[1]}/ ({server.logs['rfc6962'].published} "
          "entries)", flush=True)
    server.serve_forever()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
