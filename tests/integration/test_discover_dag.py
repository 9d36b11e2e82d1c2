"""The discovery DAG on real Airflow (a throwaway home with SQLite), real Elasticsearch and the sandbox CT
logs: one run indexes every look-alike of the sandbox log and names them as the surface crawl's seeds
in its XCom and in the ``brandhound-discovered`` Asset's event."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from operations.airflow_home import DAGS_FOLDER, airflow_env, bootstrap
from tests.conftest import free_port
from tests.integration.test_dags import RUN_DAG

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ct_logs(tmp_path_factory):
    from sandbox.ct import daemon

    home = tmp_path_factory.mktemp("ct-dag-home")
    state = daemon.up(home, port=free_port(), benign=1000)
    yield state, json.loads(Path(state["ground_truth"]).read_text())
    daemon.down(home)


def test_the_ct_discovery_dag_indexes_the_lookalikes_and_hands_them_to_the_surface_crawl(settings, es, ct_logs,
                                                                                        tmp_path_factory, tmp_path):
    from airflow.dag_processing.dagbag import DagBag

    state, truth = ct_logs
    env = airflow_env(tmp_path_factory.mktemp("airflow-discover"))
    bootstrap(env)
    host_port = settings.es.url.split("://")[1].rstrip("/")
    env = dict(env, BRANDHOUND_CT_ALLOW_PRIVATE="1", BRANDHOUND_SPOOL_DIR=str(tmp_path / "spool"),
               BRANDHOUND_ES_PORT=str(free_port()), PYTHONPATH=str(ROOT),
               AIRFLOW_CONN_BRANDHOUND_ES=json.dumps({
                   "conn_type": "elasticsearch", "host": host_port.split(":")[0], "port": int(host_port.split(":")[1]),
                   "schema": settings.es.url.split("://")[0], "extra": {"index_prefix": settings.es.index_prefix}}))
    env.pop("BRANDHOUND_ES_URL", None)
    script = tmp_path / "run_dag.py"
    script.write_text(RUN_DAG)
    conf = {"log_list": state["log_list"], "since": "start", "crawl": False, "brands": str(ROOT / "examples" / "brands")}
    proc = subprocess.run([sys.executable, str(script), "brandhound_discover", json.dumps(conf), str(DAGS_FOLDER)],
                          env=env, capture_output=True, text=True, timeout=600)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("DAG-RESULT ")]
    assert proc.returncode == 0 and lines, (proc.stdout + proc.stderr)[-6000:]
    result = json.loads(lines[-1].removeprefix("DAG-RESULT "))
    assert result["state"] == "success", (result, (proc.stdout + proc.stderr)[-6000:])
    out = result["xcom"]["discover_ct[-1]"]
    if isinstance(out, str):
        out = json.loads(out)
    expected = {f"https://{d}/" for d in truth["lookalikes"]}
    assert set(out["seeds"]) == expected and out["flagged"] == len(expected)
    assert result["tasks"]["crawl_surface[-1]"] == "skipped"  # crawl=False: the short-circuit held it back
    es.indices.refresh(index=f"{settings.es.index_prefix}-findings")
    assert es.count(index=f"{settings.es.index_prefix}-findings")["count"] == len(expected)
    os.environ.setdefault("AIRFLOW_HOME", env["AIRFLOW_HOME"])
    dag = DagBag(dag_folder=str(DAGS_FOLDER / "discover.py")).dags["brandhound_discover"]
    assert {a.uri for t in dag.tasks for a in t.outlets} >= {"brandhound://discovery/domains"}
