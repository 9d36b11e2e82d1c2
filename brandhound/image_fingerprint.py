"""Perceptual fingerprints of images, refusing what would hurt to decode.

Used on listing images, favicons and logos as they are crawled, and on the
brand's official images, so both sides are hashed the same way. The pixel
count is checked from the header, before any decoding, so a decompression
bomb (a small file declaring a huge canvas) costs nothing.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import imagehash
from PIL import Image, UnidentifiedImageError

#: Larger canvases are refused: no product photo needs more than 40 megapixels.
DEFAULT_MAX_PIXELS = 40_000_000
#: Work size for hashing; pHash only looks at 32x32 anyway.
_WORK_SIZE = (512, 512)


class ImageRefused(ValueError):
    """The bytes are not an image we will decode; the message says why."""


@dataclass(frozen=True)
class ImageFacts:
    width: int
    height: int
    format: str | None
    phash: str
    dhash: str

    @property
    def mime_type(self) -> str | None:
        return Image.MIME.get(self.format or "")


def decode(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS,
           work_size: tuple[int, int] = _WORK_SIZE) -> tuple[Image.Image, int, int, str | None]:
    """The image as RGB at most ``work_size`` (512 px a side by default), its full width and height and its format; a
    transparent image is flattened on white, as a page shows it (dropping the alpha channel
    would put whatever colour the transparent pixels hold, often black, in its place)."""
    if not data:
        raise ImageRefused("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img: Image.Image = Image.open(io.BytesIO(data))
            width, height = img.size
            if width * height > max_pixels:
                raise ImageRefused(f"{width}x{height} pixels is over the limit of {max_pixels:,} (decompression bomb?)")
            img.draft("RGB", work_size)  # JPEG decodes at reduced scale: fast and small
            img.load()
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRefused(f"decompression bomb: {exc}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRefused(f"not a readable image: {exc}") from None
    fmt = img.format
    img = flatten(img)
    img.thumbnail(work_size)
    return img, width, height, fmt


def flatten(img: Image.Image) -> Image.Image:
    """RGB (or L) pixels; transparency composited on white."""
    if img.mode in ("RGB", "L"):
        return img
    if "A" in img.mode or img.mode == "P" and "transparency" in img.info:
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return img.convert("RGB")


def fingerprint(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageFacts:
    """Dimensions and 64-bit pHash/dHash of an encoded image."""
    img, width, height, fmt = decode(data, max_pixels=max_pixels)
    return ImageFacts(
        width=width,
        height=height,
        format=fmt,
        phash=str(imagehash.phash(img)),
        dhash=str(imagehash.dhash(img)),
    )
