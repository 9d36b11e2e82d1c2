"""Crawls of the sandbox web into Elasticsearch, and reading back what they indexed; shared by the crawl tests."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from brandhound import cluster
from tests.support.paths import EXAMPLE_BRAND

#: Short enough for a test run, long enough that only the never-finishing page times out.
FAST = ["--set", "DOWNLOAD_TIMEOUT=8", "--set", "RETRY_TIMES=2"]


def crawl_env(settings, home: Path) -> dict[str, str]:
    """The environment of a crawl subprocess writing into the test's own indices and spool."""
    env = dict(os.environ)
    url_port = urlsplit(settings.es.url).port or 9200
    env.update({
        "BRANDHOUND_HOME": str(home),
        "BRANDHOUND_ES_URL": settings.es.url,
        # Never the URL's port: the test session owns the node, and a crawl that took the cluster
        # for its local node would try to start one in its own home.
        "BRANDHOUND_ES_PORT": str(url_port + 1),
        "BRANDHOUND_ES_INDEX_PREFIX": settings.es.index_prefix,
        "BRANDHOUND_SPOOL_DIR": str(settings.spool_dir),
    })
    return env


def crawl_command(sandbox_web, spider: str, *extra: str) -> list[str]:
    """``brandhound crawl`` of the running sandbox web (the ``sandbox_web`` fixture)."""
    return [sys.executable, "-m", "brandhound.commands", "crawl", "--brand", str(EXAMPLE_BRAND), "--spider", spider,
            "--sandbox", "--sandbox-port", str(sandbox_web[1]["port"]), *FAST, *extra]


def crawl(settings, sandbox_web, spider: str, *extra: str) -> tuple[dict, str]:
    env = crawl_env(settings, sandbox_web[0])
    proc = subprocess.run(crawl_command(sandbox_web, spider, *extra), capture_output=True, text=True, env=env,
                          timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    return summary, log


def _all(es, settings, kind: str) -> list[dict]:
    index = f"{settings.es.index_prefix}-{kind}"
    es.indices.refresh(index=index)
    return [h["_source"] for h in es.search(index=index, size=10_000, query={"match_all": {}})["hits"]["hits"]]


def truth(sandbox_web) -> dict:
    return json.loads(Path(sandbox_web[1]["ground_truth"]).read_text())


def docs(es, settings, kind: str) -> dict[str, dict]:
    index = f"{settings.es.index_prefix}-{kind}"
    es.indices.refresh(index=index)
    hits = es.search(index=index, size=10_000, query={"match_all": {}})["hits"]["hits"]
    return {h["_source"]["url"]["full"]: h["_source"] for h in hits}


def field_values(es, settings, kind: str, field: str) -> list:
    """The value of a dotted ``field`` in every document of the test's ``kind`` index."""
    index = f"{settings.es.index_prefix}-{kind}"
    es.indices.refresh(index=index)
    hits = es.search(index=index, size=10_000, query={"match_all": {}}, source=[field])["hits"]["hits"]
    out = []
    for hit in hits:
        value = hit["_source"]
        for part in field.split("."):
            value = value[part]
        out.append(value)
    return out


def evidence_ok(home: Path, file: dict) -> bool:
    path = home / "evidence" / file["path"]
    return path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == file["hash"]["sha256"]


def _crawl_into_own_indices(base_settings, sandbox_web, tmp_path_factory, prefix: str, spider: str, *more: str):
    """One crawl (or several spiders' in turn) into indices of its own, shared by a module's tests;
    the indices go afterwards. Yields the settings, a client, and the last crawl's summary and log."""
    settings = replace(base_settings, es=replace(base_settings.es, index_prefix=prefix),
                       spool_dir=tmp_path_factory.mktemp("spool"))
    client = cluster.make_client(settings.es)
    cluster.delete_indices(client, settings.es.index_prefix)
    for name in (spider, *more):
        summary, log = crawl(settings, sandbox_web, name)
    yield settings, client, summary, log
    cluster.delete_indices(client, settings.es.index_prefix)
    client.close()
