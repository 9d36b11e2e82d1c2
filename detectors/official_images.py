"""The brand's official product photos and logos, matched in two stages: perceptual hashes, then local features.

Counterfeiters reuse the official photos, resized, recompressed, cropped, colour shifted,
watermarked, mirrored, rotated, padded to a square or pasted into a collage or a screenshot.

Stage 1, hashes: pHash (DCT of a 32x32 grey image) survives resizing, recompression, colour
shifts and most watermarks, but not a mirror, a rotation nor a crop of more than a few percent:
so each official image is kept as the hashes of its mirror image, of its quarter turns and of a
grid of crops (up to 12% off each side), and a listing photo matches when it is near any of them.
A near-uniform image (a blank placeholder, a single colour) has a degenerate hash that would
"match" every other blank image: such hashes are never matched. Only a hash match within
``CONFIDENT_DISTANCE`` bits is taken on its own: further out (up to ``MATCH_DISTANCE``) unrelated
photos do come that near by chance, so the match must be confirmed by stage 2.

Stage 2, local features (``detectors.local_features``): ORB corners of every official image (and
of its mirror) matched in the copy and verified with a RANSAC similarity transform. It finds what
no whole-image hash can (crops of 30%, rotations by a few degrees, padding, the photo inside a
collage or page) and it confirms the uncertain hash matches. It runs only on images that stage 1
did not settle, when the matcher is given the image itself (:meth:`OfficialImages.match_image`);
:meth:`OfficialImages.match` is stage 1 alone, for callers that only have a stored pHash.

Building the index (about 170 hashes and two ORB descriptions per official image) takes a while
for a large catalogue, so it is cached on disk, keyed by the files' contents and this code's
version (see :func:`default_cache_dir`); a changed photo or a new version builds it again.
"""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image, ImageOps

from brandhound.image_fingerprint import DEFAULT_MAX_PIXELS, ImageRefused, decode, flatten
from brandhound.profile import DetectionProfile
from detectors import local_features
from detectors.local_features import LocalIndex

log = logging.getLogger(__name__)

#: Hamming distance (of 64 bits) up to which two pHashes may be the same photo.
MATCH_DISTANCE = 10
#: Up to this distance a pHash match stands without local-feature confirmation.
CONFIDENT_DISTANCE = 6
#: A part of a composed image is smaller and plainer than a whole photo, and parts of unrelated
#: pages and look-alike marks come nearer by chance: its match stands alone only this near.
REGION_CONFIDENT_DISTANCE = 4
#: A region match further out than REGION_CONFIDENT_DISTANCE (up to this) stands when PDQ agrees
#: within PDQ_CONFIRM_DISTANCE of 256 bits (looser than PDQ's own 31: it is a second opinion on a
#: pHash match, not a match on its own); otherwise local features must confirm it.
REGION_PDQ_DISTANCE = 8
PDQ_CONFIRM_DISTANCE = 80
#: A pHash with fewer set (or unset) bits than this comes from a near-uniform image.
MIN_BITS = 8
#: Shares of the width or height cut from each side for the crop variants.
CROP_STEPS = (0.0, 0.06, 0.12)
#: Quarter turns hashed (uncropped, plain and mirrored): listings rotate photos by 90/180/270.
QUARTER_TURNS = (90, 180, 270)
#: Parts of a composed image (a padded photo, a collage, a page) hashed on their own, at most.
REGIONS = 6
_REGION_SIDE = 320
_REGION_TOLERANCE = 24
_REGION_MIN_SHARE = 0.02
_REGION_MIN_SIDE = 24
#: Bumped whenever what the cached index holds, or how it is computed, changes.
INDEX_VERSION = "4"

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
#: Listing images are decoded up to this size for stage 2 (a photo inside a page needs the pixels).
_QUERY_WORK = (local_features.QUERY_SIDE, local_features.QUERY_SIDE)
_TURN = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}


