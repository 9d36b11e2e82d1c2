"""The embedded default: a single-node Elasticsearch on 127.0.0.1.

The distribution is Maven Central's ``integ-test-zip`` (fetched with
``mvn dependency:copy``), unpacked once under ``BRANDHOUND_HOME/dist`` and
run with its own config, data and logs under a node directory, on the
machine's JDK. Elasticsearch refuses to run as root, so when we are root it
runs as a dedicated system user.
"""

from __future__ import annotations

import logging
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from brandhound.config import LocalNodeSettings, Settings
from brandhound.system_user import SystemUserError, ensure_system_user

log = logging.getLogger(__name__)

MAVEN_GROUP = "org.elasticsearch.distribution.integ-test-zip"
MAVEN_ARTIFACT = "elasticsearch"
MIN_JAVA = 17


class LocalNodeError(RuntimeError):
    """The local node could not be installed, started or stopped; the message says why."""


# --------------------------------------------------------------------------- JDK


def java_major(java_home: Path) -> int:
    java = java_home / "bin" / "java"
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=60).stderr
    except OSError as exc:
        raise LocalNodeError(f"cannot run {java}: {exc.strerror}") from exc
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        raise LocalNodeError(f"cannot read the Java version from `{java} -version`: {out.strip()[:200]}")
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 else major


def find_java_home(configured: Path | None) -> Path:
    """``ES_JAVA_HOME`` if set, else the JDK of the ``java`` on PATH."""
    if configured is None:
        java = shutil.which("java")
        if java is None:
            raise LocalNodeError(
                "no Java found: install a JDK (apt-get install openjdk-17-jre-headless) or set ES_JAVA_HOME"
            )
        configured = Path(os.path.realpath(java)).parent.parent
    if not (configured / "bin" / "java").exists():
        raise LocalNodeError(f"ES_JAVA_HOME={configured}: there is no bin/java in it")
    major = java_major(configured)
    if major < MIN_JAVA:
        raise LocalNodeError(f"Java {major} at {configured} is too old: Elasticsearch 8 needs Java {MIN_JAVA} or newer")
    return configured


# --------------------------------------------------------------------------- distribution


def fetch_distribution(version: str, cache_dir: Path) -> Path:
    """The distribution zip, fetched from Maven Central with ``mvn dependency:copy`` when missing."""
    zip_path = cache_dir / f"elasticsearch-{version}.zip"
    if zip_path.exists() and zipfile.is_zipfile(zip_path):
        return zip_path
    mvn = shutil.which("mvn")
    if mvn is None:
        raise LocalNodeError("Maven is needed to fetch Elasticsearch: apt-get install maven")
    cache_dir.mkdir(parents=True, exist_ok=True)
    log.info("fetching Elasticsearch %s from Maven Central", version)
    cmd = [
        mvn, "-B", "-q", "dependency:copy",
        f"-Dartifact={MAVEN_GROUP}:{MAVEN_ARTIFACT}:{version}:zip",
        f"-DoutputDirectory={cache_dir}",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cache_dir)
    if proc.returncode != 0 or not zip_path.exists():
        tail = (proc.stdout + proc.stderr).strip()[-2000:]
        raise LocalNodeError(f"`mvn dependency:copy` could not fetch Elasticsearch {version}:\n{tail}")
    return zip_path


def unpack_distribution(zip_path: Path, dist_root: Path, version: str) -> Path:
    """Unpack once; a half-unpacked tree is never mistaken for a complete one."""
    target = dist_root / f"elasticsearch-{version}"
    if (target / "bin" / "elasticsearch").exists():
        return target
    dist_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dist_root, prefix=".unpack-") as tmp:
        with zipfile.ZipFile(zip_path) as zf:
            for info in zf.infolist():
                extracted = Path(zf.extract(info, tmp))
                mode = (info.external_attr >> 16) & 0o777
                if mode:
                    extracted.chmod(mode)
        (unpacked,) = Path(tmp).iterdir()
        for path in [unpacked, *unpacked.rglob("*")]:
            # Readable by the unprivileged user Elasticsearch runs as.
            path.chmod(path.stat().st_mode | 0o044 | (0o011 if path.is_dir() else 0))
        unpacked.rename(target)
    return target


# --------------------------------------------------------------------------- the node


@dataclass(frozen=True)
class NodeStatus:
    running: bool
    pid: int | None
    url: str


