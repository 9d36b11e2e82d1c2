"""Tiny HTTP sites on 127.0.0.1 for tests and benchmarks: a handler base with one way to answer,
and a threaded server started in the background.

The sandbox web (``sandbox.web``) is the realistic internet; these are for the cases where a test
needs a site of its own (an onion service's backend, a page that counts its visitors).
"""

from __future__ import annotations

import http.server
import ssl
import sys
import threading
from typing import Any

HTML = "text/html; charset=utf-8"


class QuietSite(http.server.BaseHTTPRequestHandler):
    """A site's handler: keep-alive, no access log on stderr, and one way to answer."""

    protocol_version = "HTTP/1.1"

    def answer(self, status: int, body: bytes = b"", content_type: str = HTML, location: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    """A threaded server whose clients may go away mid-answer (closed circuits, aborted downloads,
    timeouts): that is logged by nobody; any other handler error still is."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, TimeoutError)):
            super().handle_error(request, client_address)


def serve(handler: type[http.server.BaseHTTPRequestHandler], *, tls: ssl.SSLContext | None = None,
          **attributes: Any) -> QuietServer:
    """A :class:`QuietServer` on a free port of 127.0.0.1, serving in a daemon thread (over TLS with
    a server-side ``tls`` context); ``attributes`` are set on the server for the handler to read
    (``self.server.<name>``). Stop it with ``shutdown()`` and ``server_close()``."""
    server = QuietServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    for name, value in attributes.items():
        setattr(server, name, value)
    threading.Thread(target=server.serve_forever, name=f"site-{server.server_address[1]}", daemon=True).start()
    return server
