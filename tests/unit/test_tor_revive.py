"""Reviving the nodes of a running sandbox Tor network that a fault test killed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sandbox.tor import daemon
from sandbox.tor.serve import revive_dead_nodes


class FakeNetwork:
    def __init__(self, alive: dict[str, bool]):
        self.nodes = {name: SimpleNamespace(alive=up) for name, up in alive.items()}
        self.restarted: list[str] = []

    def restart(self, name: str, deadline_s: float) -> None:
        self.restarted.append(name)
        self.nodes[name].alive = True


def test_only_dead_nodes_are_relaunched():
    net = FakeNetwork({"auth1": True, "relay1": False, "client1": False, "onion": True})
    assert revive_dead_nodes(net) == ["relay1", "client1"] == net.restarted
    assert revive_dead_nodes(net) == []  # all running: nothing to do


def test_revive_without_a_running_network_says_so(tmp_path):
    with pytest.raises(daemon.SandboxError, match="no sandbox Tor network runs under .*sandbox/tor"):
        daemon.revive(tmp_path / "home")
