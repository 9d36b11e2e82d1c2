"""operations.es_connection: Elasticsearch from an Airflow Connection, else brandhound's config."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from brandhound.config import ConfigError
from operations.es_connection import connection_variables, es_environment, es_settings


@dataclass
class Conn:
    conn_id: str = "brandhound_es"
    host: str | None = "es.internal"
    port: int | None = 9243
    schema: str | None = "https"
    login: str | None = None
    password: str | None = None
    extra: str | None = None


def test_connection_maps_to_brandhound_variables():
    env = connection_variables(Conn(login="svc", password="s3cret", extra='{"index_prefix": "acme", "timeout": 60}'))
    assert env == {"BRANDHOUND_ES_URL": "https://es.internal:9243", "BRANDHOUND_ES_USERNAME": "svc",
                   "BRANDHOUND_ES_PASSWORD": "s3cret", "BRANDHOUND_ES_INDEX_PREFIX": "acme", "BRANDHOUND_ES_TIMEOUT": "60"}


def test_settings_follow_the_connection():
    settings = es_settings("brandhound_es", lambda conn_id: Conn(schema="http", port=9200, extra='{"api_key": "k=="}'))
    assert settings.es.url == "http://es.internal:9200"
    assert settings.es.api_key == "k=="


def test_without_the_connection_brandhounds_config_stands():
    env = es_environment("brandhound_es", lambda conn_id: None, base={"BRANDHOUND_ES_URL": "http://10.0.0.1:9200"})
    assert env == {"BRANDHOUND_ES_URL": "http://10.0.0.1:9200"}
    assert es_environment(None, lambda conn_id: pytest.fail("looked up"), base={}) == {}


@pytest.mark.parametrize("conn,message", [(Conn(host=None), "no host"), (Conn(schema="ftp"), "not http or https"),
                                          (Conn(extra="{not json"), "extra is not JSON"),
                                          (Conn(extra='{"indexprefix": "x"}'), "unknown extra field")])
def test_bad_connections_are_named_with_what_is_wrong(conn, message):
    with pytest.raises(ConfigError, match=f"'brandhound_es'.*{message}"):
        connection_variables(conn)
