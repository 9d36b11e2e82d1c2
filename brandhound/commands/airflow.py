"""``brandhound airflow bootstrap|standalone``: the embedded Airflow on brandhound's DAGs."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from brandhound.commands.output import out

if TYPE_CHECKING:
    from brandhound.config import Settings

COMMANDS = {"airflow": "the embedded Airflow: brandhound's DAGs in standalone mode"}


def _home(args: argparse.Namespace, settings: Settings) -> Path:
    return Path(args.airflow_home or os.environ.get("AIRFLOW_HOME") or settings.home / "airflow")


def cmd_bootstrap(args: argparse.Namespace, settings: Settings) -> int:
    from operations.airflow_home import DAGS_FOLDER, TOR_POOL, airflow_env, bootstrap

    env = airflow_env(_home(args, settings))
    bootstrap(env, args.tor_slots)
    out(f"Airflow home {env['AIRFLOW_HOME']}: database migrated, pool {TOR_POOL} ({args.tor_slots} slots); "
        f"DAGs from {DAGS_FOLDER}")
    return 0


def cmd_standalone(args: argparse.Namespace, settings: Settings) -> int:
    from operations.airflow_home import airflow_command, airflow_env, bootstrap

    env = airflow_env(_home(args, settings))
    bootstrap(env, args.tor_slots)
    exe = airflow_command(env)
    os.execve(exe, [exe, "standalone"], env)  # Airflow's own supervisor from here on


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    from operations.airflow_home import TOR_POOL, TOR_POOL_SLOTS

    airflow = sub.add_parser("airflow", help=COMMANDS["airflow"])
    commands = airflow.add_subparsers(dest="airflow_command", required=True)
    for name, func, text in (("bootstrap", cmd_bootstrap, "migrate Airflow's database and create the tor pool"),
                             ("standalone", cmd_standalone, "bootstrap, then run `airflow standalone` on dags/")):
        p = add(commands, name, func, text)
        p.add_argument("--airflow-home", help="AIRFLOW_HOME (default $AIRFLOW_HOME, else BRANDHOUND_HOME/airflow)")
        p.add_argument("--tor-slots", type=int, default=TOR_POOL_SLOTS,
                       help=f"slots of the {TOR_POOL} pool: onion crawls at once (default {TOR_POOL_SLOTS})")
