"""``brandhound es ...``: the Elasticsearch cluster, the local node, roles and API keys."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import TYPE_CHECKING, Any, Callable

from brandhound.commands.output import out

if TYPE_CHECKING:
    import elasticsearch

    from brandhound.config import Settings
    from brandhound.localnode import LocalNode

log = logging.getLogger("brandhound")

COMMANDS = {"es": "the Elasticsearch cluster and the local node"}


def _local_node_or_refuse(settings: Settings) -> LocalNode:
    from brandhound.config import ConfigError
    from brandhound.localnode import LocalNode

    if not settings.es_is_local_node:
        raise ConfigError(
            f"BRANDHOUND_ES_URL is {settings.es.url}, not the local node at 127.0.0.1:{settings.local_node.port}; "
            "`brandhound es up/down` manage only the local node"
        )
    return LocalNode.from_settings(settings)


def ensure_cluster(settings: Settings, deadline_s: float) -> elasticsearch.Elasticsearch:
    """Start the local node when it is the configured cluster; wait for health either way."""
    from brandhound import cluster
    from brandhound.localnode import LocalNode

    if settings.es_is_local_node:
        node = LocalNode.from_settings(settings)
        status = node.start(deadline_s=deadline_s)
        log.info("local Elasticsearch running, pid %s", status.pid)
    client = cluster.make_client(settings.es)
    cluster.wait_for_health(client, deadline_s)
    return client


def cmd_es_up(args: argparse.Namespace, settings: Settings) -> int:
    from brandhound import cluster

    _local_node_or_refuse(settings)
    client = ensure_cluster(settings, args.deadline)
    cluster.init_indices(client, settings.es.index_prefix)
    return print_status(settings, client, as_json=False)


def cmd_es_down(args: argparse.Namespace, settings: Settings) -> int:
    node = _local_node_or_refuse(settings)
    out("stopped Elasticsearch" if node.stop(args.deadline) else "Elasticsearch was not running")
    return 0


def cmd_es_status(args: argparse.Namespace, settings: Settings) -> int:
    from brandhound import cluster

    return print_status(settings, cluster.make_client(settings.es), as_json=args.json)


def cmd_es_init(args: argparse.Namespace, settings: Settings) -> int:
    from brandhound import cluster

    client = cluster.make_client(settings.es)
    for name in cluster.init_indices(client, settings.es.index_prefix):
        out(f"ready: {name}")
    return 0


def cmd_es_reset(args: argparse.Namespace, settings: Settings) -> int:
    from brandhound import cluster

    if not args.yes:
        out(f"This deletes every {settings.es.index_prefix}-* index at {settings.es.url}. Run again with --yes.")
        return 2
    client = cluster.make_client(settings.es)
    cluster.delete_indices(client, settings.es.index_prefix)
    for name in cluster.init_indices(client, settings.es.index_prefix):
        out(f"recreated: {name}")
    return 0


def print_status(settings: Settings, client: elasticsearch.Elasticsearch, as_json: bool) -> int:
    """Health, versions, optional features and document counts; 0 when green or yellow."""
    import elasticsearch

    from brandhound import cluster

    try:
        info = cluster.cluster_info(client)
    except cluster.ClusterError as exc:
        if as_json:
            out(json.dumps({"url": settings.es.url, "reachable": False, "error": str(exc)}))
        else:
            out(f"Elasticsearch at {settings.es.url}: unreachable ({exc})")
        return 1
    counts = cluster.index_counts(client, settings.es.index_prefix)
    report: dict[str, Any] = {
        "url": settings.es.url,
        "reachable": True,
        "cluster": info.cluster_name,
        "health": info.status,
        "version": ", ".join(info.versions),
        "jvm": ", ".join(info.jvm),
        "client": elasticsearch.__versionstr__,
        "features": {"ilm": info.has_ilm, "ingest_pipelines": info.has_ingest},
        "indices": counts,
    }
    if as_json:
        out(json.dumps(report))
    else:
        out(f"Elasticsearch {report['version']} at {settings.es.url}: cluster {info.cluster_name!r}, health {info.status}")
        out(f"  JVM: {report['jvm']}; Python client {report['client']}")
        out("  optional features: " + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in report["features"].items()))
        for name, count in counts.items():
            out(f"  {name}: {'missing' if count is None else f'{count} documents'}")
    return 0 if info.status in {"green", "yellow"} else 1


def cmd_roles(args: argparse.Namespace, settings: Settings) -> int:
    from brandhound import cluster, es_roles

    prefix = settings.es.index_prefix
    if not args.apply:
        print(es_roles.roles_yaml(prefix), end="", flush=True)
        return 0
    client = cluster.make_client(settings.es)
    try:
        for name in es_roles.apply_roles(client, prefix):
            out(f"role ready: {name}")
    finally:
        client.close()
    return 0


def cmd_api_key(args: argparse.Namespace, settings: Settings) -> int:
    """An API key with one role's privileges, printed once to standard output only. Runs with the
    credentials of the environment of a user allowed to manage security; no option takes a secret."""
    from brandhound import cluster, es_roles

    client = cluster.make_client(settings.es)
    try:
        encoded = es_roles.create_api_key(client, settings.es.index_prefix, args.role, args.name, args.expiration)
    finally:
        client.close()
    print(f"API key {args.name!r} with the {args.role} role created; it is shown only now. "
          "Store it in a file read by BRANDHOUND_ES_API_KEY_FILE:", file=sys.stderr)
    out(encoded)
    return 0


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    from brandhound.es_roles import ROLES

    es = sub.add_parser("es", help=COMMANDS["es"]).add_subparsers(dest="es_command", required=True)
    up = add(es, "up", cmd_es_up, "fetch, start and prepare the local single-node Elasticsearch")
    up.add_argument("--deadline", type=float, default=240, help="seconds to wait for health (default 240)")
    down = add(es, "down", cmd_es_down, "stop the local node cleanly")
    down.add_argument("--deadline", type=float, default=60, help="seconds before a stuck node is killed")
    status = add(es, "status", cmd_es_status, "health, version, optional features and document counts")
    status.add_argument("--json", action="store_true", help="one JSON object instead of text")
    add(es, "init", cmd_es_init, "create or update the index templates and indices")
    reset = add(es, "reset", cmd_es_reset, "delete and recreate brandhound's indices (all documents are lost)")
    reset.add_argument("--yes", action="store_true", help="really delete")
    roles = add(es, "roles", cmd_roles, "print brandhound's least-privilege roles (roles.yml form), or --apply them to the cluster")
    roles.add_argument("--apply", action="store_true", help="create or update the roles (needs manage_security)")
    key = add(es, "api-key", cmd_api_key, "create an API key with one role's privileges; printed once, to stdout")
    key.add_argument("--role", required=True, choices=list(ROLES), help="whose privileges the key gets")
    key.add_argument("--name", required=True, help="the key's name: who or what uses it")
    key.add_argument("--expiration", metavar="DURATION", help="lifetime, e.g. 30d or 12h (default: never expires)")
