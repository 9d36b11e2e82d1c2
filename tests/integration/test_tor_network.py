"""The private Tor network (sandbox.tor) as brandhound's onion crawler reaches it: real tor
processes on 127.0.0.1, onion services in front of local HTTP servers, SOCKS with remote DNS,
circuit isolation by SOCKS credentials, faults, shutdown and the background daemon.
No Elasticsearch. Needs Debian's ``tor`` package (tor and tor-gencert)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import time
from pathlib import Path

import pytest

from sandbox.local_http import QuietSite, serve
from sandbox.tor import ProxyUnreachableError, TorNetwork, TorNetworkError, daemon, http_get
from tests.polling import poll

pytestmark = [pytest.mark.filterwarnings("ignore:setDaemon:DeprecationWarning")]  # stem 1.8's threads


def test_tor_is_installed():
    # A missing tor fails loudly here (./brandhound.sh installs it), never a silent skip.
    assert shutil.which("tor") and shutil.which("tor-gencert"), "Debian's tor package is missing: apt-get install tor"

ONION_RE = re.compile(r"^[a-z2-7]{56}\.onion$")
PAGES = {
    "shop": b"<html><body><h1>Kestrava outlet</h1><p>onion shop test page</p></body></html>",
    "forum": b"<html><body><h1>Leaks forum</h1><p>onion forum test page</p></body></html>",
}


class _PageHandler(QuietSite):
    def do_GET(self):  # noqa: N802
        self.answer(200, self.server.page)


@pytest.fixture(scope="module")
def sites():
    """One tiny HTTP server per onion service on 127.0.0.1: name -> port."""
    servers = {}
    for name, page in PAGES.items():
        servers[name] = serve(_PageHandler, page=page)
    yield {name: server.server_address[1] for name, server in servers.items()}
    for server in servers.values():
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def tor_net(tmp_path_factory, sites):
    net = TorNetwork(tmp_path_factory.mktemp("tor-net"), onion_services=sites)
    net.start(deadline_s=180)
    print(f"\ntor network: client bootstrapped in {net.bootstrap_seconds:.1f} s, "
          f"onion services reachable in {net.onion_ready_seconds:.1f} s")
    yield net
    net.stop()



def sockets_of(pids: list[int]) -> list[tuple[str, str, str]]:
    """(protocol, local, remote) of every socket the processes hold, from /proc (IPv4 and IPv6)."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = []
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        for line in Path(f"/proc/net/{proto}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                found.append((proto, _addr(fields[1]), _addr(fields[2])))
    return found


def _addr(hex_addr: str) -> str:
    ip, port = hex_addr.split(":")
    raw = bytes.fromhex(ip)
    if len(raw) == 4:
        text = socket.inet_ntop(socket.AF_INET, raw[::-1])
    else:  # four little-endian 32-bit words
        text = socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
    return f"{text}:{int(port, 16)}"


def is_loopback_or_unset(addr: str) -> bool:
    host = addr.rsplit(":", 1)[0]
    return host.startswith("127.") or host in ("0.0.0.0", "::", "::1") or host.startswith("::ffff:127.")


# --------------------------------------------------------------------------- build only (no tor started)


def test_build_writes_a_private_testing_network(tmp_path):
    net = TorNetwork(tmp_path, onion_services={"shop": 8080})
    roles = [n.role for n in net.nodes.values()]
    assert roles == ["authority"] * 3 + ["relay"] * 2 + ["exit", "client", "onion"]
    ports = [p for n in net.nodes.values() for p in n.ports().values()]
    assert len(ports) == len(set(ports))
    authorities = [n for n in net.nodes.values() if n.role == "authority"]
    for node in net.nodes.values():
        torrc = node.torrc.read_text()
        assert "TestingTorNetwork 1" in torrc and f"DataDirectory {node.dir}" in torrc
        assert f"Log notice file {node.notice_log}" in torrc
        for auth in authorities:  # every node trusts exactly our authorities
            assert re.search(rf"^DirAuthority {auth.name} orport={auth.or_port} v3ident={auth.v3ident} "
                             rf"127\.0\.0\.1:{auth.dir_port} {auth.fingerprint}$", torrc, re.M)
        assert torrc.count("DirAuthority ") == 3
        # every listener on loopback, nowhere else
        for line in torrc.splitlines():
            if re.match(r"^(ORPort|DirPort|SocksPort|ControlPort) ", line) and not line.endswith(" 0"):
                assert line.split()[1].startswith("127.0.0.1:"), line
        assert (node.role == "authority") == ("V3AuthoritativeDirectory 1" in torrc)
    assert (net.base_dir / "nodes/auth1/keys/authority_certificate").is_file()
    client = net.nodes["client1"].torrc.read_text()
    assert f"SocksPort 127.0.0.1:{net.client_socks_port} IsolateSOCKSAuth" in client
    assert f"SocksPort 127.0.0.1:{net.browser_socks_port} IsolateSOCKSAuth IsolateDestAddr" in client
    assert "CookieAuthentication 1" in client
    exit_torrc = net.nodes["exit1"].torrc.read_text()
    assert "ExitPolicy accept 127.0.0.0/8:*\nExitPolicy reject *:*" in exit_torrc
    assert "ExitPolicyRejectPrivate 0" in exit_torrc
    onion = net.nodes["onion"].torrc.read_text()
    assert "HiddenServiceVersion 3\nHiddenServicePort 80 127.0.0.1:8080" in onion
    assert not any(n.alive for n in net.nodes.values())


def test_failed_start_reports_logs_and_leaves_nothing_running(tmp_path):
    net = TorNetwork(tmp_path, onion_services={"shop": 9})
    with pytest.raises(TorNetworkError) as info:
        net.start(deadline_s=2)  # far too short to bootstrap
    message = str(info.value)
    # which stage ran out of time depends on the machine's load; each names it
    assert re.search(r"did not bootstrap|not reachable|did not open|were not generated", message), message
    assert "notice.log" in message and "[notice]" in message  # the tails of the tor logs
    assert not any(n.alive for n in net.nodes.values())
    for node in net.nodes.values():
        with pytest.raises(ProcessLookupError):
            os.kill(node.pid, 0)


# --------------------------------------------------------------------------- the running network


def test_network_is_up_and_reports_status(tor_net, sites):
    status = tor_net.status()
    assert len(status["nodes"]) == 8
    assert all(node["alive"] and node["pid"] for node in status["nodes"].values())
    assert status["client"]["bootstrap"]["progress"] == 100
    assert status["onion_targets"] == sites
    assert all(ONION_RE.match(addr) for addr in status["onions"].values())
    assert status["onions"]["shop"] != status["onions"]["forum"]
    assert 0 < tor_net.bootstrap_seconds <= tor_net.onion_ready_seconds < 180
    assert tor_net.control_cookie_path.stat().st_size == 32
    # What tor itself listens on: loopback only.
    from stem.control import Listener

    with tor_net.controller() as ctl:
        socks = ctl.get_listeners(Listener.SOCKS)
        assert sorted(socks) == sorted([("127.0.0.1", tor_net.client_socks_port),
                                        ("127.0.0.1", tor_net.browser_socks_port)])
    with tor_net.controller("auth1") as ctl:
        listeners = ctl.get_listeners(Listener.OR) + ctl.get_listeners(Listener.DIR) + ctl.get_listeners(Listener.CONTROL)
        assert {addr for addr, _ in listeners} == {"127.0.0.1"}
    # And every socket any tor holds, listening or connected, TCP or UDP (DNS): loopback only.
    sockets = sockets_of([node.pid for node in tor_net.nodes.values()])
    assert len(sockets) > 20
    assert [s for s in sockets if not (is_loopback_or_unset(s[1]) and is_loopback_or_unset(s[2]))] == []
    assert all(s[1].startswith("127.") for s in sockets)  # bound to loopback, never to a wildcard


def test_fetch_onion_page_with_remote_dns(tor_net, monkeypatch):
    resolved: list[str] = []
    real_getaddrinfo, real_gethostbyname = socket.getaddrinfo, socket.gethostbyname

    def recording_getaddrinfo(host, *args, **kwargs):
        resolved.append(str(host))
        return real_getaddrinfo(host, *args, **kwargs)

    def recording_gethostbyname(host):
        resolved.append(str(host))
        return real_gethostbyname(host)

    monkeypatch.setattr(socket, "getaddrinfo", recording_getaddrinfo)
    monkeypatch.setattr(socket, "gethostbyname", recording_gethostbyname)
    address = tor_net.onion_address("shop")
    result = http_get(f"http://{address}/", tor_net.client_socks_port, username="crawl-shop", timeout=60)
    assert result.status == 200 and result.body == PAGES["shop"]
    # The browser port (IsolateDestAddr) reaches it too.
    result = http_get(f"http://{address}/", tor_net.browser_socks_port, timeout=60)
    assert result.body == PAGES["shop"]
    assert not [host for host in resolved if ".onion" in host], resolved


def test_socks_credentials_isolate_circuits(tor_net):
    from stem.control import EventType

    streams: dict[int, dict] = {}  # stream id -> {"port": our local port, "circ": circuit id}

    def on_stream(event):
        entry = streams.setdefault(int(event.id), {})
        if event.source_port:
            entry["port"] = int(event.source_port)
        if event.status == "SUCCEEDED":
            entry["circ"] = event.circ_id

    fetches = [("alice", "shop"), ("bob", "forum"), ("carol", "shop"), ("alice", "shop")]
    with tor_net.controller() as ctl:
        ctl.add_event_listener(on_stream, EventType.STREAM)
        local_ports = []
        for user, name in fetches:
            result = http_get(f"http://{tor_net.onion_address(name)}/", tor_net.client_socks_port,
                              username=user, password="pw", timeout=60)
            assert result.body == PAGES[name]
            local_ports.append(result.local_port)

        def circuits():
            by_port = {s["port"]: s.get("circ") for s in streams.values() if "port" in s}
            found = [by_port.get(port) for port in local_ports]
            return found if all(found) else None

        alice_shop, bob_forum, carol_shop, alice_again = poll(circuits, 10, "STREAM events for every fetch")
        usernames = {c.id: c.socks_username for c in ctl.get_circuits()}
    assert alice_shop != bob_forum  # different credentials, different services
    assert alice_shop != carol_shop  # different credentials, same service: still separate circuits
    assert alice_again == alice_shop  # same credentials reuse the circuit
    assert usernames.get(alice_shop) == "alice" and usernames.get(carol_shop) == "carol"
    assert usernames.get(bob_forum) == "bob"


def test_exit_reaches_loopback_only_service(tor_net, sites):
    """A non-onion fetch leaves the network through exit1 (ExitPolicy accept 127.0.0.0/8:*)."""
    from stem.control import EventType

    exits: dict[int, str] = {}

    with tor_net.controller() as ctl:
        ctl.add_event_listener(lambda e: e.status == "SUCCEEDED" and exits.setdefault(e.circ_id, e.target_address),
                               EventType.STREAM)
        url = f"http://127.0.0.1:{sites['forum']}/"
        result = poll(lambda: http_get(url, tor_net.client_socks_port, username="exit-test", timeout=20), 60,
                      "a fetch through the exit")
        assert result.body == PAGES["forum"]
        # Tor reports the target remapped to "127.0.0.1.<exit fingerprint>.exit".
        circ_id = poll(lambda: next((c for c, target in exits.items() if target.startswith("127.0.0.1.")), None), 10,
                       "the STREAM event of the exit fetch")
        path = [nickname for _, nickname in ctl.get_circuit(circ_id).path]
    assert path[-1] == "exit1"


def test_kill_and_restart_a_relay(tor_net):
    tor_net.kill("relay1")
    status = tor_net.status()["nodes"]["relay1"]
    assert not status["alive"]
    tor_net.restart("relay1")
    assert tor_net.nodes["relay1"].alive
    poll(lambda: tor_net.bootstrap("relay1")["progress"] == 100, 60, "relay1 bootstrapped again")
    # The onion service stays reachable (new circuits avoid or rebuild through the restarted relay).
    result = poll(lambda: http_get(f"http://{tor_net.onion_address('forum')}/", tor_net.client_socks_port,
                                   username="after-restart", timeout=30), 90, "the onion after a relay restart")
    assert result.body == PAGES["forum"]


# Keep this the last test that uses tor_net: it stops the shared network.
def test_stopped_network_fails_fast_and_leaves_no_process(tor_net):
    pids = [node.pid for node in tor_net.nodes.values()]
    tor_net.stop()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    started = time.monotonic()
    with pytest.raises(ProxyUnreachableError, match="is the Tor network running"):
        http_get(f"http://{tor_net.onion_address('shop')}/", tor_net.client_socks_port, timeout=30)
    import stem

    with pytest.raises(stem.SocketError):
        tor_net.controller()
    assert time.monotonic() - started < 2
    status = tor_net.status()
    assert not any(node["alive"] for node in status["nodes"].values())
    assert status["client"]["bootstrap"]["progress"] is None


# --------------------------------------------------------------------------- the background daemon


def test_daemon_up_status_down(tmp_path, sites):
    home = tmp_path / "home"
    try:
        state = daemon.up(home, {"shop": sites["shop"]}, deadline_s=180)
        print(f"\ndaemon: bootstrap {state['bootstrap_seconds']} s, onion ready {state['onion_ready_seconds']} s")
        assert state["running"] and state["nodes_alive"] == 8 and not state["stale"]
        assert ONION_RE.match(state["onions"]["shop"])
        result = http_get(state["onion_urls"]["shop"], state["client_socks_port"], timeout=60)
        assert result.body == PAGES["shop"]
        again = daemon.up(home, {"shop": sites["shop"]})  # idempotent: the same server
        assert again["pid"] == state["pid"] and not again["stale"]
        assert daemon.up(home, {"shop": sites["forum"]})["stale"]
        assert (home / "sandbox/tor/net/nodes/client1/notice.log").is_file()
    finally:
        stopped = daemon.down(home)
    assert stopped
    after = daemon.status(home)
    assert not after["running"] and after["pid"] is None and after["nodes_alive"] == 0
    assert not daemon.down(home)
    with pytest.raises(ProxyUnreachableError):
        http_get(state["onion_urls"]["shop"], state["client_socks_port"], timeout=5)
