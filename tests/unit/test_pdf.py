"""PDFs from HTML, and the evidence rule they must not bend: a truncated image is refused."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from brandhound.image_fingerprint import ImageRefused, fingerprint
from brandhound.pdf import html_to_pdf


def _truncated_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(out, format="JPEG")
    data = out.getvalue()
    return data[: len(data) // 2]


def test_html_becomes_a_pdf():
    pdf = html_to_pdf("<h1>Takedown</h1><p>Kestrava</p>")
    assert pdf.startswith(b"%PDF-") and len(pdf) > 500


def test_making_a_pdf_does_not_make_truncated_images_acceptable():
    html_to_pdf("<p>x</p>")  # imports WeasyPrint, which loosens Pillow process-wide
    with pytest.raises(ImageRefused, match="not a readable image"):
        fingerprint(_truncated_jpeg())
