"""SOCKS5h for Twisted: HTTP(S) over Tor's SocksPort, with the host name sent to the proxy.

``SocksClientEndpoint`` connects to the SOCKS port, speaks RFC 1928 (with RFC 1929
username/password, which Tor's ``IsolateSOCKSAuth`` uses to pick a circuit) and asks for
the destination by NAME (ATYP 3): ``.onion`` names, and every other Tor-routed name, are
resolved by Tor, never by this machine's resolver. Once the proxy says "succeeded" the
connection is handed to the protocol the caller asked for (Twisted's HTTP/1.1 client, or
TLS in front of it: ``wrapClientTLS(creator, SocksClientEndpoint(...))``).

``SocksAgent`` is a ``twisted.web.client.Agent`` built with ``usingEndpointFactory``:
every request goes through the SOCKS endpoint, and the connection pool key carries the
proxy and the SOCKS credentials, so a kept-alive connection of one isolation group (one
onion site's circuit) is never reused for another.

Failures are ``twisted.internet.error.ConnectError`` subclasses (Scrapy's RetryMiddleware
retries those by default), except the ones a retry cannot fix (an invalid onion address,
missing client authorization), which are ``SocksRequestRefused``.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from typing import Any

from twisted.internet import error as txerror
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.endpoints import HostnameEndpoint, TCP4ClientEndpoint, TCP6ClientEndpoint, wrapClientTLS
from twisted.internet.interfaces import IProtocol, IProtocolFactory, IStreamClientEndpoint, ITCPTransport
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.python.failure import Failure
from twisted.web.client import Agent, HTTPConnectionPool, URI
from twisted.web.error import SchemeNotSupported
from twisted.web.iweb import IAgentEndpointFactory, IPolicyForHTTPS
from zope.interface import implementer

# RFC 1928 replies, then the codes Tor adds with the ExtendedErrors SocksPort flag (tor(1)).
REPLIES: dict[int, str] = {
    0x01: "general SOCKS server failure",
    0x02: "connection not allowed by ruleset",
    0x03: "network unreachable",
    0x04: "host unreachable",
    0x05: "connection refused",
    0x06: "TTL expired (Tor: the circuit or stream timed out)",
    0x07: "command not supported",
    0x08: "address type not supported",
    0xF0: "onion service descriptor can not be found",
    0xF1: "onion service descriptor is invalid",
    0xF2: "onion service introduction failed",
    0xF3: "onion service rendezvous failed",
    0xF4: "onion service missing client authorization",
    0xF5: "onion service wrong client authorization",
    0xF6: "onion service invalid address",
    0xF7: "onion service introduction timed out",
}
#: Replies a retry cannot change: the address or the credentials are wrong, not the network.
PERMANENT_REPLIES = frozenset({0x07, 0x08, 0xF4, 0xF5, 0xF6})
#: Replies about reaching an onion service (its descriptor, introduction, rendezvous). What they come
#: from, the cached descriptor and the introduction points Tor saw fail, is the Tor client's, shared
#: by every circuit and isolation group: new circuits keep it, NEWNYM clears it.
ONION_SERVICE_REPLIES = frozenset({0xF0, 0xF1, 0xF2, 0xF3, 0xF7})


@dataclass(frozen=True)
class SocksProxy:
    """Where the SOCKS5 proxy listens and which credentials (Tor: which isolation group) to use."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def pool_key(self) -> tuple[Any, ...]:
        return ("socks5h", self.host, self.port, self.username, self.password)


class SocksError(txerror.ConnectError):
    """The SOCKS proxy failed the connection (retryable); ``code`` is the SOCKS reply code, if any."""

    MESSAGE = "SOCKS5 proxy error"

    def __init__(self, message: str, code: int | None = None):
        super().__init__(string=message)
        self.code = code

    def __str__(self) -> str:
        return self.args[0]


class SocksProxyUnreachable(SocksError):
    """Nothing answers on the SOCKS port: the Tor client is not running (or not there)."""


