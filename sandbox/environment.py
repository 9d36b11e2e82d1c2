"""The sandbox as a crawl environment: ``brandhound crawl --sandbox`` and ``takedown draft --sandbox``.

Registered under the ``brandhound.environments`` entry point, so the command line switches to the
sandbox web (or, for onion spiders, the onion sandbox) without production code importing it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Callable

from brandhound.config import ConfigError, Settings
from crawlers.runner import Egress
from detectors.rdap import RdapClient
from sandbox.egress import ONION_SITE_OF_SPIDER, onion_egress, onion_seeds, sandbox_egress
from sandbox.onion import daemon as onion_daemon
from sandbox.web import daemon as web_daemon
from sandbox.web import rdap
from takedown.hosting import HostingLookup


def web_up(settings: Settings, args: argparse.Namespace,
           progress: Callable[[str], object] | None = None) -> dict[str, Any]:
    """Build (if needed) and start the sandbox web for ``args.brand``; its running state."""
    state = web_daemon.up(settings.home, port=args.sandbox_port, profile_path=args.brand,
                          listings_per_marketplace=args.listings, progress=progress)
    if state.get("stale"):
        print("note: the running sandbox was built from another profile or size; `brandhound sandbox down` to rebuild",
              flush=True)
    return state


class SandboxEnvironment:
    """The sandbox web for surface, marketplace and paste spiders; the onion sandbox for onion spiders."""

    def crawl(self, settings: Settings, args: argparse.Namespace, spider: str,
              seeds: list[str]) -> tuple[Egress, list[str]]:
        if spider in ONION_SITE_OF_SPIDER:
            try:
                state = onion_daemon.up(settings.home, profile_path=args.brand)
            except onion_daemon.SandboxError as exc:
                raise ConfigError(f"onion sandbox: {exc}") from None
            return onion_egress(state), seeds or onion_seeds(state, spider)
        state = web_up(settings, args)
        if not seeds:
            truth = json.loads(Path(state["ground_truth"]).read_text(encoding="utf-8"))
            seeds = truth["seeds"].get(spider, [])
        return sandbox_egress(state), seeds

    def lookups(self, settings: Settings) -> tuple[RdapClient, HostingLookup]:
        """RDAP clients that ask the running sandbox web's registry, through its proxy."""
        state = web_daemon.status(settings.home)
        if not state.get("running"):
            raise ConfigError("--sandbox: the sandbox web is not running; start it with `brandhound sandbox up`")
        ca = str(Path(state["ground_truth"]).parent / "ca.pem")
        domains = RdapClient(rdap.BOOTSTRAP_URL, proxy=state["proxy_url"], ca_bundle=ca)
        hosting = HostingLookup(f"https://{rdap.HOST}{rdap.IP_BOOTSTRAP_PATH}", proxy=state["proxy_url"], ca_bundle=ca)
        hosting.use_published_map(f"https://{rdap.HOST}{rdap.HOSTING_PATH}")
        return domains, hosting


SANDBOX = SandboxEnvironment()
