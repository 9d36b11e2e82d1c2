"""Maintenance jobs: index housekeeping, spool replay, Tor health. No sandbox, no crawl."""

from __future__ import annotations

from typing import Any

from brandhound import cluster
from brandhound.config import Settings
from brandhound.store import open_store


def housekeep_indices(settings: Settings) -> dict[str, Any]:
    """Create or update templates and indices (idempotent), then report health and documents per index."""
    client = cluster.make_client(settings.es)
    try:
        cluster.wait_for_health(client, 60)
        ready = cluster.init_indices(client, settings.es.index_prefix)
        info = cluster.cluster_info(client)
        counts = cluster.index_counts(client, settings.es.index_prefix)
    finally:
        client.close()
    return {"health": info.status, "indices": len(ready), "documents": counts}


def replay_spool(settings: Settings) -> dict[str, Any]:
    """Send what waits in the spool (documents written while Elasticsearch was away)."""
    store = open_store(settings)
    try:
        complete = store.replay()
    finally:
        store.close()
    return {"replayed": store.stats.replayed, "complete": bool(complete)}


def tor_health(control: str, cookie: str | None = None, password: str | None = None) -> dict[str, Any]:
    """Bootstrap, circuits and NEWNYM state of the Tor client at ``control`` ("HOST:PORT")."""
    from crawlers.tor.manager import TorError, TorManager

    host, _, port = control.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"Tor control {control!r}: expected HOST:PORT")
    try:
        manager = TorManager.attach(int(port), host, password=password, cookie_path=cookie)
    except TorError as exc:
        return {"control": control, "reachable": False, "error": str(exc)}
    try:
        return manager.health()
    finally:
        manager.close()
