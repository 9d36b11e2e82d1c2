import hashlib

import pytest

from brandhound.config import ConfigError, load_settings


def test_defaults_point_at_the_local_node(tmp_path):
    s = load_settings({"BRANDHOUND_HOME": str(tmp_path)})
    assert s.es.url == "http://127.0.0.1:9200"
    assert s.es_is_local_node
    assert s.spool_dir == tmp_path / "spool"
    assert s.es.index_prefix == "brandhound"


def test_local_port_moves_the_default_url():
    s = load_settings({"BRANDHOUND_ES_PORT": "9333"})
    assert s.es.url == "http://127.0.0.1:9333" and s.es_is_local_node


def test_remote_cluster_with_api_key_from_file(tmp_path):
    key = tmp_path / "key"
    key.write_text("c2VjcmV0OmtleQ==\n")
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    s = load_settings({
        "BRANDHOUND_ES_URL": "https://es.internal:9243/",
        "BRANDHOUND_ES_API_KEY_FILE": str(key),
        "BRANDHOUND_ES_CA_CERTS": str(ca),
    })
    assert s.es.url == "https://es.internal:9243"
    assert s.es.api_key == "c2VjcmV0OmtleQ=="
    assert s.es.ca_certs == ca
    assert not s.es_is_local_node
    assert "c2VjcmV0" not in repr(s)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BRANDHOUND_ES_URL": "es.internal:9200"}, "BRANDHOUND_ES_URL"),
        ({"BRANDHOUND_ES_URL": "https://elastic:pw@es.internal"}, "credentials in the URL"),
        ({"BRANDHOUND_ES_API_KEY": "a", "BRANDHOUND_ES_API_KEY_FILE": "/x"}, "both set"),
        ({"BRANDHOUND_ES_API_KEY_FILE": "/nonexistent/key"}, "BRANDHOUND_ES_API_KEY_FILE=/nonexistent/key"),
        ({"BRANDHOUND_ES_USERNAME": "elastic"}, "go together"),
        ({"BRANDHOUND_ES_CA_CERTS": "/nonexistent/ca.pem"}, "BRANDHOUND_ES_CA_CERTS"),
        ({"BRANDHOUND_ES_INDEX_PREFIX": "Brand Hound"}, "BRANDHOUND_ES_INDEX_PREFIX"),
        ({"BRANDHOUND_ES_PORT": "ninety"}, "BRANDHOUND_ES_PORT='ninety'"),
        ({"BRANDHOUND_ES_TIMEOUT": "0"}, "BRANDHOUND_ES_TIMEOUT"),
    ],
)
def test_bad_settings_name_the_variable(env, message):
    with pytest.raises(ConfigError, match=message.replace("?", r"\?")) as exc:
        load_settings(env)
    assert str(exc.value)


# --------------------------------------------------------------------------- HMAC key for leaked secrets


def test_hmac_key_is_generated_once_per_home_with_mode_0600(tmp_path):
    s = load_settings({"BRANDHOUND_HOME": str(tmp_path)})
    assert not s.hmac_key_file.exists()  # loading settings has no side effect
    first = s.hmac_key()
    path = tmp_path / "keys" / "hmac.key"
    assert s.hmac_key_file == path and path.is_file()
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(first.key) >= 32
    again = load_settings({"BRANDHOUND_HOME": str(tmp_path)}).hmac_key()
    assert again == first  # the same key in a later run: repeats are still recognised
    assert first.id == hashlib.sha256(first.key).hexdigest()[:12]
    other = load_settings({"BRANDHOUND_HOME": str(tmp_path / "other")}).hmac_key()
    assert other.key != first.key and other.id != first.id
    assert first.key.decode() not in repr(first) and first.key.decode() not in repr(s)


def test_hmac_key_from_env_or_file_and_explicit_id(tmp_path):
    value = "k" * 40
    s = load_settings({"BRANDHOUND_HOME": str(tmp_path), "BRANDHOUND_HMAC_KEY": value})
    key = s.hmac_key()
    assert key.key == value.encode() and key.id == hashlib.sha256(value.encode()).hexdigest()[:12]
    assert not (tmp_path / "keys").exists()
    assert value not in repr(s)
    key_file = tmp_path / "hmac"
    key_file.write_text(value + "\n")
    s = load_settings({"BRANDHOUND_HOME": str(tmp_path), "BRANDHOUND_HMAC_KEY_FILE": str(key_file),
                       "BRANDHOUND_HMAC_KEY_ID": "2026-q1"})
    assert s.hmac_key().key == value.encode() and s.hmac_key().id == "2026-q1"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BRANDHOUND_HMAC_KEY": "short"}, "BRANDHOUND_HMAC_KEY: too short"),
        ({"BRANDHOUND_HMAC_KEY": "k" * 40, "BRANDHOUND_HMAC_KEY_FILE": "/x"}, "both set"),
        ({"BRANDHOUND_HMAC_KEY_FILE": "/nonexistent/hmac"}, "BRANDHOUND_HMAC_KEY_FILE=/nonexistent/hmac"),
        ({"BRANDHOUND_HMAC_KEY_ID": "a b"}, "BRANDHOUND_HMAC_KEY_ID"),
    ],
)
def test_bad_hmac_settings_name_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(env)


def test_unwritable_home_names_the_key_file_variable(tmp_path):
    # A home below a regular file cannot be created, by root neither (permissions would not stop root).
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    s = load_settings({"BRANDHOUND_HOME": str(blocker / "home")})
    with pytest.raises(ConfigError, match="BRANDHOUND_HMAC_KEY_FILE"):
        s.hmac_key()


def test_a_missing_ca_bundle_is_an_error_except_for_the_secured_local_node_that_writes_it(tmp_path):
    ca = str(tmp_path / "ca.pem")
    with pytest.raises(ConfigError, match="BRANDHOUND_ES_CA_CERTS=.*no such file"):
        load_settings({"BRANDHOUND_HOME": str(tmp_path), "BRANDHOUND_ES_URL": "https://es.example:9200",
                       "BRANDHOUND_ES_CA_CERTS": ca})
    local = load_settings({"BRANDHOUND_HOME": str(tmp_path), "BRANDHOUND_ES_URL": "https://127.0.0.1:9200",
                           "BRANDHOUND_ES_CA_CERTS": ca})
    assert local.es_is_local_node and str(local.es.ca_certs) == ca


def test_an_https_local_url_selects_the_secured_local_node(tmp_path):
    from brandhound.localnode import LocalNode, SecuredLocalNode

    plain = load_settings({"BRANDHOUND_HOME": str(tmp_path)})
    assert type(LocalNode.from_settings(plain)) is LocalNode
    secured = load_settings({"BRANDHOUND_HOME": str(tmp_path), "BRANDHOUND_ES_URL": "https://127.0.0.1:9200",
                             "BRANDHOUND_ES_USERNAME": "elastic", "BRANDHOUND_ES_PASSWORD": "bootstrap-pw-1"})
    node = LocalNode.from_settings(secured)
    assert isinstance(node, SecuredLocalNode) and node.url == "https://127.0.0.1:9200"
    assert node.node_dir == tmp_path / "node-secured" and "bootstrap-pw-1" not in repr(node)
    assert "xpack.security.http.ssl.enabled: true" in node._config_yaml()
    assert "xpack.security.enabled: false" in LocalNode.from_settings(plain)._config_yaml()
