"""The brandhound command as a user runs it."""

import json
import os
import subprocess
import sys

from brandhound import cluster
from tests.conftest import EXAMPLE_BRAND


def _run(settings, *args, extra_env=None):
    # The test node is not the local default node (port 9200), so the CLI treats
    # it as any other cluster: it waits for it but never starts or stops it.
    env = dict(os.environ)
    env.update({
        "BRANDHOUND_ES_URL": settings.es.url,
        "BRANDHOUND_ES_INDEX_PREFIX": settings.es.index_prefix,
        "BRANDHOUND_SPOOL_DIR": str(settings.spool_dir),
    })
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "-m", "brandhound.cli", *args], capture_output=True, text=True, env=env, timeout=300)


def test_run_prepares_indices_and_reports_status(settings, es):
    proc = _run(settings, "run", "--brand", str(EXAMPLE_BRAND))
    assert proc.returncode == 0, proc.stderr
    assert "brand 'Kestrava' (kestrava): 5 products" in proc.stdout
    assert f"{settings.es.index_prefix}-listings: 0 documents" in proc.stdout
    assert cluster.index_counts(es, settings.es.index_prefix)[f"{settings.es.index_prefix}-findings"] == 0


def test_status_json_reports_a_healthy_cluster_with_matching_client(settings, es):
    cluster.init_indices(es, settings.es.index_prefix)
    proc = _run(settings, "es", "status", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["health"] in {"green", "yellow"}
    assert report["version"].split(".")[0] == report["client"].split(".")[0] == "8"
    assert report["features"] == {"ilm": False, "ingest_pipelines": False}
    assert report["indices"][f"{settings.es.index_prefix}-pages"] == 0


def test_status_of_an_unreachable_cluster_fails_with_a_message(settings):
    proc = _run(settings, "es", "status", extra_env={"BRANDHOUND_ES_URL": "http://127.0.0.1:9"})
    assert proc.returncode == 1
    assert "unreachable" in proc.stdout


def test_es_up_refuses_to_manage_a_remote_cluster(settings):
    proc = _run(settings, "es", "up", extra_env={"BRANDHOUND_ES_URL": "https://es.internal.example:9243"})
    assert proc.returncode == 1
    assert "manage only the local node" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_reset_needs_confirmation(settings, es):
    cluster.init_indices(es, settings.es.index_prefix)
    proc = _run(settings, "es", "reset")
    assert proc.returncode == 2 and "--yes" in proc.stdout
    assert cluster.index_counts(es, settings.es.index_prefix)[f"{settings.es.index_prefix}-pages"] == 0
    proc = _run(settings, "es", "reset", "--yes")
    assert proc.returncode == 0 and "recreated" in proc.stdout


def test_bad_profile_is_reported_without_traceback(settings, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: Not A Slug\nname: X\n")
    proc = _run(settings, "profile", "check", str(bad), str(EXAMPLE_BRAND))
    assert proc.returncode == 1
    assert f"{bad}: id: String should match pattern" in proc.stderr
    assert f"{EXAMPLE_BRAND}: OK" in proc.stdout
    assert "Traceback" not in proc.stderr
