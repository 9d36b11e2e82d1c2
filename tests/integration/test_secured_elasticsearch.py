"""The pipeline against a secured Elasticsearch: TLS with a CA bundle, least-privilege roles,
credentials from files only.

The test starts its own secured local node (own ports, own directory under /tmp, stopped at the
end): security on, TLS on HTTP and transport, the elastic password from the keystore. The
integ-test distribution cannot store native roles or API keys (its security index needs a module
it lacks), so the roles are written to ``roles.yml`` and each component gets a file-realm user of
its role; ``brandhound es api-key`` is checked to say so instead of failing obscurely.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import elasticsearch
import pytest

from brandhound import cluster, es_roles
from brandhound.config import EsSettings, load_settings
from brandhound.localnode import SecuredLocalNode
from sandbox.processes import free_port
from tests.integration.crawls import crawl_command
from tests.polling import poll

PREFIX = f"bh-secured-{secrets.token_hex(4)}"
ROLE_NAMES = tuple(es_roles.ROLES)


@dataclass
class Secured:
    node: SecuredLocalNode
    passwords: dict[str, str]  # user -> password; "elastic" is the superuser
    files: Path

    def user(self, role: str) -> str:
        return f"{PREFIX}-{role}"

    def es(self, user: str) -> EsSettings:
        return EsSettings(url=self.node.url, username=user, password=self.passwords[user],
                          ca_certs=self.node.ca_cert, index_prefix=PREFIX)

    def client(self, user: str) -> elasticsearch.Elasticsearch:
        return cluster.make_client(self.es(user))

    def env(self, user: str, home: Path, **extra: str) -> dict[str, str]:
        """A command's environment with only this user's credentials, from a file, and the CA bundle."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("BRANDHOUND_ES_", "BRANDHOUND_HMAC_")) or k == "BRANDHOUND_TEST_ES_URL"}
        password_file = self.files / f"{user}.password"
        password_file.write_text(self.passwords[user] + "\n")
        password_file.chmod(0o600)
        port = int(self.node.url.rsplit(":", 1)[1])
        return env | {
            "BRANDHOUND_HOME": str(home),
            "BRANDHOUND_ES_URL": self.node.url,
            "BRANDHOUND_ES_PORT": str(port + 1),  # the node is not this home's local node
            "BRANDHOUND_ES_USERNAME": user,
            "BRANDHOUND_ES_PASSWORD_FILE": str(password_file),
            "BRANDHOUND_ES_CA_CERTS": str(self.node.ca_cert),
            "BRANDHOUND_ES_INDEX_PREFIX": PREFIX,
        } | extra

    def every_secret(self) -> list[str]:
        return list(self.passwords.values())


