"""The Kibana saved objects name only mapped fields, format the fields analysts need, and are fresh."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brandhound.items import ITEM_TYPES, Finding
from reporting.fields import FieldInfo, index_fields, item_type_named
from reporting.saved_objects import (COUNT_FIELD, DEFAULT_NDJSON, SAVED_SEARCHES, SavedSearch, build_objects,
                                     query_fields, read_ndjson, to_ndjson)

KIBANA_DIR = DEFAULT_NDJSON.parent
#: Every saved-object file analysts keep: the generated one and their exports.
NDJSON_FILES = sorted(KIBANA_DIR.rglob("*.ndjson"))


def _is_link(path: str) -> bool:
    return path.split(".")[-1] in {"full", "original", "url", "form_url", "action", "final_url"} or \
        path in {"links", "urls", "sources"}


#: The fields an analyst needs formatted, defined here independently of the generator's rules:
#: (what it is, predicate on the field, the format id it must have).
ANALYST_FIELDS: list[tuple[str, object, set[str]]] = [
    ("live-page and evidence URLs", lambda f: f.type == "keyword" and _is_link(f.path), {"url"}),
    ("evidence files", lambda f: f.path.endswith(("file.path", "screenshot.path", "html.path")), {"url"}),
    ("sizes in bytes", lambda f: f.type == "long" and f.path.endswith((".size", ".bytes")), {"bytes"}),
    ("prices", lambda f: f.path.endswith("price.amount"), {"number"}),
    ("scores", lambda f: f.path in {"score", "threshold", "signals.weight", "signals.contribution"}, {"percent"}),
    ("masked secrets", lambda f: f.path.endswith((".masked", ".hmac")) or f.path in {"evidence.secret", "evidence.account"},
     {"string"}),
]


def _objects(path: Path) -> list[dict]:
    return read_ndjson(path.read_text(encoding="utf-8"), str(path))


def _views(objects: list[dict]) -> dict[str, dict[str, FieldInfo]]:
    """Data view id -> the fields of the index its title names."""
    return {o["id"]: index_fields(item_type_named(o["attributes"]["title"].rsplit("-", 1)[1]))
            for o in objects if o["type"] == "index-pattern"}


def field_problems(objects: list[dict]) -> list[str]:
    """Every field a saved object names that its data view's mapping lacks or cannot use that way."""
    views = _views(objects)
    problems: list[str] = []

    def check(obj: dict, view_id: str, names, *, aggregatable: bool = False, searchable: bool = False) -> None:
        fields = views.get(view_id)
        if fields is None:
            problems.append(f"{obj['type']} {obj['id']}: data view {view_id} is not in the file")
            return
        for name in names:
            info = fields.get(name)
            if info is None:
                problems.append(f"{obj['type']} {obj['id']}: field {name} is not in the mapping")
            elif aggregatable and (not info.aggregatable or info.nested):
                problems.append(f"{obj['type']} {obj['id']}: field {name} cannot be aggregated or sorted on")
            elif searchable and not info.searchable:
                problems.append(f"{obj['type']} {obj['id']}: field {name} is not searchable")

    for obj in objects:
        attrs, refs = obj["attributes"], {r["name"]: r["id"] for r in obj.get("references", [])}
        if obj["type"] == "index-pattern":
            check(obj, obj["id"], json.loads(attrs["fieldFormatMap"]))
            check(obj, obj["id"], json.loads(attrs["fieldAttrs"]))
            check(obj, obj["id"], [attrs["timeFieldName"]], aggregatable=True)
        elif obj["type"] == "search":
            source = json.loads(attrs["kibanaSavedObjectMeta"]["searchSourceJSON"])
            view = refs[source["indexRefName"]]
            check(obj, view, attrs["columns"])
            check(obj, view, [name for name, _ in attrs["sort"]], aggregatable=True)
            check(obj, view, query_fields(source["query"]["query"]), searchable=True)
            for f in source["filter"]:
                check(obj, refs[f["meta"]["indexRefName"]], [f["meta"]["key"], *f["query"]["match_phrase"]],
                      searchable=True)
        elif obj["type"] == "lens":
            state = attrs["state"]
            for layer_id, layer in state["datasourceStates"]["formBased"]["layers"].items():
                view = refs[f"indexpattern-datasource-layer-{layer_id}"]
                check(obj, view, [c["sourceField"] for c in layer["columns"].values()
                                  if c["sourceField"] != COUNT_FIELD], aggregatable=True)
                check(obj, view, query_fields(state["query"]["query"]), searchable=True)
    return problems


