"""Runtime settings, read from the environment.

Every setting has a default that makes the embedded default work (a local
single-node Elasticsearch under ``BRANDHOUND_HOME``); any other cluster is
reached by setting ``BRANDHOUND_ES_URL`` and its credentials, with no code
change. Secrets are read from the environment or from files named by
``*_FILE`` variables, never from the command line, so they stay out of
``ps`` output and shell history.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

#: Elasticsearch distribution run by ``brandhound es up``. The newest
#: integ-test-zip that Maven Central publishes; it runs on JDK 17 or newer.
ES_VERSION = "8.19.21"
LOCAL_ES_PORT = 9200


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


#: Shortest accepted ``BRANDHOUND_HMAC_KEY``: the keyed hashes of leaked secrets are only as
#: strong as the key, and a short key can be guessed from them.
MIN_HMAC_KEY_LENGTH = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass(frozen=True)
class HmacKey:
    """The key leaked secrets are hashed with (HMAC-SHA256), and its id for rotation.

    ``previous`` are the keys it replaced: secrets hashed under them are still recognised
    (see ``docs/security.md``), while new hashes use this key only.
    """

    key: bytes = field(repr=False)
    id: str
    previous: tuple[HmacKey, ...] = ()


def _hmac_key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:12]


def _generated_key(path: Path) -> bytes:
    """The per-home key in ``path``, created once (mode 0600) if it does not exist yet."""
    try:
        return path.read_bytes().strip()
    except (FileNotFoundError, NotADirectoryError):
        pass  # not made yet (or its directory cannot be): creating it says what is wrong
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the generated HMAC key ({exc.strerror}); set BRANDHOUND_HMAC_KEY_FILE"
        ) from exc
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_hex(32).encode("ascii") + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # atomic, and never replaces a key another process made first
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return path.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot create the HMAC key file ({exc.strerror}); set BRANDHOUND_HMAC_KEY_FILE"
        ) from exc


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


def _previous_hmac_keys(raw: str | None) -> tuple[HmacKey, ...]:
    """``BRANDHOUND_HMAC_PREVIOUS_KEYS(_FILE)``: one key a line (or comma-separated), each ``KEY`` or
    ``KEY_ID KEY``; blank lines and ``#`` comments are ignored. Errors never quote a key."""
    keys = []
    for n, line in enumerate(re.split(r"[\n,]", raw or ""), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) > 2:
            raise ConfigError(f"BRANDHOUND_HMAC_PREVIOUS_KEYS entry {n}: expected KEY or KEY_ID KEY")
        key_id, key = parts if len(parts) == 2 else (None, parts[0])
        if len(key) < MIN_HMAC_KEY_LENGTH:
            raise ConfigError(f"BRANDHOUND_HMAC_PREVIOUS_KEYS entry {n}: key too short "
                              f"(at least {MIN_HMAC_KEY_LENGTH} characters)")
        if key_id is not None and not _KEY_ID.match(key_id):
            raise ConfigError(f"BRANDHOUND_HMAC_PREVIOUS_KEYS entry {n}: key id {key_id!r}: "
                              "expected 1-64 letters, digits, '.', '_' or '-'")
        raw_key = key.encode("utf-8")
        keys.append(HmacKey(key=raw_key, id=key_id or _hmac_key_id(raw_key)))
    return tuple(keys)


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
    #: ``BRANDHOUND_HMAC_KEY`` or the content of ``BRANDHOUND_HMAC_KEY_FILE``; see :meth:`hmac_key`.
    hmac_key_value: str | None = field(default=None, repr=False)
    hmac_key_id: str | None = None
    #: Keys replaced by the current one (``BRANDHOUND_HMAC_PREVIOUS_KEYS(_FILE)``), newest first.
    hmac_previous_keys: tuple[HmacKey, ...] = ()
    #: The RFC 3161 Time-Stamp Authority that stamps bundle manifests (``BRANDHOUND_TSA_URL``), and
    #: the PEM certificate(s) its certificate must be issued by (``BRANDHOUND_TSA_TRUST_ANCHOR``).
    tsa_url: str | None = None
    tsa_trust_anchor: Path | None = None

    @property
    def hmac_key_file(self) -> Path:
        """Where the generated key lives when no key is configured."""
        return self.home / "keys" / "hmac.key"

    def hmac_key(self) -> HmacKey:
        """The configured HMAC key, else the home's generated key (made on first use, mode 0600),
        so that a secret seen again in a later run hashes the same."""
        key = self.hmac_key_value.encode("utf-8") if self.hmac_key_value else _generated_key(self.hmac_key_file)
        previous = tuple(k for k in self.hmac_previous_keys if k.key != key)
        return HmacKey(key=key, id=self.hmac_key_id or _hmac_key_id(key), previous=previous)

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
    # The secured local node writes its CA there on first start (``brandhound es up``).
    local_https = parts.scheme == "https" and parts.hostname in {"127.0.0.1", "localhost"} and parts.port == local_port
    if ca and not Path(ca).is_file() and not local_https:
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
    hmac_key = _secret(env, "BRANDHOUND_HMAC_KEY")
    if hmac_key is not None and len(hmac_key) < MIN_HMAC_KEY_LENGTH:
        raise ConfigError(f"BRANDHOUND_HMAC_KEY: too short; use at least {MIN_HMAC_KEY_LENGTH} random characters")
    key_id = env.get("BRANDHOUND_HMAC_KEY_ID") or None
    if key_id is not None and not _KEY_ID.match(key_id):
        raise ConfigError(f"BRANDHOUND_HMAC_KEY_ID={key_id!r}: expected 1-64 letters, digits, '.', '_' or '-'")
    tsa_url = env.get("BRANDHOUND_TSA_URL") or None
    if tsa_url and urlsplit(tsa_url).scheme not in {"http", "https"}:
        raise ConfigError(f"BRANDHOUND_TSA_URL={tsa_url!r}: expected an http(s) URL")
    anchor = env.get("BRANDHOUND_TSA_TRUST_ANCHOR") or None
    if anchor and not Path(anchor).is_file():
        raise ConfigError(f"BRANDHOUND_TSA_TRUST_ANCHOR={anchor}: no such file")
    if tsa_url and not anchor:
        # A token nobody can check against a trusted issuer proves nothing; refuse rather than pretend.
        raise ConfigError("BRANDHOUND_TSA_URL needs BRANDHOUND_TSA_TRUST_ANCHOR: the PEM CA that issues the TSA's certificate")
    return Settings(home=home, es=es, local_node=local, spool_dir=spool, evidence_dir=evidence,
                    tsa_url=tsa_url, tsa_trust_anchor=Path(anchor) if anchor else None,
                    hmac_key_value=hmac_key, hmac_key_id=key_id,
                    hmac_previous_keys=_previous_hmac_keys(_secret(env, "BRANDHOUND_HMAC_PREVIOUS_KEYS")))
