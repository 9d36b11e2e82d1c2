"""A notice's lifecycle: draft -> approved -> sent -> acknowledged -> removed, or rejected with a reason.

Every change is appended to ``Takedown.history`` with who made it and when; a change
the lifecycle does not allow raises :class:`TransitionError` and leaves the notice as it was.
"""

from __future__ import annotations

from datetime import datetime

from brandhound.items import StatusChange, Takedown, utcnow
from brandhound.values import TAKEDOWN_STATUSES

STATUSES = TAKEDOWN_STATUSES

#: Allowed next statuses. Legal staff reject drafts and approved notices; a recipient may
#: reject a notice it received. ``removed`` and ``rejected`` are final.
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"approved", "rejected"}),
    "approved": frozenset({"sent", "rejected"}),
    "sent": frozenset({"acknowledged", "removed", "rejected"}),
    "acknowledged": frozenset({"removed", "rejected"}),
    "removed": frozenset(),
    "rejected": frozenset(),
}


class TakedownError(ValueError):
    """A takedown request that cannot be done; the message says which notice and why."""


class TransitionError(TakedownError):
    """The lifecycle does not allow this status change."""


class NoticeNotFound(TakedownError):
    """No notice has this id."""


def transition(notice: Takedown, status: str, by: str, *, reason: str | None = None,
               at: datetime | None = None) -> Takedown:
    """Move ``notice`` to ``status`` and record who and when; refuse what the lifecycle forbids."""
    if status not in STATUSES:
        raise TransitionError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
    allowed = TRANSITIONS[notice.status]
    if status not in allowed:
        nxt = ", ".join(sorted(allowed)) or "none: it is final"
        raise TransitionError(f"notice {notice.doc_id()} is {notice.status}: it cannot become {status} "
                              f"(allowed next: {nxt})")
    if status == "rejected" and not (reason and reason.strip()):
        raise TransitionError(f"notice {notice.doc_id()}: a rejection needs a reason")
    if not (by and by.strip()):
        raise TransitionError(f"notice {notice.doc_id()}: who changes its status must be named")
    notice.status = status
    notice.history.append(StatusChange(status=status, at=at or utcnow(), by=by.strip(),
                                       reason=reason.strip() if reason else None))
    return notice
