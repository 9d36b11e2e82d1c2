"""The least-privilege roles, API keys made from them, and index checks for credentials that may not
manage indices."""

from types import SimpleNamespace

import elasticsearch
import pytest
import yaml

from brandhound import cluster, es_roles
from brandhound import commands as cli
from brandhound.es_roles import ROLES, create_api_key, roles_yaml
from brandhound.items import INDEXED_TYPES, ITEM_TYPES, CtCursor, Finding, Leak, Listing, Page, Site, Takedown

MANAGEMENT = {"all", "manage", "create_index", "delete_index", "create", "manage_ilm"}


def grants(role: str, prefix: str = "bh") -> dict[str, set[str]]:
    """Index name -> privileges, over every grant of the role."""
    out: dict[str, set[str]] = {}
    for grant in ROLES[role].descriptor(prefix)["indices"]:
        for name in grant["names"]:
            out.setdefault(name, set()).update(grant["privileges"])
    return out


def test_every_role_stays_within_its_prefix():
    for name, spec in ROLES.items():
        descriptor = spec.descriptor("acme")
        assert spec.es_name("acme") == f"acme_{name}"
        assert all(n.startswith("acme-") for g in descriptor["indices"] for n in g["names"])


def test_crawler_writes_what_the_crawl_writes_and_manages_nothing():
    crawler = grants("crawler")
    written = {f"bh-{t.INDEX}" for t in (Page, Listing, Site, Leak, Finding)}
    assert {n for n, p in crawler.items() if "index" in p} == written | {"bh-ct-cursors"}
    assert all("view_index_metadata" in crawler[n] for n in written)  # the existence check at start
    assert {"read", "delete"} <= crawler["bh-leaks"]  # merging sightings, retiring re-hashed leaks
    assert all(not (p & MANAGEMENT) for p in crawler.values())
    assert "bh-takedowns" not in crawler
    assert ROLES["crawler"].cluster == ("monitor",)


def test_discovery_reads_and_writes_its_cursors_and_nothing_more_there():
    # Claims are reads then if_seq_no writes; the index itself is es init's (admin's) business.
    assert grants("crawler")["bh-ct-cursors"] == {"read", "index", "view_index_metadata"}
    cursor_grants = [g for g in ROLES["crawler"].indices if CtCursor.INDEX in g.indices]
    assert [g.indices for g in cursor_grants] == [(CtCursor.INDEX,)]  # a grant of its own, on that index only
    assert "bh-ct-cursors" not in grants("legal")
    assert "bh-ct-cursors" in roles_yaml("bh")


def test_analyst_only_reads_and_legal_writes_only_notices_and_triage():
    assert grants("analyst") == {"bh-*": {"read", "view_index_metadata"}}
    legal = grants("legal")
    assert {n for n, p in legal.items() if "index" in p} == {"bh-findings", "bh-takedowns"}
    assert all("read" in p and not (p & MANAGEMENT) for p in legal.values())
    assert set(legal) == {f"bh-{t.INDEX}" for t in ITEM_TYPES}


def test_admin_manages_templates_and_indices():
    admin = ROLES["admin"]
    assert set(cluster.MANAGE_CLUSTER_PRIVILEGES) <= set(admin.cluster)
    assert set(cluster.MANAGE_INDEX_PRIVILEGES) <= grants("admin")["bh-*"]
    assert not {"manage_security", "all", "manage"} & set(admin.cluster)


def test_roles_yaml_is_block_yaml_of_the_descriptors():
    text = roles_yaml("bh")
    assert yaml.safe_load(text) == {spec.es_name("bh"): spec.descriptor("bh") for spec in ROLES.values()}
    # Elasticsearch splits roles.yml at lines starting in the first column: one per role.
    top = [line for line in text.splitlines() if line and not line[0].isspace()]
    assert top == [f"bh_{name}:" for name in ROLES]


class FakeSecurity:
    def __init__(self, error: Exception | None = None):
        self.error = error
        self.requests: list[dict] = []

    def create_api_key(self, **kwargs):
        self.requests.append(kwargs)
        if self.error:
            raise self.error
        return {"id": "kid", "api_key": "kvalue", "encoded": "a2lkOmt2YWx1ZQ=="}

    def put_role(self, **kwargs):
        self.requests.append(kwargs)
        if self.error:
            raise self.error


def api_error(status: int, message: str) -> elasticsearch.ApiError:
    return elasticsearch.ApiError(message, meta=SimpleNamespace(status=status), body={"error": message})


def test_an_api_key_gets_exactly_its_roles_privileges():
    client = SimpleNamespace(security=FakeSecurity())
    assert create_api_key(client, "bh", "crawler", "crawler-1", "30d") == "a2lkOmt2YWx1ZQ=="
    [request] = client.security.requests
    assert request["role_descriptors"] == {"bh_crawler": ROLES["crawler"].descriptor("bh")}
    assert (request["name"], request["expiration"], request["metadata"]["role"]) == ("crawler-1", "30d", "crawler")


