"""The capture browser's way out: a SOCKS5 guard on 127.0.0.1 that applies the SSRF rules to every
connection Chromium opens.

Scrapy's SSRF guard sees the URL a capture starts from, but Chromium then follows redirects,
loads frames, images and scripts, and runs the page's ``fetch()`` calls by itself; Playwright's
request routing does not even see redirects. A hostile page could send the crawler's browser to
127.0.0.1 or to the cloud metadata service. So Chromium's only proxy is this guard (launched with
``--proxy-server=socks5://127.0.0.1:PORT``): Chromium hands it every host name unresolved, the
guard resolves it with the crawl's :class:`~crawlers.middlewares.ssrf.AddressPolicy` and refuses
non-public targets with SOCKS reply 2 ("not allowed by ruleset"). An allowed connection goes to
the very address that was checked (no second lookup, so no DNS rebinding) or, when the crawl has
an egress proxy, through it with ``CONNECT host:port``. Only CONNECT is served; nothing listens
beyond 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import struct
from typing import TYPE_CHECKING, Callable, cast

from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import defer, protocol
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint, TCP4ServerEndpoint
from twisted.internet.interfaces import IListeningPort

from crawlers.middlewares.ssrf import AddressPolicy, SsrfRefused

if TYPE_CHECKING:
    from twisted.internet.address import IPv4Address
    from twisted.internet.tcp import Connection
    from twisted.python.failure import Failure

log = logging.getLogger(__name__)

SOCKS_VERSION = 5
CMD_CONNECT = 1
ATYP_IPV4, ATYP_DOMAIN, ATYP_IPV6 = 1, 3, 4
REPLY_OK, REPLY_FAILURE, REPLY_NOT_ALLOWED, REPLY_UNREACHABLE, REPLY_REFUSED = 0, 1, 2, 4, 5
REPLY_COMMAND_NOT_SUPPORTED, REPLY_ADDRESS_NOT_SUPPORTED = 7, 8
#: A CONNECT answer from the egress proxy larger than this is not an answer.
MAX_PROXY_HEADER = 16 * 1024


class _Pipe(protocol.Protocol):
    """One side of a spliced connection: what it receives goes to its peer, with flow control."""

    # Both sides are TCP connections (the TCP4/TCP6 endpoints below), set by makeConnection before
    # any callback runs; a connection is also the producer and consumer the flow control needs.
    transport: Connection
    peer: _Pipe | None = None
    _pending: bytes = b""

    def splice(self, peer: _Pipe) -> None:
        self.peer = peer
        # Back-pressure both ways: a slow reader pauses the other side's socket.
        self.transport.registerProducer(peer.transport, True)
        if self._pending:
            peer.transport.write(self._pending)
            self._pending = b""

    def dataReceived(self, data: bytes) -> None:
        if self.peer is not None:
            self.peer.transport.write(data)
        else:  # arrived before the splice (a server that speaks first)
            self._pending += data

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.loseConnection()
            self.peer = None


class _Upstream(_Pipe):
    """The connection to the target (or to the egress proxy, until it has said 200)."""

    def __init__(self, via_proxy: str | None, target: tuple[str, int]):
        self.via_proxy = via_proxy
        self.target = target
        self.ready: defer.Deferred[bytes] = defer.Deferred()
        self._header = b""

    def connectionMade(self) -> None:
        if self.via_proxy is None:
            self.ready.callback(b"")
            return
        host, port = self.target
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.transport.write(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode("idna"))

    def dataReceived(self, data: bytes) -> None:
        if self.ready.called:
            super().dataReceived(data)
            return
        self._header += data
        end = self._header.find(b"\r\n\r\n")
        if end < 0:
            if len(self._header) > MAX_PROXY_HEADER:
                self.ready.errback(ConnectionError("the egress proxy's CONNECT answer is too long"))
                self.transport.loseConnection()
            return
        status_line = self._header.split(b"\r\n", 1)[0]
        parts = status_line.split(None, 2)
        if len(parts) < 2 or parts[1] != b"200":
            self.ready.errback(ConnectionError(f"the egress proxy answered {status_line[:100]!r} to CONNECT"))
            self.transport.loseConnection()
            return
        self.ready.callback(self._header[end + 4:])

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        if not self.ready.called:
            self.ready.errback(ConnectionError(f"the connection closed before it was ready: {reason.getErrorMessage()}"))
        super().connectionLost(reason)


class _GuardProtocol(_Pipe):
    """The SOCKS5 side Chromium talks to: greeting, one CONNECT request, then the splice."""

    def __init__(self, guard: BrowserEgressGuard):
        self.guard = guard
        self._buf = b""
        self._state = "greeting"

    def dataReceived(self, data: bytes) -> None:
        if self._state == "relay":
            super().dataReceived(data)
            return
        self._buf += data
        if self._state == "greeting":
            if len(self._buf) < 2 or len(self._buf) < 2 + self._buf[1]:
                return
            if self._buf[0] != SOCKS_VERSION:
                self.transport.loseConnection()
                return
            self._buf = self._buf[2 + self._buf[1]:]
            self.transport.write(bytes([SOCKS_VERSION, 0]))  # no authentication: 127.0.0.1 only
            self._state = "request"
        if self._state == "request":
            parsed = self._parse_request()
            if parsed is None:
                return
            self._state = "connecting"
            self.transport.pauseProducing()
            # On the asyncio loop under Twisted's asyncio reactor: the resolver is asyncio's.
            asyncio.ensure_future(self._connect(*parsed))

    def _parse_request(self) -> tuple[int, str, int] | None:
        buf = self._buf
        if len(buf) < 5:
            return None
        atyp = buf[3]
        if atyp == ATYP_IPV4:
            end, host = 4 + 4, lambda: str(ipaddress.IPv4Address(buf[4:8]))
        elif atyp == ATYP_IPV6:
            end, host = 4 + 16, lambda: str(ipaddress.IPv6Address(buf[4:20]))
        elif atyp == ATYP_DOMAIN:
            end, host = 5 + buf[4], lambda: buf[5:5 + buf[4]].decode("ascii", "replace").lower().rstrip(".")
        else:
            self._reply(REPLY_ADDRESS_NOT_SUPPORTED)
            return None
        if len(buf) < end + 2:
            return None
        (port,) = struct.unpack("!H", buf[end:end + 2])
        rest, self._buf = buf[end + 2:], b""
        if rest:  # Chromium waits for our reply before sending data; anything early is a protocol error.
            self._reply(REPLY_FAILURE)
            return None
        return buf[1], host(), port

    async def _connect(self, command: int, host: str, port: int) -> None:
        if command != CMD_CONNECT:
            self._reply(REPLY_COMMAND_NOT_SUPPORTED)
            return
        try:
            why = await self.guard.policy.refusal(host)
            address = host if self.guard.policy.allow_private else (await self.guard.policy.addresses(host))[0]
        except SsrfRefused as exc:
            why, address = str(exc), host
        if why:
            self.guard.refused(host, port, why)
            self._reply(REPLY_NOT_ALLOWED)
            return
        try:
            upstream = await self.guard.open_upstream(host, address, port)
            early = await maybe_deferred_to_future(upstream.ready)
        except Exception as exc:  # noqa: BLE001  (unreachable target or proxy: Chromium shows its own network error)
            log.info("capture browser: %s:%d not reachable: %s", host, port, exc)
            self._reply(REPLY_UNREACHABLE)
            return
        self._reply(REPLY_OK)
        self._state = "relay"
        self.splice(upstream)
        upstream.splice(self)
        if early:
            self.transport.write(early)
        self.transport.resumeProducing()

    def _reply(self, code: int) -> None:
        self.transport.write(struct.pack("!BBBB4sH", SOCKS_VERSION, code, 0, ATYP_IPV4, b"\0\0\0\0", 0))
        if code != REPLY_OK:
            self.transport.loseConnection()


class BrowserEgressGuard:
    """Listens on 127.0.0.1 (a free port) for the capture browser; see the module's docstring.

    ``egress_proxy``: ``http://host:port`` of the crawl's egress proxy, or None to connect directly.
    ``on_refused(host, why)`` is told of every refusal (the crawl counts them in its stats).
    """

    def __init__(self, policy: AddressPolicy, egress_proxy: str | None = None,
                 on_refused: Callable[[str, str], None] | None = None):
        self.policy = policy
        self.egress_proxy = egress_proxy
        self.on_refused = on_refused
        self._port: IListeningPort | None = None

    @property
    def proxy_url(self) -> str:
        if self._port is None:
            raise RuntimeError("the browser egress guard is not listening")
        # A TCP4 server endpoint's port has an IPv4 address.
        return f"socks5://127.0.0.1:{cast('IPv4Address', self._port.getHost()).port}"

    async def start(self) -> str:
        from twisted.internet import reactor

        factory = protocol.Factory.forProtocol(lambda: _GuardProtocol(self))
        self._port = await maybe_deferred_to_future(TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(factory))
        return self.proxy_url

    async def stop(self) -> None:
        if self._port is not None:
            await maybe_deferred_to_future(defer.maybeDeferred(self._port.stopListening))
            self._port = None

    def refused(self, host: str, port: int, why: str) -> None:
        log.warning("SSRF guard refused the capture browser's connection to %s:%d: %s", host, port, why)
        if self.on_refused is not None:
            self.on_refused(host, why)

    async def open_upstream(self, host: str, address: str, port: int) -> _Upstream:
        from twisted.internet import reactor

        if self.egress_proxy:
            proxy = self.egress_proxy.split("://", 1)[-1].rstrip("/")
            proxy_host, _, proxy_port = proxy.rpartition(":")
            endpoint: TCP4ClientEndpoint | TCP6ClientEndpoint = TCP4ClientEndpoint(reactor, proxy_host.strip("[]"), int(proxy_port),
                                                                                   timeout=30)
            upstream = _Upstream(proxy, (host, port))
        else:
            endpoint_type = TCP6ClientEndpoint if ":" in address else TCP4ClientEndpoint
            endpoint = endpoint_type(reactor, address, port, timeout=30)
            upstream = _Upstream(None, (address, port))
        await maybe_deferred_to_future(endpoint.connect(protocol.Factory.forProtocol(lambda: upstream)))
        return upstream
