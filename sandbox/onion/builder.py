"""Builds the onion sandbox sites for a brand profile: the market's and the forum's files, the
route table (``routes.json``, one "host" per site) and the ground truth (``onion_truth.json``).

Like the sandbox web's build, the output depends only on the profile (and its images), the seed
and the counts. Ground truth uses paths, not URLs: the onion addresses exist only once the Tor
network has generated its keys (``sandbox.onion.daemon`` reports them).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from brandhound.profile import load_profile
from sandbox.onion import forum, market
from sandbox.web.builder import build_key as web_build_key
from sandbox.web.fileio import write_json
from sandbox.web.images import MediaLibrary
from sandbox.web.money import Rates
from sandbox.web.output import ROUTES_FILE, Output

#: Bump when a change of the generator changes its output, so stale builds are rebuilt.
GENERATOR_VERSION = 1
TRUTH_FILE = "onion_truth.json"
BUILD_FILE = "build.json"
SITES = (market.SITE, forum.SITE)


def build_key(profile_path: str | Path, listings: int, threads: int, seed: int) -> str:
    """Identifies a build's inputs: the profile, its images, the counts, the seed, the generators."""
    digest = hashlib.sha256(web_build_key(profile_path, listings, seed).encode())
    digest.update(json.dumps(["onion", GENERATOR_VERSION, listings, threads]).encode())
    return digest.hexdigest()


def build(profile_path: str | Path, out_dir: str | Path, *, listings: int = market.LISTING_COUNT,
          threads: int = forum.THREAD_COUNT, seed: int = 1337) -> Path:
    """Write the onion sites for ``profile_path`` into ``out_dir``; returns the ground-truth path."""
    out_dir = Path(out_dir)
    profile = load_profile(profile_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out_dir / "hosts", ignore_errors=True)
    out = Output(out_dir)
    media = MediaLibrary(profile, seed)
    items = market.plan_market(profile, media, Rates(profile), seed, listings)
    market_pages = market.write_market(out, items)
    forum_threads = forum.plan_forum(profile, seed, threads)
    forum_pages = forum.write_forum(out, forum_threads, profile)
    out.save()
    truth = {
        "brand": profile.id,
        "seed": seed,
        "sites": {
            market.SITE: {"name": market.NAME, "seeds": [market.index_path(1)], "listings": len(items),
                          "per_page": market.PER_PAGE},
            forum.SITE: {"name": forum.NAME, "seeds": ["/"], "threads": len(forum_threads),
                         "per_page": forum.PER_PAGE},
        },
        "corporate_email_domains": list(profile.corporate_email_domains),
        "pages": [*market_pages, *forum_pages],
    }
    truth_path = out_dir / TRUTH_FILE
    write_json(truth_path, truth)
    write_json(out_dir / BUILD_FILE, {
        "key": build_key(profile_path, listings, threads, seed), "profile": str(Path(profile_path).resolve()),
        "seed": seed, "listings": listings, "threads": threads, "routes": ROUTES_FILE, "truth": TRUTH_FILE,
    })
    return truth_path