@pytest.mark.parametrize("path", NDJSON_FILES, ids=lambda p: p.name)
def test_every_field_a_saved_object_names_is_in_the_mapping(path):
    assert field_problems(_objects(path)) == []


def test_a_field_the_mapping_lacks_is_caught():
    objects = build_objects()
    search = SavedSearch("drift", "Drift", Finding, "", "kind:phishing AND sellerr.name:x", ("scroe",),
                         sort=(("explanation", "desc"),))
    problems = field_problems(objects + [search.saved_object()])
    assert any("field scroe is not in the mapping" in p for p in problems)
    assert any("field sellerr.name is not in the mapping" in p for p in problems)
    assert any("explanation cannot be aggregated" in p for p in problems)


@pytest.mark.parametrize("path", NDJSON_FILES, ids=lambda p: p.name)
def test_every_field_analysts_need_has_a_format(path):
    missing = []
    for view in (o for o in _objects(path) if o["type"] == "index-pattern"):
        formats = json.loads(view["attributes"]["fieldFormatMap"])
        labels = json.loads(view["attributes"]["fieldAttrs"])
        for info in _views([view])[view["id"]].values():
            for what, needs, format_ids in ANALYST_FIELDS:
                if needs(info) and formats.get(info.path, {}).get("id") not in format_ids:
                    missing.append(f"{view['id']}: {info.path} ({what}) needs a {'/'.join(format_ids)} format")
                if needs(info) and what == "masked secrets" and "masked" not in labels.get(info.path, {}).get(
                        "customLabel", ""):
                    missing.append(f"{view['id']}: {info.path} is masked but not labelled so")
    assert missing == []


def test_there_is_a_data_view_per_index_with_its_time_field():
    views = {o["attributes"]["title"]: o for o in build_objects("acme") if o["type"] == "index-pattern"}
    assert set(views) == {f"acme-{t.INDEX}" for t in ITEM_TYPES}
    assert all(v["attributes"]["timeFieldName"] == "event.created" for v in views.values())


def test_the_committed_objects_are_what_the_schema_generates():
    assert DEFAULT_NDJSON.read_text(encoding="utf-8") == to_ndjson(build_objects()), \
        "deploy/kibana/brandhound.ndjson is stale: run `brandhound kibana build`"


def test_every_reference_resolves_within_the_file():
    objects = build_objects()
    present = {(o["type"], o["id"]) for o in objects}
    dangling = [(o["id"], r) for o in objects for r in o["references"] if (r["type"], r["id"]) not in present]
    assert dangling == []
    dashboards = [o for o in objects if o["type"] == "dashboard"]
    for dash in dashboards:
        panels = json.loads(dash["attributes"]["panelsJSON"])
        names = {r["name"] for r in dash["references"]}
        assert panels and all(f"{p['panelIndex']}:{p['panelRefName']}" in names for p in panels)


def test_saved_searches_are_lucene_with_filters_kibana_can_show():
    for search in SAVED_SEARCHES:
        obj = search.saved_object()
        source = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        assert source["query"]["language"] == "lucene"
        assert obj["attributes"]["columns"] and obj["attributes"]["timeRestore"] is True
        query = search.es_query()["bool"]
        assert query["must"][0]["query_string"]["query"] == source["query"]["query"]
        assert len(query.get("filter", [])) == len(source["filter"])


def test_query_fields_finds_field_names_but_not_values():
    assert query_fields('kind:phishing AND score:[0.9 TO *] AND _exists_:campaign.id AND url.full:"https://x/"') == [
        "kind", "score", "url.full", "campaign.id"]
    assert query_fields("event.created:[now-7d TO now]") == ["event.created"]


def test_a_broken_ndjson_line_is_named():
    with pytest.raises(ValueError, match=r"exported\.ndjson:2: not JSON"):
        read_ndjson('{"type": "search", "id": "a"}\n{oops\n', "exported.ndjson")
    with pytest.raises(ValueError, match=r"x\.ndjson:1: not a saved object"):
        read_ndjson('{"title": "no type"}\n', "x.ndjson")
