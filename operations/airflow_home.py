"""brandhound's embedded Airflow: standalone mode with its SQLite database, the `dags/` folder, the `tor` pool.

:func:`bootstrap` prepares an ``AIRFLOW_HOME`` (database migrated, pool created), as
``brandhound airflow bootstrap|standalone`` (:mod:`brandhound.commands.airflow`) do before
``airflow standalone`` runs the scheduler, DAG processor, triggerer and API server (the UI on
http://127.0.0.1:8080) on brandhound's DAGs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from brandhound.config import ConfigError

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


def airflow_command(env: dict[str, str]) -> str:
    """The ``airflow`` beside this Python (the project's .venv), else on PATH."""
    exe = shutil.which("airflow", path=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]))
    if exe is None:
        raise ConfigError("the airflow command is not installed (it comes with apache-airflow in .venv)")
    return exe


def _airflow(env: dict[str, str], *args: str) -> None:
    proc = subprocess.run([airflow_command(env), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    if proc.returncode != 0:
        raise ConfigError(f"airflow {' '.join(args)} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}")


def bootstrap(env: dict[str, str], tor_slots: int = TOR_POOL_SLOTS) -> None:
    """Migrate the metadata database (idempotent) and create or resize the `tor` pool."""
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    _airflow(env, "db", "migrate")
    _airflow(env, "pools", "set", TOR_POOL, str(tor_slots), "concurrent onion crawls across the deployment")
