"""Record every host name this process asks the local resolver for (run before Twisted is imported,
which binds ``socket.getaddrinfo`` at import time); the names are written to a file at exit."""

from __future__ import annotations

import atexit
import json
import socket

LOOKUPS: list[str] = []


def install(path: str) -> None:
    real = {name: getattr(socket, name) for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex")}

    def recording(name):
        def lookup(host, *args, **kwargs):
            LOOKUPS.append(host.decode() if isinstance(host, bytes) else str(host))
            return real[name](host, *args, **kwargs)
        return lookup

    for name in real:
        setattr(socket, name, recording(name))
    atexit.register(lambda: open(path, "w", encoding="utf-8").write(json.dumps(LOOKUPS)))
