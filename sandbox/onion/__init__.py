"""The onion sandbox sites: a dark-web marketplace and a leak forum, generated from a brand
profile, served on 127.0.0.1 (one port per site) and published as v3 onion services on the
private Tor network of ``sandbox.tor``.

    truth = build(profile_path, out_dir)                       # pages, routes, onion_truth.json
    with OnionSites(out_dir, {"market": 0, "forum": 0}) as s:  # serve them (s.ports)
        ...
    sandbox.onion.daemon.up(home)                              # both, plus Tor, in the background
"""

from sandbox.onion.builder import build
from sandbox.onion.server import OnionSites

__all__ = ["build", "OnionSites"]
