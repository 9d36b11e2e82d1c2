"""Official photos reused in listings, on the committed real-photo corpus: the TEST split's figures
stay at or above their floors (evaluation/images.py; the corpus is evaluation/corpora/images)."""

from __future__ import annotations

import pytest

from evaluation import images

#: Issue 16's target: recall >= 0.98 on the listing transforms, no false match.
TARGET_RECALL = 0.98
#: Per-transform floors where the target is not reached yet: just under what the test split
#: measured (collage 21/24, logo in a page 10/11, logo on a coloured ground 10/11).
FLOORS = {
    "collage_40": 0.85,
    "logo_in_page": 0.85,
    "logo_on_colour": 0.85,
}
#: Overall recall on the test split (0.991 measured): the issue's target.
OVERALL_FLOOR = TARGET_RECALL


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    results = images.evaluate("test", peers=False, cache_dir=tmp_path_factory.mktemp("image-index"))
    return {r.metrics.kind: r for r in results if r.system == "brandhound"}


def test_corpus_is_what_sources_md_describes():
    entries = images.manifest()
    official = [e for e in entries if e.role == "official"]
    unrelated = [e for e in entries if e.role == "unrelated"]
    assert len(official) >= 60 and len(unrelated) >= 60
    assert len({e.name for e in entries}) == len(entries)


def test_no_false_match_among_unrelated_photos(rows):
    unrelated = rows["unrelated"]
    assert unrelated.metrics.false_positives == 0, unrelated
    assert dict(unrelated.extra)["queries"] >= 200  # 46 photos and 22 logos, their copies split dev/test


def test_overall_recall_and_no_wrong_photo(rows):
    overall = rows["overall"]
    assert overall.metrics.false_positives == 0, overall
    assert overall.metrics.recall >= OVERALL_FLOOR, overall


@pytest.mark.parametrize("transform", sorted(set(images.photo_transforms([])) | set(images.logo_transforms())))
def test_each_transform_reaches_its_floor(rows, transform):
    row = rows[transform]
    floor = FLOORS.get(transform, TARGET_RECALL)
    assert row.metrics.recall >= floor, row
