"""Runtime settings, read from the environment.

Every setting has a default that makes the embedded default work (a local
single-node Elasticsearch under ``BRANDHOUND_HOME``); any other cluster is
reached by setting ``BRANDHOUND_ES_URL`` and its credentials, with no code
change. Secrets are read from the environment or from files named by
``*_FILE`` variables, never from the command line, so they stay out of
``ps`` output and shell history.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

#: Elasticsearch distribution run by ``brandhound es up``. The newest
#: integ-test-zip that Maven Central publishes; it runs on JDK 17 or newer.
ES_VERSION = "8.19.21"
LOCAL_ES_PORT = 9200


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _default_home() -> Path:
    # Elasticsearch runs as a dedicated unprivileged user when we are root, so
    # its files must live where that user can reach them: not under /root.
    if os.geteuid() == 0:
        return Path("/var/lib/brandhound")
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "brandhound"


def _secret(env: dict[str, str], name: str) -> str | None:
    """Value of ``name`` or the content of the file named by ``name_FILE``."""
    value = env.get(name)
    path = env.get(f"{name}_FILE")
    if value and path:
        raise ConfigError(f"{name} and {name}_FILE are both set; set only one")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE={path}: cannot read the file: {exc.strerror}") from exc
    return value or None


def _positive_int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a whole number") from None
    if value <= 0:
        raise ConfigError(f"{name}={raw!r}: expected a number greater than 0")
    return value


@dataclass(frozen=True)
class EsSettings:
    """How to reach Elasticsearch."""

    url: str
    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_certs: Path | None = None
    index_prefix: str = "brandhound"
    request_timeout: int = 30


@dataclass(frozen=True)
class LocalNodeSettings:
    """The embedded single-node Elasticsearch managed by ``brandhound es``."""

    version: str
    port: int
    transport_port: int
    heap: str
    java_home: Path | None
    user: str


@dataclass(frozen=True)
class Settings:
    home: Path
    es: EsSettings
    local_node: LocalNodeSettings
    spool_dir: Path
    evidence_dir: Path

    @property
    def es_is_local_node(self) -> bool:
        """True when ``es.url`` is the embedded local node's address."""
        parts = urlsplit(self.es.url)
        return parts.hostname in {"127.0.0.1", "localhost"} and parts.port == self.local_node.port

    @property
    def cache_dir(self) -> Path:
        """Downloads shared by every node and run (the Elasticsearch zip)."""
        return self.home / "cache"


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read settings from ``env`` (default: ``os.environ``)."""
    env = dict(os.environ if env is None else env)
    home = Path(env.get("BRANDHOUND_HOME") or _default_home())

    local_port = _positive_int(env, "BRANDHOUND_ES_PORT", LOCAL_ES_PORT)
    url = env.get("BRANDHOUND_ES_URL") or f"http://127.0.0.1:{local_port}"
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"BRANDHOUND_ES_URL={url!r}: expected http(s)://host[:port]")
    if parts.username or parts.password:
        raise ConfigError(
            "BRANDHOUND_ES_URL: credentials in the URL would end up in logs; "
            "use BRANDHOUND_ES_API_KEY or BRANDHOUND_ES_USERNAME/BRANDHOUND_ES_PASSWORD"
        )
    ca = env.get("BRANDHOUND_ES_CA_CERTS")
    if ca and not Path(ca).is_file():
        raise ConfigError(f"BRANDHOUND_ES_CA_CERTS={ca}: no such file")
    username = env.get("BRANDHOUND_ES_USERNAME") or None
    password = _secret(env, "BRANDHOUND_ES_PASSWORD")
    if bool(username) != bool(password):
        raise ConfigError("BRANDHOUND_ES_USERNAME and BRANDHOUND_ES_PASSWORD go together; set both or neither")
    prefix = env.get("BRANDHOUND_ES_INDEX_PREFIX", "brandhound")
    if not prefix or prefix != prefix.lower() or any(c in prefix for c in ' "*\\<|,>/?#:'):
        raise ConfigError(
            f"BRANDHOUND_ES_INDEX_PREFIX={prefix!r}: must be a non-empty lowercase index name part"
        )
    es = EsSettings(
        url=url.rstrip("/"),
        api_key=_secret(env, "BRANDHOUND_ES_API_KEY"),
        username=username,
        password=password,
        ca_certs=Path(ca) if ca else None,
        index_prefix=prefix,
        request_timeout=_positive_int(env, "BRANDHOUND_ES_TIMEOUT", 30),
    )
    java_home = env.get("ES_JAVA_HOME") or env.get("BRANDHOUND_ES_JAVA_HOME")
    local = LocalNodeSettings(
        version=env.get("BRANDHOUND_ES_VERSION", ES_VERSION),
        port=local_port,
        transport_port=_positive_int(env, "BRANDHOUND_ES_TRANSPORT_PORT", 9300),
        heap=env.get("BRANDHOUND_ES_HEAP", "1g"),
        java_home=Path(java_home) if java_home else None,
        user=env.get("BRANDHOUND_ES_USER", "brandhound-es"),
    )
    spool = Path(env.get("BRANDHOUND_SPOOL_DIR") or home / "spool")
    evidence = Path(env.get("BRANDHOUND_EVIDENCE_DIR") or home / "evidence")
    return Settings(home=home, es=es, local_node=local, spool_dir=spool, evidence_dir=evidence)
