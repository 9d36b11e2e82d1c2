"""Elasticsearch mappings and documents derived from the item dataclasses.

The mapping of a field comes from its Python type (``str`` is ``keyword``,
``datetime`` is ``date``, a dataclass is an ``object``...) unless its
:func:`brandhound.items.spec` says otherwise. Only core field types are used,
so the mappings load on the minimal integ-test distribution as on any cluster.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from functools import cache
from typing import Any, Iterator

from brandhound.values import VOCABULARIES
from brandhound.items import ITEM_TYPES, Item

_SCALARS: dict[type, dict[str, Any]] = {
    str: {"type": "keyword", "ignore_above": 8191},
    int: {"type": "long"},
    float: {"type": "double"},
    bool: {"type": "boolean"},
    datetime: {"type": "date"},
}


def _unwrap(tp: Any) -> tuple[Any, bool]:
    """Strip ``Optional`` and return ``(inner type, is_list)``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"unsupported union type {tp}")
        return _unwrap(args[0])
    if origin is list:
        (inner,) = typing.get_args(tp)
        return inner, True
    return tp, False


@cache
def _fields(cls: type) -> tuple[tuple[dataclasses.Field, Any, bool], ...]:
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        inner, is_list = _unwrap(hints[f.name])
        out.append((f, inner, is_list))
    return tuple(out)


def properties(cls: type) -> dict[str, Any]:
    """The ``properties`` of the mapping of dataclass ``cls``."""
    props: dict[str, Any] = {}
    for f, inner, _ in _fields(cls):
        override = f.metadata.get("es")
        if isinstance(inner, type) and dataclasses.is_dataclass(inner):
            kind = (override or {}).get("type", "object")
            props[f.name] = {"type": kind, "properties": properties(inner)} if kind == "nested" else {
                "properties": properties(inner)
            }
        elif override is not None:
            props[f.name] = dict(override)
        elif inner in _SCALARS:
            props[f.name] = dict(_SCALARS[inner])
        else:
            raise TypeError(f"{cls.__name__}.{f.name}: no mapping for type {inner!r}")
    return props


def index_mapping(item_type: type[Item]) -> dict[str, Any]:
    # Strict: a field the schema does not document is an error, not a silent
    # new column in Kibana.
    return {"dynamic": "strict", "properties": properties(item_type)}


def index_name(prefix: str, item_type: type[Item]) -> str:
    return f"{prefix}-{item_type.INDEX}"


# --------------------------------------------------------------------------- documents


def to_document(obj: Any) -> dict[str, Any]:
    """Serialise an item to its Elasticsearch source; ``None`` and empty lists are left out."""
    doc: dict[str, Any] = {}
    # typeshed's cache wants Hashable arguments, and mypy takes a dataclass's ``__hash__ = None``
    # for its class object too; classes are hashable.
    for f, inner, is_list in _fields(type(obj)):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if value is None or (is_list and not value):
            continue
        if is_list:
            doc[f.name] = [_value(v) for v in value]
        else:
            doc[f.name] = _value(value)
    return doc


def _value(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return to_document(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def from_document(cls: type, doc: dict[str, Any]) -> Any:
    """Rebuild an item of type ``cls`` from its Elasticsearch source."""
    kwargs = {}
    for f, inner, is_list in _fields(cls):
        if f.name not in doc:
            continue
        raw = doc[f.name]
        if is_list:
            kwargs[f.name] = [_parse(inner, v) for v in raw]
        else:
            kwargs[f.name] = _parse(inner, raw)
    return cls(**kwargs)


def _parse(tp: Any, raw: Any) -> Any:
    if raw is None:
        return None
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return from_document(tp, raw)
    if tp is datetime:
        return datetime.fromisoformat(raw)
    if tp is float:
        return float(raw)
    return raw


# --------------------------------------------------------------------------- documentation


def field_docs(cls: type, prefix: str = "") -> Iterator[tuple[str, str, str]]:
    """``(field path, Elasticsearch type, description)`` for every leaf field."""
    mapping = properties(cls)
    for f, inner, is_list in _fields(cls):
        path = f"{prefix}{f.name}"
        if isinstance(inner, type) and dataclasses.is_dataclass(inner):
            kind = mapping[f.name].get("type", "object")
            yield path, kind + ("[]" if is_list else ""), f.metadata.get("doc", "")
            yield from field_docs(inner, path + ".")
        else:
            kind = mapping[f.name]["type"] + ("[]" if is_list else "")
            yield path, kind, f.metadata.get("doc", "")


def schema_markdown() -> str:
    """``docs/schema.md``: every index and field, generated from the dataclasses."""
    lines = [
        "# Item schema",
        "",
        "Generated by `brandhound schema docs` from `brandhound/items.py`; do not edit by hand.",
        "Index names are `<prefix>-<index>`, the prefix being `BRANDHOUND_ES_INDEX_PREFIX` (default `brandhound`).",
        "",
    ]
    for item_type in ITEM_TYPES:
        lines += [
            f"## {item_type.__name__} (index `{item_type.INDEX}`)",
            "",
            (item_type.__doc__ or "").strip(),
            "",
            "| field | type | meaning |",
            "| --- | --- | --- |",
        ]
        lines += [f"| `{p}` | {k} | {d} |" for p, k, d in field_docs(item_type)]
        lines.append("")
    lines += ["## Vocabularies", "", "The closed sets of values some fields take (`brandhound/values.py`).", "",
              "| field | values |", "| --- | --- |"]
    lines += [f"| `{name}` | {', '.join(f'`{v}`' for v in values)} |" for name, values in VOCABULARIES.items()]
    lines.append("")
    return "\n".join(lines)
