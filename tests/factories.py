"""Builders of fully populated items, so that round-trip tests cover every documented field."""

from __future__ import annotations

import dataclasses
import typing
from datetime import datetime, timezone

from brandhound.mapping import _unwrap

FIXED_TIME = datetime(2026, 11, 20, 8, 30, 15, 123000, tzinfo=timezone.utc)


def full(cls: type, seed: str = "x") -> typing.Any:
    """An instance of dataclass ``cls`` with every field, nested ones included, set to a distinct value."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for i, f in enumerate(dataclasses.fields(cls)):
        inner, is_list = _unwrap(hints[f.name])
        value = _value(inner, f"{seed}.{f.name}", i)
        kwargs[f.name] = [value, _value(inner, f"{seed}.{f.name}#2", i + 1)] if is_list else value
    return cls(**kwargs)


def _value(tp: typing.Any, seed: str, i: int) -> typing.Any:
    if dataclasses.is_dataclass(tp):
        return full(tp, seed)
    if tp is str:
        return f"{seed}-välue"
    if tp is bool:
        return True
    if tp is int:
        return 1000 + i
    if tp is float:
        return 0.25 + i
    if tp is datetime:
        return FIXED_TIME
    raise TypeError(tp)