def _variants(img: Image.Image):
    """(image, mirrored, rotation) for the photo and its mirror, each under every crop of the
    grid, each turned by every quarter turn, and trimmed of a plain border (a product or a logo
    on white is found again as a region of a page, which has no such border)."""
    w, h = img.size
    for mirrored, base in ((False, img), (True, ImageOps.mirror(img))):
        for left, top, right, bottom in itertools.product(CROP_STEPS, repeat=4):
            box = (round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom)))
            yield (base.crop(box) if box != (0, 0, w, h) else base), mirrored, 0
        for turn in QUARTER_TURNS:
            yield base.transpose(_TURN[turn]), mirrored, turn
        trimmed, _ = _regions(base, limit=1)
        if trimmed:
            yield base.crop(trimmed[0]), mirrored, 0


def _regions(img: Image.Image, limit: int = REGIONS) -> tuple[list[tuple[int, int, int, int]], np.ndarray | None]:
    """Boxes of the parts of an image that stand out from a plain background (the colour of most
    of its border): the content of a padded photo, the photos of a collage, the photo of a page
    screenshot, a logo on a coloured ground. Largest first; none when there is no plain border.
    Found on a small copy (a few milliseconds), returned in the image's own pixels, with the
    background colour."""
    scale = min(1.0, _REGION_SIDE / max(img.size))
    small = np.asarray(img.convert("RGB").resize((max(1, round(img.width * scale)), max(1, round(img.height * scale)))),
                       dtype=np.int16)
    border = np.concatenate([small[0], small[-1], small[:, 0], small[:, -1]])
    background = np.median(border, axis=0)
    if (np.abs(border - background).max(axis=1) <= _REGION_TOLERANCE).mean() < 0.6:
        return [], None  # the photo runs to the edge: no ground to find parts on
    mask = (np.abs(small - background).max(axis=2) > _REGION_TOLERANCE).astype(np.uint8)
    if mask.mean() < 0.02:
        return [], None
    import cv2  # only here: the regions are found with OpenCV's connected components

    area = small.shape[0] * small.shape[1]
    boxes: dict[tuple[int, int, int, int], int] = {}
    # as they are, and with parts a few pixels apart joined (a logo of several shapes, a photo
    # whose product stands on white): the two give different boxes, both worth a hash
    for part_mask in (mask, cv2.dilate(mask, np.ones((5, 5), np.uint8))):
        _, _, stats, _ = cv2.connectedComponentsWithStats(part_mask, connectivity=8)
        for x, y, bw, bh, _ in stats[1:]:
            if bw * bh >= _REGION_MIN_SHARE * area and min(bw, bh) >= _REGION_MIN_SIDE:
                boxes[(int(x), int(y), int(x + bw), int(y + bh))] = int(bw * bh)
    ranked = sorted(boxes, key=lambda b: -boxes[b])
    out = [(round(x0 / scale), round(y0 / scale), round(x1 / scale), round(y1 / scale)) for x0, y0, x1, y1 in ranked[:limit]]
    return [b for b in out if b != (0, 0, img.width, img.height)], background


def _on_white(img: Image.Image, background: np.ndarray) -> Image.Image:
    """The image with its background colour turned white, as the official logos are flattened:
    a logo pasted on a coloured ground hashes like the logo again."""
    if (background >= 255 - _REGION_TOLERANCE).all():
        return img
    pixels = np.asarray(img.convert("RGB"), dtype=np.int16)
    ground = np.abs(pixels - background).max(axis=2) <= _REGION_TOLERANCE
    out = pixels.astype(np.uint8)
    out[ground] = 255
    return Image.fromarray(out)


def is_degenerate(hash_hex: str) -> bool:
    bits = bin(int(hash_hex, 16)).count("1")
    return bits < MIN_BITS or bits > 64 - MIN_BITS


