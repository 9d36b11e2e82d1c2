"""Official photos reused in listings, on real photos: brandhound's matcher beside plain pHash and PDQ.

The corpus (``evaluation/corpora/images``, see its SOURCES.md) holds real photos and real icons
(logos), each with a role: ``official`` ones form the brand's catalogue, ``unrelated`` ones are
distinct photos and marks that must never match it. The copies a counterfeit listing shows are
made here, at evaluation time, by the transforms such listings apply (crop, padding to a square,
banners and watermarks, rotation, mirror, grayscale, heavy JPEG, thumbnails, the photo inside a
collage or a screenshot-like page, a logo on another background), each drawn from a seed of the
photo's and the transform's names, so every run sees the same copies.

Split by source photo (``split_of(file name)``): a photo and all its copies are dev or test, for the
official queries and the unrelated ones alike. The catalogue is every official photo and logo of
both parts (a brand's catalogue is what it is; only the queries are split).

Rows: per transform (recall on copies of official photos), ``unrelated`` (false matches among the
unrelated photos and their copies, as a false-positive rate) and ``overall`` (every query: a copy
matched to the wrong official photo counts as a false positive and a false negative).
"""

from __future__ import annotations

import functools
import hashlib
import io
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from evaluation.corpus import corpus_dir, in_split
from evaluation.metrics import Metrics, Result

CORPUS = "images"
#: Peers' thresholds, as the issue names them.
PHASH_MAX = 10
PDQ_MAX = 31


@dataclass(frozen=True)
class Entry:
    file: str  # relative to the corpus folder: photos/x.jpg, logos/y.png
    role: str  # official or unrelated

    @property
    def is_logo(self) -> bool:
        return self.file.startswith("logos/")

    @property
    def name(self) -> str:
        return Path(self.file).name


def manifest(root: Path | None = None) -> list[Entry]:
    root = root or corpus_dir(CORPUS)
    lines = (root / "manifest.tsv").read_text(encoding="utf-8").splitlines()[1:]
    out = []
    for n, line in enumerate(lines, 2):
        fields = line.split("\t")
        if len(fields) != 4 or fields[3] not in ("official", "unrelated"):
            raise ValueError(f"{root / 'manifest.tsv'} line {n}: expected file, source, licence, role: {line!r}")
        out.append(Entry(fields[0], fields[3]))
    return out


# -- what counterfeit listings do to a photo -------------------------------------------------

def _rng(*names: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256("/".join(names).encode()).digest()[:8], "big"))


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType sizes
        return ImageFont.load_default()


_WORDS = ("ORIGINAL", "BEST PRICE", "FREE SHIPPING", "NEW 2024", "SALE -70%", "TOP QUALITY", "1:1", "HOT DEAL")


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return tuple(rng.randrange(256) for _ in range(3))


def crop(share: float):
    """Keep (1 - share) of the width and of the height, at a random place."""
    def apply(img: Image.Image, rng: random.Random) -> Image.Image:
        w, h = img.size
        cw, ch = round(w * (1 - share)), round(h * (1 - share))
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        return img.crop((x, y, x + cw, y + ch))
    return apply


