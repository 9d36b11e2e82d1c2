"""The brand's official product photos and logos, as perceptual hashes to match against.

Counterfeiters reuse the official photos, resized, recompressed, cropped a little, colour
shifted, watermarked or mirrored. pHash (DCT of a 32x32 grey image) survives resizing,
recompression, colour shifts and most watermarks, but not a mirror nor a crop of more than a
few percent: so each official image is kept as the hashes of its mirror image and of a grid of
crops (up to 15% off each side), and a listing photo matches when it is near any of them. A near-uniform
image (a blank placeholder, a single colour) has a degenerate hash that would "match" every
other blank image: such hashes are never matched.
"""

from __future__ import annotations

import functools
import io
import itertools
from dataclasses import dataclass
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image, ImageOps

from brandhound.profile import BrandProfile

#: Hamming distance (of 64 bits) up to which two pHashes are the same photo.
MATCH_DISTANCE = 10
#: A pHash with fewer set (or unset) bits than this comes from a near-uniform image.
MIN_BITS = 8
#: Shares of the width or height cut from each side for the crop variants.
CROP_STEPS = (0.0, 0.06, 0.12)

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _variants(img: Image.Image):
    """(image, mirrored) for the photo and its mirror, each under every crop of the grid."""
    w, h = img.size
    for mirrored, base in ((False, img), (True, ImageOps.mirror(img))):
        for left, top, right, bottom in itertools.product(CROP_STEPS, repeat=4):
            box = (round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom)))
            yield (base.crop(box) if box != (0, 0, w, h) else base), mirrored


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
        self._bits = np.array([int(str(e[2]), 16) for e in entries], dtype=np.uint64)

    @classmethod
    def from_profile(cls, profile: BrandProfile) -> OfficialImages:
        """Hashes of every product image and logo (the profile has resolved and checked their paths).
        Made once per set of files and shared: the image pipeline and the detectors of a crawl
        all need them, and hashing every crop variant takes about a second."""
        files = tuple((str(path), p.sku) for p in profile.products for path in p.images) + \
            tuple((str(path), None) for path in profile.logos)
        # The files' modification times are part of the key: a changed photo is hashed again.
        return cls._for_files(files, tuple(Path(path).stat().st_mtime_ns for path, _ in files))

    @classmethod
    @functools.lru_cache(maxsize=8)
    def _for_files(cls, files: tuple[tuple[str, str | None], ...], _mtimes: tuple[int, ...]) -> OfficialImages:
        entries: list[tuple[str, str | None, imagehash.ImageHash, bool]] = []
        for path, sku in files:
            with Image.open(path) as img:
                rgb = img.convert("RGB")
                rgb.thumbnail((512, 512))  # pHash looks at 32x32: cropping a small copy gives the same hashes
                for variant, mirrored in _variants(rgb):
                    entries.append((Path(path).name, sku, imagehash.phash(variant), mirrored))
        return cls(entries)

    @staticmethod
    def hash_of(data: bytes) -> str:
        with Image.open(io.BytesIO(data)) as img:
            return str(imagehash.phash(img.convert("RGB")))

    def match(self, phash_hex: str | None, max_distance: int = MATCH_DISTANCE) -> ImageMatch | None:
        """The nearest official image (any variant) within ``max_distance`` bits, or None."""
        if not phash_hex or is_degenerate(phash_hex) or not self.entries:
            return None
        x = self._bits ^ np.uint64(int(phash_hex, 16))
        distances = _POPCOUNT[x.view(np.uint8)].reshape(-1, 8).sum(axis=1)
        i = int(distances.argmin())
        if distances[i] > max_distance:
            return None
        name, sku, _, mirrored = self.entries[i]
        return ImageMatch(name, sku, int(distances[i]), mirrored)
