"""The discovery DAG on real Airflow (a throwaway home with SQLite), real Elasticsearch and the sandbox CT
logs: one run indexes every look-alike of the sandbox log and names them as the surface crawl's seeds
in its XCom; and the chain: a look-alike certificate newly published in the log is found by the next
run, whose ``brandhound-discovered`` Asset event queues a run of the surface crawl DAG (scheduled on
that Asset), which reads its seeds from the event and captures the site with a screenshot and a
fake-store or phishing finding."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from operations.airflow_home import DAGS_FOLDER, airflow_env, bootstrap
from sandbox.processes import free_port
from tests.integration.test_dags import RUN_DAG

#: RUN_DAG for a DAG scheduled on an Asset: it checks that an Asset event queued a run of the DAG
#: (AssetDagRunQueue, as the scheduler sees it), then attaches the queued events to the run
#: dag.test() makes, as the scheduler does to the asset-triggered run it creates (its
#: ``consumed_asset_events``, which tasks read as ``triggering_asset_events``).
RUN_ON_ASSET = RUN_DAG.replace("run = dag.test(run_conf=conf)", r'''
import airflow.models.dagrun as dagrun_module
from airflow.models.asset import AssetDagRunQueue, AssetEvent, DagScheduleAssetReference
from sqlalchemy import delete, select

with create_session() as session:
    queued = session.scalars(select(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == dag_id)).all()
if not queued:
    sys.exit(f"no Asset event queued a run of {dag_id}")
make_run = dagrun_module.get_or_create_dagrun

def as_the_scheduler(**kwargs):
    run, session = make_run(**kwargs), kwargs["session"]
    scheduled_on = select(DagScheduleAssetReference.asset_id).where(DagScheduleAssetReference.dag_id == dag_id)
    run.consumed_asset_events.extend(session.scalars(
        select(AssetEvent).where(AssetEvent.asset_id.in_(scheduled_on)).order_by(AssetEvent.timestamp)))
    session.execute(delete(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == dag_id))
    session.commit()
    return run

dagrun_module.get_or_create_dagrun = as_the_scheduler
run = dag.test(run_conf=conf)''')

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ct_logs(tmp_path_factory):
    from sandbox.ct import daemon

    home = tmp_path_factory.mktemp("ct-dag-home")
    state = daemon.up(home, port=free_port(), benign=1000)
    yield state, json.loads(Path(state["ground_truth"]).read_text())
    daemon.down(home)


def _airflow(settings, tmp_path_factory, tmp_path, home=None):
    env = airflow_env(tmp_path_factory.mktemp("airflow-discover"))
    bootstrap(env)
    host_port = settings.es.url.split("://")[1].rstrip("/")
    env = dict(env, BRANDHOUND_CT_ALLOW_PRIVATE="1", BRANDHOUND_SPOOL_DIR=str(tmp_path / "spool"),
               BRANDHOUND_ES_PORT=str(free_port()), PYTHONPATH=str(ROOT),
               AIRFLOW_CONN_BRANDHOUND_ES=json.dumps({
                   "conn_type": "elasticsearch", "host": host_port.split(":")[0], "port": int(host_port.split(":")[1]),
                   "schema": settings.es.url.split("://")[0], "extra": {"index_prefix": settings.es.index_prefix}}))
    if home is not None:
        env["BRANDHOUND_HOME"] = str(home)
    env.pop("BRANDHOUND_ES_URL", None)
    # Deployed DAGs run unpaused; a paused DAG is not queued by its Assets' events.
    env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] = "False"
    return env


def _run(env, tmp_path, dag_id, conf, script_text=RUN_DAG):
    script = tmp_path / "run_dag.py"
    script.write_text(script_text)
    proc = subprocess.run([sys.executable, str(script), dag_id, json.dumps(conf), str(DAGS_FOLDER)],
                          env=env, capture_output=True, text=True, timeout=900)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("DAG-RESULT ")]
    assert proc.returncode == 0 and lines, (proc.stdout + proc.stderr)[-6000:]
    result = json.loads(lines[-1].removeprefix("DAG-RESULT "))
    assert result["state"] == "success", (result, (proc.stdout + proc.stderr)[-6000:])
    return result


def _xcom(result, task):
    out = result["xcom"][f"{task}[-1]"]
    return json.loads(out) if isinstance(out, str) else out


def test_the_ct_discovery_dag_indexes_the_lookalikes_and_hands_them_to_the_surface_crawl(settings, es, ct_logs,
                                                                                        tmp_path_factory, tmp_path):
    from airflow.dag_processing.dagbag import DagBag

    state, truth = ct_logs
    env = _airflow(settings, tmp_path_factory, tmp_path)
    conf = {"log_list": state["log_list"], "since": "start", "crawl": False, "brands": str(ROOT / "examples" / "brands")}
    result = _run(env, tmp_path, "brandhound_discover", conf)
    out = _xcom(result, "discover_ct")
    expected = {f"https://{d}/" for d in truth["lookalikes"]}
    assert set(out["seeds"]) == expected and out["flagged"] == len(expected)
    assert result["tasks"]["publish_seeds[-1]"] == "skipped"  # crawl=False: the short-circuit held it back
    es.indices.refresh(index=f"{settings.es.index_prefix}-findings")
    assert es.count(index=f"{settings.es.index_prefix}-findings")["count"] == len(expected)
    os.environ.setdefault("AIRFLOW_HOME", env["AIRFLOW_HOME"])
    dag = DagBag(dag_folder=str(DAGS_FOLDER / "discover.py")).dags["brandhound_discover"]
    assert {a.uri for t in dag.tasks for a in t.outlets} >= {"brandhound://discovery/domains"}


def test_a_new_lookalike_certificate_ends_as_a_captured_site_with_a_screenshot_and_a_finding(
        settings, es, tmp_path_factory, tmp_path):
    from sandbox.ct import daemon as ct_daemon
    from sandbox.web import daemon as web_daemon

    home = tmp_path_factory.mktemp("chain-home")
    web = web_daemon.up(home, port=free_port(), listings_per_marketplace=40)  # its CA issues the CT certificates too
    try:
        ct = ct_daemon.up(home, port=free_port(), benign=500, published=0)
        truth = json.loads(Path(ct["ground_truth"]).read_text())
        last = max(c["index"] for c in truth["certificates"] if c["label"] == "lookalike")
        newcomer = truth["certificates"][last]["domain"]
        publish = f"http://127.0.0.1:{ct['port']}/_sandbox/publish?size="
        urllib.request.urlopen(urllib.request.Request(publish + str(last), method="POST"))
        env = _airflow(settings, tmp_path_factory, tmp_path, home)
        conf = {"log_list": ct["log_list"], "since": "start", "crawl": False,
                "brands": str(ROOT / "examples" / "brands")}
        before = _xcom(_run(env, tmp_path, "brandhound_discover", conf), "discover_ct")
        assert before["seeds"] and f"https://{newcomer}/" not in before["seeds"]
        assert set(before["seeds"]) <= {f"https://{d}/" for d in truth["lookalikes"]}
        # The squatter's certificate is logged: the next run finds it, and only it.
        urllib.request.urlopen(urllib.request.Request(publish + str(len(truth["certificates"])), method="POST"))
        discovered = _run(env, tmp_path, "brandhound_discover", conf | {"crawl": True})
        after = _xcom(discovered, "discover_ct")
        assert after["seeds"] == [f"https://{newcomer}/"]
        assert _xcom(discovered, "publish_seeds") == after["seeds"]
        # No seeds in the crawl's conf: they come from the Asset event of the discovery run.
        crawl = {"sandbox": True, "sandbox_port": web["port"], "listings": 40,
                 "scrapy_settings": {"DOWNLOAD_TIMEOUT": 8, "RETRY_TIMES": 1}}
        _run(env, tmp_path, "brandhound_crawl_surface", crawl, RUN_ON_ASSET)
    finally:
        ct_daemon.down(home)
        web_daemon.down(home)
    from brandhound.urls import unicode_host

    newcomer = unicode_host(newcomer)  # documents keep IDNs in Unicode
    prefix = settings.es.index_prefix
    es.indices.refresh(index=f"{prefix}-sites,{prefix}-findings,{prefix}-pages")
    sites = es.search(index=f"{prefix}-sites", size=50, query={"term": {"url.domain": newcomer}})["hits"]["hits"]
    captured = [h["_source"] for h in sites if h["_source"].get("page_id")]
    assert captured, [h["_source"]["url"] for h in sites]
    # The crawl's seeds were the Asset event's: without them the sandbox would have crawled all its look-alikes.
    crawled = {h["_source"]["url"]["domain"] for h in es.search(index=f"{prefix}-pages", size=500)["hits"]["hits"]}
    others = {unicode_host(d) for d in truth["lookalikes"]} - {newcomer}
    assert newcomer in crawled and not crawled & others, crawled
    pages = es.search(index=f"{prefix}-pages", size=50, query={"terms": {"_id": [s["page_id"] for s in captured]}})
    assert any((p["_source"].get("screenshot") or {}).get("hash", {}).get("sha256") for p in pages["hits"]["hits"])
    kinds = {h["_source"]["kind"] for h in es.search(index=f"{prefix}-findings", size=50,
                                                    query={"term": {"url.domain": newcomer}})["hits"]["hits"]}
    assert "lookalike_domain" in kinds and kinds & {"fake_store", "phishing"}, kinds
