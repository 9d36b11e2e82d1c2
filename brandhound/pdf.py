"""HTML to PDF with WeasyPrint, without WeasyPrint's side effect on image decoding.

Importing WeasyPrint sets Pillow's process-wide ``ImageFile.LOAD_TRUNCATED_IMAGES`` to True, so
that any later ``Image.load()`` in the process accepts truncated files. brandhound refuses
corrupt images as evidence (``brandhound.image_fingerprint``), so the flag is put back as it
was; a truncated image in a PDF is then left out by WeasyPrint with a warning instead.
"""

from __future__ import annotations

from typing import Any, Callable

from PIL import ImageFile


def html_to_pdf(html: str, *, base_url: str | None = None,
                url_fetcher: Callable[..., dict[str, Any]] | None = None) -> bytes:
    """The PDF of ``html``; ``url_fetcher`` as WeasyPrint's (refuse what a document must not load)."""
    truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        from weasyprint import HTML  # slow to import: only where a PDF is made
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated
    kwargs: dict[str, Any] = {"string": html, "base_url": base_url}
    if url_fetcher is not None:
        kwargs["url_fetcher"] = url_fetcher
    return HTML(**kwargs).write_pdf()
