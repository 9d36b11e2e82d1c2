"""The lifecycle: allowed transitions with who and when; everything else refused, nothing changed."""

from __future__ import annotations

import itertools

import pytest

from brandhound.items import Recipient, Takedown
from takedown.lifecycle import STATUSES, TRANSITIONS, TransitionError, transition


def fresh(status: str = "draft") -> Takedown:
    return Takedown(recipient=Recipient(kind="marketplace", name="BazaarHub"), status=status, finding_ids=["f"])


def test_the_happy_path_records_every_change():
    notice = fresh()
    for status in ("approved", "sent", "acknowledged", "removed"):
        transition(notice, status, "aino")
    assert notice.status == "removed"
    assert [c.status for c in notice.history] == ["approved", "sent", "acknowledged", "removed"]
    assert all(c.by == "aino" and c.at is not None for c in notice.history)


@pytest.mark.parametrize("start,target", [
    (s, t) for s, t in itertools.product(STATUSES, STATUSES) if t not in TRANSITIONS[s]])
def test_transitions_outside_the_lifecycle_are_refused(start, target):
    notice = fresh(start)
    with pytest.raises(TransitionError, match=f"is {start}: it cannot become {target}"):
        transition(notice, target, "aino", reason="because")
    assert notice.status == start and notice.history == []


def test_rejection_needs_a_reason_and_keeps_it():
    notice = fresh()
    with pytest.raises(TransitionError, match="needs a reason"):
        transition(notice, "rejected", "aino", reason="  ")
    transition(notice, "rejected", "aino", reason="listing already removed")
    assert notice.history[-1].reason == "listing already removed"


def test_unknown_status_and_anonymous_changes_are_refused():
    with pytest.raises(TransitionError, match="unknown status 'archived'"):
        transition(fresh(), "archived", "aino")
    with pytest.raises(TransitionError, match="must be named"):
        transition(fresh(), "approved", " ")


def test_final_statuses_allow_nothing():
    for final in ("removed", "rejected"):
        with pytest.raises(TransitionError, match="none: it is final"):
            transition(fresh(final), "draft", "aino")
