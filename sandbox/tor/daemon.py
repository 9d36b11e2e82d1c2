"""Run the private Tor network as a background process: ``up``, ``down``, ``status``.

Everything lives under ``home/sandbox/tor/``: the network (``net/``: every
node's DataDirectory, torrc and notice.log), the server's pid file, its log
and ``state.json``. ``up`` is idempotent: a running network is left alone and
its state returned; otherwise a detached ``python -m sandbox.tor.serve`` builds
a fresh network, and ``up`` returns once that process reports the client
bootstrapped and every onion service answering through it (``"ready"``).
The tor processes die with the server, even if it is SIGKILLed (PR_SET_PDEATHSIG).
``revive`` has the server relaunch the nodes a fault test killed (SIGUSR1, see
``sandbox.tor.serve``).
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any, Callable

from sandbox.tor.network import DEFAULT_RELAYS
from sandbox.processes import SandboxError, port_open, read_pid, runs_module, start_module, stop_module
from sandbox.processes import cmdline as process_cmdline
from sandbox.processes import log_tail as _log_tail

SERVE_MODULE = "sandbox.tor.serve"

__all__ = ["SandboxError", "down", "revive", "status", "up"]


def _paths(home: Path) -> dict[str, Path]:
    base = Path(home) / "sandbox" / "tor"
    return {"base": base, "net": base / "net", "pid": base / "sandbox-tor.pid",
            "state": base / "state.json", "log": base / "sandbox-tor.log"}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _pid(home: Path) -> int | None:
    return read_pid(_paths(home)["pid"])


def _is_server(pid: int) -> bool:
    return runs_module(pid, SERVE_MODULE)


def _is_our_tor(pid: int, net_dir: Path) -> bool:
    """A tor process whose torrc lies in ``net_dir`` (an orphan of a crashed server)."""
    cmdline = process_cmdline(pid)
    return b"tor" in cmdline.split(b"\0")[0] and str(net_dir).encode() in cmdline


def status(home: Path) -> dict[str, Any]:
    """The recorded state plus ``running`` (server alive, ready, client SocksPort accepting)
    and ``nodes_alive`` (how many of the recorded tor processes still run)."""
    paths = _paths(home)
    state = _read_json(paths["state"])
    pid = _pid(home)
    alive = pid is not None and _is_server(pid)
    ready = alive and state.get("ready") and state.get("pid") == pid
    running = bool(ready and port_open(state["client_socks_port"]))
    nodes = state.get("nodes", {})
    nodes_alive = sum(1 for n in nodes.values() if n.get("pid") and _is_our_tor(n["pid"], paths["net"]))
    return {**state, "running": running, "pid": pid if alive else None, "nodes_alive": nodes_alive,
            "log": str(paths["log"])}


def up(home: Path, onion_targets: dict[str, int], deadline_s: float = 180.0, *,
       relays: int = DEFAULT_RELAYS, exits: int = 1, progress: Callable[[str], object] | None = None) -> dict[str, Any]:
    """Start the network unless it runs; return its state once the onion services answer.

    ``progress`` (a progress line's ``update``) hears the start-up's latest step while it waits.

    ``onion_targets`` maps an onion service name to the 127.0.0.1 port it serves
    (HiddenServicePort 80). A running network is returned as it is, with
    ``"stale": True`` when it serves other targets (``down`` + ``up`` to change).
    """
    paths = _paths(home)
    targets = {str(k): int(v) for k, v in onion_targets.items()}
    current = status(home)
    if current["running"]:
        return current | {"stale": current.get("onion_targets") != targets}
    if current["pid"] is not None:
        down(home)  # alive but not ready or not answering: replaced, not trusted
    paths["base"].mkdir(parents=True, exist_ok=True)
    paths["state"].unlink(missing_ok=True)

    args = ["--dir", str(paths["net"]), "--state", str(paths["state"]), "--relays", str(relays),
            "--exits", str(exits), "--deadline", str(deadline_s)]
    for name, port in targets.items():
        args += ["--onion", f"{name}={port}"]

    def ready() -> bool:
        state = _read_json(paths["state"])
        return bool(state.get("ready")) and state.get("pid") == read_pid(paths["pid"])

    # The server enforces deadline_s on tor itself; the margin covers building the network.
    start_module(SERVE_MODULE, args, what="the sandbox Tor network", log=paths["log"], pid_file=paths["pid"],
                 ready=ready, deadline_s=deadline_s + 30, progress=progress)
    return status(home) | {"stale": False}


def revive(home: Path, deadline_s: float = 30.0) -> dict[str, Any]:
    """Have the running server relaunch every dead node (same torrc, keys, ports); return the
    status once each recorded node runs again (``revived`` names the ones relaunched).

    The nodes are back, not yet useful: a revived client bootstraps again from its cached
    consensus and fetches onion descriptors anew, which its users must wait out themselves."""
    paths = _paths(home)
    pid = _pid(home)
    if pid is None or not _is_server(pid):
        raise SandboxError(f"no sandbox Tor network runs under {paths['base']} to revive")
    asked = int(_read_json(paths["state"]).get("revivals") or 0) + 1
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + deadline_s
    while True:
        current = status(home)
        if current.get("revivals", 0) >= asked and current["nodes_alive"] == len(current.get("nodes", {})):
            return current
        if current["pid"] is None:
            raise SandboxError(f"the sandbox Tor network exited while reviving:\n{_log_tail(paths['log'])}")
        if time.monotonic() > deadline:
            dead = [name for name, n in current.get("nodes", {}).items()
                    if not (n.get("pid") and _is_our_tor(n["pid"], paths["net"]))]
            raise SandboxError(f"the sandbox Tor network did not revive {', '.join(dead) or 'its nodes'} "
                               f"within {deadline_s:.0f} s:\n{_log_tail(paths['log'])}")
        time.sleep(0.1)


def down(home: Path, deadline_s: float = 15.0) -> bool:
    """Stop the network; True if a server was running. Any tor left over from a crashed server
    (a recorded node pid still running our torrc) is terminated too."""
    paths = _paths(home)
    was_running = stop_module(paths["pid"], SERVE_MODULE, deadline_s)
    leftovers = [n["pid"] for n in _read_json(paths["state"]).get("nodes", {}).values()
                 if n.get("pid") and _is_our_tor(n["pid"], paths["net"])]
    for node_pid in leftovers:
        os.kill(node_pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while any(_is_our_tor(p, paths["net"]) for p in leftovers) and time.monotonic() < deadline:
        time.sleep(0.05)
    for node_pid in leftovers:
        if _is_our_tor(node_pid, paths["net"]):
            os.kill(node_pid, signal.SIGKILL)
    paths["pid"].unlink(missing_ok=True)
    state = _read_json(paths["state"])
    if state:
        state["ready"] = False
        tmp = paths["state"].with_name(".state.json.tmp")
        tmp.write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, paths["state"])
    return was_running
