"""Analysts' triage of findings: ``confirmed`` ones become notices, ``dismissed`` ones never do."""

from __future__ import annotations

import logging

import elasticsearch
from elasticsearch import Elasticsearch

from brandhound.items import Finding, utcnow
from brandhound.mapping import index_name
from takedown.lifecycle import TakedownError

log = logging.getLogger(__name__)

TRIAGE_STATUSES = ("new", "confirmed", "dismissed")


def set_finding_status(client: Elasticsearch, index_prefix: str, finding_ids: list[str], status: str, by: str,
                       reason: str | None = None) -> list[str]:
    """Set the triage status of findings; checks every id first, so a typo changes nothing."""
    if status not in TRIAGE_STATUSES:
        raise TakedownError(f"unknown finding status {status!r}; one of {', '.join(TRIAGE_STATUSES)}")
    if status == "dismissed" and not (reason and reason.strip()):
        raise TakedownError("dismissing a finding needs a --reason")
    index = index_name(index_prefix, Finding)
    ids = list(dict.fromkeys(finding_ids))
    try:
        docs = client.mget(index=index, ids=ids, source=False)["docs"]
    except elasticsearch.NotFoundError:
        docs = []
    missing = sorted(set(ids) - {d["_id"] for d in docs if d.get("found")})
    if missing:
        raise TakedownError(f"no finding with id {', '.join(missing)} in {index}; nothing was changed")
    for fid in ids:
        client.update(index=index, id=fid, doc={"status": status}, refresh=True)
    # The finding schema has no triage audit fields yet: the log keeps who and why.
    log.info("findings %s set to %s by %s at %s%s", ", ".join(ids), status, by, utcnow().isoformat(),
                f" ({reason})" if reason else "")
    return ids
