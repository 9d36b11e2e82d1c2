"""Run the sandbox web as a background process: ``up``, ``down``, ``status``.

Everything lives under ``home/sandbox/``: the build (``web/``), the server's
pid file, its log and ``state.json``. ``up`` is idempotent: a running server
is left alone and its state returned; otherwise the build is (re)made when
missing or when the profile, its images or the parameters changed, and a
detached ``python -m sandbox.web.serve`` is started and polled until it
answers.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
from pathlib import Path
from typing import Any, Callable

from sandbox.processes import REPO_ROOT, SandboxError, read_pid, runs_module, start_module, stop_module

from sandbox.web.builder import BUILD_FILE, build, build_key
from sandbox.web.fileio import read_json, write_json

DEFAULT_PROFILE = REPO_ROOT / "examples" / "brands" / "kestrava" / "brand.yaml"
SERVE_MODULE = "sandbox.web.serve"

__all__ = ["REPO_ROOT", "SandboxError", "down", "status", "up"]


def _paths(home: Path) -> dict[str, Path]:
    base = Path(home) / "sandbox"
    return {"base": base, "dir": base / "web", "pid": base / "sandbox-web.pid",
            "state": base / "state.json", "log": base / "sandbox-web.log"}


def _pid(home: Path) -> int | None:
    return read_pid(_paths(home)["pid"])


def _is_server(pid: int) -> bool:
    return runs_module(pid, SERVE_MODULE)


def _health(port: int, build_dir: Path, timeout: float = 1.0) -> bool:
    """Does the server on ``port`` answer, and serve ``build_dir``?"""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/_sandbox/health", headers={"Host": "127.0.0.1"})
        resp = conn.getresponse()
        body = json.loads(resp.read() or b"{}")
        return resp.status == 200 and body.get("dir") == str(build_dir)
    except (OSError, ValueError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def status(home: Path) -> dict[str, Any]:
    """The recorded state plus ``running`` (the process is alive and answering)."""
    paths = _paths(home)
    state = read_json(paths["state"])
    pid = _pid(home)
    alive = pid is not None and _is_server(pid)
    running = alive and "port" in state and _health(state["port"], paths["dir"])
    return {**state, "running": running, "pid": pid if alive else None}


def up(home: Path, port: int = 8899, profile_path: str | Path = DEFAULT_PROFILE,
       listings_per_marketplace: int = 300, *, seed: int = 1337, deadline_s: float = 60.0,
       progress: Callable[[str], object] | None = None) -> dict[str, Any]:
    """Build if needed, start the server if it is not running, and return its state.

    ``progress`` (a progress line's ``update``) hears each step while it runs."""
    paths = _paths(home)
    current = status(home)
    key = build_key(profile_path, listings_per_marketplace, seed)
    if current["running"]:
        # Left running as it is; "stale" tells the caller that a restart would rebuild.
        return current | {"stale": current.get("build_key") != key}
    if current["pid"] is not None:
        down(home)  # alive but not answering: a wedged server is replaced, not trusted
    paths["base"].mkdir(parents=True, exist_ok=True)
    if read_json(paths["dir"] / BUILD_FILE).get("key") != key:
        if progress is not None:
            progress(f"building the sandbox web ({listings_per_marketplace} listings per marketplace)")
        build(profile_path, paths["dir"], listings_per_marketplace=listings_per_marketplace, seed=seed)

    proc = start_module(SERVE_MODULE, ["--dir", str(paths["dir"]), "--port", str(port)],
                        what=f"the sandbox web server on port {port}", log=paths["log"], pid_file=paths["pid"],
                        ready=lambda: _health(port, paths["dir"]), deadline_s=deadline_s, progress=progress)
    truth = read_json(paths["dir"] / BUILD_FILE)
    write_json(paths["state"], {
        "pid": proc.pid, "port": port, "proxy_url": f"http://127.0.0.1:{port}", "dir": str(paths["dir"]),
        "ca_path": str(paths["dir"] / "ca.pem"), "ground_truth": str(paths["dir"] / "ground_truth.json"),
        "profile": str(Path(profile_path).resolve()), "build_key": key, "seed": seed,
        "listings_per_marketplace": truth.get("listings_per_marketplace", listings_per_marketplace),
        "log": str(paths["log"]), "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    })
    return status(home) | {"stale": False}


def down(home: Path, deadline_s: float = 5.0) -> bool:
    """Stop the server; True if one was running."""
    return stop_module(_paths(home)["pid"], SERVE_MODULE, deadline_s)
