"""Elasticsearch fixtures: the session's settings and node, and each test's own index prefix and client."""

# Integration tests run against a real node the session starts itself (the local integ-test
# distribution on port 9250, with its own data directory, so tests never touch the node
# ``brandhound es up`` runs). BRANDHOUND_TEST_ES_URL points them at a running cluster instead;
# tests that must stop and restart the node then fail, saying why.

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from brandhound import cluster
from brandhound.config import Settings, load_settings
from brandhound.localnode import LocalNode

TEST_ES_PORT = 9250


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    env = dict(os.environ)
    external = env.get("BRANDHOUND_TEST_ES_URL")
    env["BRANDHOUND_ES_URL"] = external or f"http://127.0.0.1:{TEST_ES_PORT}"
    env.setdefault("BRANDHOUND_ES_PORT", str(TEST_ES_PORT))
    env["BRANDHOUND_ES_TRANSPORT_PORT"] = str(TEST_ES_PORT + 100)
    env.setdefault("BRANDHOUND_ES_HEAP", "768m")
    return load_settings(env)


@pytest.fixture(scope="session")
def es_node(base_settings: Settings) -> LocalNode | None:
    """The test session's own node; None when an external cluster is used."""
    if os.environ.get("BRANDHOUND_TEST_ES_URL"):
        yield None
        return
    node = LocalNode(base_settings.local_node, base_settings.home, base_settings.home / "test-node")
    node.start(deadline_s=300)
    cluster.wait_for_health(cluster.make_client(base_settings.es), 300)
    yield node
    node.stop()


@pytest.fixture
def settings(base_settings: Settings, es_node: LocalNode | None, tmp_path: Path) -> Settings:
    """Settings with an index prefix and a spool of this test's own; its indices are deleted afterwards."""
    prefix = f"bh-test-{uuid.uuid4().hex[:10]}"
    s = replace(base_settings, es=replace(base_settings.es, index_prefix=prefix), spool_dir=tmp_path / "spool")
    yield s
    client = cluster.make_client(s.es)
    try:
        cluster.wait_for_health(client, 120)
        cluster.delete_indices(client, prefix)
    finally:
        client.close()


@pytest.fixture
def es(settings: Settings):
    client = cluster.make_client(settings.es)
    yield client
    client.close()
