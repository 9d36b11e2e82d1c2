"""Where the committed corpora live and which part of each is tuned on (dev) or only reported (test)."""

from __future__ import annotations

import hashlib
from pathlib import Path

CORPORA_DIR = Path(__file__).resolve().parent / "corpora"
#: The brand the sandbox corpus imitates unless told otherwise.
EXAMPLE_BRAND = Path(__file__).resolve().parent.parent / "examples/brands/kestrava/brand.yaml"
SPLITS = ("dev", "test")


def corpus_dir(name: str) -> Path:
    """The folder of one committed corpus; a clear error when it is not there."""
    path = CORPORA_DIR / name
    if not path.is_dir():
        raise FileNotFoundError(f"evaluation corpus {name!r}: no folder {path}")
    return path


def split_of(key: str, test_share: float = 0.5) -> str:
    """``dev`` or ``test`` for a sample, decided by a hash of its stable key (a domain, a page id,
    a photo's file name), so that the split never changes between runs or machines and a sample
    added later does not move the others."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return "test" if int.from_bytes(digest[:8], "big") / 2**64 < test_share else "dev"


def in_split(key: str, split: str, test_share: float = 0.5) -> bool:
    """Whether the sample ``key`` belongs to ``split`` (``all`` takes every sample)."""
    if split == "all":
        return True
    if split not in SPLITS:
        raise ValueError(f"split {split!r}: expected one of dev, test, all")
    return split_of(key, test_share) == split