@dataclass(frozen=True)
class ImageMatch:
    #: The official file matched, relative to the profile (e.g. images/aalto-espresso-cup.jpg).
    official: str
    #: The product's SKU, or None for a logo.
    sku: str | None
    #: pHash distance to the nearest variant of the official image (None when only stage 2 found it).
    distance: int | None
    mirrored: bool
    #: ``hash`` (a confident pHash match), ``region-hash`` (a confident pHash match of one part
    #: of a composed image: a collage, a page, a padded photo; ``region-hash+pdq`` when PDQ had
    #: to confirm it), ``hash+local`` (a pHash match confirmed by local
    #: features) or ``local`` (found by local features alone).
    stage: str = "hash"
    #: Local-feature matches that agree on one similarity transform (stages with ``local``).
    inliers: int | None = None
    #: Rotation of the copy against the official image, in degrees (a quarter turn for a hash
    #: match on a turned variant; the estimated angle for a local-feature match).
    rotation: float = 0
    #: Scale of the official image in the copy (local-feature matches): 0.4 for a photo shown at
    #: 40% of its size, as inside a collage or a page.
    scale: float | None = None

    @property
    def explanation(self) -> str:
        parts = [f"{'a mirror image of ' if self.mirrored else ''}{self.official}"]
        if self.distance is not None:
            parts.append(f"pHash {self.distance}/64 bits away")
        if self.inliers is not None:
            parts.append(f"{self.inliers} keypoints agree on one transform (scale {self.scale}, rotation {self.rotation} deg)")
        return f"{self.stage} match: " + ", ".join(parts)


def default_cache_dir() -> Path | None:
    """Where the built index is kept: ``$BRANDHOUND_HOME/cache`` when set, else
    ``$XDG_CACHE_HOME/brandhound`` (``~/.cache/brandhound``); ``BRANDHOUND_IMAGE_INDEX_CACHE=off`` disables it."""
    if os.environ.get("BRANDHOUND_IMAGE_INDEX_CACHE", "").lower() in ("0", "off", "no", "false"):
        return None
    if os.environ.get("BRANDHOUND_HOME"):
        return Path(os.environ["BRANDHOUND_HOME"]) / "cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "brandhound"


