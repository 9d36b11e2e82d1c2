"""Images for the sandbox web, made with Pillow from the brand's official photos.

Each distinct image is made once and its bytes reused by every page that shows
it (a marketplace serves them under per-listing URLs), so a build with
thousands of listings writes only a few dozen image files.
"""

from __future__ import annotations

import hashlib
import io
import random
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from brandhound.profile import BrandProfile

#: How counterfeiters disguise a stolen official photo; "original" is the untouched file.
TRANSFORMS = ("original", "resized", "cropped", "recompressed", "colour_shifted", "watermarked", "flipped")

# Size the decompression bomb declares: 900 million pixels, ten times Pillow's
# DecompressionBombError threshold, in a PNG of about 100 kB.
BOMB_SIZE = 30_000


@dataclass(frozen=True)
class Media:
    """One image file: ``name`` is its file name in a host's media folder."""

    name: str
    data: bytes
    kind: str  # a TRANSFORMS entry, "generated", "logo", "favicon", "corrupt" or "bomb"

    @property
    def content_type(self) -> str:
        return "image/png" if self.name.endswith(".png") else "image/jpeg"


def _jpeg(img: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    # Fixed encoder settings keep the bytes identical from build to build.
    img.convert("RGB").save(buf, "JPEG", quality=quality, optimize=False, progressive=False)
    return buf.getvalue()


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=False)
    return buf.getvalue()


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _shift_hue(img: Image.Image, amount: int) -> Image.Image:
    h, s, v = img.convert("RGB").convert("HSV").split()
    h = h.point(lambda x: (x + amount) % 256)
    return Image.merge("HSV", (h, s, v)).convert("RGB")