class LocalNode:
    """One single-node cluster: ``dist`` is shared, ``node_dir`` holds config, data and logs."""

    def __init__(self, settings: LocalNodeSettings, home: Path, node_dir: Path | None = None):
        self.settings = settings
        self.home = home
        self.node_dir = node_dir or home / "node"
        self.config_dir = self.node_dir / "config"
        self.data_dir = self.node_dir / "data"
        self.logs_dir = self.node_dir / "logs"
        self.pid_file = self.node_dir / "run" / "elasticsearch.pid"
        self.java_home: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalNode:
        """The local node of ``settings``: the secured one when ``BRANDHOUND_ES_URL`` is ``https://``."""
        if urlsplit(settings.es.url).scheme == "https":
            password = settings.es.password if settings.es.username == BOOTSTRAP_USER else None
            return SecuredLocalNode(settings.local_node, settings.home, settings.home / "node-secured",
                                    bootstrap_password=password, export_ca=settings.es.ca_certs)
        return cls(settings.local_node, settings.home)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.port}"

    @property
    def dist_dir(self) -> Path:
        """Where the distribution is unpacked (shared by every node of this home)."""
        return self.home / "dist" / f"elasticsearch-{self.settings.version}"

    @property
    def run_as(self) -> str | None:
        """The user Elasticsearch runs as, or None to run as ourselves (we are not root)."""
        return self.settings.user if os.geteuid() == 0 else None

    # ----------------------------------------------------------------- install

    def install(self) -> Path:
        """Fetch and unpack the distribution, create the ES user, write the node's config."""
        version = self.settings.version
        dist = unpack_distribution(fetch_distribution(version, self.home / "cache"), self.dist_dir.parent, version)
        if self.run_as:
            self._ensure_user()
        for d in (self.config_dir, self.data_dir, self.logs_dir, self.pid_file.parent):
            d.mkdir(parents=True, exist_ok=True)
        for name in ("jvm.options", "log4j2.properties"):
            shutil.copyfile(dist / "config" / name, self.config_dir / name)
        (self.config_dir / "jvm.options.d").mkdir(exist_ok=True)
        heap = self.settings.heap
        (self.config_dir / "jvm.options.d" / "brandhound.options").write_text(f"-Xms{heap}\n-Xmx{heap}\n")
        (self.config_dir / "elasticsearch.yml").write_text(self._config_yaml())
        self._prepare_config(dist)
        if self.run_as:
            self._chown_tree(self.node_dir)
            self._check_reachable(dist)
        return dist

    def _prepare_config(self, dist: Path) -> None:
        """Hook for what a node needs in its config directory besides ``elasticsearch.yml``."""

    def _security_settings(self) -> list[str]:
        # The embedded node listens on loopback only; a secured cluster is
        # reached through BRANDHOUND_ES_URL and its credentials.
        return ["xpack.security.enabled: false"]

    def _config_yaml(self) -> str:
        return "\n".join([
            "# Written by brandhound; edits are overwritten by `brandhound es up`.",
            "cluster.name: brandhound",
            "node.name: brandhound-local",
            f"path.data: {self.data_dir}",
            f"path.logs: {self.logs_dir}",
            "network.host: 127.0.0.1",
            f"http.port: {self.settings.port}",
            f"transport.port: {self.settings.transport_port}",
            "discovery.type: single-node",
            *self._security_settings(),
            "action.destructive_requires_name: true",
            # Disk watermarks would turn a nearly full dev disk into read-only
            # indices; the spool guards against lost writes instead.
            "cluster.routing.allocation.disk.threshold_enabled: false",
            "",
        ])

    def _ensure_user(self) -> None:
        try:
            ensure_system_user(self.settings.user)
        except SystemUserError as exc:
            raise LocalNodeError(f"{exc} (Elasticsearch refuses to run as root)") from None

    def _chown_tree(self, root: Path) -> None:
        entry = pwd.getpwnam(self.settings.user)
        for path in [root, *root.rglob("*")]:
            os.lchown(path, entry.pw_uid, entry.pw_gid)

    def _check_reachable(self, dist: Path) -> None:
        for path in (dist / "bin" / "elasticsearch", self.config_dir / "elasticsearch.yml"):
            proc = subprocess.run(["test", "-r", str(path)], user=self.settings.user)
            if proc.returncode != 0:
                raise LocalNodeError(
                    f"Elasticsearch runs as user {self.settings.user!r}, which cannot read {path}: "
                    "set BRANDHOUND_HOME to a directory every user can traverse (default /var/lib/brandhound)"
                )

    # ----------------------------------------------------------------- run

    def pid(self) -> int | None:
        """Pid of our running node, or None (a stale pid file is ignored)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        # Guards against a recycled pid: the pid file itself is per node.
        return pid if b"org.elasticsearch" in cmdline else None

    def _port_taken(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.settings.port)) == 0

    def start(self, java_home: Path | None = None, deadline_s: float = 180.0) -> NodeStatus:
        """Start the node unless it runs already; return once it listens (health is the caller's wait)."""
        if self.pid() is not None:
            return self.status()
        if self._port_taken():
            raise LocalNodeError(
                f"port {self.settings.port} on 127.0.0.1 is taken by another process; "
                "stop it or set BRANDHOUND_ES_PORT"
            )
        java_home = find_java_home(java_home or self.settings.java_home)
        self.java_home = java_home
        dist = self.install()
        env = self._tool_env()
        self.pid_file.unlink(missing_ok=True)
        startup_log = self.logs_dir / "startup.log"
        log.info("starting Elasticsearch %s on %s (Java at %s)", self.settings.version, self.url, java_home)
        with open(startup_log, "wb") as out:
            try:
                proc = subprocess.run(
                    [str(dist / "bin" / "elasticsearch"), "-d", "-p", str(self.pid_file)],
                    env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    user=self.run_as, group=self.run_as, extra_groups=[] if self.run_as else None,
                    cwd=self.node_dir, timeout=deadline_s,
                )
            except subprocess.TimeoutExpired:
                raise LocalNodeError(
                    f"Elasticsearch did not finish starting within {deadline_s:.0f}s; see {startup_log}"
                ) from None
        if proc.returncode != 0 or self.pid() is None:
            tail = startup_log.read_text(errors="replace")[-3000:]
            raise LocalNodeError(f"Elasticsearch failed to start (exit {proc.returncode}); {startup_log} ends:\n{tail}")
        return self.status()

    def _tool_env(self) -> dict[str, str]:
        """The environment of ``bin/elasticsearch`` and its tools: no variable of ours leaks into it."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ES_JAVA_HOME": str(self.java_home or find_java_home(self.settings.java_home)),
            "ES_PATH_CONF": str(self.config_dir),
            "LANG": "C.UTF-8",
        }

    def stop(self, deadline_s: float = 60.0) -> bool:
        """Stop cleanly (SIGTERM), killing only after ``deadline_s``. Returns whether it was running."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if not Path(f"/proc/{pid}").exists() or _is_zombie(pid):
                break
            time.sleep(0.2)
        else:
            log.warning("Elasticsearch (pid %d) ignored SIGTERM for %.0fs; killing it", pid, deadline_s)
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def status(self) -> NodeStatus:
        pid = self.pid()
        return NodeStatus(running=pid is not None, pid=pid, url=self.url)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return False


# --------------------------------------------------------------------------- the secured node

#: Where, under the node's config directory, the secured node keeps its TLS material.
CERTS_DIR = "certs"
CA_CERT_FILE = "ca.crt"
BOOTSTRAP_USER = "elastic"


def _pem_key(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def issue_node_certificates(certs_dir: Path, validity_days: int = 825) -> Path:
    """A CA and, signed by it, the node's certificate for 127.0.0.1 and localhost, made once.

    The CA's private key signs the node certificate and is then thrown away: nothing else will
    ever be issued for this node, so there is no CA key to leak. Returns the CA certificate's path.
    """
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_path = certs_dir / CA_CERT_FILE
    if ca_path.exists() and (certs_dir / "node.crt").exists() and (certs_dir / "node.key").exists():
        return ca_path
    certs_dir.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)
    valid = {"not_valid_before": now - dt.timedelta(minutes=5), "not_valid_after": now + dt.timedelta(days=validity_days)}

    def builder(subject: str, issuer: x509.Name | None, public_key: Any) -> x509.CertificateBuilder:
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "brandhound local node"),
                          x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        return (x509.CertificateBuilder().subject_name(name).issuer_name(issuer or name).public_key(public_key)
                .serial_number(x509.random_serial_number())
                .not_valid_before(valid["not_valid_before"]).not_valid_after(valid["not_valid_after"]))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (builder("brandhound local node CA", None, ca_key.public_key())
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))
    node_key = ec.generate_private_key(ec.SECP256R1())
    node_cert = (builder("brandhound-local", ca_cert.subject, node_key.public_key())
                 .add_extension(x509.SubjectAlternativeName([
                     x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                 .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                 # Transport TLS uses the one certificate as server and as client.
                 .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                       ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                 .sign(ca_key, hashes.SHA256()))
    key_path = certs_dir / "node.key"
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(_pem_key(node_key))
    (certs_dir / "node.crt").write_bytes(node_cert.public_bytes(serialization.Encoding.PEM))
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return ca_path


class SecuredLocalNode(LocalNode):
    """The local node with security on: users and API keys, TLS on HTTP and transport.

    The CA and node certificate are made with ``cryptography`` on first install; the ``elastic``
    user's password goes into the node's keystore as ``bootstrap.password`` through the
    keystore tool's standard input, never its arguments. ``export_ca`` is a path the CA
    certificate is also copied to (what ``BRANDHOUND_ES_CA_CERTS`` names).
    """

    def __init__(self, settings: LocalNodeSettings, home: Path, node_dir: Path | None = None, *,
                 bootstrap_password: str | None, export_ca: Path | None = None):
        super().__init__(settings, home, node_dir)
        if bootstrap_password is not None and len(bootstrap_password) < 6:
            raise LocalNodeError("BRANDHOUND_ES_PASSWORD: the elastic user's password needs at least 6 characters")
        self._bootstrap_password = bootstrap_password
        self.export_ca = export_ca

    def __repr__(self) -> str:
        return f"SecuredLocalNode(url={self.url!r}, node_dir={str(self.node_dir)!r})"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.settings.port}"

    @property
    def ca_cert(self) -> Path:
        """The CA certificate clients verify the node with."""
        return self.config_dir / CERTS_DIR / CA_CERT_FILE

    def _security_settings(self) -> list[str]:
        tls = [f"key: {CERTS_DIR}/node.key", f"certificate: {CERTS_DIR}/node.crt",
               f"certificate_authorities: [ {CERTS_DIR}/{CA_CERT_FILE} ]"]
        return [
            "xpack.security.enabled: true",
            "xpack.security.authc.api_key.enabled: true",
            "xpack.security.http.ssl.enabled: true",
            *(f"xpack.security.http.ssl.{line}" for line in tls),
            "xpack.security.transport.ssl.enabled: true",
            "xpack.security.transport.ssl.verification_mode: certificate",
            *(f"xpack.security.transport.ssl.{line}" for line in tls),
        ]

    def _prepare_config(self, dist: Path) -> None:
        ca = issue_node_certificates(self.config_dir / CERTS_DIR)
        if self.export_ca is not None and self.export_ca != ca:
            self.export_ca.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ca, self.export_ca)
        keystore = self.config_dir / "elasticsearch.keystore"
        if keystore.exists():
            return  # the bootstrap password only counts until the security index exists
        if not self._bootstrap_password:
            raise LocalNodeError(
                "the first start of the secured local node sets the elastic user's password: "
                f"set BRANDHOUND_ES_USERNAME={BOOTSTRAP_USER} and BRANDHOUND_ES_PASSWORD_FILE (or BRANDHOUND_ES_PASSWORD)"
            )
        tool = str(dist / "bin" / "elasticsearch-keystore")
        for argv, stdin in (([tool, "create"], ""),
                            ([tool, "add", "-x", "bootstrap.password"], self._bootstrap_password)):
            proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=self._tool_env(),
                                  timeout=120)
            if proc.returncode != 0:
                keystore.unlink(missing_ok=True)
                raise LocalNodeError(f"`elasticsearch-keystore {argv[1]}` failed: {proc.stderr.strip()[-500:]}")

    # ----------------------------------------------------------------- file realm

    # The integ-test distribution lacks the analysis-common module that the security index's
    # mapping needs, so it can store neither native roles nor API keys: the local node's
    # users and roles live in files of its config directory, which it reloads within seconds.

    def write_file_roles(self, roles_yaml: str) -> Path:
        """Write ``roles.yml`` with these role descriptors (:func:`brandhound.es_roles.roles_yaml`)."""
        path = self.config_dir / "roles.yml"
        self._write_config_file(path, roles_yaml.encode("utf-8"))
        return path

    def add_file_user(self, name: str, password: str, roles: list[str]) -> None:
        """Add (or replace) a file-realm user; the password goes to the tool's standard input."""
        for file in ("users", "users_roles"):
            if not (self.config_dir / file).exists():
                self._write_config_file(self.config_dir / file, b"")
        tool = str(self.dist_dir / "bin" / "elasticsearch-users")
        subprocess.run([tool, "userdel", name], capture_output=True, env=self._tool_env(), timeout=120)
        proc = subprocess.run([tool, "useradd", name, "-r", ",".join(roles)], input=f"{password}\n{password}\n",
                              capture_output=True, text=True, env=self._tool_env(), timeout=120)
        if proc.returncode != 0:
            raise LocalNodeError(f"`elasticsearch-users useradd {name}` failed: {proc.stderr.strip()[-500:]}")
        if self.run_as:
            self._chown_tree(self.config_dir)

    def _write_config_file(self, path: Path, data: bytes) -> None:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        tmp.chmod(0o640)
        if self.run_as:
            entry = pwd.getpwnam(self.settings.user)
            os.chown(tmp, entry.pw_uid, entry.pw_gid)
        tmp.replace(path)  # the node's file watcher never sees half a file
