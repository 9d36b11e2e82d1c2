"""The sandbox web server: one forward proxy on 127.0.0.1 in front of every sandbox host.

It speaks HTTP/1.1 with keep-alive and understands the three ways a client
reaches it: a proxy request in absolute form (``GET http://host/path``), a
``CONNECT host:443`` tunnel in which it terminates TLS with a certificate
for that host from the sandbox CA, and a direct request with a Host header.
It runs on asyncio in a background thread, so a page that never finishes
costs a waiting coroutine, not a thread, and ``stop()`` can abort every
connection at once.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import ssl
import threading
import time
from collections import Counter
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from sandbox.web.routes import OWN_HOSTS, HostTable, Request, Response, text_response
from sandbox.web.tls import CertificateAuthority

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 10 * 1024 * 1024
IDLE_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 2.0
# What the never-finishing page claims it will send, so the client keeps waiting.
HANG_CLAIMED_BYTES = 1_000_000


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class RequestLog:
    """Thread-safe record of every response: (host, path with query, status)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[tuple[str, str, int]] = []

    def record(self, host: str, target: str, status: int) -> None:
        with self._lock:
            self._entries.append((host, target, status))

    def entries(self) -> list[tuple[str, str, int]]:
        with self._lock:
            return list(self._entries)

    def counts(self) -> Counter[tuple[str, str]]:
        """How often each (host, path) was answered, whatever the status."""
        return Counter((h, p) for h, p, _ in self.entries())

    def count(self, host: str | None = None, path: str | None = None, status: int | None = None) -> int:
        return sum(1 for h, p, s in self.entries()
                   if (host is None or h == host) and (path is None or p == path) and (status is None or s == status))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def normalise_host(host: str) -> str:
    """Lowercase, no port, no trailing dot, punycode for IDNs."""
    host = host.strip().lower()
    if host.startswith("["):
        host = host[1:host.find("]")]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    host = host.rstrip(".")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            pass
    return host