class SocksTimeout(SocksError, txerror.TCPTimedOutError):
    """The SOCKS proxy did not accept the connection or finish the handshake in time."""


class SocksRequestRefused(Exception):
    """The proxy refused the destination for a reason a retry cannot fix (bad onion address, auth)."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


def onion_service_failure(exc: BaseException) -> int | None:
    """The SOCKS reply code when ``exc`` is Tor failing to reach an onion service (descriptor,
    introduction or rendezvous), else None."""
    code = getattr(exc, "code", None)
    return code if isinstance(exc, SocksError) and code in ONION_SERVICE_REPLIES else None


def reply_error(code: int, proxy: SocksProxy, host: str, port: int) -> Exception:
    text = (f"SOCKS proxy {proxy.address} could not connect to {host}:{port}: "
            f"{REPLIES.get(code, 'unknown error')} (reply {code:#04x})")
    if code in PERMANENT_REPLIES:
        return SocksRequestRefused(text, code)
    return SocksError(text, code)


def _encode_host(host: str) -> bytes:
    name = host.encode("ascii") if host.isascii() else host.encode("idna")
    if not 0 < len(name) < 256:
        raise ValueError(f"host name of {len(name)} bytes cannot be sent to a SOCKS5 proxy")
    return name


def _credential(value: str, what: str) -> bytes:
    raw = value.encode("utf-8")
    if not 0 < len(raw) < 256:
        raise ValueError(f"SOCKS5 {what} must be 1..255 bytes, not {len(raw)}")
    return raw


class _SocksHandshake(Protocol):
    """Speaks SOCKS5 on a fresh connection to the proxy, then forwards everything to ``inner``."""

    # A TCP connection to the proxy, set by makeConnection before any callback below runs.
    transport: ITCPTransport

    def __init__(self, endpoint: SocksClientEndpoint, factory: IProtocolFactory, ready: Deferred):
        self._endpoint = endpoint
        self._factory = factory
        self._ready = ready
        self._buf = b""
        self._state = "greeting"
        self.inner: IProtocol | None = None
        self._timer: Any = None

    # -- our side of the handshake
    def connectionMade(self) -> None:
        ep = self._endpoint
        self._timer = ep._reactor.callLater(ep._timeout, self._handshake_timed_out)
        methods = b"\x02" if ep._proxy.username is not None else b"\x00"
        self.transport.write(b"\x05\x01" + methods)

    def _handshake_timed_out(self) -> None:
        self._timer = None
        ep = self._endpoint
        self._fail(SocksTimeout(f"SOCKS proxy {ep._proxy.address} did not connect to {ep._host}:{ep._port} "
                                f"within {ep._timeout:g} s"))

    def _fail(self, exc: BaseException) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self._state = "failed"
        if not self._ready.called:
            self._ready.errback(Failure(exc))
        if self.transport is not None:
            self.transport.abortConnection()

    def dataReceived(self, data: bytes) -> None:
        if self._state == "open":
            assert self.inner is not None, "the state is open only once inner is set"
            self.inner.dataReceived(data)
            return
        if self._state == "failed":
            return
        self._buf += data
        try:
            self._advance()
        except Exception as exc:  # noqa: BLE001 - a malformed reply fails this connection only
            self._fail(exc if isinstance(exc, (SocksError, SocksRequestRefused)) else
                       SocksError(f"SOCKS proxy {self._endpoint._proxy.address}: {exc}"))

    def _take(self, n: int) -> bytes | None:
        if len(self._buf) < n:
            return None
        chunk, self._buf = self._buf[:n], self._buf[n:]
        return chunk

    def _advance(self) -> None:
        ep, proxy = self._endpoint, self._endpoint._proxy
        while True:
            if self._state == "greeting":
                reply = self._take(2)
                if reply is None:
                    return
                ver, method = reply
                if ver != 5:
                    raise SocksError(f"{proxy.address} is not a SOCKS5 proxy (version {ver} in its reply)")
                if method == 0x02 and proxy.username is not None:
                    user = _credential(proxy.username, "username")
                    pw = _credential(proxy.password if proxy.password is not None else "x", "password")
                    self.transport.write(b"\x01" + bytes([len(user)]) + user + bytes([len(pw)]) + pw)
                    self._state = "auth"
                elif method == 0x00 and proxy.username is None:
                    self._send_connect()
                else:
                    raise SocksError(f"SOCKS proxy {proxy.address} refused our authentication method "
                                     f"(it chose {method:#04x}): is it Tor's SocksPort?")
            elif self._state == "auth":
                reply = self._take(2)
                if reply is None:
                    return
                if reply[1] != 0:
                    raise SocksError(f"SOCKS proxy {proxy.address} rejected the credentials (status {reply[1]})")
                self._send_connect()
            elif self._state == "reply":
                if len(self._buf) < 5:
                    return
                ver, rep, _rsv, atyp = self._buf[:4]
                if ver != 5:
                    raise SocksError(f"SOCKS proxy {proxy.address} sent a reply of version {ver}")
                size = {1: 4, 4: 16, 3: 1 + self._buf[4]}.get(atyp)
                if size is None:
                    raise SocksError(f"SOCKS proxy {proxy.address} sent an unknown address type {atyp}")
                if self._take(4 + size + 2) is None:
                    return
                if rep != 0:
                    raise reply_error(rep, proxy, ep._host, ep._port)
                self._open()
                return
            else:
                return

    def _send_connect(self) -> None:
        ep = self._endpoint
        # CONNECT with ATYP 3: the name goes to the proxy unresolved.
        self.transport.write(b"\x05\x01\x00\x03" + bytes([len(ep._name)]) + ep._name + struct.pack(">H", ep._port))
        self._state = "reply"

    def _open(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        inner = self._factory.buildProtocol(self.transport.getPeer())
        if inner is None:
            self._fail(SocksError("the protocol factory refused the connection"))
            return
        self.inner = inner
        self._state = "open"
        rest, self._buf = self._buf, b""
        inner.makeConnection(self.transport)
        if not self._ready.called:
            self._ready.callback(inner)
        if rest:
            inner.dataReceived(rest)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if self._state == "open":
            assert self.inner is not None, "the state is open only once inner is set"
            self.inner.connectionLost(reason)
            return
        if not self._ready.called:
            ep = self._endpoint
            self._ready.errback(Failure(SocksError(
                f"SOCKS proxy {ep._proxy.address} closed the connection during the handshake for "
                f"{ep._host}:{ep._port} ({reason.getErrorMessage()})")))


class _HandshakeFactory(Factory):
    noisy = False

    def __init__(self, endpoint: SocksClientEndpoint, factory: IProtocolFactory, ready: Deferred):
        self._endpoint, self._factory, self._ready = endpoint, factory, ready

    def buildProtocol(self, addr: Any) -> _SocksHandshake:
        return _SocksHandshake(self._endpoint, self._factory, self._ready)


@implementer(IStreamClientEndpoint)
class SocksClientEndpoint:
    """A connection to ``host:port`` through a SOCKS5 proxy that resolves ``host`` itself.

    ``timeout`` bounds the TCP connection to the proxy and, separately, the SOCKS handshake
    (which for an onion service includes Tor finding the descriptor and building the
    rendezvous circuit). ``connect()``'s Deferred can be cancelled at any point.
    """

    def __init__(self, reactor: Any, proxy: SocksProxy, host: str, port: int, timeout: float = 60.0):
        self._reactor = reactor
        self._proxy = proxy
        self._host = host
        self._name = _encode_host(host)
        self._port = int(port)
        self._timeout = float(timeout)

    def __repr__(self) -> str:
        return f"<SocksClientEndpoint {self._host}:{self._port} via socks5h://{self._proxy.address}>"

    def _proxy_endpoint(self) -> IStreamClientEndpoint:
        host, port, timeout = self._proxy.host, self._proxy.port, self._timeout
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return HostnameEndpoint(self._reactor, host, port, timeout=timeout)  # the proxy's name, not the target's
        cls = TCP6ClientEndpoint if ip.version == 6 else TCP4ClientEndpoint
        return cls(self._reactor, str(ip), port, timeout=timeout)

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred:
        tcp_connected: Deferred | None = None
        handshake: list[_SocksHandshake] = []

        def cancel(_: Deferred) -> None:
            if tcp_connected is not None and not tcp_connected.called:
                tcp_connected.cancel()
            elif handshake and handshake[0].transport is not None and handshake[0]._state != "open":
                handshake[0]._state = "failed"
                handshake[0].transport.abortConnection()

        ready: Deferred = Deferred(cancel)
        factory = _HandshakeFactory(self, protocolFactory, ready)

        def connected(proto: _SocksHandshake) -> None:
            handshake.append(proto)

        def not_connected(failure: Failure) -> None:
            if ready.called:
                return None
            proxy = self._proxy
            if failure.check(txerror.ConnectionRefusedError):
                exc: BaseException = SocksProxyUnreachable(
                    f"Tor SOCKS port {proxy.address}: connection refused — is tor running?")
            elif failure.check(txerror.TimeoutError, txerror.TCPTimedOutError):
                exc = SocksTimeout(f"Tor SOCKS port {proxy.address}: no connection within {self._timeout:g} s")
            elif failure.check(CancelledError):
                assert failure.value is not None, "a Failure always holds its exception"
                exc = failure.value
            else:
                exc = SocksProxyUnreachable(f"Tor SOCKS port {proxy.address}: {failure.getErrorMessage()}")
            ready.errback(Failure(exc))
            return None

        tcp_connected = self._proxy_endpoint().connect(factory)
        tcp_connected.addCallbacks(connected, not_connected)
        return ready


@implementer(IAgentEndpointFactory)
class SocksEndpointFactory:
    """Endpoints for an Agent: every URI through the SOCKS proxy; TLS (with SNI) on top for https."""

    def __init__(self, reactor: Any, proxy: SocksProxy, context_factory: IPolicyForHTTPS, timeout: float):
        self._reactor = reactor
        self._proxy = proxy
        self._context_factory = context_factory
        self._timeout = timeout

    def endpointForURI(self, uri: URI) -> IStreamClientEndpoint:
        try:
            host = uri.host.decode("ascii")
        except UnicodeDecodeError:
            raise ValueError(f"the host of {uri.toBytes()!r} is not ASCII (IDNA-encode it)") from None
        endpoint = SocksClientEndpoint(self._reactor, self._proxy, host, uri.port, self._timeout)
        if uri.scheme == b"http":
            return endpoint
        if uri.scheme == b"https":
            return wrapClientTLS(self._context_factory.creatorForNetloc(uri.host, uri.port), endpoint)
        raise SchemeNotSupported(f"unsupported scheme over SOCKS: {uri.scheme!r}")


class SocksAgent(Agent):
    """An Agent whose connections all go through one SOCKS5 proxy with one set of credentials.

    The pool key adds the proxy and the credentials to (scheme, host, port): connections of
    different isolation groups never mix, nor do they mix with direct connections.
    """

    _socks_proxy: SocksProxy

    @classmethod
    def through(cls, reactor: Any, proxy: SocksProxy, context_factory: IPolicyForHTTPS, *,
                timeout: float = 60.0, pool: HTTPConnectionPool | None = None) -> SocksAgent:
        agent = cls.usingEndpointFactory(reactor, SocksEndpointFactory(reactor, proxy, context_factory, timeout), pool)
        agent._socks_proxy = proxy
        return agent

    def _requestWithEndpoint(self, key, endpoint, method, parsedURI, headers, bodyProducer, requestPath):  # noqa: N802, ANN001
        key = tuple(key) + self._socks_proxy.pool_key()
        return super()._requestWithEndpoint(key, endpoint, method, parsedURI, headers, bodyProducer, requestPath)
