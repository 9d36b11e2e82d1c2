"""Talking to an Elasticsearch cluster: the client, what the cluster can do, and our indices.

Works the same on the local integ-test node and on any other cluster. The
integ-test distribution has only core modules, so optional features (ILM,
ingest pipelines) are detected from the modules the nodes report and used
only when present.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import elasticsearch
from elasticsearch import Elasticsearch

from brandhound.config import EsSettings
from brandhound.items import INDEXED_TYPES
from brandhound.mapping import index_mapping, index_name

log = logging.getLogger(__name__)

#: Retention of crawl documents when the cluster has ILM; without it the
#: maintenance job deletes by query.
ILM_POLICY = {
    "phases": {
        "hot": {"actions": {"rollover": {"max_primary_shard_size": "30gb"}}},
    }
}


class ClusterError(RuntimeError):
    """Elasticsearch is unreachable or refused an operation; the message says which."""


def make_client(settings: EsSettings, **overrides: Any) -> Elasticsearch:
    """A client for ``settings``. Retries are left to the callers that know what is safe to retry."""
    kwargs: dict[str, Any] = {
        "request_timeout": settings.request_timeout,
        "max_retries": 0,
        "retry_on_timeout": False,
    }
    if settings.api_key:
        kwargs["api_key"] = settings.api_key
    elif settings.username:
        kwargs["basic_auth"] = (settings.username, settings.password)
    if settings.ca_certs:
        kwargs["ca_certs"] = str(settings.ca_certs)
    kwargs.update(overrides)
    return Elasticsearch(settings.url, **kwargs)


@dataclass(frozen=True)
class ClusterInfo:
    cluster_name: str
    status: str
    versions: tuple[str, ...]
    jvm: tuple[str, ...]
    modules: frozenset[str]

    @property
    def has_ilm(self) -> bool:
        return "x-pack-ilm" in self.modules

    @property
    def has_ingest(self) -> bool:
        # Core Elasticsearch can run pipelines but has no processors without
        # ingest-common, so a pipeline is only useful with that module.
        return "ingest-common" in self.modules

    @property
    def major(self) -> int:
        return int(self.versions[0].split(".")[0])


def cluster_info(client: Elasticsearch) -> ClusterInfo:
    """Health, versions, JVMs and modules. Uses ``_nodes``: the integ-test node has no ``GET /``."""
    try:
        health = client.cluster.health()
        nodes = client.nodes.info(metric="jvm,plugins")
    except elasticsearch.ApiError as exc:
        raise ClusterError(f"Elasticsearch refused the status request: {exc}") from exc
    except elasticsearch.TransportError as exc:
        raise ClusterError(f"cannot reach Elasticsearch: {exc}") from exc
    versions: set[str] = set()
    jvms: set[str] = set()
    modules: set[str] = set()
    for node in nodes["nodes"].values():
        versions.add(node["version"])
        jvm = node.get("jvm", {})
        jvms.add(f"{jvm.get('vm_vendor', '?')} {jvm.get('version', '?')}")
        modules.update(m["name"] for m in node.get("modules", []))
    return ClusterInfo(
        cluster_name=health["cluster_name"],
        status=health["status"],
        versions=tuple(sorted(versions)),
        jvm=tuple(sorted(jvms)),
        modules=frozenset(modules),
    )


def check_client_compatible(info: ClusterInfo) -> None:
    client_major = elasticsearch.__versionstr__.split(".")[0]
    if str(info.major) != client_major:
        raise ClusterError(
            f"the Python client is elasticsearch {elasticsearch.__versionstr__} but the cluster runs "
            f"{info.versions[0]}; their major versions must match"
        )


def wait_for_health(client: Elasticsearch, deadline_s: float, status: str = "yellow") -> str:
    """Poll until the cluster answers with at least ``status``; raise after ``deadline_s``."""
    end = time.monotonic() + deadline_s
    last: Exception | None = None
    while time.monotonic() < end:
        try:
            health = client.cluster.health(wait_for_status=status, timeout="1s")
            if not health["timed_out"]:
                return health["status"]
        except (elasticsearch.TransportError, elasticsearch.ApiError) as exc:
            last = exc
        time.sleep(0.5)
    raise ClusterError(f"Elasticsearch not {status} within {deadline_s:.0f}s (last error: {last})")


def index_template(prefix: str, item_type: type, info: ClusterInfo) -> dict[str, Any]:
    # One replica where there is a second node to hold it, none on a single
    # node (whose health then stays green).
    settings: dict[str, Any] = {"number_of_shards": 1, "auto_expand_replicas": "0-1"}
    if info.has_ilm:
        settings["index.lifecycle.name"] = f"{prefix}-crawl"
    return {
        "index_patterns": [index_name(prefix, item_type)],
        "priority": 200,
        "template": {"settings": settings, "mappings": index_mapping(item_type)},
        "_meta": {"managed_by": "brandhound", "kind": item_type.__name__},
    }


#: What ``init_indices`` needs to create and update templates and indices (the admin role).
MANAGE_CLUSTER_PRIVILEGES = ("manage_index_templates",)
MANAGE_INDEX_PRIVILEGES = ("create_index", "manage")


def can_manage_indices(client: Elasticsearch, prefix: str) -> bool:
    """Whether these credentials may create templates and indices; True on a cluster without security."""
    try:
        response = client.security.has_privileges(
            cluster=list(MANAGE_CLUSTER_PRIVILEGES),
            index=[{"names": [f"{prefix}-*"], "privileges": list(MANAGE_INDEX_PRIVILEGES)}],
        )
    except elasticsearch.AuthenticationException as exc:
        raise ClusterError(f"Elasticsearch refused the credentials (HTTP {exc.meta.status}): "
                           "check BRANDHOUND_ES_API_KEY or BRANDHOUND_ES_USERNAME/PASSWORD") from exc
    except elasticsearch.ApiError:
        return True  # no security on this cluster: the endpoint does not exist
    return bool(response["has_all_requested"])


def check_indices(client: Elasticsearch, prefix: str) -> list[str]:
    """The indices these credentials may see, once each is known to exist: for credentials that
    write documents but do not manage indices (the crawler role). Indices outside their role are
    not their business and are skipped."""
    names = []
    for item_type in INDEXED_TYPES:
        name = index_name(prefix, item_type)
        try:
            exists = client.indices.exists(index=name)
        except elasticsearch.AuthorizationException:
            continue
        if not exists:
            raise ClusterError(
                f"index {name} does not exist, and these credentials may not create it: "
                "run `brandhound es init` with admin rights (the admin role, see docs/security.md)"
            )
        names.append(name)
    if not names:
        raise ClusterError(f"these credentials may see none of the {prefix}-* indices: "
                           "check BRANDHOUND_ES_INDEX_PREFIX and the role they were given (docs/security.md)")
    return names


def init_indices(client: Elasticsearch, prefix: str) -> list[str]:
    """Create (or update) the index templates and the indices. Idempotent; returns the index names.

    Credentials without index-management rights (a crawler's API key) only check that the
    indices exist: ``brandhound es init`` made them, with admin rights.
    """
    info = cluster_info(client)
    check_client_compatible(info)
    if not can_manage_indices(client, prefix):
        names = check_indices(client, prefix)
        log.info("these credentials do not manage indices: using the existing %s-* indices", prefix)
        client.cluster.health(index=",".join(names), wait_for_status="yellow", timeout="30s")
        return names
    if info.has_ilm:
        client.ilm.put_lifecycle(name=f"{prefix}-crawl", policy=ILM_POLICY)
    else:
        log.info("ILM is not available on this cluster: skipping the lifecycle policy")
    names = []
    for item_type in INDEXED_TYPES:
        name = index_name(prefix, item_type)
        client.indices.put_index_template(name=name, **index_template(prefix, item_type, info))
        if client.indices.exists(index=name):
            # Adding fields to an existing index is allowed; changing one is
            # a conflict that must be reported, not papered over.
            try:
                client.indices.put_mapping(index=name, **index_mapping(item_type))
            except elasticsearch.BadRequestError as exc:
                raise ClusterError(
                    f"index {name} has a mapping that conflicts with this version of brandhound: {exc}. "
                    "Reindex it or run `brandhound es reset`."
                ) from exc
        else:
            try:
                client.indices.create(index=name)
            except elasticsearch.BadRequestError as exc:
                # Several crawl workers starting together: another one created it a moment ago.
                if exc.error != "resource_already_exists_exception":
                    raise
        names.append(name)
    client.cluster.health(index=",".join(names), wait_for_status="yellow", timeout="30s")
    return names


def delete_indices(client: Elasticsearch, prefix: str) -> None:
    """Delete our indices and templates (``brandhound es reset``)."""
    for item_type in INDEXED_TYPES:
        name = index_name(prefix, item_type)
        client.indices.delete(index=name, ignore_unavailable=True)
        try:
            client.indices.delete_index_template(name=name)
        except elasticsearch.NotFoundError:
            pass


def index_counts(client: Elasticsearch, prefix: str) -> dict[str, int | None]:
    """Documents per index; ``None`` for an index that does not exist."""
    counts: dict[str, int | None] = {}
    for item_type in INDEXED_TYPES:
        name = index_name(prefix, item_type)
        try:
            counts[name] = client.count(index=name)["count"]
        except elasticsearch.NotFoundError:
            counts[name] = None
        except elasticsearch.AuthorizationException as exc:
            raise ClusterError(f"these credentials may not read {name}: counting documents needs the "
                               "admin or analyst role (docs/security.md)") from exc
    return counts
