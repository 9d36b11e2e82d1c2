"""Start-up time of the private Tor network: ``python -m sandbox.tor.bench [--runs N] [--dir DIR]``.

Builds and starts a fresh network N times (one onion service in front of a
local HTTP server), and prints, per run and as min/median/max: build time
(keys, torrcs), seconds from start to the client's 100 % bootstrap, and
seconds from start to the onion service answering through the SocksPort.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sandbox.local_http import QuietSite, serve
from sandbox.tor.network import TorNetwork, TorNetworkError
from sandbox.tor.socks import http_get


class _Handler(QuietSite):
    def do_GET(self):  # noqa: N802
        self.answer(200, b"bench\n", content_type="text/plain")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.tor.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, help="base directory (default: a new temporary one)")
    parser.add_argument("--deadline", type=float, default=180.0)
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args(argv)
    base = args.dir or Path(tempfile.mkdtemp(prefix="sandbox-tor-bench-"))
    server = serve(_Handler)
    runs, failures = [], []
    for i in range(1, args.runs + 1):
        t0 = time.monotonic()
        net = TorNetwork(base, onion_services={"bench": server.server_address[1]})
        build_s = time.monotonic() - t0
        try:
            net.start(deadline_s=args.deadline)
            assert http_get(f"http://{net.onion_address('bench')}/", net.client_socks_port).body == b"bench\n"
            run = {"build_s": round(build_s, 2), "bootstrap_s": round(net.bootstrap_seconds, 2),
                   "onion_ready_s": round(net.onion_ready_seconds, 2)}
        except TorNetworkError as exc:
            failures.append(str(exc).splitlines()[0])
            print(f"run {i}: FAILED: {str(exc).splitlines()[0]}", flush=True)
            continue
        finally:
            net.stop()
        runs.append(run)
        print(f"run {i}: build {run['build_s']:5.1f} s  bootstrap {run['bootstrap_s']:5.1f} s  "
              f"onion ready {run['onion_ready_s']:5.1f} s", flush=True)
    server.shutdown()
    summary = {}
    for key in ("build_s", "bootstrap_s", "onion_ready_s"):
        values = [r[key] for r in runs]
        if values:
            summary[key] = {"min": min(values), "median": round(statistics.median(values), 2), "max": max(values)}
            print(f"{key:>14}: min {min(values):5.1f}  median {statistics.median(values):5.1f}  max {max(values):5.1f}")
    print(f"{len(runs)}/{args.runs} runs ready, {len(failures)} failed; logs under {base}")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "failures": failures, "summary": summary}, indent=1) + "\n")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
