"""The brandhound command as a user runs it."""

import json
import os
import subprocess
import sys

from brandhound import cluster
from tests.support.paths import EXAMPLE_BRAND


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
    return subprocess.run([sys.executable, "-m", "brandhound.commands", *args], capture_output=True, text=True, env=env, timeout=300)


def test_run_prepares_indices_and_reports_status(settings, es):
    proc = _run(settings, "run", "--no-crawl", "--brand", str(EXAMPLE_BRAND))
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


def test_extract_listing_prints_the_listing_as_json(settings, tmp_path):
    page = tmp_path / "listing.html"
    page.write_bytes("""<html><head><script type="application/ld+json">
      {"@type": "Product", "name": "Kestreva Aalto cup réplica", "sku": "X-1", "brand": "Kestreva",
       "image": "/i/1.jpg", "offers": {"price": 9.5, "priceCurrency": "EUR", "seller": {"name": "cheap_shop"}}}
      </script></head><body><h1>Kestreva Aalto cup réplica</h1></body></html>""".encode())
    proc = _run(settings, "extract-listing", str(page), "--url", "https://www.bazaarhub.com/item/1")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert (got["title"], got["price"], got["currency"], got["brand"], got["sku"], got["seller"]) == (
        "Kestreva Aalto cup réplica", 9.5, "EUR", "Kestreva", "X-1", "cheap_shop")
    assert got["images"] == ["https://www.bazaarhub.com/i/1.jpg"]
    empty = tmp_path / "empty.html"
    empty.write_text("<html><body>nothing here</body></html>")
    assert _run(settings, "extract-listing", str(empty), "--url", "https://x.example/").returncode == 1
