"""Run a private Tor network in the foreground until SIGTERM or Ctrl-C.

    python -m sandbox.tor.serve --dir DIR --onion shop=8080 --onion forum=8081 [--state FILE]

Builds the network under DIR, starts it, waits until the client is bootstrapped
and every onion service answers, then writes the state (ports, onion addresses,
pids, timings) to ``--state`` as JSON with ``"ready": true``.
``sandbox.tor.daemon`` runs this detached and reads that file.

SIGUSR1 relaunches every node that is no longer running (same torrc, keys and
ports: a fault test's SIGKILLed client or relay comes back as itself) and
rewrites the state with the new pids and ``"revivals"``, the number of SIGUSR1
handled. The relaunch happens in the main thread, which owns the tor processes
(PR_SET_PDEATHSIG fires when the thread that forked a child exits).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from sandbox.tor.network import DEFAULT_RELAYS, TorNetwork, TorNetworkError


def write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def network_state(net: TorNetwork, *, revivals: int = 0, revived: list[str] | None = None) -> dict:
    """What ``--state`` holds for a started network."""
    status = net.status()
    return {
        "ready": True, "pid": os.getpid(), "dir": str(net.base_dir),
        "client_socks_port": net.client_socks_port, "browser_socks_port": net.browser_socks_port,
        "control_port": net.control_port, "control_cookie_path": str(net.control_cookie_path),
        "socks_url": f"socks5h://127.0.0.1:{net.client_socks_port}",
        "onions": status["onions"], "onion_targets": status["onion_targets"],
        "onion_urls": {name: f"http://{addr}/" for name, addr in status["onions"].items()},
        "nodes": {name: {k: node[k] for k in ("role", "pid", "ports", "log")}
                  for name, node in status["nodes"].items()},
        "bootstrap_seconds": round(net.bootstrap_seconds, 2),
        "onion_ready_seconds": round(net.onion_ready_seconds, 2) if net.onion_ready_seconds else None,
        "revivals": revivals, "revived": revived or [],
        "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def revive_dead_nodes(net: TorNetwork, deadline_s: float = 30.0) -> list[str]:
    """Relaunch every node that is not running (call from the main thread); the names relaunched."""
    dead = [name for name, node in net.nodes.items() if not node.alive]
    for name in dead:
        net.restart(name, deadline_s=deadline_s)
    return dead


def _onion(value: str) -> tuple[str, int]:
    name, sep, port = value.partition("=")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected NAME=PORT, got {value!r}")
    return name, int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.tor.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, type=Path, help="where the network is built (rebuilt on each run)")
    parser.add_argument("--onion", action="append", type=_onion, default=[], metavar="NAME=PORT",
                        help="an onion service forwarding port 80 to 127.0.0.1:PORT (repeatable)")
    parser.add_argument("--authorities", type=int, default=3)
    parser.add_argument("--relays", type=int, default=DEFAULT_RELAYS)
    parser.add_argument("--exits", type=int, default=1)
    parser.add_argument("--deadline", type=float, default=180.0, help="seconds allowed to become ready")
    parser.add_argument("--state", type=Path, help="JSON state file (default DIR/state.json)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import stem.util.log  # noqa: F401  (sets the "stem" logger's level on import; override it after)

    logging.getLogger("stem").setLevel(logging.WARNING)
    state_path = args.state or args.dir / "state.json"

    done = threading.Event()
    wake = threading.Event()  # set by every signal we handle; the main loop looks at why
    revive_asked = 0
    started = False

    def on_stop(signum, _frame):
        if not started:  # still starting: unwind start(), which stops every tor it launched
            raise SystemExit(128 + signum)
        done.set()
        wake.set()

    def on_revive(_signum, _frame):
        nonlocal revive_asked
        revive_asked += 1
        wake.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_stop)
    signal.signal(signal.SIGUSR1, on_revive)
    try:
        net = TorNetwork(args.dir, authorities=args.authorities, relays=args.relays, exits=args.exits,
                         onion_services=dict(args.onion))
        net.start(deadline_s=args.deadline)
    except TorNetworkError as exc:
        print(f"sandbox tor: failed to start: {exc}", file=sys.stderr, flush=True)
        return 1
    started = True
    try:
        state = network_state(net)
        write_json_atomic(state_path, state)
        onions = ", ".join(f"{name} {addr}" for name, addr in state["onions"].items()) or "no onion services"
        print(f"sandbox tor: {len(net.nodes)} tor processes, SOCKS 127.0.0.1:{net.client_socks_port} "
              f"(browsers {net.browser_socks_port}), control {net.control_port}; {onions}; "
              f"bootstrap {net.bootstrap_seconds:.1f} s, onions ready {net.onion_ready_seconds or 0:.1f} s", flush=True)
        revivals = 0
        while not done.is_set():
            wake.wait()
            wake.clear()
            if revive_asked > revivals and not done.is_set():
                handled = revive_asked
                try:
                    revived = revive_dead_nodes(net)
                except TorNetworkError as exc:  # the state then shows the node still down; the rest stays up
                    revived = []
                    print(f"sandbox tor: revive failed: {exc}", file=sys.stderr, flush=True)
                revivals = handled
                write_json_atomic(state_path, network_state(net, revivals=revivals, revived=revived))
                print(f"sandbox tor: revived {', '.join(revived) or 'nothing (all running)'}", flush=True)
    finally:
        net.stop()
    print("sandbox tor: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
