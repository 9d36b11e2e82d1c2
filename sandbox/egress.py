"""How a crawl reaches the sandbox web: through its proxy, with every sandbox host mapped to 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crawlers.runner import Egress


def sandbox_egress(state: dict[str, Any]) -> Egress:
    """The egress for a running sandbox (``sandbox.web.daemon.up``'s state, or a SandboxWeb's facts)."""
    truth_path = Path(state["ground_truth"])
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    return Egress(
        proxy=state["proxy_url"],
        # The sandbox lives on loopback; the SSRF guard must let it through.
        allow_private=True,
        host_overrides={host: "127.0.0.1" for host in truth["proxy_hosts"]},
        ignore_https_errors=True,
        # Its registry answers RDAP for its domains, over TLS from the sandbox CA.
        rdap_bootstrap=(truth.get("rdap") or {}).get("bootstrap"),
        rdap_ca_bundle=str(truth_path.parent / "ca.pem"),
    )


#: Which onion sandbox site each onion spider starts from.
ONION_SITE_OF_SPIDER = {"onion_market": "market", "onion_forum": "forum"}


def onion_egress(state: dict[str, Any]) -> Egress:
    """The egress for a running onion sandbox (``sandbox.onion.daemon.up``'s state): its Tor client's
    SocksPorts, one with per-credential isolation for the crawler, one per destination for Chromium."""
    return Egress(tor_socks=f"127.0.0.1:{state['client_socks_port']}",
                  tor_browser_socks=f"127.0.0.1:{state['browser_socks_port']}",
                  tor_control=f"127.0.0.1:{state['control_port']}", tor_control_cookie=state.get("control_cookie_path"))


def onion_seeds(state: dict[str, Any], spider: str) -> list[str]:
    """The start URLs of an onion spider on the onion sandbox: its site's seed paths on its onion address."""
    site = ONION_SITE_OF_SPIDER.get(spider)
    if site is None:
        return []
    truth = json.loads(Path(state["ground_truth"]).read_text(encoding="utf-8"))
    base = state["onion_urls"][site].rstrip("/")
    return [base + path for path in truth["sites"][site]["seeds"]]
