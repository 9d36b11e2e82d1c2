"""Where the tests find the repository and the example brand they build sandboxes from."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLE_BRAND = ROOT / "examples" / "brands" / "kestrava" / "brand.yaml"
