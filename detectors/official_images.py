"""The brand's official product photos and logos, as perceptual hashes to match against.

Counterfeiters reuse the official photos, resized, recompressed, cropped a little, colour
shifted, watermarked or mirrored. pHash (DCT of a 32x32 grey image) survives all but the
mirror, so each official image is kept with the hash of its mirror image too. A near-uniform
image (a blank placeholder, a single colour) has a degenerate hash that would "match" every
other blank image: such hashes are never matched.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import imagehash
from PIL import Image, ImageOps

from brandhound.profile import BrandProfile

#: Hamming distance (of 64 bits) up to which two pHashes are the same photo.
MATCH_DISTANCE = 12
#: A pHash with fewer set (or unset) bits than this comes from a near-uniform image.
MIN_BITS = 8


def is_degenerate(hash_hex: str) -> bool:
    bits = bin(int(hash_hex, 16)).count("1")
    return bits < MIN_BITS or bits > 64 - MIN_BITS


@dataclass(frozen=True)
class ImageMatch:
    #: The official file matched, relative to the profile (e.g. images/aalto-espresso-cup.jpg).
    official: str
    #: The product's SKU, or None for a logo.
    sku: str | None
    distance: int
    mirrored: bool


class OfficialImages:
    def __init__(self, entries: list[tuple[str, str | None, imagehash.ImageHash, bool]]):
        self.entries = entries

    @classmethod
    def from_profile(cls, profile: BrandProfile) -> OfficialImages:
        """Hashes of every product image and logo (the profile has resolved and checked their paths)."""
        entries: list[tuple[str, str | None, imagehash.ImageHash, bool]] = []
        files = [(path, p.sku) for p in profile.products for path in p.images] + [(path, None) for path in profile.logos]
        for path, sku in files:
            with Image.open(path) as img:
                rgb = img.convert("RGB")
                entries.append((Path(path).name, sku, imagehash.phash(rgb), False))
                entries.append((Path(path).name, sku, imagehash.phash(ImageOps.mirror(rgb)), True))
        return cls(entries)

    @staticmethod
    def hash_of(data: bytes) -> str:
        with Image.open(io.BytesIO(data)) as img:
            return str(imagehash.phash(img.convert("RGB")))

    def match(self, phash_hex: str | None) -> ImageMatch | None:
        """The nearest official image within :data:`MATCH_DISTANCE`, or None."""
        if not phash_hex or is_degenerate(phash_hex):
            return None
        h = imagehash.hex_to_hash(phash_hex)
        best: ImageMatch | None = None
        for name, sku, official, mirrored in self.entries:
            d = h - official
            if d <= MATCH_DISTANCE and (best is None or d < best.distance):
                best = ImageMatch(name, sku, int(d), mirrored)
        return best
