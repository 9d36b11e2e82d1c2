"""The schema's vocabularies: one spelling per value, and the saved searches use only those."""

from __future__ import annotations

import re

import pytest

from brandhound.values import FINDING_KINDS, LEAK_FINDING_KINDS, LEAK_KINDS, VOCABULARIES, leak_finding_kind, verdict
from reporting.saved_objects import SAVED_SEARCHES, SavedSearch


def test_verdict_is_flagged_at_the_threshold_and_clear_below():
    assert verdict(0.7, 0.7) == "flagged"
    assert verdict(0.6999, 0.7) == "clear"


def test_every_leak_kind_maps_to_a_leak_finding_kind():
    assert [leak_finding_kind(k) for k in LEAK_KINDS] == list(LEAK_FINDING_KINDS)
    assert set(LEAK_FINDING_KINDS) <= set(FINDING_KINDS)
    with pytest.raises(ValueError, match="unknown leak kind 'credential_leak'"):
        leak_finding_kind("credential_leak")


def _terms(search: SavedSearch) -> list[tuple[str, str]]:
    pairs = re.findall(r"(?<![\w.])([A-Za-z_][\w.]*):\(?\"?([A-Za-z_]+)", search.query)
    return pairs + [(f.field, str(f.value)) for f in search.filters]


def vocabulary_problems(searches) -> list[str]:
    problems = []
    for search in searches:
        for name, value in _terms(search):
            allowed = VOCABULARIES.get(f"{search.item_type.__name__}.{name}")
            if allowed is not None and value not in allowed:
                problems.append(f"{search.slug}: {name}:{value} is not one of {', '.join(allowed)}")
    return problems


def test_saved_searches_use_only_the_schema_vocabularies():
    assert vocabulary_problems(SAVED_SEARCHES) == []


def test_a_misspelt_value_is_caught():
    search = SAVED_SEARCHES[0]
    bad = SavedSearch("typo", "Typo", search.item_type, "", "kind:credential_leaks", ("kind",))
    assert vocabulary_problems([bad]) != []
