"""The fields of each index as Kibana sees them, flattened from the item schema's mappings.

Kibana names a field by its dotted path (``url.full``), a multi-field by its
parent's path plus the sub-field (``title.keyword``), and fields inside
``nested`` objects by their path too. Saved objects and their tests read field
names from here only, so they cannot name a field the mapping lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Iterator

from brandhound.items import ITEM_TYPES, Item
from brandhound.mapping import index_mapping


@dataclass(frozen=True)
class FieldInfo:
    """One leaf field of an index mapping."""

    path: str
    type: str
    #: Searchable with a query (``index`` is not false).
    searchable: bool
    #: Usable in aggregations and sorting (keyword, numbers, dates, booleans with doc values).
    aggregatable: bool
    #: Inside a ``nested`` object: plain queries and aggregations do not reach it.
    nested: bool


_AGGREGATABLE_TYPES = {"keyword", "long", "double", "date", "boolean"}


def _walk(properties: dict[str, Any], prefix: str, nested: bool) -> Iterator[FieldInfo]:
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        if "properties" in spec:
            yield from _walk(spec["properties"], path + ".", nested or spec.get("type") == "nested")
            continue
        kind = spec["type"]
        searchable = spec.get("index", True) is not False
        aggregatable = kind in _AGGREGATABLE_TYPES and spec.get("doc_values", True) is not False
        yield FieldInfo(path, kind, searchable, aggregatable, nested)
        for sub, sub_spec in spec.get("fields", {}).items():
            yield FieldInfo(f"{path}.{sub}", sub_spec["type"], True, sub_spec["type"] in _AGGREGATABLE_TYPES, nested)


@cache
def index_fields(item_type: type[Item]) -> dict[str, FieldInfo]:
    """Every leaf field (multi-fields included) of ``item_type``'s index, by path."""
    return {f.path: f for f in _walk(index_mapping(item_type)["properties"], "", False)}


def item_type_named(index_suffix: str) -> type[Item]:
    """The item kind whose index ends in ``index_suffix`` (``findings`` -> Finding)."""
    for item_type in ITEM_TYPES:
        if item_type.INDEX == index_suffix:
            return item_type
    raise KeyError(index_suffix)
