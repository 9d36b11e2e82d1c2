"""The Elasticsearch roles of brandhound's components, least privilege each, and API keys for them.

Every privilege below is there because a component makes the call it covers:

- ``admin`` (``brandhound es init/reset/status``): index templates (``manage_index_templates``),
  ILM policies where the cluster has ILM, creating, changing the mapping of and deleting the
  indices, counting their documents; cluster health and node info (``monitor``).
- ``crawler`` (``brandhound crawl``, the Airflow crawl and detection jobs): bulk-indexes pages,
  listings, sites, leaks and findings (``index``: documents are overwritten by id, never created
  blindly); checks at start that the indices exist (``view_index_metadata``); reads leaks to merge
  a new sighting with the indexed one, and deletes a leak document superseded by its re-hash under
  a rotated key (``read``, ``delete`` on leaks only); the detection job reads findings and their
  listings and sites to group campaigns (``read``). Discovery (``brandhound discover``, the Airflow
  discover DAGs) also reads and conditionally writes its CT cursors (``read``, ``index`` on
  ct-cursors only: claims are ``if_seq_no`` writes, never deletes). No index management: a missing
  index is an error telling to run ``brandhound es init`` as admin.
- ``analyst`` (Kibana, ``brandhound report``): reads every index, nothing else.
- ``legal`` (``brandhound takedown``, ``brandhound findings``): reads findings and the documents and
  pages behind them, writes takedown notices and the triage status of findings.

Roles are named ``<prefix>_<role>`` (``brandhound_crawler`` with the default prefix) and cover only
``<prefix>-*`` indices, so two deployments sharing a cluster with different prefixes stay apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import elasticsearch
import yaml
from elasticsearch import Elasticsearch

from brandhound.cluster import ClusterError
from brandhound.items import CtCursor, Finding, Leak, Listing, Page, Site, Takedown

ALL = "*"
#: Item indices each grant covers; ``ALL`` is every ``<prefix>-*`` index.
CRAWLED = tuple(t.INDEX for t in (Page, Listing, Site, Leak, Finding))
CASE_DOCUMENTS = tuple(t.INDEX for t in (Page, Listing, Site, Leak))


@dataclass(frozen=True)
class IndexGrant:
    """Privileges on some of brandhound's indices."""

    indices: tuple[str, ...]
    privileges: tuple[str, ...]

    def descriptor(self, prefix: str) -> dict[str, Any]:
        return {"names": [f"{prefix}-{name}" for name in self.indices], "privileges": list(self.privileges)}


@dataclass(frozen=True)
class Role:
    """One component's role: what it is for, its cluster privileges and its index grants."""

    name: str
    purpose: str
    cluster: tuple[str, ...]
    indices: tuple[IndexGrant, ...]

    def es_name(self, prefix: str) -> str:
        return f"{prefix}_{self.name}"

    def descriptor(self, prefix: str) -> dict[str, Any]:
        """The role descriptor, for ``PUT _security/role`` and for an API key's ``role_descriptors``."""
        return {
            "cluster": list(self.cluster),
            "indices": [grant.descriptor(prefix) for grant in self.indices],
            "metadata": {"managed_by": "brandhound", "purpose": self.purpose},
        }


