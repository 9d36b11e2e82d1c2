"""The closed vocabularies of the item schema: finding and leak kinds, verdicts, triage and takedown statuses.

Each is a ``Literal`` type (what mypy checks) and a tuple of its values (what code iterates and
``docs/schema.md`` lists), so a kind or status is spelled in one place. Two names look alike on
purpose: ``Leak.kind`` says what leaked (``credential``), ``Finding.kind`` says what was found
(``credential_leak``); :func:`leak_finding_kind` is the one mapping between them.
"""

from __future__ import annotations

from typing import Literal, get_args

FindingKind = Literal["counterfeit_listing", "fake_store", "phishing", "lookalike_domain",
                      "credential_leak", "card_leak", "secret_leak"]
LeakKind = Literal["credential", "card", "secret"]
Verdict = Literal["flagged", "clear"]
TriageStatus = Literal["new", "confirmed", "dismissed"]
TakedownStatus = Literal["draft", "approved", "sent", "acknowledged", "removed", "rejected"]
RemovalOutcome = Literal["removed", "unreachable", "online"]

FINDING_KINDS: tuple[FindingKind, ...] = get_args(FindingKind)
LEAK_KINDS: tuple[LeakKind, ...] = get_args(LeakKind)
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
TRIAGE_STATUSES: tuple[TriageStatus, ...] = get_args(TriageStatus)
TAKEDOWN_STATUSES: tuple[TakedownStatus, ...] = get_args(TakedownStatus)
REMOVAL_OUTCOMES: tuple[RemovalOutcome, ...] = get_args(RemovalOutcome)

#: Finding kinds about captured sites, and about leaks: the two families takedowns route differently.
#: A ``lookalike_domain`` is a candidate (a name, not yet a captured site), so it is in neither.
SITE_FINDING_KINDS: tuple[FindingKind, ...] = ("fake_store", "phishing")
LEAK_FINDING_KINDS: tuple[FindingKind, ...] = ("credential_leak", "card_leak", "secret_leak")


def verdict(score: float, threshold: float) -> Verdict:
    """The one rule every detector applies: flagged at or above the brand's threshold."""
    return "flagged" if score >= threshold else "clear"


def leak_finding_kind(kind: str) -> FindingKind:
    """The finding kind of a leak kind: ``credential`` -> ``credential_leak``."""
    if kind not in LEAK_KINDS:
        raise ValueError(f"unknown leak kind {kind!r}; one of {', '.join(LEAK_KINDS)}")
    return LEAK_FINDING_KINDS[LEAK_KINDS.index(kind)]


#: Which field of the schema takes which vocabulary, for ``docs/schema.md`` and the saved searches.
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "Finding.kind": FINDING_KINDS,
    "Finding.verdict": VERDICTS,
    "Finding.status": TRIAGE_STATUSES,
    "Leak.kind": LEAK_KINDS,
    "Takedown.status": TAKEDOWN_STATUSES,
    "Takedown.checks.outcome": REMOVAL_OUTCOMES,
}
