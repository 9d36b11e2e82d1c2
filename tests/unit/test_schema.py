import dataclasses
import json
from pathlib import Path

import pytest

from brandhound.items import ITEM_TYPES, Finding, Listing, Page, Signal, Subject, Url
from brandhound.mapping import field_docs, from_document, index_mapping, schema_markdown, to_document
from tests.factories import full

ROOT = Path(__file__).resolve().parents[2]

#: Field types that every Elasticsearch distribution has, the integ-test zip included.
CORE_TYPES = {"keyword", "text", "long", "double", "boolean", "date", "object", "nested"}


def _leaf_types(props):
    for spec in props.values():
        yield spec.get("type", "object")
        if "properties" in spec:
            yield from _leaf_types(spec["properties"])
        for sub in spec.get("fields", {}).values():
            yield sub["type"]


@pytest.mark.parametrize("item_type", ITEM_TYPES, ids=lambda t: t.__name__)
def test_mapping_uses_core_types_only_and_is_strict(item_type):
    mapping = index_mapping(item_type)
    assert mapping["dynamic"] == "strict"
    assert set(_leaf_types(mapping["properties"])) <= CORE_TYPES


@pytest.mark.parametrize("item_type", ITEM_TYPES, ids=lambda t: t.__name__)
def test_every_field_is_documented(item_type):
    undocumented = [path for path, _, doc in field_docs(item_type) if not doc.strip()]
    assert undocumented == []


@pytest.mark.parametrize("item_type", ITEM_TYPES, ids=lambda t: t.__name__)
def test_document_round_trip_keeps_every_field(item_type):
    item = full(item_type)
    doc = json.loads(json.dumps(to_document(item)))  # as Elasticsearch returns it
    assert from_document(item_type, doc) == item


def test_ecs_names_where_ecs_has_them():
    paths = {p for p, _, _ in field_docs(Page)}
    assert {"url.full", "url.domain", "url.registered_domain", "event.created", "file.hash.sha256",
            "http.response.status_code", "screenshot.hash.sha256"} <= paths
    finding_paths = {p for p, _, _ in field_docs(Finding)}
    assert {"threat.indicator.first_seen", "signals.weight", "campaign.id"} <= finding_paths


def test_none_and_empty_lists_are_left_out():
    page = Page(url=Url(full="https://a.example/"))
    doc = to_document(page)
    assert doc["url"] == {"full": "https://a.example/"}
    assert "links" not in doc and "title" not in doc and "brand" not in doc


def test_document_ids_are_deterministic_and_distinct():
    a = Listing(url=Url(full="https://m.example/item/1"))
    b = Listing(url=Url(full="https://m.example/item/1"), title="changed later")
    c = Listing(url=Url(full="https://m.example/item/2"))
    page = Page(url=Url(full="https://m.example/item/1"))
    assert a.doc_id() == b.doc_id()
    assert a.doc_id() != c.doc_id()
    assert a.doc_id() != page.doc_id()  # same URL, different kind


def test_finding_id_depends_on_kind_and_subject_not_on_score():
    subject = Subject(index="listings", id="abc")
    f1 = Finding(kind="counterfeit_listing", score=0.9, threshold=0.7, verdict="flagged", subject=subject,
                 signals=[Signal(name="price_ratio", weight=0.3)])
    f2 = dataclasses.replace(f1, score=0.4, verdict="clear")
    f3 = dataclasses.replace(f1, kind="fake_store")
    assert f1.doc_id() == f2.doc_id() != f3.doc_id()


def test_schema_doc_is_current():
    committed = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    assert committed == schema_markdown() + "\n", "docs/schema.md is stale: run `brandhound schema docs --write docs/schema.md`"
