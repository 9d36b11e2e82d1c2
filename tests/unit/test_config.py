from pathlib import Path

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