class OfficialImages:
    def __init__(self, entries: list[tuple[str, str | None, str, bool]], rotations: list[int] | None = None,
                 local: LocalIndex | None = None, local_owners: list[tuple[str, str | None, bool]] | None = None,
                 pdq: np.ndarray | None = None):
        #: (file name, SKU, pHash hex, mirrored) of every hashed variant.
        self.entries = entries
        self.rotations = rotations if rotations is not None else [0] * len(entries)
        self._bits = np.array([int(str(e[2]), 16) for e in entries], dtype=np.uint64)
        self.local = local
        #: (file name, SKU, mirrored) of each image described in ``local``.
        self.local_owners = local_owners or []
        self._owner_rows: dict[tuple[str, bool], int] = {(n, m): i for i, (n, _, m) in enumerate(self.local_owners)}
        #: PDQ bits (256) of each local owner, whole and trimmed of a plain border: (owners, 2, 256).
        self.pdq = pdq if pdq is not None else np.zeros((0, 2, 256), dtype=bool)

    @classmethod
    def from_profile(cls, profile: DetectionProfile, *, cache_dir: Path | None | str = "default") -> OfficialImages:
        """Hashes and local features of every product image and logo (the profile has resolved and
        checked their paths). Made once per set of files and shared in the process (the image
        pipeline and the detectors of a crawl all need them), and cached on disk between processes."""
        files = tuple((str(path), p.sku) for p in profile.products for path in p.images) + \
            tuple((str(path), None) for path in profile.logos)
        digests = tuple(_file_digest(path) for path, _ in files)
        directory = default_cache_dir() if cache_dir == "default" else (Path(cache_dir) if cache_dir else None)
        return cls._for_files(files, digests, directory)

    @classmethod
    @functools.lru_cache(maxsize=8)
    def _for_files(cls, files: tuple[tuple[str, str | None], ...], digests: tuple[str, ...],
                   cache_dir: Path | None) -> OfficialImages:
        key = hashlib.sha256(repr((INDEX_VERSION, _parameters(), [(Path(p).name, sku) for p, sku in files],
                                   digests)).encode()).hexdigest()[:32]
        cache_file = cache_dir / f"official-images-{key}.npz" if cache_dir else None
        if cache_file is not None and cache_file.is_file():
            try:
                return cls._load(cache_file)
            except (OSError, ValueError, KeyError) as exc:  # a torn or foreign file: build again
                log.warning("official image index cache %s unreadable (%s): building it again", cache_file, exc)
        built = cls._build(files)
        if cache_file is not None:
            built._save(cache_file)
        return built

    @classmethod
    def _build(cls, files: tuple[tuple[str, str | None], ...]) -> OfficialImages:
        entries: list[tuple[str, str | None, str, bool]] = []
        rotations: list[int] = []
        described: list[local_features.Features] = []
        owners: list[tuple[str, str | None, bool]] = []
        pdqs: list[list[np.ndarray]] = []
        for path, sku in files:
            name = Path(path).name
            with Image.open(path) as img:
                rgb = flatten(img).convert("RGB")
            rgb.thumbnail((512, 512))  # pHash looks at 32x32: cropping a small copy gives the same hashes
            for variant, mirrored, turn in _variants(rgb):
                entries.append((name, sku, str(imagehash.phash(variant)), mirrored))
                rotations.append(turn)
            for mirrored, base in ((False, rgb), (True, ImageOps.mirror(rgb))):
                described.append(local_features.describe(base))
                owners.append((name, sku, mirrored))
                trimmed, _ = _regions(base, limit=1)
                pdqs.append([_pdq(base), _pdq(base.crop(trimmed[0])) if trimmed else _pdq(base)])
        return cls(entries, rotations, LocalIndex(described), owners, np.array(pdqs, dtype=bool).reshape(-1, 2, 256))

    def _save(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
            local = self.local or LocalIndex([])
            np.savez(tmp, names=np.array([e[0] for e in self.entries], dtype=str),
                     skus=np.array(["" if e[1] is None else "\0" + e[1] for e in self.entries], dtype=str),
                     hashes=np.array([e[2] for e in self.entries], dtype=str),
                     mirrored=np.array([e[3] for e in self.entries], dtype=bool),
                     rotations=np.array(self.rotations, dtype=np.int16),
                     owner_names=np.array([o[0] for o in self.local_owners], dtype=str),
                     owner_skus=np.array(["" if o[1] is None else "\0" + o[1] for o in self.local_owners], dtype=str),
                     owner_mirrored=np.array([o[2] for o in self.local_owners], dtype=bool),
                     points=local.points, descriptors=local.descriptors, owners=local.owners,
                     pdq=np.packbits(self.pdq, axis=-1))
            os.replace(tmp, path)  # readers see the whole file or none
        except OSError as exc:  # a read-only or full disk costs a rebuild next time, never the run
            log.warning("official image index not cached in %s: %s", path.parent, exc)

    @classmethod
    def _load(cls, path: Path) -> OfficialImages:
        with np.load(path, allow_pickle=False) as z:
            def sku(s: str) -> str | None:
                return s[1:] if s else None
            entries = [(n, sku(s), h, bool(m)) for n, s, h, m in
                       zip(z["names"].tolist(), z["skus"].tolist(), z["hashes"].tolist(), z["mirrored"].tolist())]
            owners = [(n, sku(s), bool(m)) for n, s, m in
                      zip(z["owner_names"].tolist(), z["owner_skus"].tolist(), z["owner_mirrored"].tolist())]
            local = LocalIndex.from_arrays(z["points"], z["descriptors"], z["owners"], len(owners))
            pdq = np.unpackbits(z["pdq"], axis=-1).astype(bool)
            return cls(entries, z["rotations"].tolist(), local, owners, pdq)

    @staticmethod
    def hash_of(data: bytes) -> str:
        with Image.open(io.BytesIO(data)) as img:
            return str(imagehash.phash(flatten(img).convert("RGB")))

    def _nearest(self, phash_hex: str | None) -> tuple[int, int] | None:
        if not phash_hex or is_degenerate(phash_hex) or not self.entries:
            return None
        x = self._bits ^ np.uint64(int(phash_hex, 16))
        distances = _POPCOUNT[x.view(np.uint8)].reshape(-1, 8).sum(axis=1)
        i = int(distances.argmin())
        return i, int(distances[i])

    def _hash_match(self, i: int, distance: int, stage: str = "hash", verified=None) -> ImageMatch:
        name, sku, _, mirrored = self.entries[i]
        if verified is None:
            return ImageMatch(name, sku, distance, mirrored, stage, rotation=self.rotations[i])
        return ImageMatch(name, sku, distance, mirrored, stage, verified.inliers, verified.rotation, verified.scale)

    def _pdq_agrees(self, entry: int, region: Image.Image) -> bool:
        """PDQ, a second hash of other features, also puts the region near the official image."""
        row = self._owner_rows.get((self.entries[entry][0], self.entries[entry][3]))
        if row is None or row >= len(self.pdq):
            return False
        return int((self.pdq[row] != _pdq(region)[None, :]).sum(axis=1).min()) <= PDQ_CONFIRM_DISTANCE

    def match(self, phash_hex: str | None, max_distance: int = MATCH_DISTANCE) -> ImageMatch | None:
        """Stage 1 alone: the nearest official image (any variant) within ``max_distance`` bits, or None."""
        nearest = self._nearest(phash_hex)
        if nearest is None or nearest[1] > max_distance:
            return None
        return self._hash_match(*nearest)

    def match_image(self, image: bytes | Image.Image, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageMatch | None:
        """Both stages on an image (encoded bytes, or a decoded image): a confident pHash match,
        else the official image its local features verify (the hash candidate first), or None.
        Raises ImageRefused for bytes that are not an image we will decode."""
        img = decode(image, max_pixels=max_pixels, work_size=_QUERY_WORK)[0] if isinstance(image, bytes) else flatten(image)
        nearest = self._nearest(str(imagehash.phash(img)))
        if nearest is not None and nearest[1] <= CONFIDENT_DISTANCE:
            return self._hash_match(*nearest)
        candidates = [nearest] if nearest is not None and nearest[1] <= MATCH_DISTANCE else []
        boxes, background = _regions(img)
        # _regions finds boxes only on a plain background, so there is one whenever there are boxes.
        whitened = _on_white(img, background) if boxes and background is not None else img
        for box in boxes:
            region = self._nearest(str(imagehash.phash(whitened.crop(box))))
            if region is None or region[1] > MATCH_DISTANCE:
                continue
            if region[1] <= REGION_CONFIDENT_DISTANCE:
                return self._hash_match(*region, stage="region-hash")
            if region[1] <= REGION_PDQ_DISTANCE and self._pdq_agrees(region[0], whitened.crop(box)):
                return self._hash_match(*region, stage="region-hash+pdq")
            candidates.append(region)
        if self.local is None or not self.local_owners:
            return None
        query = local_features.describe(img, query=True)
        for i, distance in sorted(candidates, key=lambda c: c[1]):  # the hash candidates are verified first
            row = self._owner_rows.get((self.entries[i][0], self.entries[i][3]))
            verified = self.local.search(query, only={row}) if row is not None else None
            if verified is not None:
                return self._hash_match(i, distance, "hash+local", verified)
        verified = self.local.search(query)
        if verified is None:
            return None
        name, sku, mirrored = self.local_owners[verified.owner]
        return ImageMatch(name, sku, None, mirrored, "local", verified.inliers, verified.rotation, verified.scale)


def _pdq(img: Image.Image) -> np.ndarray:
    import pdqhash  # only when an index is built or a region needs a second opinion

    return pdqhash.compute(np.asarray(img.convert("RGB")))[0].astype(bool)


def _file_digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _parameters() -> tuple:
    """What the built index depends on besides the files (a change rebuilds the cache)."""
    lf = local_features
    return (CROP_STEPS, QUARTER_TURNS, REGIONS, _REGION_SIDE, _REGION_TOLERANCE, lf.WORK_SIDE, lf.MIN_SIDE, lf.N_FEATURES,
            imagehash.__version__)


__all__ = ["CONFIDENT_DISTANCE", "ImageMatch", "ImageRefused", "MATCH_DISTANCE", "OfficialImages", "is_degenerate"]
