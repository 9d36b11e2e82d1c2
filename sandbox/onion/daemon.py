"""Run the onion sandbox in the background: the sites' server plus the private Tor network that
publishes them as onion services. ``up``, ``down``, ``status``.

The sites live under ``home/sandbox/onion/`` (the build in ``build/``, the server's pid file, its
log and ``state.json``); the Tor network is ``sandbox.tor.daemon``'s, under ``home/sandbox/tor/``.
``up`` is idempotent: what runs is kept; the build is (re)made when missing or when its inputs
changed; the server keeps its ports across restarts when they are free (Tor forwards to them); a
Tor network forwarding to other ports is restarted (its onion addresses are kept).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import time
from pathlib import Path
from typing import Any, Callable

from sandbox.onion import forum, market
from sandbox.onion.builder import BUILD_FILE, SITES, TRUTH_FILE, build, build_key
from sandbox.onion.server import HEALTH_PATH
from sandbox.processes import (REPO_ROOT, SandboxError, free_port, port_free, read_pid, runs_module, start_module,
                               stop_module)
from sandbox.tor import daemon as tor_daemon
from sandbox.tor.network import RELAYS_TO_LOSE_ONE
from sandbox.web.fileio import read_json, write_json

DEFAULT_PROFILE = REPO_ROOT / "examples" / "brands" / "kestrava" / "brand.yaml"
SERVE_MODULE = "sandbox.onion.serve"
# What the merged state takes from the Tor network's.
TOR_KEYS = ("onions", "onion_urls", "client_socks_port", "browser_socks_port", "socks_url", "control_port",
            "control_cookie_path", "bootstrap_seconds", "onion_ready_seconds")


def _paths(home: Path) -> dict[str, Path]:
    base = Path(home) / "sandbox" / "onion"
    return {"base": base, "dir": base / "build", "pid": base / "sandbox-onion.pid",
            "state": base / "state.json", "log": base / "sandbox-onion.log"}


def _health(port: int, site: str, build_dir: Path, timeout: float = 1.0) -> bool:
    """Does the server on ``port`` answer as ``site`` of ``build_dir``?"""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", HEALTH_PATH)
        resp = conn.getresponse()
        body = json.loads(resp.read() or b"{}")
        return resp.status == 200 and body.get("site") == site and body.get("dir") == str(build_dir.resolve())
    except (OSError, ValueError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def _server_status(home: Path) -> dict[str, Any]:
    paths = _paths(home)
    state = read_json(paths["state"])
    pid = read_pid(paths["pid"])
    alive = pid is not None and runs_module(pid, SERVE_MODULE)
    ports = state.get("ports") or {}
    running = alive and set(ports) == set(SITES) and all(_health(ports[s], s, paths["dir"]) for s in SITES)
    return {**state, "running": running, "pid": pid if alive else None}


def status(home: Path) -> dict[str, Any]:
    """The sites' server state merged with the Tor network's; ``running`` when both run.

    Keys: running, server_running, tor_running, pid (the sites' server), ports (site -> local
    port), onions / onion_urls (site -> address / URL), client_socks_port, browser_socks_port,
    socks_url, control_port, control_cookie_path, bootstrap_seconds, onion_ready_seconds,
    ground_truth, dir, log, tor_log, profile, build_key, started_at.
    """
    server = _server_status(home)
    tor = tor_daemon.status(home)
    merged = {k: v for k, v in server.items() if k not in ("running",)}
    merged |= {k: tor.get(k) for k in TOR_KEYS}
    merged |= {"server_running": server["running"], "tor_running": tor["running"],
               "tor_pid": tor.get("pid"), "tor_log": tor.get("log"),
               "running": bool(server["running"] and tor["running"]
                               and tor.get("onion_targets") == server.get("ports"))}
    return merged


def _start_server(home: Path, ports: dict[str, int], deadline_s: float) -> int:
    paths = _paths(home)
    proc = start_module(SERVE_MODULE, ["--dir", str(paths["dir"]), "--port-market", str(ports[market.SITE]),
                                       "--port-forum", str(ports[forum.SITE])],
                        what=f"the onion sites' server on ports {ports}", log=paths["log"], pid_file=paths["pid"],
                        ready=lambda: all(_health(ports[s], s, paths["dir"]) for s in SITES), deadline_s=deadline_s)
    return proc.pid


def up(home: Path, profile_path: str | Path = DEFAULT_PROFILE, *, listings: int = market.LISTING_COUNT,
       threads: int = forum.THREAD_COUNT, seed: int = 1337, ports: dict[str, int] | None = None,
       deadline_s: float = 180.0, progress: Callable[[str], object] | None = None) -> dict[str, Any]:
    """Build (if needed), serve the sites, start the Tor network in front of them; return the state.

    ``ports`` (site -> port) fixes the sites' local ports; by default the previous ones are
    reused when free, else free ones are chosen. Adds ``up_seconds`` (this call's wall time) to
    the state; ``bootstrap_seconds`` / ``onion_ready_seconds`` are the Tor network's own.
    """
    started = time.monotonic()
    paths = _paths(home)
    paths["base"].mkdir(parents=True, exist_ok=True)
    key = build_key(profile_path, listings, threads, seed)
    server = _server_status(home)
    stale = False
    if server["running"] and (server.get("build_key") != key or (ports and ports != server.get("ports"))):
        stale = server.get("build_key") != key
        if ports:  # the caller asked for other ports: restart on them
            _stop_server(home)
            server = _server_status(home)
            stale = False
    if not server["running"]:
        if server["pid"] is not None:
            _stop_server(home)  # alive but not answering: replaced, not trusted
        if read_json(paths["dir"] / BUILD_FILE).get("key") != key:
            if progress is not None:
                progress("building the onion sites")
            build(profile_path, paths["dir"], listings=listings, threads=threads, seed=seed)
        previous = read_json(paths["state"]).get("ports") or {}
        chosen = {s: int((ports or {}).get(s) or (previous.get(s) if previous.get(s) and port_free(previous[s])
                                                   else free_port())) for s in SITES}
        pid = _start_server(home, chosen, deadline_s=30)
        write_json(paths["state"], {
            "pid": pid, "ports": chosen, "dir": str(paths["dir"]),
            "ground_truth": str(paths["dir"] / TRUTH_FILE), "profile": str(Path(profile_path).resolve()),
            "build_key": key, "seed": seed, "log": str(paths["log"]),
            "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        })
        server = _server_status(home)
    targets = server["ports"]
    tor = tor_daemon.status(home)
    if tor["running"] and tor.get("onion_targets") != targets:
        tor_daemon.down(home)  # forwards to other ports: restarted (the onion addresses are kept)
    try:
        tor_daemon.up(home, targets, deadline_s=deadline_s, progress=progress, relays=RELAYS_TO_LOSE_ONE)
    except tor_daemon.SandboxError as exc:
        raise SandboxError(f"the Tor network for the onion sites did not start: {exc}") from exc
    return status(home) | {"stale": stale, "up_seconds": round(time.monotonic() - started, 2)}


def _stop_server(home: Path, deadline_s: float = 5.0) -> bool:
    return stop_module(_paths(home)["pid"], SERVE_MODULE, deadline_s)


def down(home: Path) -> bool:
    """Stop the Tor network and the sites' server; True if either was running."""
    tor = tor_daemon.down(home)
    server = _stop_server(home)
    return tor or server
