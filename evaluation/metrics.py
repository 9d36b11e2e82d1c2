"""Precision, recall and F1 from confusion counts, and one measured row of an evaluation."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Metrics:
    kind: str
    true_positives: int
    false_positives: int
    false_negatives: int
    precision: float
    recall: float
    f1: float

    @classmethod
    def of(cls, kind: str, tp: int, fp: int, fn: int) -> Metrics:
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return cls(kind, tp, fp, fn, round(precision, 4), round(recall, 4), round(f1, 4))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Result:
    """One system's figures on one part of one corpus.

    ``corpus`` names the data (``sandbox``, ``domains``, ``listings``, ``images``, ``secrets``),
    ``split`` the part (``dev`` is tuned on, ``test`` only reported, ``all`` for the sandbox),
    ``system`` what was measured (``brandhound`` or a peer such as ``dnstwist``), and
    ``metrics.kind`` the question asked (``lookalike_domain``, ``price``, ``crop_30``, ...).
    ``extra`` holds figures a confusion table does not (a false-positive rate, a sample count).
    """

    corpus: str
    split: str
    system: str
    metrics: Metrics
    note: str = ""
    extra: tuple[tuple[str, float], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"corpus": self.corpus, "split": self.split, "system": self.system, **self.metrics.as_dict(),
                "note": self.note, **dict(self.extra)}
