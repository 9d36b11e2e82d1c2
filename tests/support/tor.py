"""Tor fixtures: the sandbox Tor network with onion services "shop" and "forum" in front of HTTP servers on 127.0.0.1."""

# Both fixtures are module-scoped (a network takes seconds to bootstrap). A missing tor fails them
# (TorNetworkError), it never skips.

from __future__ import annotations

import threading

import pytest

from sandbox.local_http import QuietSite, serve
from sandbox.tor import TorNetwork

#: Every page says which site served it.
SITE_PAGES = {
    "shop": {"/": b"<html><body><h1>Kestrava outlet</h1><a href='/p2'>next</a></body></html>",
             "/p2": b"<html><body><p>shop page two</p></body></html>",
             "/p3": b"<html><body><p>shop page three</p></body></html>"},
    "forum": {"/": b"<html><body><h1>Leaks forum</h1><a href='/p2'>next</a></body></html>",
              "/p2": b"<html><body><p>forum page two</p></body></html>",
              "/p3": b"<html><body><p>forum page three</p></body></html>"},
}
BIG_BODY_BYTES = 200_000  # /big: larger than the maxsize the tests set
SLOW_SECONDS = 8.0  # /slow answers only after this long (or when the server stops)


class _SiteHandler(QuietSite):
    def do_GET(self):  # noqa: N802
        path = self.path.split("?", 1)[0]
        pages = SITE_PAGES[self.server.site]
        if path == "/big":
            body = b"x" * BIG_BODY_BYTES
        elif path == "/slow":
            self.server.stopping.wait(SLOW_SECONDS)
            body = b"slow"
        elif path in pages:
            body = pages[path]
        else:
            self.send_error(404)
            return
        self.server.hits.append(path)
        self.answer(200, body)


@pytest.fixture(scope="module")
def onion_sites():
    """name -> the running HTTP server (``.server_address[1]`` is its port, ``.hits`` its paths)."""
    servers = {}
    for name in SITE_PAGES:
        servers[name] = serve(_SiteHandler, site=name, hits=[], stopping=threading.Event())
    yield servers
    for server in servers.values():
        server.stopping.set()
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def tor_network(tmp_path_factory, onion_sites):
    """A started TorNetwork whose onion services "shop" and "forum" serve ``SITE_PAGES``."""
    net = TorNetwork(tmp_path_factory.mktemp("tor-transport"),
                     onion_services={name: server.server_address[1] for name, server in onion_sites.items()})
    net.start(deadline_s=180)
    print(f"\ntor network: bootstrapped in {net.bootstrap_seconds:.1f} s, "
          f"onions reachable in {net.onion_ready_seconds:.1f} s")
    yield net
    net.stop()

