"""Builders the takedown integration tests share: sample findings with evidence, indexed in a test's own indices."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from brandhound import cluster
from brandhound.config import Settings
from brandhound.evidence import EvidenceStore
from brandhound.profile import BrandProfile
from brandhound.store import open_store
from sandbox.takedown_samples import Samples, sample_cases
from takedown.service import TakedownService


def index_cases(settings, cases) -> None:
    store = open_store(settings)
    try:
        for case in cases:
            for item in (case.page, case.subject, case.finding):
                if item is not None:
                    store.add(item)
    finally:
        store.close()
    client = cluster.make_client(settings.es)
    client.indices.refresh(index=f"{settings.es.index_prefix}-*")
    client.close()


def sample_world(settings: Settings, tmp_path: Path, profile: BrandProfile, adjust=None
                 ) -> tuple[Settings, TakedownService, Samples]:
    """Sample findings of every kind (changed by ``adjust(samples, evidence_store)`` first) indexed with their
    pages and evidence files under ``tmp_path/evidence``, and the service over them."""
    settings = replace(settings, evidence_dir=tmp_path / "evidence")
    client = cluster.make_client(settings.es)
    try:
        cluster.init_indices(client, settings.es.index_prefix)
    finally:
        client.close()
    evidence = EvidenceStore(settings.evidence_dir)
    samples = sample_cases(evidence, profile)
    if adjust is not None:
        adjust(samples, evidence)
    index_cases(settings, samples.cases)
    return settings, TakedownService.from_settings(settings, profile), samples
