"""Sandbox web fixtures: one build of the example brand per session, and its daemon serving it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from sandbox.processes import free_port
from tests.support.paths import EXAMPLE_BRAND


class SandboxBuild(NamedTuple):
    home: Path  # a BRANDHOUND_HOME whose sandbox/web is this build
    dir: Path
    truth: dict[str, Any]


@pytest.fixture(scope="session")
def sandbox_build(tmp_path_factory) -> SandboxBuild:
    """The example brand's sandbox web at the daemon's defaults, built once; tests must not change its files.

    It is built where the daemon keeps its build, so ``sandbox_web`` serves it without building again.
    """
    from sandbox.web import build, daemon

    home = tmp_path_factory.mktemp("sandbox-home")
    out = daemon._paths(home)["dir"]
    truth_path = build(EXAMPLE_BRAND, out)
    return SandboxBuild(home, out, json.loads(truth_path.read_text(encoding="utf-8")))


@pytest.fixture(scope="session")
def sandbox_web(sandbox_build: SandboxBuild):
    """The session's sandbox build, served by its daemon for the whole session.

    Yields ``(home, state)``: crawls started with ``BRANDHOUND_HOME=home`` and
    ``--sandbox --sandbox-port state["port"]`` reuse this running sandbox.
    """
    from sandbox.web import daemon

    home = sandbox_build.home
    state = daemon.up(home, port=free_port(), profile_path=EXAMPLE_BRAND)
    yield home, state
    daemon.down(home)
