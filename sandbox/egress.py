"""How a crawl reaches the sandbox web: through its proxy, with every sandbox host mapped to 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crawlers.runner import Egress


def sandbox_egress(state: dict[str, Any]) -> Egress:
    """The egress for a running sandbox (``sandbox.web.daemon.up``'s state, or a SandboxWeb's facts)."""
    truth = json.loads(Path(state["ground_truth"]).read_text(encoding="utf-8"))
    return Egress(
        proxy=state["proxy_url"],
        # The sandbox lives on loopback; the SSRF guard must let it through.
        allow_private=True,
        host_overrides={host: "127.0.0.1" for host in truth["proxy_hosts"]},
        ignore_https_errors=True,
    )
