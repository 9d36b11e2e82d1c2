"""A private Tor network of real ``tor`` processes on 127.0.0.1 (``TestingTorNetwork 1``).

    with TorNetwork(base_dir, onion_services={"shop": 8080}) as net:   # builds in __init__, starts here
        http_get(f"http://{net.onion_address('shop')}/", net.client_socks_port)

Layout under ``base_dir``: ``nodes/<name>/`` is each node's DataDirectory, with
its ``torrc``, ``notice.log`` and ``stdout.log``; ``network.json`` describes the
build (ports, fingerprints); ``onion-keys/<name>/`` keeps each onion service's
keys so its address survives a rebuild. Every build is a fresh network (new
authority keys, relay keys and ports), apart from those onion keys.

Nodes (defaults: 8 tor processes): ``auth1..3`` directory authorities that
are also relays, ``relay1..2`` middle relays, ``exit1`` an exit to 127.0.0.0/8
only, ``client1`` (SocksPorts + ControlPort) and ``onion`` hosting every onion
service. A v3 onion connection needs distinct relays for the client's guard,
its layer-2 vanguard, the rendezvous point, the service's guard and path, and
an introduction point, so five relays is the floor. A relay that dies stays in
the consensus as Running (authorities keep a relay that passed a reachability
test listed for 45 minutes), and each service keeps three introduction points
per descriptor and shuns a failed one for minutes: with six relays, killing one
left the onion host unable to pick new ones ("No available nodes", once a
second for two minutes) while clients spent their retries. A network that must
survive a relay dying (the onion sandbox's) has ``RELAYS_TO_LOSE_ONE`` middle
relays, eight relays in all.
"""

from __future__ import annotations

import ctypes
import http.client
import json
import logging
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.processes import port_open
from sandbox.tor.socks import http_get
from sandbox.processes import free_ports as _free_ports
from sandbox.processes import SandboxError

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
ROLES = ("authority", "relay", "exit", "client", "onion")
RELAY_ROLES = ("authority", "relay", "exit")

# Consensus timing for the authorities (tor(1), TestingTorNetwork): the first
# consensus is voted on a 5 s schedule, later ones every 10 s; vote + distribution
# delay must stay below the interval, and the intervals must divide 30 minutes.
INITIAL_VOTING_INTERVAL = 5
VOTING_INTERVAL = 10
VOTE_DELAY = 2
DIST_DELAY = 2
#: Middle relays of a default network (besides the authorities and the exit).
DEFAULT_RELAYS = 2
#: Middle relays of a network that must keep its onion services reachable when one relay dies.
RELAYS_TO_LOSE_ONE = 4
# Authority certificates only need to outlive a test run; tor-gencert counts in months.
AUTH_CERT_MONTHS = 3
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class TorNetworkError(SandboxError):
    """The network could not be built, started or reached; the message says why (with log tails)."""


@dataclass
class Node:
    name: str
    role: str
    dir: Path
    control_port: int
    or_port: int | None = None
    dir_port: int | None = None
    socks_port: int | None = None
    browser_socks_port: int | None = None
    fingerprint: str | None = None
    v3ident: str | None = None  # authorities: the v3 identity from tor-gencert's certificate
    proc: subprocess.Popen | None = field(default=None, repr=False, compare=False)

    @property
    def torrc(self) -> Path:
        return self.dir / "torrc"

    @property
    def notice_log(self) -> Path:
        return self.dir / "notice.log"

    @property
    def stdout_log(self) -> Path:
        return self.dir / "stdout.log"

    @property
    def cookie_path(self) -> Path:
        return self.dir / "control_auth_cookie"

    @property
    def is_relay(self) -> bool:
        return self.role in RELAY_ROLES

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def ports(self) -> dict[str, int]:
        names = ("control_port", "or_port", "dir_port", "socks_port", "browser_socks_port")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def describe(self) -> dict[str, Any]:
        return {"role": self.role, "dir": str(self.dir), "ports": self.ports(),
                "fingerprint": self.fingerprint, "v3ident": self.v3ident}