@pytest.mark.parametrize(("args", "message"), [
    (("nobody", "k", None), "unknown role 'nobody'"),
    (("crawler", " ", None), "needs a name"),
    (("crawler", "k", "30 days"), "--expiration '30 days'"),
])
def test_bad_api_key_requests_say_what_is_wrong(args, message):
    client = SimpleNamespace(security=FakeSecurity())
    with pytest.raises(cluster.ClusterError, match=message):
        create_api_key(client, "bh", *args)
    assert client.security.requests == []


@pytest.mark.parametrize(("error", "message"), [
    (api_error(403, "security_exception"), "manage_security"),
    (api_error(400, "Unknown filter type [pattern_capture] for [email]"), "file-based roles"),
])
def test_refusals_explain_themselves(error, message):
    client = SimpleNamespace(security=FakeSecurity(error))
    with pytest.raises(cluster.ClusterError, match=message):
        es_roles.apply_roles(client, "bh")


def test_the_cli_prints_the_key_once_to_stdout_only(monkeypatch, capsys, tmp_path):
    client = SimpleNamespace(security=FakeSecurity(), close=lambda: None)
    monkeypatch.setattr(cluster, "make_client", lambda es: client)
    monkeypatch.setenv("BRANDHOUND_HOME", str(tmp_path))
    assert cli.main(["es", "api-key", "--role", "analyst", "--name", "kibana", "--expiration", "12h"]) == 0
    out = capsys.readouterr()
    assert out.out == "a2lkOmt2YWx1ZQ==\n"
    assert "a2lkOmt2YWx1ZQ" not in out.err and "analyst" in out.err


# --------------------------------------------------------------------------- init without index management


class FakeIndices:
    def __init__(self, existing: set[str], forbidden: set[str] = frozenset()):
        self.existing, self.forbidden = existing, forbidden
        self.created: list[str] = []

    def exists(self, index):
        if index in self.forbidden:
            raise elasticsearch.AuthorizationException("forbidden", meta=SimpleNamespace(status=403), body={})
        return index in self.existing

    def put_index_template(self, **kwargs):
        raise AssertionError("a crawler's credentials must not try to manage templates")

    create = put_mapping = put_index_template


def crawler_client(existing, forbidden=frozenset()):
    security = SimpleNamespace(has_privileges=lambda **kw: {"has_all_requested": False})
    health = SimpleNamespace(health=lambda **kw: {"status": "green", "timed_out": False})
    return SimpleNamespace(security=security, indices=FakeIndices(existing, forbidden), cluster=health)


@pytest.fixture
def cluster_ok(monkeypatch):
    monkeypatch.setattr(cluster, "cluster_info", lambda client: None)
    monkeypatch.setattr(cluster, "check_client_compatible", lambda info: None)


def test_without_management_rights_existing_indices_are_used_as_they_are(cluster_ok):
    names = {f"bh-{t.INDEX}" for t in INDEXED_TYPES}
    client = crawler_client(names, forbidden={f"bh-{Takedown.INDEX}"})
    # Indices outside the role (takedowns for a crawler) are skipped, not reported missing.
    assert cluster.init_indices(client, "bh") == [f"bh-{t.INDEX}" for t in INDEXED_TYPES if t is not Takedown]


def test_without_management_rights_a_missing_cursor_index_says_to_run_es_init_as_admin(cluster_ok):
    client = crawler_client({f"bh-{t.INDEX}" for t in ITEM_TYPES})
    with pytest.raises(cluster.ClusterError, match=r"index bh-ct-cursors does not exist.*brandhound es init"):
        cluster.init_indices(client, "bh")


def test_without_management_rights_a_missing_index_says_to_run_es_init_as_admin(cluster_ok):
    client = crawler_client({f"bh-{t.INDEX}" for t in ITEM_TYPES if t is not Leak})
    with pytest.raises(cluster.ClusterError, match=r"index bh-leaks does not exist.*brandhound es init.*admin"):
        cluster.init_indices(client, "bh")


def test_a_cluster_without_security_counts_as_manageable():
    def no_handler(**kwargs):
        raise api_error(400, "no handler found for uri [/_security/user/_has_privileges]")

    assert cluster.can_manage_indices(SimpleNamespace(security=SimpleNamespace(has_privileges=no_handler)), "bh")

    def bad_credentials(**kwargs):
        raise elasticsearch.AuthenticationException("unauthorized", meta=SimpleNamespace(status=401), body={})

    with pytest.raises(cluster.ClusterError, match="refused the credentials"):
        cluster.can_manage_indices(SimpleNamespace(security=SimpleNamespace(has_privileges=bad_credentials)), "bh")
