"""Run the sandbox CT logs as a detached process: ``up``, ``down``, ``status``.

Everything lives under ``home/sandbox/ct/``: the build, the pid file, the log, ``state.json`` and
``log_list.json`` (the log list with the port filled in). ``up`` is idempotent: a running server
with the same build is left alone; otherwise the build is made when missing or when its parameters
changed, and ``python -m sandbox.ct.serve`` is started and polled until it answers, with a deadline.
Certificates are issued by the sandbox web's CA when its build is there, else by a CA of their own.
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

from sandbox.ct.build import DEFAULT_BENIGN, TRUTH_FILE, build
from sandbox.processes import REPO_ROOT, SandboxError, read_pid, runs_module, start_module, stop_module
from sandbox.web.fileio import read_json, write_json
from sandbox.web.tls import CA_CERT

DEFAULT_PROFILE = REPO_ROOT / "examples" / "brands" / "kestrava" / "brand.yaml"
SERVE_MODULE = "sandbox.ct.serve"
DEFAULT_PORT = 8898


#: Kept for callers of the earlier name: every sandbox daemon raises the one SandboxError.
CtSandboxError = SandboxError


def _paths(home: Path) -> dict[str, Path]:
    base = Path(home) / "sandbox" / "ct"
    return {"base": base, "dir": base / "build", "pid": base / "sandbox-ct.pid", "state": base / "state.json",
            "log": base / "sandbox-ct.log", "log_list": base / "log_list.json"}


def _health(port: int, build_dir: Path, timeout: float = 1.0) -> dict[str, Any] | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/_sandbox/health")
        resp = conn.getresponse()
        body = json.loads(resp.read() or b"{}")
        return body if resp.status == 200 and body.get("dir") == str(build_dir) else None
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def status(home: Path) -> dict[str, Any]:
    paths = _paths(home)
    state = read_json(paths["state"])
    pid = read_pid(paths["pid"])
    alive = pid is not None and runs_module(pid, SERVE_MODULE)
    running = alive and "port" in state and _health(state["port"], paths["dir"]) is not None
    return {**state, "running": running, "pid": pid if alive else None}


def up(home: Path, port: int = DEFAULT_PORT, profile_path: str | Path = DEFAULT_PROFILE, *, benign: int = DEFAULT_BENIGN,
       seed: int = 1337, max_batch: int = 100, published: int | None = None,
       deadline_s: float = 60.0) -> dict[str, Any]:
    """Build if needed, start the logs unless they run, and return their state (``log_list``, ``ground_truth``).
    ``published``: entries the trees hold at start (default all); ``POST /_sandbox/publish?size=N`` adds more."""
    paths = _paths(home)
    key = {"profile": str(Path(profile_path).resolve()), "seed": seed, "benign": benign, "max_batch": max_batch,
           "published": published}
    current = status(home)
    if current["running"] and current.get("key") == key:
        return current
    if current["pid"] is not None:
        down(home)
    paths["base"].mkdir(parents=True, exist_ok=True)
    build_key = {k: v for k, v in key.items() if k not in ("max_batch", "published")}
    if read_json(paths["base"] / "build_key.json") != build_key or not (paths["dir"] / TRUTH_FILE).exists():
        web_ca = Path(home) / "sandbox" / "web"
        build(paths["dir"], profile_path, seed=seed, benign=benign,
              ca_dir=web_ca if (web_ca / CA_CERT).exists() else None)
        write_json(paths["base"] / "build_key.json", build_key)
    proc = start_module(SERVE_MODULE, ["--dir", str(paths["dir"]), "--port", str(port), "--max-batch", str(max_batch),
                                       *(["--published", str(published)] if published is not None else [])],
                        what=f"the sandbox CT server on port {port}", log=paths["log"], pid_file=paths["pid"],
                        ready=lambda: _health(port, paths["dir"]) is not None, deadline_s=deadline_s)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/log_list.json")
    paths["log_list"].write_bytes(conn.getresponse().read())
    conn.close()
    write_json(paths["state"], {"pid": proc.pid, "port": port, "url": f"http://127.0.0.1:{port}/", "key": key,
                                "log_list": str(paths["log_list"]), "ground_truth": str(paths["dir"] / TRUTH_FILE),
                                "dir": str(paths["dir"]), "log": str(paths["log"])})
    return status(home)


def down(home: Path, deadline_s: float = 5.0) -> bool:
    """Stop the server; True if one was running."""
    return stop_module(_paths(home)["pid"], SERVE_MODULE, deadline_s)
