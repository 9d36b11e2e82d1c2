"""brandhound's Airflow DAGs on real Airflow (a throwaway AIRFLOW_HOME with SQLite), real Elasticsearch and
the sandbox web: the DagBag is clean and operable, and ``dag.test()`` runs the marketplace, detection and
takedown DAGs end to end, twice, without a duplicate document or notice."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from brandhound.commands.crawl import ONION_SPIDERS
from operations.airflow_home import DAGS_FOLDER, TOR_POOL, airflow_env, bootstrap
from sandbox.web import daemon
from sandbox.processes import free_port
from tests.integration.crawls import field_values

#: Runs one DAG with dag.test() in a process of its own (Airflow reads its configuration once per
#: process) and prints its state, task states and XComs as one JSON line.
RUN_DAG = r'''
import json, sys
from airflow.dag_processing.dagbag import DagBag
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session

dag_id, conf = sys.argv[1], json.loads(sys.argv[2])
dag = DagBag(dag_folder=sys.argv[3]).dags[dag_id]
run = dag.test(run_conf=conf)
out = {"state": str(run.state), "tasks": {}, "xcom": {}}
for ti in run.get_task_instances():
    out["tasks"][f"{ti.task_id}[{ti.map_index}]"] = str(ti.state)
with create_session() as session:
    for x in session.query(XComModel).filter(XComModel.run_id == run.run_id, XComModel.key == "return_value"):
        out["xcom"][f"{x.task_id}[{x.map_index}]"] = x.value
print("DAG-RESULT " + json.dumps(out, default=str))
'''
#: Long enough for Chromium renders on a busy machine, short enough for the never-finishing page.
FAST = {"DOWNLOAD_TIMEOUT": 8, "RETRY_TIMES": 1}
LISTINGS = 40


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow-parse")))
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


def test_dagbag_has_every_dag_and_no_import_error(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {"brandhound_crawl_marketplaces", "brandhound_crawl_surface", "brandhound_crawl_tor",
                                   "brandhound_crawl_pastes", "brandhound_detection", "brandhound_takedowns",
                                   "brandhound_maintenance", "brandhound_discover", "brandhound_discover_nrd",
                                   "brandhound_takedown_recheck"}


def test_every_dag_is_operable(dagbag):
    for dag in dagbag.dags.values():
        assert dag.tags and "brandhound" in dag.tags, dag.dag_id
        assert dag.doc_md and len(dag.doc_md.strip()) > 80, dag.dag_id
        assert dag.max_active_runs == 1 and not dag.catchup, dag.dag_id
        for t in dag.tasks:
            assert t.owner == "brand-protection", (dag.dag_id, t.task_id)
            assert t.retries >= 3 and t.retry_exponential_backoff, (dag.dag_id, t.task_id)
            assert t.execution_timeout is not None, (dag.dag_id, t.task_id)
            assert t.doc_md, (dag.dag_id, t.task_id)


def test_every_tor_task_runs_in_the_tor_pool_and_only_those(dagbag):
    # Tasks that talk to Tor: the onion spiders' crawls, wherever they are, and the Tor health check.
    tor_tasks = {(d.dag_id, t.task_id) for d in dagbag.dags.values() for t in d.tasks
                 if t.task_id in {f"crawl_{s}" for s in ONION_SPIDERS} | {"tor_health"}}
    assert {("brandhound_crawl_tor", "crawl_onion_market"), ("brandhound_crawl_tor", "crawl_onion_forum"),
            ("brandhound_maintenance", "tor_health")} == tor_tasks
    in_pool = {(d.dag_id, t.task_id) for d in dagbag.dags.values() for t in d.tasks if t.pool == TOR_POOL}
    assert in_pool == tor_tasks


def test_crawl_dags_produce_the_assets_that_schedule_detection_and_takedowns(dagbag):
    produced = {a.uri for d in dagbag.dags.values() if d.dag_id.startswith("brandhound_crawl_")
                for t in d.tasks for a in t.outlets}
    assert {"brandhound://elasticsearch/listings", "brandhound://elasticsearch/sites",
            "brandhound://elasticsearch/leaks"} <= produced
    detection = dagbag.dags["brandhound_detection"]
    assert {a.uri for t in detection.tasks for a in t.outlets} == {"brandhound://elasticsearch/findings"}
    assert "brandhound://elasticsearch/listings" in repr(detection.timetable.asset_condition)
    assert "brandhound://elasticsearch/findings" in repr(dagbag.dags["brandhound_takedowns"].timetable.asset_condition)


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    """A migrated Airflow home with the tor pool (as `brandhound airflow bootstrap` makes it)."""
    env = airflow_env(tmp_path_factory.mktemp("airflow-home"))
    bootstrap(env)
    return env


@pytest.fixture(scope="module")
def small_sandbox(tmp_path_factory):
    home = tmp_path_factory.mktemp("dag-sandbox-home")
    state = daemon.up(home, port=free_port(), listings_per_marketplace=LISTINGS)
    yield home, state
    daemon.down(home)


def _run_dag(airflow, small_sandbox, settings, tmp_path, dag_id: str, conf: dict) -> dict:
    home, _ = small_sandbox
    # BRANDHOUND_ES_PORT elsewhere: the cluster is not this home's local node, which a crawl would try to start.
    env = dict(airflow, BRANDHOUND_HOME=str(home), BRANDHOUND_ES_PORT=str(free_port()),
               BRANDHOUND_SPOOL_DIR=str(tmp_path / "spool"),
               AIRFLOW_CONN_BRANDHOUND_ES=json.dumps({
                   "conn_type": "elasticsearch", "host": settings.es.url.split("://")[1].split(":")[0],
                   "port": int(settings.es.url.rsplit(":", 1)[1].rstrip("/")), "schema": settings.es.url.split("://")[0],
                   "extra": {"index_prefix": settings.es.index_prefix}}))
    env.pop("BRANDHOUND_ES_URL", None)  # the Connection, not the environment, must say where Elasticsearch is
    script = tmp_path / "run_dag.py"
    script.write_text(RUN_DAG)
    proc = subprocess.run([sys.executable, str(script), dag_id, json.dumps(conf), str(DAGS_FOLDER)],
                          env=env, capture_output=True, text=True, timeout=900)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("DAG-RESULT ")]
    assert proc.returncode == 0 and lines, (proc.stdout + proc.stderr)[-6000:]
    result = json.loads(lines[-1].removeprefix("DAG-RESULT "))
    assert result["state"] == "success", (result, (proc.stdout + proc.stderr)[-6000:])
    return result


def _count(es, settings, kind: str) -> int:
    index = f"{settings.es.index_prefix}-{kind}"
    es.indices.refresh(index=index)
    return es.count(index=index)["count"]


def test_marketplace_detection_and_takedown_dags_end_to_end_twice_without_duplicates(airflow, small_sandbox, settings,
                                                                                     es, tmp_path):
    _, state = small_sandbox
    crawl_conf = {"sandbox": True, "listings": LISTINGS, "sandbox_port": state["port"], "scrapy_settings": FAST}

    first = _run_dag(airflow, small_sandbox, settings, tmp_path, "brandhound_crawl_marketplaces", crawl_conf)
    counts = first["xcom"]["crawl_marketplace[0]"]
    assert counts["exit_code"] == 0 and counts["finish_reason"] == "finished"
    assert counts["items"] > LISTINGS and counts["documents_indexed"] > counts["items"]
    assert counts["pages_failed"] >= 3  # the sandbox's bad pages, on purpose: reported, not fatal
    listings, pages, findings = (_count(es, settings, k) for k in ("listings", "pages", "findings"))
    assert listings > LISTINGS and findings > 0

    detected = _run_dag(airflow, small_sandbox, settings, tmp_path, "brandhound_detection", {})["xcom"]["detect[-1]"]
    assert detected["findings"] > 0 and detected["campaigns"] > 0
    drafted = _run_dag(airflow, small_sandbox, settings, tmp_path, "brandhound_takedowns",
                       {"include_flagged": True})["xcom"]["draft[-1]"]
    assert drafted["created"] > 0
    notices = _count(es, settings, "takedowns")
    assert notices == drafted["created"] + drafted["followups"]

    # The same again: every document and notice is rewritten in place, none added. (A page the first
    # run lost to a timeout may be added now; what must never happen is a second copy of one.)
    _run_dag(airflow, small_sandbox, settings, tmp_path, "brandhound_crawl_marketplaces", crawl_conf)
    for kind, key, before in (("listings", "url.full", listings), ("pages", "url.full", pages),
                              ("findings", "subject.id", findings)):
        values = field_values(es, settings, kind, key)
        assert len(values) == len(set(values)) >= before, kind
    again = _run_dag(airflow, small_sandbox, settings, tmp_path, "brandhound_detection", {})["xcom"]["detect[-1]"]
    assert again["findings"] >= detected["findings"]
    redrafted = _run_dag(airflow, small_sandbox, settings, tmp_path, "brandhound_takedowns",
                         {"include_flagged": True})["xcom"]["draft[-1]"]
    # Every notice of the first run was found again and updated, not drafted anew.
    assert redrafted["updated"] + redrafted["kept"] >= drafted["created"]
    assert _count(es, settings, "takedowns") == notices + redrafted["created"] + redrafted["followups"]
