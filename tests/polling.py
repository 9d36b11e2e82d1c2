"""Waiting for a service the way the tests must: poll for readiness with a deadline, never sleep blind."""

from __future__ import annotations

import time
from typing import Any, Callable


def poll(fn: Callable[[], Any], deadline_s: float, what: str, interval: float = 0.2) -> Any:
    """fn() until it returns something truthy (its exceptions count as 'not yet', except a failed
    assertion, which fails at once), within the deadline."""
    deadline = time.monotonic() + deadline_s
    last: object = None
    while True:
        try:
            result = fn()
            if result:
                return result
            last = result
        except AssertionError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported below if the deadline passes
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {deadline_s} s (last: {last!r})")
        time.sleep(interval)
