"""Every corpus the evaluation knows, by name, and one call that runs any of them."""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from evaluation.metrics import Result

#: Corpus name -> the module whose ``evaluate(split, *, peers)`` measures brandhound (and peers) on it.
CORPORA: dict[str, str] = {
    "sandbox": "evaluation.sandbox",
    "domains": "evaluation.domains",
    "listings": "evaluation.listings",
    "images": "evaluation.images",
    "secrets": "evaluation.secrets",
}


def names(selection: Iterable[str]) -> list[str]:
    """Corpus names from a selection that may say ``all``; an unknown name is a clear error."""
    out: list[str] = []
    for name in selection:
        if name == "all":
            out.extend(n for n in CORPORA if n not in out)
        elif name in CORPORA:
            out.append(name) if name not in out else None
        else:
            raise ValueError(f"--corpus {name!r}: expected all or one of {', '.join(CORPORA)}")
    return out


def run(name: str, split: str = "test", *, peers: bool = True) -> list[Result]:
    """Measure brandhound (and, with ``peers``, the peers) on one corpus's ``split``."""
    module = importlib.import_module(CORPORA[name])
    results: list[Result] = module.evaluate(split, peers=peers)
    return results
