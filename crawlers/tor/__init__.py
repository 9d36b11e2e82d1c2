"""Tor for brandhound's crawls: a stem-driven manager for the Tor client, and SOCKS5h for Twisted.

- ``crawlers.tor.manager.TorManager``: attach to (or launch) a tor, wait for bootstrap, list
  circuits, NEWNYM within the rate limit, ``health()`` for DAGs.
- ``crawlers.tor.socks``: ``SocksClientEndpoint`` / ``SocksAgent``, the transport that
  ``crawlers.download_handler`` uses for requests with ``meta["tor"]``.

Routing (which requests go over Tor, with which isolation) is
``crawlers.middlewares.tor_route.TorRouteMiddleware``; see docs/tor-transport.md.
"""

from crawlers.tor.manager import (Circuit, NewnymRateLimited, TorBootstrapTimeout, TorControlError, TorError,
                                  TorManager)
from crawlers.tor.socks import (SocksAgent, SocksClientEndpoint, SocksError, SocksProxy, SocksProxyUnreachable,
                                SocksRequestRefused, SocksTimeout)

__all__ = ["Circuit", "NewnymRateLimited", "TorBootstrapTimeout", "TorControlError", "TorError", "TorManager",
           "SocksAgent", "SocksClientEndpoint", "SocksError", "SocksProxy", "SocksProxyUnreachable",
           "SocksRequestRefused", "SocksTimeout"]
