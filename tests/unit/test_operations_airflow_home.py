"""operations.airflow_home and operations.maintenance: the embedded Airflow's environment, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandhound.commands import build_parser
from operations.airflow_home import DAGS_FOLDER, REPO_ROOT, airflow_env
from operations.maintenance import tor_health


def test_airflow_env_points_at_brandhounds_dags_and_keeps_the_rest(tmp_path):
    env = airflow_env(tmp_path, base={"PATH": "/usr/bin", "PYTHONPATH": "/x"})
    assert env["AIRFLOW_HOME"] == str(tmp_path)
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(DAGS_FOLDER) and Path(DAGS_FOLDER).is_dir()
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["PYTHONPATH"].split(":") == [str(REPO_ROOT), "/x"]
    assert env["PATH"] == "/usr/bin"


def test_brandhound_has_the_airflow_commands():
    args = build_parser().parse_args(["airflow", "bootstrap", "--airflow-home", "/tmp/af", "--tor-slots", "3"])
    assert args.airflow_home == "/tmp/af" and args.tor_slots == 3 and callable(args.func)


@pytest.mark.parametrize("control", ["9051", "127.0.0.1:", "127.0.0.1:port"])
def test_tor_health_names_a_malformed_control_address(control):
    with pytest.raises(ValueError, match="expected HOST:PORT"):
        tor_health(control)
