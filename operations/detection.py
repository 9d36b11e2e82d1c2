"""The batch detection job: what is decided over all of a brand's findings at once, after a crawl.

Per-capture detectors run inside the crawl (``DetectorPipeline``). What needs every finding
together runs here: campaigns (:func:`detectors.campaigns.assign_campaigns`), which groups the
brand's flagged findings by shared sellers, hosts and photos. It writes ``campaign.id`` in place
on existing findings, so a repeated run changes nothing and creates no document.
"""

from __future__ import annotations

from typing import Any

from brandhound import cluster
from brandhound.config import Settings
from brandhound.profile import load_profile


def detect(settings: Settings, brand: str) -> dict[str, Any]:
    """Campaigns over the brand's flagged findings; counts for the task's XCom."""
    from detectors.campaigns import assign_campaigns
    from detectors.official_images import OfficialImages

    profile = load_profile(brand)
    client = cluster.make_client(settings.es)
    try:
        cluster.init_indices(client, settings.es.index_prefix)
        counts = assign_campaigns(client, settings.es.index_prefix, profile.id, OfficialImages.from_profile(profile))
        client.indices.refresh(index=f"{settings.es.index_prefix}-findings")
        flagged = client.count(index=f"{settings.es.index_prefix}-findings",
                               query={"bool": {"filter": [{"term": {"brand.id": profile.id}},
                                                          {"term": {"verdict": "flagged"}}]}})["count"]
    finally:
        client.close()
    return {"brand": profile.id, **counts, "flagged": flagged}
