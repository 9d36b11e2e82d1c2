"""brandhound's embedded Airflow: standalone mode with its SQLite database, the `dags/` folder, the `tor` pool.

``brandhound airflow bootstrap`` prepares an ``AIRFLOW_HOME`` (database migrated, pool created);
``brandhound airflow standalone`` does that and runs ``airflow standalone`` (scheduler, DAG
processor, triggerer and API server with the UI on http://127.0.0.1:8080) on brandhound's DAGs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

from brandhound.config import ConfigError, Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
DAGS_FOLDER = REPO_ROOT / "dags"
#: The pool every Tor task runs in, and its default size: onion crawls at once across the deployment
#: (each is slow and holds circuits on the Tor clients).
TOR_POOL = "tor"
TOR_POOL_SLOTS = 2


def airflow_env(airflow_home: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of Airflow's processes: this home, brandhound's DAGs, no examples, loopback only."""
    env = dict(os.environ if base is None else base)
    env.update({
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__API__HOST": env.get("AIRFLOW__API__HOST", "127.0.0.1"),
        # The DAG files import `operations`, which lives beside them in the repository.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
    })
    return env


def _airflow_command(env: dict[str, str]) -> str:
    """The ``airflow`` beside this Python (the project's .venv), else on PATH."""
    exe = shutil.which("airflow", path=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]))
    if exe is None:
        raise ConfigError("the airflow command is not installed (it comes with apache-airflow in .venv)")
    return exe


def _airflow(env: dict[str, str], *args: str) -> None:
    proc = subprocess.run([_airflow_command(env), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    if proc.returncode != 0:
        raise ConfigError(f"airflow {' '.join(args)} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}")


def bootstrap(env: dict[str, str], tor_slots: int = TOR_POOL_SLOTS) -> None:
    """Migrate the metadata database (idempotent) and create or resize the `tor` pool."""
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    _airflow(env, "db", "migrate")
    _airflow(env, "pools", "set", TOR_POOL, str(tor_slots), "concurrent onion crawls across the deployment")


def _home(args: argparse.Namespace, settings: Settings) -> Path:
    return Path(args.airflow_home or os.environ.get("AIRFLOW_HOME") or settings.home / "airflow")


def cmd_bootstrap(args: argparse.Namespace, settings: Settings) -> int:
    env = airflow_env(_home(args, settings))
    bootstrap(env, args.tor_slots)
    print(f"Airflow home {env['AIRFLOW_HOME']}: database migrated, pool {TOR_POOL} ({args.tor_slots} slots); "
          f"DAGs from {DAGS_FOLDER}", flush=True)
    return 0


def cmd_standalone(args: argparse.Namespace, settings: Settings) -> int:
    env = airflow_env(_home(args, settings))
    bootstrap(env, args.tor_slots)
    exe = _airflow_command(env)
    os.execve(exe, [exe, "standalone"], env)  # Airflow's own supervisor from here on


def add_commands(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    """``brandhound airflow bootstrap|standalone``."""
    airflow = sub.add_parser("airflow", help="the embedded Airflow: brandhound's DAGs in standalone mode")
    commands = airflow.add_subparsers(dest="airflow_command", required=True)
    for name, func, text in (("bootstrap", cmd_bootstrap, "migrate Airflow's database and create the tor pool"),
                             ("standalone", cmd_standalone, "bootstrap, then run `airflow standalone` on dags/")):
        p = add(commands, name, func, text)
        p.add_argument("--airflow-home", help="AIRFLOW_HOME (default $AIRFLOW_HOME, else BRANDHOUND_HOME/airflow)")
        p.add_argument("--tor-slots", type=int, default=TOR_POOL_SLOTS,
                       help=f"slots of the {TOR_POOL} pool: onion crawls at once (default {TOR_POOL_SLOTS})")