def pad_square(white: bool):
    def apply(img: Image.Image, rng: random.Random) -> Image.Image:
        side = max(img.size) + rng.randint(0, max(img.size) // 5)
        canvas = Image.new("RGB", (side, side), (255, 255, 255) if white else _colour(rng))
        canvas.paste(img, ((side - img.width) // 2, (side - img.height) // 2))
        return canvas
    return apply


def banner(img: Image.Image, rng: random.Random) -> Image.Image:
    """A solid strip of shop text over the top or bottom of the photo."""
    out = img.copy()
    draw = ImageDraw.Draw(out)
    bh = max(14, img.height // 7)
    y = 0 if rng.random() < 0.5 else img.height - bh
    draw.rectangle((0, y, img.width, y + bh), fill=_colour(rng))
    draw.text((img.width // 20, y + bh // 6), rng.choice(_WORDS), fill=(255, 255, 255), font=_font(bh * 2 // 3))
    return out


def watermark(img: Image.Image, rng: random.Random) -> Image.Image:
    """Semi-transparent shop names tiled over the photo."""
    base = img.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    size = max(12, img.height // 10)
    text = rng.choice(("BEST-DEALS-SHOP", "www.cheap-outlet.example", "TOP STORE 1:1"))
    for i, y in enumerate(range(size // 2, img.height, size * 2)):
        draw.text(((i % 2) * img.width // 6, y), text, fill=(255, 255, 255, 120), font=_font(size))
    return Image.alpha_composite(base, layer).convert("RGB")


def rotate(degrees: float):
    def apply(img: Image.Image, rng: random.Random) -> Image.Image:
        angle = degrees * (1 if rng.random() < 0.5 else -1)
        return img.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=(255, 255, 255))
    return apply


def quarter_turn(degrees: int):
    method = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}[degrees]
    return lambda img, rng: img.transpose(method)


def thumbnail(side: int):
    def apply(img: Image.Image, rng: random.Random) -> Image.Image:
        out = img.copy()
        out.thumbnail((side, side), Image.LANCZOS)
        return out
    return apply


def _filler(rng: random.Random, size: tuple[int, int], fillers: list[Image.Image]) -> Image.Image:
    """A tile of another (unrelated) photo, or a flat colour when there is none."""
    if not fillers:
        return Image.new("RGB", size, _colour(rng))
    return ImageOps.fit(rng.choice(fillers), size)


def collage(fillers: list[Image.Image]):
    """The photo as one tile (a half or a third of the width) of a 2x2 or 3x2 collage of other photos."""
    def apply(img: Image.Image, rng: random.Random) -> Image.Image:
        cols, rows = rng.choice(((2, 2), (3, 2)))
        tile_w = max(img.width, img.height)
        tile = (tile_w, tile_w)
        canvas = Image.new("RGB", (cols * tile_w + (cols + 1) * 8, rows * tile_w + (rows + 1) * 8), (255, 255, 255))
        at = rng.randrange(cols * rows)
        for k in range(cols * rows):
            x, y = 8 + (k % cols) * (tile_w + 8), 8 + (k // cols) * (tile_w + 8)
            part = ImageOps.pad(img, tile, color=(255, 255, 255)) if k == at else _filler(rng, tile, fillers)
            canvas.paste(part, (x, y))
        canvas.thumbnail((1000, 1000), Image.LANCZOS)
        return canvas
    return apply


def screenshot(img: Image.Image, rng: random.Random) -> Image.Image:
    """A listing page as a screenshot: header bar, text, price, buttons, the photo at ~40% of the width."""
    width = 1000
    side = width * 2 // 5
    photo = img.copy()
    photo.thumbnail((side, side), Image.LANCZOS)
    page = Image.new("RGB", (width, 700), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, width, 60), fill=_colour(rng))
    draw.text((20, 15), rng.choice(("shopmall", "buy-now", "marketplace")), fill=(255, 255, 255), font=_font(28))
    x0, y0 = 40, 90
    page.paste(photo, (x0, y0))
    tx = x0 + side + 40
    draw.text((tx, y0), rng.choice(_WORDS) + " genuine item", fill=(20, 20, 20), font=_font(26))
    for i in range(8):
        draw.text((tx, y0 + 60 + i * 30), " ".join(rng.choice(("lorem", "ipsum", "dolor", "sit", "amet", "quality",
                                                                "brand", "new")) for _ in range(5)),
                  fill=(90, 90, 90), font=_font(18))
    draw.text((tx, y0 + 330), f"{rng.randint(9, 199)}.99", fill=(200, 30, 30), font=_font(34))
    draw.rounded_rectangle((tx, y0 + 390, tx + 220, y0 + 440), 8, fill=(255, 150, 0))
    draw.text((tx + 30, y0 + 400), "Add to cart", fill=(0, 0, 0), font=_font(22))
    for k in range(4):  # thumbnails strip of other tiles
        draw.rectangle((x0 + k * 100, y0 + side + 20, x0 + k * 100 + 90, y0 + side + 110), outline=(200, 200, 200))
    return page


def logo_on_background(img: Image.Image, rng: random.Random) -> Image.Image:
    """The logo (with its transparency) pasted small-ish on a coloured or photo-like background."""
    side = rng.randint(220, 360)
    canvas = Image.new("RGB", (side, side), _colour(rng))
    mark = img.convert("RGBA")
    mark.thumbnail((side * 3 // 5, side * 3 // 5), Image.LANCZOS)
    canvas.paste(mark, (rng.randint(0, side - mark.width), rng.randint(0, side - mark.height)), mark)
    return canvas


def _on_white(img: Image.Image) -> Image.Image:
    """A photo as RGB; a logo flattened on white, as a shop page shows it."""
    if img.mode in ("RGBA", "LA", "P"):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return img.convert("RGB")


Transform = Callable[[Image.Image, random.Random], Image.Image]


def photo_transforms(fillers: list[Image.Image]) -> dict[str, Transform]:
    return {
        "plain": lambda img, rng: img,
        "crop_10": crop(0.10),
        "crop_20": crop(0.20),
        "crop_30": crop(0.30),
        "pad_white_square": pad_square(True),
        "pad_colour_square": pad_square(False),
        "text_banner": banner,
        "watermark": watermark,
        "rotate_5": rotate(5),
        "rotate_10": rotate(10),
        "rotate_15": rotate(15),
        "rotate_90": quarter_turn(90),
        "rotate_180": quarter_turn(180),
        "rotate_270": quarter_turn(270),
        "mirror": lambda img, rng: ImageOps.mirror(img),
        "grayscale": lambda img, rng: ImageOps.grayscale(img).convert("RGB"),
        "jpeg_q10": lambda img, rng: img,  # encoded at quality 10 below
        "thumbnail_96": thumbnail(96),
        "crop_20_mirror": lambda img, rng: ImageOps.mirror(crop(0.20)(img, rng)),
        "collage_40": collage(fillers),
        "screenshot_40": screenshot,
    }


def logo_transforms() -> dict[str, Transform]:
    return {
        "logo_plain": lambda img, rng: _on_white(img),
        "logo_on_colour": logo_on_background,
        "logo_thumbnail_64": lambda img, rng: thumbnail(64)(_on_white(img), rng),
        "logo_in_page": lambda img, rng: screenshot(_on_white(img), rng),
    }


#: Transforms also applied to the unrelated photos (their copies must not match either).
UNRELATED_PHOTO_TRANSFORMS = ("plain", "crop_30", "pad_white_square", "rotate_10", "rotate_90", "mirror",
                              "thumbnail_96", "collage_40", "screenshot_40")
UNRELATED_LOGO_TRANSFORMS = ("logo_plain", "logo_on_colour", "logo_in_page")


def encode(img: Image.Image, transform: str) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=10 if transform == "jpeg_q10" else 85)
    return out.getvalue()


@dataclass(frozen=True)
class Query:
    source: str  # the file it was made from
    transform: str
    expected: str | None  # the official file name it should match, or None (unrelated)
    data: bytes


def queries(split: str, root: Path | None = None) -> list[Query]:
    root = root or corpus_dir(CORPUS)
    entries = [e for e in manifest(root) if in_split(e.name, split)]
    images = {e.file: Image.open(root / e.file) for e in entries}
    for img in images.values():
        img.load()
    fillers = [images[e.file].convert("RGB") for e in entries if e.role == "unrelated" and not e.is_logo]
    photo_t, logo_t = photo_transforms(fillers), logo_transforms()
    out = []
    for e in entries:
        table = logo_t if e.is_logo else photo_t
        names = list(table) if e.role == "official" else \
            list(UNRELATED_LOGO_TRANSFORMS if e.is_logo else UNRELATED_PHOTO_TRANSFORMS)
        base = images[e.file] if e.is_logo else images[e.file].convert("RGB")
        for t in names:
            copy = table[t](base, _rng(e.file, t))
            out.append(Query(e.file, t, e.name if e.role == "official" else None, encode(copy, t)))
    return out


# -- the systems ---------------------------------------------------------------------------

def _official_files(root: Path) -> list[Path]:
    return [root / e.file for e in manifest(root) if e.role == "official"]


def _brandhound(root: Path, cache_dir: Path | None) -> Callable[[bytes], str | None]:
    from types import SimpleNamespace

    from detectors.official_images import OfficialImages

    files = _official_files(root)
    profile = SimpleNamespace(products=[SimpleNamespace(sku=p.name, images=[p]) for p in files if p.parent.name == "photos"],
                              logos=[p for p in files if p.parent.name == "logos"])
    official = OfficialImages.from_profile(profile, cache_dir=cache_dir)

    def match(data: bytes) -> str | None:
        m = official.match_image(data)
        return m.official if m else None
    return match


def _brandhound_hash_stage(root: Path, cache_dir: Path | None) -> Callable[[bytes], str | None]:
    """brandhound's hash stage alone (its matcher before the local-feature stage)."""
    from types import SimpleNamespace

    from brandhound.image_fingerprint import fingerprint
    from detectors.official_images import OfficialImages

    files = _official_files(root)
    profile = SimpleNamespace(products=[SimpleNamespace(sku=p.name, images=[p]) for p in files if p.parent.name == "photos"],
                              logos=[p for p in files if p.parent.name == "logos"])
    official = OfficialImages.from_profile(profile, cache_dir=cache_dir)

    def match(data: bytes) -> str | None:
        m = official.match(fingerprint(data).phash)
        return m.official if m else None
    return match


def _nearest(catalogue: list[tuple[str, np.ndarray]], query: np.ndarray, max_distance: int) -> str | None:
    bits = np.stack([b for _, b in catalogue])
    dist = (bits != query[None, :]).sum(axis=1)
    i = int(dist.argmin())
    return catalogue[i][0] if dist[i] <= max_distance else None


def _flat(path: Path) -> Image.Image:
    with Image.open(path) as img:
        return _on_white(img)


def _phash_peer(root: Path, cache_dir: Path | None) -> Callable[[bytes], str | None]:
    """Plain whole-image pHash (imagehash), nearest official photo within 10 of 64 bits."""
    catalogue = [(p.name, imagehash.phash(_flat(p)).hash.ravel()) for p in _official_files(root)]

    def match(data: bytes) -> str | None:
        with Image.open(io.BytesIO(data)) as img:
            return _nearest(catalogue, imagehash.phash(img.convert("RGB")).hash.ravel(), PHASH_MAX)
    return match


def _pdq_peer(root: Path, cache_dir: Path | None) -> Callable[[bytes], str | None]:
    """PDQ (pdqhash), nearest official photo within 31 of 256 bits."""
    import pdqhash

    def pdq(img: Image.Image) -> np.ndarray:
        return pdqhash.compute(np.asarray(img.convert("RGB")))[0].astype(bool)
    catalogue = [(p.name, pdq(_flat(p))) for p in _official_files(root)]

    def match(data: bytes) -> str | None:
        with Image.open(io.BytesIO(data)) as img:
            return _nearest(catalogue, pdq(img), PDQ_MAX)
    return match


SYSTEMS: dict[str, Callable] = {
    "brandhound": _brandhound,
    "brandhound-hash-stage": _brandhound_hash_stage,
    "phash": _phash_peer,
    "pdq": _pdq_peer,
}
PEERS = ("phash", "pdq")


def score(system: str, answers: list[tuple[Query, str | None]], split: str) -> list[Result]:
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # tp, fp, fn
    overall = [0, 0, 0]
    unrelated_n = unrelated_fp = 0
    for q, got in answers:
        if q.expected is None:
            unrelated_n += 1
            if got is not None:
                unrelated_fp += 1
                overall[1] += 1
            continue
        row = per[q.transform]
        if got == q.expected:
            row[0] += 1
            overall[0] += 1
        else:
            row[2] += 1
            overall[2] += 1
            if got is not None:  # the wrong official photo: a false match as well as a miss
                row[1] += 1
                overall[1] += 1
    n_queries = len(answers)
    out = [Result(CORPUS, split, system, Metrics.of("overall", *overall),
                  extra=(("queries", n_queries), ("unrelated_queries", unrelated_n)))]
    out.append(Result(CORPUS, split, system, Metrics.of("unrelated", 0, unrelated_fp, 0),
                      note="false matches among unrelated photos and their copies",
                      extra=(("fp_rate", round(unrelated_fp / unrelated_n, 4) if unrelated_n else 0.0),
                             ("queries", unrelated_n))))
    for transform in sorted(per):
        out.append(Result(CORPUS, split, system, Metrics.of(transform, *per[transform])))
    return out


@functools.lru_cache(maxsize=4)
def _queries_cached(split: str) -> tuple[Query, ...]:
    return tuple(queries(split))


def answers(system: str, split: str, cache_dir: Path | None = None) -> list[tuple[Query, str | None]]:
    root = corpus_dir(CORPUS)
    match = SYSTEMS[system](root, cache_dir)
    return [(q, match(q.data)) for q in _queries_cached(split)]


def evaluate(split: str = "test", *, peers: bool = True, cache_dir: Path | None = None) -> list[Result]:
    systems = ["brandhound", "brandhound-hash-stage"] + (list(PEERS) if peers else [])
    out: list[Result] = []
    for system in systems:
        out.extend(score(system, answers(system, split, cache_dir), split))
    return out
