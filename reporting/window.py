"""Report windows written the way people say them: ``12h``, ``7d``, ``2w``."""

from __future__ import annotations

import re
from datetime import timedelta

_WINDOW = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


class ReportError(ValueError):
    """The report cannot be made as asked; the message names the input and what is wrong."""


def parse_since(text: str) -> timedelta:
    """``7d`` -> 7 days; hours (h), days (d) and weeks (w), a whole number greater than 0."""
    match = _WINDOW.match(text or "")
    if not match or int(match.group(1)) == 0:
        raise ReportError(f"--since {text!r}: expected a whole number greater than 0 and a unit h, d or w, e.g. 7d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def describe(window: timedelta) -> str:
    """``timedelta(days=7)`` -> ``7 days``."""
    hours = int(window.total_seconds() // 3600)
    if hours % (24 * 7) == 0:
        n, unit = hours // (24 * 7), "week"
    elif hours % 24 == 0:
        n, unit = hours // 24, "day"
    else:
        n, unit = hours, "hour"
    return f"{n} {unit}{'s' if n != 1 else ''}"
