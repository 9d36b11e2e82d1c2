"""A small SOCKS5 client (RFC 1928 + RFC 1929) for Tor's SocksPort, and HTTP over it.

Host names are always sent to the proxy (ATYP 3, "domain name"): the name is
resolved by Tor at the far end, never by this machine's resolver, which is the
only way to reach a ``.onion`` name and keeps clearnet names from leaking to
the local DNS. No PySocks dependency.

    result = http_get("http://<56 chars>.onion/", socks_port, username="crawl-1")
    result.status, result.body
"""

from __future__ import annotations

import http.client
import socket
import struct
from dataclasses import dataclass
from urllib.parse import urlsplit

# RFC 1928 replies and Tor's ExtendedErrors codes: the crawler's table, so both say the same.
from crawlers.tor.socks import REPLIES  # noqa: E402


class ProxyUnreachableError(ConnectionError):
    """Nothing answers on the SOCKS port (the Tor client is not running)."""


class SocksError(ConnectionError):
    """The proxy answered but refused or failed the request; ``code`` is the SOCKS reply code."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise SocksError(f"the SOCKS proxy closed the connection after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def socks5_connect(proxy_port: int, host: str, port: int, *, proxy_host: str = "127.0.0.1",
                   username: str | None = None, password: str | None = None,
                   timeout: float = 30.0) -> socket.socket:
    """A socket connected through the SOCKS5 proxy to ``host:port``; the proxy resolves ``host``.

    ``username``/``password`` select Tor's circuit isolation (IsolateSOCKSAuth):
    different credentials never share a circuit. Raises ProxyUnreachableError
    when nothing listens on the proxy port, SocksError when the proxy refuses.
    """
    name = host.encode("idna") if not host.isascii() else host.encode("ascii")
    if not 0 < len(name) < 256:
        raise ValueError(f"host name of {len(name)} bytes cannot be sent to a SOCKS5 proxy")
    # A numeric proxy address: connect() parses it itself, the resolver is not involved.
    sock = socket.socket(socket.AF_INET6 if ":" in proxy_host else socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect((proxy_host, proxy_port))
        except OSError as exc:
            raise ProxyUnreachableError(
                f"cannot reach the Tor SOCKS port {proxy_host}:{proxy_port} ({exc.strerror or exc}): "
                "is the Tor network running?") from exc
        if username is not None:
            user = username.encode("utf-8")
            pw = (password if password is not None else "x").encode("utf-8")
            if not (0 < len(user) < 256 and 0 < len(pw) < 256):
                raise ValueError("SOCKS5 username and password must be 1..255 bytes")
            sock.sendall(b"\x05\x01\x02")
            ver, method = _recv_exact(sock, 2)
            if ver != 5 or method != 2:
                raise SocksError(f"the SOCKS proxy refused username/password authentication (method {method:#x})")
            sock.sendall(b"\x01" + bytes([len(user)]) + user + bytes([len(pw)]) + pw)
            ver, status = _recv_exact(sock, 2)
            if status != 0:
                raise SocksError(f"the SOCKS proxy rejected the credentials (status {status})")
        else:
            sock.sendall(b"\x05\x01\x00")
            ver, method = _recv_exact(sock, 2)
            if ver != 5 or method != 0:
                raise SocksError(f"the SOCKS proxy wants an authentication method we did not offer ({method:#x})")
        # CONNECT with ATYP 3: the name goes to the proxy, unresolved.
        sock.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack(">H", port))
        ver, rep, _rsv, atyp = _recv_exact(sock, 4)
        if ver != 5:
            raise SocksError(f"not a SOCKS5 reply (version {ver})")
        if atyp == 1:
            _recv_exact(sock, 4 + 2)
        elif atyp == 4:
            _recv_exact(sock, 16 + 2)
        elif atyp == 3:
            _recv_exact(sock, _recv_exact(sock, 1)[0] + 2)
        if rep != 0:
            raise SocksError(f"SOCKS proxy 127.0.0.1:{proxy_port} could not connect to {host}:{port}: "
                             f"{REPLIES.get(rep, 'unknown error')} (reply {rep:#04x})", code=rep)
        return sock
    except BaseException:
        sock.close()
        raise


class SocksHTTPConnection(http.client.HTTPConnection):
    """``http.client.HTTPConnection`` whose socket goes through a SOCKS5 proxy (remote DNS)."""

    def __init__(self, host: str, port: int | None = None, *, socks_port: int,
                 username: str | None = None, password: str | None = None, timeout: float = 30.0):
        super().__init__(host, port, timeout=timeout)
        self.socks_port = socks_port
        self.username = username
        self.password = password

    def connect(self) -> None:
        self.sock = socks5_connect(self.socks_port, self.host, self.port, username=self.username,
                                   password=self.password, timeout=self.timeout)


@dataclass
class HTTPResult:
    status: int
    headers: dict[str, str]
    body: bytes
    local_port: int = 0  # our end of the SOCKS connection: Tor's STREAM events report it as SOURCE_ADDR

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def http_get(url: str, socks_port: int, *, username: str | None = None, password: str | None = None,
             timeout: float = 30.0, headers: dict[str, str] | None = None) -> HTTPResult:
    """GET ``url`` (``http://`` only; onion services need no TLS) through Tor's SocksPort."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"only http:// URLs are supported here, not {url!r}")
    conn = SocksHTTPConnection(parts.hostname, parts.port or 80, socks_port=socks_port,
                               username=username, password=password, timeout=timeout)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("GET", path, headers={"Connection": "close", **(headers or {})})
        local_port = conn.sock.getsockname()[1]
        resp = conn.getresponse()
        return HTTPResult(resp.status, dict(resp.getheaders()), resp.read(), local_port)
    finally:
        conn.close()
