"""Serve a built sandbox web in the foreground: ``python -m sandbox.web.serve --dir DIR --port N``.

Stops cleanly on SIGTERM or Ctrl-C (``sandbox.web.daemon.down`` sends SIGTERM).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from sandbox.web.server import SandboxWeb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.web.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, type=Path, help="a directory written by sandbox.web.build")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8899, help="port to listen on (default 8899; 0: any)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not (args.dir / "routes.json").exists():
        print(f"{args.dir} is not a sandbox build (no routes.json): run sandbox.web.build first", file=sys.stderr)
        return 2
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    with SandboxWeb(args.dir, host=args.host, port=args.port) as web:
        print(f"sandbox web: proxy {web.proxy_url}, {len(web.hosts)} hosts, CA {web.ca_path}", flush=True)
        done.wait()
    print("sandbox web: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