def run(cmd: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


def brandhound(*args: str) -> list[str]:
    return [sys.executable, "-m", "brandhound.commands", *args]


@pytest.fixture(scope="module")
def secured(tmp_path_factory) -> Secured:
    shared = load_settings()  # the distribution already unpacked under the shared home is reused
    node_dir = Path(tempfile.mkdtemp(prefix="brandhound-secured-", dir="/tmp"))
    node_dir.chmod(0o755)  # Elasticsearch runs as its own user, which must reach its directory
    local = replace(shared.local_node, port=free_port(), transport_port=free_port(), heap="512m")
    passwords = {"elastic": secrets.token_urlsafe(18)}
    node = SecuredLocalNode(local, shared.home, node_dir / "node", bootstrap_password=passwords["elastic"])
    try:
        node.start(deadline_s=300)
        state = Secured(node, passwords, tmp_path_factory.mktemp("credentials"))
        cluster.wait_for_health(state.client("elastic"), 300)
        node.write_file_roles(es_roles.roles_yaml(PREFIX))
        for role in ROLE_NAMES:
            passwords[state.user(role)] = secrets.token_urlsafe(18)
            node.add_file_user(state.user(role), passwords[state.user(role)], [es_roles.ROLES[role].es_name(PREFIX)])
        for role in ROLE_NAMES:  # the node reloads its user and role files within seconds
            client = state.client(state.user(role))
            poll(lambda: client.security.authenticate()["roles"] == [es_roles.ROLES[role].es_name(PREFIX)]
                 and client.cluster.health()["status"], 120, f"the {role} user works")
        yield state
    finally:
        node.stop()
        shutil.rmtree(node_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def crawled(secured, sandbox_web, tmp_path_factory):
    """``es init`` with the admin's credentials, then a paste crawl with the crawler's only."""
    home = tmp_path_factory.mktemp("home")
    init = run(brandhound("es", "init"), secured.env(secured.user("admin"), home))
    assert init.returncode == 0, init.stderr
    env = secured.env(secured.user("crawler"), sandbox_web[0],
                      BRANDHOUND_SPOOL_DIR=str(tmp_path_factory.mktemp("spool")))
    proc = run(crawl_command(sandbox_web, "paste"), env, timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stdout + proc.stderr + init.stdout + init.stderr, env


def test_the_node_speaks_tls_only_and_refuses_anonymous_requests(secured):
    plain = cluster.make_client(EsSettings(url=secured.node.url.replace("https", "http")))
    with pytest.raises(elasticsearch.TransportError):
        plain.cluster.health()
    anonymous = cluster.make_client(EsSettings(url=secured.node.url, ca_certs=secured.node.ca_cert))
    with pytest.raises(elasticsearch.AuthenticationException):
        anonymous.cluster.health()


def test_a_crawl_with_the_crawler_role_indexes_everything(secured, crawled):
    summary, _, _ = crawled
    assert summary["finish_reason"] == "finished"
    assert summary["brandhound/es/indexed"] > 0 and summary.get("brandhound/es/spooled", 0) == 0
    admin = secured.client(secured.user("admin"))
    admin.indices.refresh(index=f"{PREFIX}-*")
    analyst = secured.client(secured.user("analyst"))
    counts = {kind: analyst.count(index=f"{PREFIX}-{kind}")["count"] for kind in ("pages", "leaks", "findings")}
    assert all(counts.values()), counts
    assert sum(counts.values()) <= summary["brandhound/es/indexed"]


def test_the_crawl_output_holds_no_credential(secured, crawled):
    _, output, _ = crawled
    for secret in secured.every_secret():
        assert secret not in output


def test_each_role_can_do_its_job_and_nothing_more(secured, crawled):
    analyst = secured.client(secured.user("analyst"))
    assert analyst.search(index=f"{PREFIX}-pages", size=1)["hits"]["hits"]
    with pytest.raises(elasticsearch.AuthorizationException) as refused:
        analyst.index(index=f"{PREFIX}-pages", id="analyst-write", document={"url": {"full": "https://x.test/"}})
    assert refused.value.meta.status == 403
    crawler = secured.client(secured.user("crawler"))
    with pytest.raises(elasticsearch.AuthorizationException) as refused:
        crawler.indices.delete(index=f"{PREFIX}-pages")
    assert refused.value.meta.status == 403
    with pytest.raises(elasticsearch.AuthorizationException):
        crawler.search(index=f"{PREFIX}-takedowns")
    legal = secured.client(secured.user("legal"))
    legal.index(index=f"{PREFIX}-takedowns", id="legal-write", document={"status": "draft"}, refresh=True)
    with pytest.raises(elasticsearch.AuthorizationException):
        legal.index(index=f"{PREFIX}-pages", id="legal-write", document={"url": {"full": "https://x.test/"}})
    assert crawler.indices.exists(index=f"{PREFIX}-pages")  # all of the above left the data alone


def test_status_needs_a_reading_role_and_says_so(secured, crawled, tmp_path):
    analyst = run(brandhound("es", "status", "--json"), secured.env(secured.user("analyst"), tmp_path))
    assert analyst.returncode == 0, analyst.stderr
    assert json.loads(analyst.stdout)["indices"][f"{PREFIX}-pages"] > 0
    crawler = run(brandhound("es", "status"), secured.env(secured.user("crawler"), tmp_path))
    assert crawler.returncode == 1 and "admin or analyst role" in crawler.stderr, crawler.stderr
    assert "Traceback" not in crawler.stderr


def test_a_crawler_is_told_to_run_es_init_as_admin_when_an_index_is_missing(secured, crawled, tmp_path):
    admin = secured.client(secured.user("admin"))
    admin.indices.delete(index=f"{PREFIX}-sites")
    try:
        proc = run(brandhound("es", "init"), secured.env(secured.user("crawler"), tmp_path))
        assert proc.returncode == 1
        assert f"index {PREFIX}-sites does not exist" in proc.stderr and "with admin rights" in proc.stderr, proc.stderr
        other = run(brandhound("es", "init"), secured.env(secured.user("crawler"), tmp_path,
                                                          BRANDHOUND_ES_INDEX_PREFIX=f"{PREFIX}-other"))
        assert other.returncode == 1 and "may see none of the" in other.stderr, other.stderr
    finally:
        restored = run(brandhound("es", "init"), secured.env(secured.user("admin"), tmp_path))
        assert restored.returncode == 0, restored.stderr


def test_api_keys_on_this_distribution_are_refused_with_the_reason(secured, tmp_path):
    proc = run(brandhound("es", "api-key", "--role", "crawler", "--name", "crawler-1", "--expiration", "1d"),
               secured.env("elastic", tmp_path))
    assert proc.returncode == 1 and proc.stdout == ""
    assert "analysis-common" in proc.stderr and "file-based roles" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def credential_leaks(client, index: str) -> dict[tuple, dict]:
    """The credential leaks by account and masked password (what survives a re-hash)."""
    hits = client.search(index=index, size=10_000, query={"term": {"kind": "credential"}})["hits"]["hits"]
    leaks = {(h["_source"]["user"].get("email") or h["_source"]["user"].get("name"),
              h["_source"]["secret"]["masked"], h["_source"]["secret"]["length"]): h["_source"] for h in hits}
    assert len(leaks) == len(hits), "two leaks look alike: the test cannot tell them apart"
    return leaks


def test_a_rotated_hmac_key_keeps_recognising_the_leaks_seen_before(secured, crawled, sandbox_web, tmp_path):
    _, _, env = crawled
    admin = secured.client(secured.user("admin"))
    index = f"{PREFIX}-leaks"
    admin.indices.refresh(index=index)
    before = credential_leaks(admin, index)
    total = admin.count(index=index)["count"]
    assert before
    # The documented rotation: the generated key becomes a previous key, a new one is current.
    new_key = tmp_path / "hmac.key"
    new_key.write_text(secrets.token_hex(32) + "\n")
    rotated = env | {"BRANDHOUND_HMAC_KEY_FILE": str(new_key), "BRANDHOUND_HMAC_KEY_ID": "rotated-2",
                     "BRANDHOUND_HMAC_PREVIOUS_KEYS_FILE": str(Path(env["BRANDHOUND_HOME"]) / "keys" / "hmac.key")}
    proc = run(crawl_command(sandbox_web, "paste"), rotated, timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    # Scrapy's stats dump (the crawl's summary line lists a fixed set of stats).
    rehashed = re.search(r"'brandhound/es/leaks_rehashed': (\d+)", proc.stderr)
    assert rehashed and int(rehashed.group(1)) >= len(before), proc.stderr[-3000:]
    admin.indices.refresh(index=index)
    after = credential_leaks(admin, index)
    # The same leaks, not a second copy of each: every old document merged into its successor.
    assert set(after) == set(before) and admin.count(index=index)["count"] == total
    for key, leak in after.items():
        old = before[key]
        assert leak["secret"]["key_id"] == "rotated-2" and leak["secret"]["hmac"] != old["secret"]["hmac"]
        assert leak["threat"]["indicator"]["sightings"] > old["threat"]["indicator"]["sightings"]
        assert leak["threat"]["indicator"]["first_seen"] == old["threat"]["indicator"]["first_seen"]