def _watermark(img: Image.Image, text: str) -> Image.Image:
    base = img.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = _font(max(18, base.width // 12))
    step = max(60, base.height // 4)
    for row, y in enumerate(range(step // 3, base.height, step)):
        draw.text((10 + (row % 2) * base.width // 5, y), text, font=font, fill=(255, 255, 255, 150),
                  stroke_width=2, stroke_fill=(200, 0, 0, 150))
    return Image.alpha_composite(base, layer).convert("RGB")


def transform_official(src: bytes, kind: str) -> bytes:
    """The official photo ``src`` disguised the way ``kind`` says."""
    if kind == "original":
        return src
    img = Image.open(io.BytesIO(src)).convert("RGB")
    w, h = img.size
    if kind == "resized":
        return _jpeg(img.resize((w * 3 // 5, h * 3 // 5), Image.Resampling.LANCZOS))
    if kind == "cropped":
        return _jpeg(img.crop((w // 10, h // 12, w * 17 // 20, h * 9 // 10)))
    if kind == "recompressed":
        return _jpeg(img, quality=8)
    if kind == "colour_shifted":
        return _jpeg(_shift_hue(img, 28), quality=80)
    if kind == "watermarked":
        return _jpeg(_watermark(img, "BEST PRICE  1:1"))
    if kind == "flipped":
        return _jpeg(ImageOps.mirror(img))
    raise ValueError(f"unknown image transform {kind!r}")


def product_picture(label: str, variant: int, seed: int) -> bytes:
    """A plausible catalogue photo of some other product: a gradient, a shape, a name."""
    rng = random.Random(f"{seed}:picture:{label}:{variant}")
    size = 480
    top = tuple(rng.randrange(120, 256) for _ in range(3))
    bottom = tuple(rng.randrange(0, 140) for _ in range(3))
    img = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(img)
    for y in range(size):
        t = y / (size - 1)
        draw.line([(0, y), (size, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom)))
    colour = tuple(rng.randrange(0, 256) for _ in range(3))
    cx, cy, r = size // 2 + rng.randrange(-60, 60), size // 2 + rng.randrange(-40, 40), rng.randrange(70, 150)
    shape = rng.choice(("ellipse", "rectangle", "polygon"))
    if shape == "ellipse":
        draw.ellipse((cx - r, cy - r * 3 // 4, cx + r, cy + r * 3 // 4), fill=colour, outline=(30, 30, 30), width=4)
    elif shape == "rectangle":
        draw.rounded_rectangle((cx - r, cy - r, cx + r, cy + r // 2), radius=18, fill=colour)
    else:
        draw.polygon([(cx, cy - r), (cx + r, cy + r // 2), (cx - r, cy + r // 2)], fill=colour)
    draw.text((24, size - 64), label.upper(), font=_font(34), fill=(255, 255, 255), stroke_width=2, stroke_fill=(0, 0, 0))
    return _jpeg(img, quality=82)


def decompression_bomb(side: int = BOMB_SIZE) -> bytes:
    """A valid 1-bit greyscale PNG of ``side`` x ``side`` zero pixels.

    Decoding it needs about ``side``² bytes of memory, while the file is a few
    hundred kB: a crawler must check the declared size before decoding.
    """
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    row = bytes(1 + (side + 7) // 8)  # filter byte 0 + packed bits
    comp = zlib.compressobj(9)
    rows_per_block = 1000
    block = row * rows_per_block
    parts = [comp.compress(block) for _ in range(side // rows_per_block)]
    parts.append(comp.compress(row * (side % rows_per_block)))
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


def truncated(data: bytes, keep: float = 0.45) -> bytes:
    """The first part of an image file only, as left by an interrupted upload."""
    return data[: int(len(data) * keep)]


class MediaLibrary:
    """Every image of a build, each made once on first use and then reused."""

    def __init__(self, profile: BrandProfile, seed: int):
        self._profile = profile
        self._seed = seed
        self._cache: dict[str, Media] = {}
        self._sources = {p.sku: p.images[0] for p in profile.products}

    def _get(self, name: str, kind: str, make) -> Media:
        if name not in self._cache:
            self._cache[name] = Media(name, make(), kind)
        return self._cache[name]

    def official(self, sku: str, kind: str) -> Media:
        src: Path = self._sources[sku]
        ext = src.suffix.lower().lstrip(".") if kind == "original" else "jpg"
        slug = sku.lower()
        return self._get(f"{slug}-{kind}.{ext}", kind, lambda: transform_official(src.read_bytes(), kind))

    def picture(self, label: str, variant: int) -> Media:
        slug = hashlib.sha1(label.encode()).hexdigest()[:10]
        return self._get(f"pic-{slug}-{variant}.jpg", "generated",
                         lambda: product_picture(label, variant, self._seed))

    def logo(self, recoloured: bool = False) -> Media:
        """The official logo file, or a recoloured copy (no longer byte- or colour-identical)."""
        src = self._profile.logos[0] if self._profile.logos else None
        if src is None:
            return self._get("logo-text.png", "logo", lambda: _png(self._text_logo()))
        if not recoloured:
            return self._get(f"logo{src.suffix.lower()}", "logo", src.read_bytes)
        return self._get("logo-recoloured.png", "logo",
                         lambda: _png(_shift_hue(Image.open(src), 90)))

    def favicon(self) -> Media:
        logos = self._profile.logos
        if len(logos) > 1:
            return self._get("favicon.png", "favicon", logos[1].read_bytes)
        return self._get("favicon.png", "favicon",
                         lambda: _png(Image.open(io.BytesIO(self.logo().data)).resize((32, 32))))

    def corrupt(self) -> Media:
        sku = self._profile.products[0].sku
        return self._get("upload-interrupted.jpg", "corrupt",
                         lambda: truncated(self.official(sku, "resized").data))

    def bomb(self) -> Media:
        return self._get("huge-scan.png", "bomb", decompression_bomb)

    def _text_logo(self) -> Image.Image:
        img = Image.new("RGB", (320, 80), (20, 20, 20))
        ImageDraw.Draw(img).text((16, 18), self._profile.name, font=_font(40), fill=(255, 255, 255))
        return img