class _HttpDate:
    """The Date header, formatted at most once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def __call__(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._second, self._value = now, email.utils.formatdate(now, usegmt=True)
        return self._value


async def read_request(reader: asyncio.StreamReader) -> tuple[str, str, str, dict[str, str], bytes] | None:
    """(method, target, version, headers, body) of the next request, or None at a clean end of stream."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise BadRequest(400, "incomplete request") from None
        return None
    except asyncio.LimitOverrunError:
        raise BadRequest(431, "request header too large") from None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(400, f"bad request line {lines[0][:100]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    try:
        body = await _read_body(reader, headers)
    except ValueError:
        raise BadRequest(400, "bad Content-Length or chunk size") from None
    return parts[0].upper(), parts[1], parts[2], headers, body


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    """The request body, chunked or sized by Content-Length (empty without either)."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks: list[bytes] = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            chunks.append((await reader.readexactly(size + 2))[:-2])
            if sum(map(len, chunks)) > MAX_BODY_BYTES:
                raise BadRequest(413, "request body too large")
        while (await reader.readuntil(b"\r\n")) != b"\r\n":
            pass  # trailer fields
        return b"".join(chunks)
    length = int(headers.get("content-length") or 0)
    if length > MAX_BODY_BYTES:
        raise BadRequest(413, "request body too large")
    return await reader.readexactly(length) if length else b""


class ProxyServer:
    """The asyncio side: accepts connections and answers them from a :class:`HostTable`."""

    def __init__(self, table: HostTable, ca: CertificateAuthority, request_log: RequestLog):
        self.table = table
        self.ca = ca
        self.log = request_log
        self._server: asyncio.base_events.Server | None = None
        self._connections: dict[asyncio.Task, asyncio.StreamWriter] = {}
        self._date = _HttpDate()

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._connection, host, port, limit=MAX_HEADER_BYTES,
                                                  reuse_address=True)
        return self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task, writer in list(self._connections.items()):
            writer.transport.abort()
            task.cancel()
        if self._connections:
            await asyncio.wait(list(self._connections), timeout=STOP_TIMEOUT_S / 2)

    # ----------------------------------------------------------------- connections

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, TimeoutError):
            pass  # the client went away or broke TLS: nothing to answer
        except asyncio.CancelledError:
            pass  # stop() aborts every connection
        except Exception:  # noqa: BLE001 - one bad request must not take the server down
            log.exception("sandbox web: error while serving a connection")
        finally:
            self._connections.pop(task, None)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tunnel: str | None = None  # the host of the CONNECT tunnel we are inside, if any
        while True:
            try:
                async with asyncio.timeout(IDLE_TIMEOUT_S):
                    parsed = await read_request(reader)
            except BadRequest as exc:
                await self._send(writer, text_response(exc.status, f"{exc}\n"), head_only=False, keep=False)
                return
            if parsed is None:
                return
            method, target, version, headers, body = parsed
            keep = _keep_alive(version, headers)
            if method == "CONNECT":
                host = normalise_host(target)
                if tunnel is not None:
                    await self._send(writer, text_response(400, "CONNECT inside a tunnel\n"), False, False)
                    return
                if host in OWN_HOSTS or not self.table.knows(host):
                    self.log.record(host, "CONNECT", 502)
                    await self._send(writer, text_response(502, f"sandbox: unknown host {host}\n"), False, False)
                    return
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                await writer.start_tls(self.ca.context(host))
                tunnel = host
                continue
            request = self._request(method, target, headers, body, tunnel)
            response = self.table.respond(request)
            self.log.record(request.host, request.target, response.status)
            if response.hang is not None:
                await self._hang(reader, writer, response)
                return
            await self._send(writer, response, head_only=method == "HEAD", keep=keep)
            if not keep:
                return

    def _request(self, method: str, target: str, headers: dict[str, str], body: bytes, tunnel: str | None) -> Request:
        if target.startswith(("http://", "https://")):
            url = urlsplit(target)
            return Request(method, normalise_host(url.netloc), url.path or "/", url.query, headers, body, url.scheme)
        path, _, query = target.partition("?")
        host = normalise_host(headers.get("host", tunnel or ""))
        return Request(method, host, path or "/", query, headers, body, "https" if tunnel else "http")

    async def _send(self, writer: asyncio.StreamWriter, response: Response, head_only: bool, keep: bool) -> None:
        head = [f"HTTP/1.1 {response.status} {response.reason}", f"Date: {self._date()}",
                "Server: brandhound-sandbox", f"Content-Length: {len(response.body)}",
                f"Connection: {'keep-alive' if keep else 'close'}"]
        head += [f"{k}: {v}" for k, v in response.headers]
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        writer.write(data if head_only else data + response.body)
        await writer.drain()

    async def _hang(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, response: Response) -> None:
        """Promise a long body, send its first bytes, then wait for the client to give up."""
        assert response.hang is not None
        head = ["HTTP/1.1 200 OK", f"Date: {self._date()}", "Server: brandhound-sandbox",
                f"Content-Length: {HANG_CLAIMED_BYTES}", *(f"{k}: {v}" for k, v in response.headers)]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.hang)
        await writer.drain()
        while await reader.read(65536):
            pass


def _keep_alive(version: str, headers: dict[str, str]) -> bool:
    connection = headers.get("connection", headers.get("proxy-connection", "")).lower()
    if version == "HTTP/1.0":
        return "keep-alive" in connection
    return "close" not in connection


class SandboxWeb:
    """Serves a build directory on ``host:port`` (0: any free port) from a background thread.

    ``with SandboxWeb(out_dir) as web:`` starts and stops it; ``web.proxy_url``
    is what clients use as their HTTP(S) proxy.
    """

    def __init__(self, out_dir: str | Path, host: str = "127.0.0.1", port: int = 0):
        self.out_dir = Path(out_dir)
        self.host = host
        self._requested_port = port
        self.port: int | None = None
        self.request_log = RequestLog()
        self._table = HostTable(self.out_dir)
        self._ca = CertificateAuthority(self.out_dir)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._proxy: ProxyServer | None = None

    @property
    def proxy_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the sandbox web is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def hosts(self) -> list[str]:
        return self._table.hosts

    @property
    def ca_path(self) -> Path:
        return self._ca.ca_path

    def start(self) -> SandboxWeb:
        """Start listening; returns once the port accepts connections."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()
        proxy = ProxyServer(self._table, self._ca, self.request_log)

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                self.port = loop.run_until_complete(proxy.start(self.host, self._requested_port))
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        thread = threading.Thread(target=run, name="sandbox-web", daemon=True)
        thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        self._loop, self._thread, self._proxy = loop, thread, proxy
        return self

    def stop(self) -> None:
        """Close the listener and every connection (hung ones included) within about two seconds."""
        if self._thread is None or self._loop is None or self._proxy is None:
            return
        loop = self._loop
        try:
            asyncio.run_coroutine_threadsafe(self._proxy.close(), loop).result(timeout=STOP_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - stopping must not fail halfway
            log.exception("sandbox web: error while closing connections")
        finally:
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(timeout=STOP_TIMEOUT_S)
            self._thread = self._loop = self._proxy = None

    def __enter__(self) -> SandboxWeb:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
