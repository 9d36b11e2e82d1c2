"""The sandbox TSA over HTTP (RFC 3161 section 3.4): POST application/timestamp-query, get a reply."""

from __future__ import annotations

from sandbox.local_http import QuietServer, QuietSite, serve
from sandbox.tsa.authority import TimeStampAuthority

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
MAX_REQUEST = 64 * 1024


class TsaSite(QuietSite):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Content-Type", "").split(";")[0].strip() != QUERY_TYPE:
            self.answer(415, f"expected {QUERY_TYPE}\n".encode(), "text/plain")
        elif not 0 < length <= MAX_REQUEST:
            self.answer(400, b"expected a time-stamp request body\n", "text/plain")
        else:
            self.answer(200, self.server.authority.respond(self.rfile.read(length)), REPLY_TYPE)  # type: ignore[attr-defined]


def serve_tsa(authority: TimeStampAuthority) -> QuietServer:
    """The TSA on a free port of 127.0.0.1; its URL is ``http://127.0.0.1:<port>/``."""
    return serve(TsaSite, authority=authority)
