"""Which Elasticsearch a task talks to: an Airflow Connection when one is defined, else brandhound's config.

The Connection (default id ``brandhound_es``, type ``elasticsearch`` or ``generic``) maps to
brandhound's variables: host, port and schema (``http``/``https``) to ``BRANDHOUND_ES_URL``, login
and password to basic auth; its extra JSON may hold ``api_key``, ``ca_certs``, ``index_prefix`` and
``timeout``. Tasks hand the result to crawl processes as environment variables (never on a command
line, where secrets would reach logs and ``ps``).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import replace
from typing import Any, Callable, Mapping

from brandhound.config import ConfigError, Settings, load_settings

log = logging.getLogger(__name__)

DEFAULT_CONN_ID = "brandhound_es"
#: Extra fields of the Connection and the brandhound variables they set.
EXTRA_VARIABLES = {"api_key": "BRANDHOUND_ES_API_KEY", "ca_certs": "BRANDHOUND_ES_CA_CERTS",
                   "index_prefix": "BRANDHOUND_ES_INDEX_PREFIX", "timeout": "BRANDHOUND_ES_TIMEOUT"}


def connection_variables(conn: Any) -> dict[str, str]:
    """brandhound's ``BRANDHOUND_ES_*`` variables for an Airflow Connection-like object."""
    if not conn.host:
        raise ConfigError(f"Airflow connection {conn.conn_id!r}: no host")
    scheme = (conn.schema or "http").lower()
    if scheme not in ("http", "https"):
        raise ConfigError(f"Airflow connection {conn.conn_id!r}: schema {conn.schema!r} is not http or https")
    host = conn.host.split("://", 1)[-1].rstrip("/")
    env = {"BRANDHOUND_ES_URL": f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")}
    if conn.login:
        env["BRANDHOUND_ES_USERNAME"] = conn.login
        env["BRANDHOUND_ES_PASSWORD"] = conn.password or ""
    raw = conn.extra or "{}"
    try:
        extra = json.loads(raw) if isinstance(raw, str) else dict(raw)
    except ValueError as exc:
        raise ConfigError(f"Airflow connection {conn.conn_id!r}: extra is not JSON ({exc})") from None
    unknown = sorted(set(extra) - set(EXTRA_VARIABLES))
    if unknown:
        raise ConfigError(f"Airflow connection {conn.conn_id!r}: unknown extra field(s) {', '.join(unknown)}; "
                          f"known: {', '.join(EXTRA_VARIABLES)}")
    env.update({EXTRA_VARIABLES[k]: str(v) for k, v in extra.items() if v not in (None, "")})
    return env


def _airflow_connection(conn_id: str) -> Any | None:
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowRuntimeError

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowRuntimeError as exc:
        if "CONNECTION_NOT_FOUND" in str(exc):
            return None
        raise
    except Exception as exc:  # the not-found error's class differs between Airflow's runtimes
        if type(exc).__name__ == "AirflowNotFoundException":
            return None
        raise


def es_environment(conn_id: str | None = DEFAULT_CONN_ID,
                   lookup: Callable[[str], Any | None] = _airflow_connection,
                   base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a task's brandhound process: ``base`` (default ``os.environ``) with the
    Connection's variables over it; without the Connection, ``base`` as it is (brandhound's config)."""
    env = dict(os.environ if base is None else base)
    conn = lookup(conn_id) if conn_id else None
    if conn is None:
        log.info("no Airflow connection %r: Elasticsearch from brandhound's configuration (%s)", conn_id,
                 env.get("BRANDHOUND_ES_URL", "the local node"))
        return env
    env.update(connection_variables(conn))
    log.info("Elasticsearch from Airflow connection %r: %s", conn_id, env["BRANDHOUND_ES_URL"])
    return env


def es_settings(conn_id: str | None = DEFAULT_CONN_ID,
                lookup: Callable[[str], Any | None] = _airflow_connection) -> Settings:
    """brandhound's settings with the Elasticsearch of the Connection (or of the config)."""
    return load_settings(es_environment(conn_id, lookup))


def with_index_prefix(settings: Settings, prefix: str | None) -> Settings:
    return settings if not prefix else replace(settings, es=replace(settings.es, index_prefix=prefix))