ROLES: dict[str, Role] = {role.name: role for role in (
    Role("admin", "creates and updates index templates and indices (brandhound es init/reset/status)",
         cluster=("monitor", "manage_index_templates", "manage_ilm"),
         indices=(IndexGrant((ALL,), ("create_index", "manage", "delete_index", "read")),)),
    Role("crawler", "indexes crawled and discovered documents, merges leak sightings, groups campaigns, "
                    "keeps discovery's CT cursors (brandhound crawl, brandhound discover)",
         cluster=("monitor",),
         indices=(IndexGrant(CRAWLED, ("index", "view_index_metadata")),
                  IndexGrant((Leak.INDEX,), ("read", "delete")),
                  IndexGrant(tuple(t.INDEX for t in (Finding, Listing, Site)), ("read",)),
                  IndexGrant((CtCursor.INDEX,), ("read", "index", "view_index_metadata")))),
    Role("analyst", "reads everything, changes nothing (Kibana, brandhound report)",
         cluster=("monitor",),
         indices=(IndexGrant((ALL,), ("read", "view_index_metadata")),)),
    Role("legal", "reads findings and their evidence, writes takedown notices and triage (brandhound takedown)",
         cluster=("monitor",),
         indices=(IndexGrant(CASE_DOCUMENTS, ("read", "view_index_metadata")),
                  IndexGrant((Finding.INDEX, Takedown.INDEX), ("read", "view_index_metadata", "index")))),
)}

#: ``--expiration``: a number and a unit Elasticsearch accepts for API keys.
_EXPIRATION = re.compile(r"^[1-9][0-9]*(d|h|m|s)$")


def role(name: str) -> Role:
    try:
        return ROLES[name]
    except KeyError:
        raise ClusterError(f"unknown role {name!r}; one of {', '.join(ROLES)}") from None


def _refused(what: str, exc: elasticsearch.ApiError) -> ClusterError:
    if exc.meta.status in (401, 403):
        return ClusterError(
            f"Elasticsearch refused to {what} (HTTP {exc.meta.status}): this needs a user with the "
            "manage_security privilege (e.g. elastic), given by BRANDHOUND_ES_USERNAME and "
            "BRANDHOUND_ES_PASSWORD_FILE or BRANDHOUND_ES_API_KEY_FILE"
        )
    if "pattern_capture" in str(exc):
        return ClusterError(
            f"this cluster cannot {what}: its security index needs the analysis-common module, which the "
            "integ-test distribution lacks, so it stores neither roles nor API keys; on the local node use "
            "file-based roles and users instead (docs/security.md)"
        )
    return ClusterError(f"Elasticsearch refused to {what}: HTTP {exc.meta.status}: {exc.message}")


def roles_yaml(prefix: str) -> str:
    """Every role in ``roles.yml`` form, for clusters whose roles live in files (the local node).

    Elasticsearch reads that file role by role, each starting at the first column, so it must be
    block YAML, not JSON."""
    roles = {spec.es_name(prefix): spec.descriptor(prefix) for spec in ROLES.values()}
    return yaml.safe_dump(roles, default_flow_style=False, sort_keys=False)


def apply_roles(client: Elasticsearch, prefix: str) -> list[str]:
    """Create or update every role; returns their Elasticsearch names."""
    names = []
    for spec in ROLES.values():
        name = spec.es_name(prefix)
        try:
            client.security.put_role(name=name, **spec.descriptor(prefix))
        except elasticsearch.ApiError as exc:
            raise _refused(f"create role {name}", exc) from exc
        names.append(name)
    return names


def create_api_key(client: Elasticsearch, prefix: str, role_name: str, key_name: str,
                   expiration: str | None = None) -> str:
    """A new API key limited to ``role_name``'s privileges, encoded as ``BRANDHOUND_ES_API_KEY`` expects.

    The key is returned once and never logged: Elasticsearch keeps only its hash.
    """
    spec = role(role_name)
    if not key_name.strip():
        raise ClusterError("--name: an API key needs a name (who or what uses it)")
    if expiration is not None and not _EXPIRATION.match(expiration):
        raise ClusterError(f"--expiration {expiration!r}: expected a number and a unit d, h, m or s, e.g. 30d")
    try:
        response = client.security.create_api_key(
            name=key_name, expiration=expiration,
            role_descriptors={spec.es_name(prefix): spec.descriptor(prefix)},
            metadata={"managed_by": "brandhound", "role": spec.name, "index_prefix": prefix},
        )
    except elasticsearch.ApiError as exc:
        raise _refused(f"create API key {key_name!r}", exc) from exc
    return response["encoded"]
