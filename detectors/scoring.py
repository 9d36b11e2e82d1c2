"""How signals become a score: a noisy-OR of weighted signals, each keeping what it added.

Every signal has a weight in [0, 1] (how sure it alone makes us) and a strength in [0, 1]
(how strongly it was observed). Independent evidence combines as
``score = 1 - prod(1 - weight * strength)``: one strong signal is enough to flag, several weak
ones add up, and no signal can push the score past 1. Each signal's contribution is the score
it added given the ones before it, so the contributions sum to the score and an analyst can
read which reasons carried a finding.
"""

from __future__ import annotations

from dataclasses import dataclass

from brandhound.items import Signal
from brandhound.values import verdict


@dataclass(frozen=True)
class Evidence:
    name: str
    value: str
    weight: float
    strength: float = 1.0
    evidence: str | None = None


def combine(evidence: list[Evidence]) -> tuple[float, list[Signal]]:
    """The score of ``evidence`` and its signals, strongest contribution first."""
    remaining = 1.0
    signals: list[Signal] = []
    for e in sorted(evidence, key=lambda e: -(e.weight * e.strength)):
        p = max(0.0, min(1.0, e.weight * e.strength))
        added = remaining * p
        remaining -= added
        signals.append(Signal(name=e.name, value=e.value, weight=round(e.weight, 3),
                              contribution=round(added, 4), evidence=e.evidence))
    return round(1.0 - remaining, 4), signals


def explain(kind: str, score: float, threshold: float, signals: list[Signal]) -> str:
    """One sentence an analyst reads first: the verdict and the reasons that carried it."""
    said = "flagged" if verdict(score, threshold) == "flagged" else "not flagged"
    reasons = [f"{s.name} ({s.value})" for s in signals if s.contribution >= 0.01][:4]
    because = "; ".join(reasons) if reasons else "no signal"
    return f"{kind.replace('_', ' ')} {said} at {score:.2f} (threshold {threshold:.2f}): {because}."