def _die_with_parent():
    """A preexec_fn: the child gets SIGTERM when the thread that started it dies (Linux prctl).

    Even a SIGKILLed test run or daemon leaves no tor behind. (Not tor's own
    ``__OwningControllerProcess``: stem answers it with TAKEOWNERSHIP on every
    controller opened from the owning process, and closing any of them would
    then stop that tor.) Resolved in the parent: the child only makes the call.
    """
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(missing)"
    return "\n".join(text[-lines:]) or "(empty)"


def _parse_bootstrap(phase: str) -> dict[str, Any]:
    """``NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"`` -> {"progress": 100, "tag": "done", ...}."""
    progress = re.search(r"PROGRESS=(\d+)", phase)
    tag = re.search(r"TAG=(\S+)", phase)
    summary = re.search(r'SUMMARY="([^"]*)"', phase)
    return {"progress": int(progress.group(1)) if progress else None,
            "tag": tag.group(1) if tag else None,
            "summary": summary.group(1) if summary else phase}


class TorNetwork:
    """Build (in the constructor), start, inspect, fault and stop a private Tor network."""

    def __init__(self, base_dir: Path, *, authorities: int = 3, relays: int = DEFAULT_RELAYS, exits: int = 1,
                 clients: int = 1, onion_services: dict[str, int] | None = None,
                 control_password: str | None = None, user: str | None = None,
                 info_log: bool = False, tor: str | None = None, tor_gencert: str | None = None):
        """Write the whole network under ``base_dir`` (DataDirectories, keys, torrcs); start nothing.

        ``onion_services`` maps a name to the local port its HiddenServicePort 80
        forwards to (127.0.0.1). ``user``: run tor as this user (we must be root;
        the data directories are chowned to it). ``control_password`` adds a
        HashedControlPassword to every ControlPort next to cookie authentication.
        """
        if authorities < 1 or clients < 1 or relays < 0 or exits < 0:
            raise ValueError("a network needs at least one authority and one client")
        self.onion_services = dict(onion_services or {})
        for name, port in self.onion_services.items():
            if not NAME_RE.match(name):
                raise ValueError(f"onion service name {name!r}: use letters, digits, '-' and '_'")
            if not (isinstance(port, int) and 0 < port < 65536):
                raise ValueError(f"onion service {name!r}: target port {port!r} is not a port")
        if self.onion_services and authorities + relays + exits < 5:
            raise ValueError("onion services need at least 5 relays (authorities + relays + exits)")
        self.base_dir = Path(base_dir).resolve()
        self.tor = tor or shutil.which("tor") or "/usr/sbin/tor"
        self.tor_gencert = tor_gencert or shutil.which("tor-gencert") or "/usr/bin/tor-gencert"
        for binary in (self.tor, self.tor_gencert):
            if not Path(binary).exists():
                raise TorNetworkError(f"{binary} not found: install Debian's tor (apt-get install tor)")
        self.control_password = control_password
        self.user = user
        self.info_log = info_log
        self.bootstrap_seconds: float | None = None
        self.onion_ready_seconds: float | None = None
        self.nodes: dict[str, Node] = {}
        self._controllers: dict[str, Any] = {}
        self._hs_uploads: dict[str, set[str]] = {}  # onion address (no .onion) -> HSDirs that accepted it
        self._lock = threading.Lock()
        self._starting = False
        self._build(authorities, relays, exits, clients)

    # ------------------------------------------------------------------ build

    def _build(self, authorities: int, relays: int, exits: int, clients: int) -> None:
        nodes_dir = self.base_dir / "nodes"
        if nodes_dir.exists():
            shutil.rmtree(nodes_dir)  # every build is a fresh network
        nodes_dir.mkdir(parents=True, mode=0o700)
        layout = ([("authority", f"auth{i}") for i in range(1, authorities + 1)]
                  + [("relay", f"relay{i}") for i in range(1, relays + 1)]
                  + [("exit", f"exit{i}") for i in range(1, exits + 1)]
                  + [("client", f"client{i}") for i in range(1, clients + 1)]
                  + ([("onion", "onion")] if self.onion_services else []))
        # ControlPort for all; ORPort + DirPort for relays; two SocksPorts for clients.
        wanted = sum(1 if role == "onion" else 3 for role, _ in layout)
        ports = iter(_free_ports(wanted))
        for role, name in layout:
            node = Node(name, role, nodes_dir / name, control_port=next(ports))
            if role in RELAY_ROLES:
                node.or_port, node.dir_port = next(ports), next(ports)
            elif role == "client":
                node.socks_port, node.browser_socks_port = next(ports), next(ports)
            node.dir.mkdir(mode=0o700)
            self.nodes[name] = node

        # Keys: authority identity/signing keys and every relay's identity, in parallel (RSA is slow).
        relays_ = [n for n in self.nodes.values() if n.is_relay]
        with ThreadPoolExecutor(max_workers=4) as pool:
            jobs = [pool.submit(self._gencert, n) for n in relays_ if n.role == "authority"]
            jobs += [pool.submit(self._fingerprint, n) for n in relays_]
            for job in jobs:
                job.result()
        self._password_hash = self._hashed_password() if self.control_password else None
        onion = self.nodes.get("onion")
        if onion is not None:
            self._prepare_onion_dirs(onion)
        for node in self.nodes.values():
            node.torrc.write_text(self._torrc(node))
            if node.role == "exit":
                (node.dir / "resolv.conf").write_text("# the sandbox resolves nothing\nnameserver 127.0.0.1\n")
        if self.user:
            self._chown(nodes_dir)
        (self.base_dir / "network.json").write_text(json.dumps({
            "tor": self.tor, "tor_version": self._tor_version(), "onion_services": self.onion_services,
            "nodes": {name: node.describe() for name, node in self.nodes.items()},
        }, indent=1) + "\n")

    def _run(self, cmd: list[str], what: str, stdin: str | None = None) -> str:
        try:
            out = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TorNetworkError(f"{what} failed: {exc}") from exc
        if out.returncode != 0:
            raise TorNetworkError(f"{what} failed (exit {out.returncode}): {' '.join(cmd)}\n{out.stdout}{out.stderr}")
        return out.stdout

    def _tor_version(self) -> str:
        return self._run([self.tor, "--version"], "tor --version").splitlines()[0].strip()

    def _gencert(self, node: Node) -> None:
        """Authority keys with tor-gencert: a new identity key (passphrase on stdin), signing key, certificate."""
        keys = node.dir / "keys"
        keys.mkdir(mode=0o700, exist_ok=True)
        passphrase = secrets.token_hex(16)  # protects the identity key; a test network never re-certifies
        self._run([self.tor_gencert, "--create-identity-key", "--passphrase-fd", "0",
                   "-m", str(AUTH_CERT_MONTHS), "-a", f"{HOST}:{node.dir_port}",
                   "-i", str(keys / "authority_identity_key"), "-s", str(keys / "authority_signing_key"),
                   "-c", str(keys / "authority_certificate")], f"tor-gencert for {node.name}", stdin=passphrase + "\n")
        cert = (keys / "authority_certificate").read_text()
        match = re.search(r"^fingerprint ([0-9A-F]{40})$", cert, re.M)
        if not match:
            raise TorNetworkError(f"no fingerprint in {keys / 'authority_certificate'}")
        node.v3ident = match.group(1)

    def _fingerprint(self, node: Node) -> None:
        """Create the relay's identity keys in its DataDirectory and read its fingerprint."""
        out = self._run([self.tor, "--quiet", "--ignore-missing-torrc", "-f", str(node.dir / "no-torrc"),
                         "--defaults-torrc", os.devnull, "--DataDirectory", str(node.dir),
                         "--ORPort", f"{HOST}:{node.or_port}", "--Nickname", node.name, "--list-fingerprint"],
                        f"tor --list-fingerprint for {node.name}")
        fields = out.strip().splitlines()[-1].split()
        fingerprint = "".join(fields[1:])
        if fields[:1] != [node.name] or not re.fullmatch(r"[0-9A-F]{40}", fingerprint):
            raise TorNetworkError(f"unexpected tor --list-fingerprint output for {node.name}: {out!r}")
        node.fingerprint = fingerprint

    def _prepare_onion_dirs(self, onion: Node) -> None:
        """HiddenServiceDirs (0700); reuse saved keys so a rebuilt network keeps its .onion names."""
        (onion.dir / "hs").mkdir(mode=0o700)
        for name in self.onion_services:
            hs_dir = onion.dir / "hs" / name
            hs_dir.mkdir(mode=0o700)
            saved = self.base_dir / "onion-keys" / name
            for key in ("hs_ed25519_secret_key", "hs_ed25519_public_key"):
                if (saved / key).is_file():
                    shutil.copyfile(saved / key, hs_dir / key)
                    os.chmod(hs_dir / key, 0o600)

    def _save_onion_keys(self) -> None:
        onion = self.nodes.get("onion")
        for name in self.onion_services:
            hs_dir = onion.dir / "hs" / name
            saved = self.base_dir / "onion-keys" / name
            saved.mkdir(parents=True, mode=0o700, exist_ok=True)
            for key in ("hs_ed25519_secret_key", "hs_ed25519_public_key", "hostname"):
                if (hs_dir / key).is_file() and not (saved / key).is_file():
                    shutil.copyfile(hs_dir / key, saved / key)
                    os.chmod(saved / key, 0o600)

    def _chown(self, root: Path) -> None:
        entry = pwd.getpwnam(self.user)
        for path in [root, *root.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)

    def _hashed_password(self) -> str:
        return self._run([self.tor, "--quiet", "--hash-password", self.control_password],
                         "tor --hash-password").strip().splitlines()[-1]

    def _torrc(self, node: Node) -> str:
        """The torrc of one node: shared testing options, then what its role needs."""
        lines = [
            f"# {node.name} ({node.role}): written by sandbox.tor.network, rewritten on every build",
            "TestingTorNetwork 1",
            f"DataDirectory {node.dir}",
            f"Nickname {node.name}",
            f"PidFile {node.dir / 'tor.pid'}",
            f"Log notice file {node.notice_log}",
            *([f"Log info file {node.dir / 'info.log'}"] if self.info_log else []),
            "ProtocolWarnings 1",
            # Fresh network: publish descriptors at once instead of testing reachability first.
            "AssumeReachable 1",
            # A handful of relays: build circuits as soon as a quarter of the paths are known.
            "PathsNeededToBuildCircuits 0.25",
            "ShutdownWaitLength 0",
            "AddressDisableIPv6 1",
            f"ControlPort {HOST}:{node.control_port}",
            "CookieAuthentication 1",
            f"CookieAuthFile {node.cookie_path}",
        ]
        if self._password_hash:
            lines.append(f"HashedControlPassword {self._password_hash}")
        for auth in self.nodes.values():
            if auth.role == "authority":
                lines.append(f"DirAuthority {auth.name} orport={auth.or_port} v3ident={auth.v3ident} "
                             f"{HOST}:{auth.dir_port} {auth.fingerprint}")
        if node.is_relay:
            lines += [
                f"Address {HOST}",
                f"ORPort {HOST}:{node.or_port}",
                f"DirPort {HOST}:{node.dir_port}",
                "SocksPort 0",
                f"ContactInfo sandbox-{node.name}@brandhound.invalid",
            ]
        if node.role == "authority":
            exits = ",".join(n.fingerprint for n in self.nodes.values() if n.role == "exit")
            lines += [
                "AuthoritativeDirectory 1",
                "V3AuthoritativeDirectory 1",
                f"TestingV3AuthInitialVotingInterval {INITIAL_VOTING_INTERVAL}",
                f"TestingV3AuthInitialVoteDelay {VOTE_DELAY}",
                f"TestingV3AuthInitialDistDelay {DIST_DELAY}",
                f"V3AuthVotingInterval {VOTING_INTERVAL}",
                f"V3AuthVoteDelay {VOTE_DELAY}",
                f"V3AuthDistDelay {DIST_DELAY}",
                "V3AuthNIntervalsValid 2",
                # Flags a young relay would otherwise earn only after hours of uptime and bandwidth.
                "TestingDirAuthVoteGuard *",
                "TestingDirAuthVoteHSDir *",
                *([f"TestingDirAuthVoteExit {exits}", "TestingMinExitFlagThreshold 0"] if exits else []),
            ]
        if node.role in ("authority", "relay"):
            lines += ["ExitRelay 0", "ExitPolicy reject *:*"]
        if node.role == "exit":
            # Exit only to loopback: the sandbox never reaches anything beyond 127.0.0.0/8.
            lines += ["ExitRelay 1", "ExitPolicyRejectPrivate 0", "ExitPolicyRejectLocalInterfaces 0",
                      "ExitPolicy accept 127.0.0.0/8:*", "ExitPolicy reject *:*",
                      # and no DNS either: no hijack probes of public names, no system resolver
                      "ServerDNSDetectHijacking 0", f"ServerDNSResolvConfFile {node.dir / 'resolv.conf'}"]
        if node.role != "authority":
            # Fetch each new consensus as soon as it is published, not somewhere in the second
            # half of its lifetime: with 10 s intervals that is what makes bootstrap take seconds.
            lines += ["FetchDirInfoEarly 1", "FetchDirInfoExtraEarly 1"]
        if node.role in ("client", "onion"):
            lines += [
                "SafeLogging 0",  # keep onion addresses and targets in the logs we diagnose with
                "LearnCircuitBuildTimeout 0",  # a busy 2-core box must not learn a too-short timeout
            ]
        if node.role == "client":
            lines += [
                # Full descriptors carry the exits' real policies; the microdescriptor summary of
                # "accept 127.0.0.0/8:*" reads as "rejects everything", and then no exit would be used.
                "UseMicrodescriptors 0",
                # A stream waiting for a rendezvous the service gave up on (it abandons a rendezvous
                # circuit that failed to extend, e.g. through a dead relay still in the consensus) ends
                # after this, not tor's 2 minutes or the crawl's 90 s timeout: a loopback onion connects
                # in seconds, and the crawl's retry then goes out on new circuits.
                "SocksTimeout 30",
                # Crawlers: one circuit per SOCKS username/password (IsolateSOCKSAuth).
                f"SocksPort {HOST}:{node.socks_port} IsolateSOCKSAuth ExtendedErrors",
                # Browsers: additionally one circuit per destination.
                f"SocksPort {HOST}:{node.browser_socks_port} IsolateSOCKSAuth IsolateDestAddr ExtendedErrors",
            ]
        if node.role == "onion":
            lines.append("SocksPort 0")
            for name, target in self.onion_services.items():
                lines += [f"HiddenServiceDir {node.dir / 'hs' / name}", "HiddenServiceVersion 3",
                          f"HiddenServicePort 80 {HOST}:{target}"]
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------ processes

    def _launch(self, node: Node) -> None:
        if node.alive:
            return
        for stale in ("tor.pid", "lock"):
            (node.dir / stale).unlink(missing_ok=True)
        cmd = [self.tor, "-f", str(node.torrc), "--defaults-torrc", os.devnull]
        extra: dict[str, Any] = {}
        if self.user:
            extra = {"user": self.user, "group": pwd.getpwnam(self.user).pw_gid, "extra_groups": []}
        with open(node.stdout_log, "ab") as out:
            node.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         cwd=node.dir, preexec_fn=_die_with_parent(), **extra)

    def _wait_control_ports(self, nodes: Iterable[Node], deadline: float) -> None:
        pending = list(nodes)
        while pending:
            for node in list(pending):
                if not node.alive:
                    raise TorNetworkError(f"{node.name} exited with status {node.proc.returncode if node.proc else '?'} "
                                          f"while starting\n{self._log_tails([node])}")
                if port_open(node.control_port, timeout=0.2):
                    pending.remove(node)
            if pending:
                if time.monotonic() > deadline:
                    raise TorNetworkError(f"ControlPort of {', '.join(n.name for n in pending)} did not open\n"
                                          f"{self._log_tails(pending)}")
                time.sleep(0.05)

    def _check_alive(self, nodes: Iterable[Node]) -> None:
        """Fail fast when a tor we wait on died (while starting: any tor of the network)."""
        dead = [n for n in (self.nodes.values() if self._starting else nodes) if not n.alive]
        if dead:
            raise TorNetworkError(f"tor exited: {', '.join(f'{n.name} (status {n.proc.poll()})' for n in dead)}\n"
                                  f"{self._log_tails(dead)}")

    def _log_tails(self, nodes: Iterable[Node], lines: int = 15) -> str:
        parts = []
        for node in nodes:
            notice = _tail(node.notice_log, lines)
            parts.append(f"--- {node.notice_log}\n{notice}")
            if not node.alive or notice in ("(missing)", "(empty)"):  # torrc errors go to stdout
                parts.append(f"--- {node.stdout_log}\n{_tail(node.stdout_log, 10)}")
        return "\n".join(parts)

    def _by_role(self, *roles: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.role in roles]

    # ------------------------------------------------------------------ control

    def controller(self, name: str | None = None):
        """A new authenticated stem Controller for a node (default: the first client); close it when done."""
        from stem.control import Controller

        node = self.nodes[name] if name else self.client
        ctl = Controller.from_port(address=HOST, port=node.control_port)
        try:
            ctl.authenticate(password=self.control_password)  # the cookie, or the password if set
        except Exception:
            ctl.close()
            raise
        return ctl

    def _shared_controller(self, node: Node):
        """A cached controller for our own polling (reconnected after a restart)."""
        with self._lock:
            ctl = self._controllers.get(node.name)
            if ctl is not None and ctl.is_alive():
                return ctl
            if ctl is not None:
                ctl.close()
            ctl = self.controller(node.name)
            self._controllers[node.name] = ctl
            if node.role == "onion":
                from stem.control import EventType

                ctl.add_event_listener(self._on_hs_desc, EventType.HS_DESC)
            return ctl

    def _on_hs_desc(self, event) -> None:
        log.debug("HS_DESC %s %s %s", event.action, event.address, event.directory_fingerprint)
        if event.action == "UPLOADED":
            self._hs_uploads.setdefault(event.address, set()).add(event.directory_fingerprint or "?")

    def bootstrap(self, name: str | None = None) -> dict[str, Any]:
        """A node's bootstrap status from its ControlPort: {"progress": 0..100, "tag", "summary"}."""
        node = self.nodes[name] if name else self.client
        return _parse_bootstrap(self._shared_controller(node).get_info("status/bootstrap-phase"))

    # ------------------------------------------------------------------ lifecycle

    def start(self, deadline_s: float = 120.0) -> TorNetwork:
        """Start every tor (authorities first) and return once the client is bootstrapped and every
        onion service answers HTTP through the client's SocksPort. On failure everything is stopped
        and TorNetworkError carries the tails of the relevant logs."""
        t0 = time.monotonic()
        deadline = t0 + deadline_s
        self.bootstrap_seconds = self.onion_ready_seconds = None
        self._starting = True
        try:
            authorities = self._by_role("authority")
            for node in authorities:
                self._launch(node)
            self._wait_control_ports(authorities, deadline)
            others = [n for n in self.nodes.values() if n.role != "authority"]
            for node in others:
                self._launch(node)
            self._wait_control_ports(others, deadline)
            if "onion" in self.nodes:
                self._shared_controller(self.nodes["onion"])  # listen for HS_DESC uploads from now on
                self._wait_onion_hostnames(deadline)
            self.wait_bootstrapped(deadline - time.monotonic())
            self.bootstrap_seconds = time.monotonic() - t0
            log.debug("client bootstrapped in %.1f s", self.bootstrap_seconds)
            self.wait_onions_reachable(deadline - time.monotonic())
            self.onion_ready_seconds = time.monotonic() - t0
            return self
        except BaseException:
            self.stop()
            raise
        finally:
            self._starting = False

    def _wait_onion_hostnames(self, deadline: float) -> None:
        onion = self.nodes["onion"]
        while not all((onion.dir / "hs" / name / "hostname").is_file() for name in self.onion_services):
            self._check_alive([onion])
            if time.monotonic() > deadline:
                raise TorNetworkError(f"the onion service keys were not generated\n{self._log_tails([onion])}")
            time.sleep(0.05)
        self._save_onion_keys()

    def wait_bootstrapped(self, deadline_s: float = 60.0, name: str | None = None) -> None:
        """Poll the client's ``status/bootstrap-phase`` until PROGRESS=100."""
        node = self.nodes[name] if name else self.client
        deadline = time.monotonic() + deadline_s
        status: dict[str, Any] = {}
        while True:
            self._check_alive([node])
            try:
                status = self.bootstrap(node.name)
            except Exception as exc:  # noqa: BLE001  (stem.SocketError / ControllerError while tor is busy)
                status = {"progress": None, "summary": f"control port: {exc}"}
            if status.get("progress") == 100:
                return
            if time.monotonic() > deadline:
                raise TorNetworkError(
                    f"{node.name} did not bootstrap: {status.get('progress')}% {status.get('summary')}\n"
                    f"{self._log_tails([node, *self._by_role('authority')])}")
            time.sleep(0.25)

    def wait_onions_reachable(self, deadline_s: float = 90.0, attempt_timeout: float = 30.0) -> None:
        """Fetch ``http://<onion>/`` through the client's SocksPort until every service answers.

        Each failed attempt (descriptor not yet on the HSDirs, introduction or rendezvous failure)
        sends NEWNYM, which also clears the client's onion-service caches and its record of
        HSDirs already asked, so the next attempt starts clean."""
        deadline = time.monotonic() + deadline_s
        # Wait for the service's HS_DESC UPLOADED event before asking: a client that asked every
        # HSDir in vain would not ask them again for a while. Should the event be missed, ask anyway.
        gate_until = time.monotonic() + min(30.0, deadline_s / 2)
        if self.onion_services:
            self._shared_controller(self.nodes["onion"])
        for name in self.onion_services:
            address = self.onion_address(name)
            attempts, last_error = 0, "no attempt yet"
            while True:
                self._check_alive([self.client, self.nodes["onion"]])
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    uploads = len(self._hs_uploads.get(address.removesuffix(".onion"), ()))
                    raise TorNetworkError(
                        f"onion service {name} ({address}) not reachable after {attempts} attempts; "
                        f"descriptor accepted by {uploads} HSDirs; last error: {last_error}\n"
                        f"{self._log_tails([self.client, self.nodes['onion']])}")
                if not self._hs_uploads.get(address.removesuffix(".onion")) and time.monotonic() < gate_until:
                    last_error = "descriptor not uploaded yet"
                    time.sleep(0.2)
                    continue
                attempts += 1
                try:
                    http_get(f"http://{address}/", self.client_socks_port, username=f"readiness-{attempts}",
                             timeout=max(1.0, min(attempt_timeout, remaining)))
                    break
                except (OSError, http.client.HTTPException) as exc:  # SocksError is an OSError
                    last_error = f"{type(exc).__name__}: {exc}"
                    log.debug("onion %s attempt %d failed: %s", name, attempts, last_error)
                    try:
                        from stem import Signal

                        self._shared_controller(self.client).signal(Signal.NEWNYM)
                    except Exception:  # noqa: BLE001  (a client still starting refuses NEWNYM; the next round asks again)
                        pass
                    time.sleep(0.5)

    def stop(self, deadline_s: float = 10.0) -> None:
        """SIGTERM every tor, wait up to ``deadline_s``, SIGKILL the rest; reap all. Idempotent."""
        with self._lock:
            controllers, self._controllers = list(self._controllers.values()), {}
        for ctl in controllers:
            try:
                ctl.close()
            except Exception:  # noqa: BLE001  (a controller of a dead tor cannot close cleanly, and need not)
                pass
        running = [n for n in self.nodes.values() if n.alive]
        for node in running:
            try:
                node.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + deadline_s
        for node in running:
            try:
                node.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                node.proc.kill()
                node.proc.wait()
        for node in self.nodes.values():
            if node.proc is not None:
                node.proc.poll()

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Fault injection: signal one node (SIGKILL by default) and wait until it is gone."""
        node = self.nodes[name]
        if node.alive:
            node.proc.send_signal(sig)
            node.proc.wait(timeout=10)

    def restart(self, name: str, deadline_s: float = 30.0) -> None:
        """Start a stopped or killed node again with the same torrc, keys and ports."""
        node = self.nodes[name]
        if node.alive:
            self.kill(name, signal.SIGTERM)
        self._launch(node)
        self._wait_control_ports([node], time.monotonic() + deadline_s)

    def __enter__(self) -> TorNetwork:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ facts

    @property
    def client(self) -> Node:
        return self._by_role("client")[0]

    @property
    def client_socks_port(self) -> int:
        return self.client.socks_port

    @property
    def browser_socks_port(self) -> int:
        return self.client.browser_socks_port

    @property
    def control_port(self) -> int:
        return self.client.control_port

    @property
    def control_cookie_path(self) -> Path:
        return self.client.cookie_path

    def onion_address(self, name: str) -> str:
        """``<56 base32 chars>.onion`` of an onion service (tor writes it on its first start)."""
        if name not in self.onion_services:
            raise KeyError(f"no onion service {name!r}; known: {', '.join(self.onion_services) or 'none'}")
        for path in (self.nodes["onion"].dir / "hs" / name / "hostname",
                     self.base_dir / "onion-keys" / name / "hostname"):
            if path.is_file():
                return path.read_text().strip()
        raise TorNetworkError(f"onion service {name!r} has no address yet: start the network first")

    def onion_addresses(self) -> dict[str, str]:
        out = {}
        for name in self.onion_services:
            try:
                out[name] = self.onion_address(name)
            except TorNetworkError:
                out[name] = None
        return out

    def status(self) -> dict[str, Any]:
        """Each node's pid, liveness and ports; the client's bootstrap; onion addresses; timings."""
        client = self.client
        if client.alive:
            try:
                bootstrap = self.bootstrap(client.name)
            except Exception as exc:  # noqa: BLE001  (stem.SocketError / ControllerError while tor is busy)
                bootstrap = {"progress": None, "summary": f"control port: {exc}"}
        else:
            bootstrap = {"progress": None, "summary": "client not running"}
        return {
            "base_dir": str(self.base_dir),
            "nodes": {n.name: {"role": n.role, "pid": n.pid, "alive": n.alive, "ports": n.ports(),
                               "log": str(n.notice_log)} for n in self.nodes.values()},
            "client": {"socks_port": self.client_socks_port, "browser_socks_port": self.browser_socks_port,
                       "control_port": self.control_port, "control_cookie_path": str(self.control_cookie_path),
                       "bootstrap": bootstrap},
            "onions": self.onion_addresses(),
            "onion_targets": dict(self.onion_services),
            "bootstrap_seconds": self.bootstrap_seconds,
            "onion_ready_seconds": self.onion_ready_seconds,
        }

    def __repr__(self) -> str:
        alive = sum(n.alive for n in self.nodes.values())
        return f"<TorNetwork {self.base_dir} {alive}/{len(self.nodes)} running>"
