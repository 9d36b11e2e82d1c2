"""Leaked secrets on the committed planted-secret corpora: the TEST split's figures stay at or above issue 16's
target (evaluation/secrets.py; the corpora are evaluation/corpora/secrets, see SOURCES.md)."""

from __future__ import annotations

import pytest

from evaluation import secrets

#: Issue 16's target on the kinds brandhound claims (cloud keys, SaaS tokens, private keys, corporate credentials).
TARGET_RECALL = 0.9
TARGET_PRECISION = 0.9


@pytest.fixture(scope="module")
def rows():
    return {r.metrics.kind: r.metrics for r in secrets.evaluate("test", peers=False) if r.system == "brandhound"}


def test_corpus_is_what_sources_md_describes():
    leaky, stealer = secrets.load_part("leaky-repo"), secrets.load_part("stealer-formats")
    heldout = secrets.load_part("heldout")
    assert len(leaky.files) >= 45 and len(leaky.labels) >= 80
    assert {lab.kind for lab in leaky.labels if lab.claimed} == set(secrets.CLAIMED)
    assert len(stealer.labels) >= 50 and {lab.kind for lab in stealer.labels} == {"credential"}
    assert len(heldout.files) >= 90 and len(heldout.labels) >= 250 and heldout.unit == "file"
    assert {lab.kind for lab in heldout.labels if lab.claimed} == set(secrets.CLAIMED)
    sizes = secrets.split_sizes()
    assert all(sizes[part].get("test", 0) >= 20 and sizes[part].get("dev", 0) >= 20 for part in secrets.PARTS)


def test_claimed_kinds_overall_meet_the_target(rows):
    # Every part's test half (leaky-repo, stealer-formats and the held-out whispers/trivy part): measured
    # 1.000 precision, 0.977 recall (84 of 86) when the held-out part was wired in and its dev half tuned on.
    claimed = rows["claimed"]
    assert claimed.true_positives + claimed.false_negatives >= 80
    assert claimed.recall >= TARGET_RECALL, claimed
    assert claimed.precision >= TARGET_PRECISION, claimed


@pytest.mark.parametrize("part", list(secrets.PARTS))
def test_each_part_meets_the_target(rows, part):
    metrics = rows[f"{part}/claimed"]
    assert metrics.recall >= TARGET_RECALL, metrics
    assert metrics.precision >= TARGET_PRECISION, metrics


def test_the_held_out_part_meets_the_target(rows):
    # whispers' and trivy's fixtures, added after the other parts were tuned on: before its dev half was
    # looked at its test half scored precision 1.000, recall 0.490; after, 1.000 and 0.959 (47 of 49).
    metrics = rows["heldout/claimed"]
    assert metrics.true_positives + metrics.false_negatives >= 40
    assert metrics.recall >= TARGET_RECALL, metrics
    assert metrics.precision >= TARGET_PRECISION, metrics


@pytest.mark.parametrize("kind", secrets.CLAIMED)
def test_every_claimed_kind_is_found(rows, kind):
    metrics = rows[f"leaky-repo/{kind}"]
    assert metrics.recall >= TARGET_RECALL, metrics


def test_stealer_and_combo_records_of_corporate_domains(rows):
    assert rows["stealer-formats/credential"].recall >= TARGET_RECALL


def test_peers_rows_are_measured_or_say_not_installed():
    results = secrets.evaluate("test", peers=True)
    systems = {r.system for r in results}
    assert systems == {"brandhound", "detect-secrets", "gitleaks"}
    for r in results:
        if r.system != "brandhound" and r.metrics.kind == "claimed" and r.note.startswith("not installed"):
            assert r.metrics.true_positives == 0
