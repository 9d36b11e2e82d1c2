"""Serve a built set of onion sites in the foreground, each site on its own 127.0.0.1 port:

    python -m sandbox.onion.serve --dir DIR --port-market P1 --port-forum P2

Stops cleanly on SIGTERM or Ctrl-C (``sandbox.onion.daemon.down`` sends SIGTERM).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from sandbox.onion.builder import TRUTH_FILE
from sandbox.onion.server import OnionSites
from sandbox.web.output import ROUTES_FILE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.onion.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, type=Path, help="a directory written by sandbox.onion.build")
    parser.add_argument("--port-market", type=int, default=0, help="port of the marketplace (default 0: any)")
    parser.add_argument("--port-forum", type=int, default=0, help="port of the leak forum (default 0: any)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not (args.dir / ROUTES_FILE).exists() or not (args.dir / TRUTH_FILE).exists():
        print(f"{args.dir} is not an onion sandbox build: run sandbox.onion.build first", file=sys.stderr)
        return 2
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    with OnionSites(args.dir, {"market": args.port_market, "forum": args.port_forum}) as sites:
        print("sandbox onion sites: " + ", ".join(f"{n} 127.0.0.1:{p}" for n, p in sites.ports.items()), flush=True)
        done.wait()
    print("sandbox onion sites: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
