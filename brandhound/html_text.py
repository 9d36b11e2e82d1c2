"""Decoding hostile HTML: pages that lie about their encoding are read as written, not as declared."""

from __future__ import annotations

import codecs

from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, resolve_encoding

_SINGLE_BYTE = {"cp1252", "latin_1", "iso8859_1", "iso8859_15", "ascii", "windows_1252"}


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    resolved = resolve_encoding(name)
    if not resolved:
        return None
    return codecs.lookup(resolved).name


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """``(text, encoding used)``.

    The declared encoding (header, then meta) wins when the bytes are valid in
    it, except that bytes which are valid multi-byte UTF-8 are UTF-8 even when
    a single-byte charset is declared: such byte runs are practically never
    meaningful Latin-1. Bytes invalid in the declared encoding fall back to
    UTF-8 and then cp1252, which decodes anything, so no page is unreadable.
    """
    declared = _codec(http_content_type_encoding(content_type) if content_type else None) or _codec(
        html_body_declared_encoding(body[:4096])
    )
    if body.startswith(codecs.BOM_UTF8):
        return body[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), "utf-8"
    is_utf8 = True
    try:
        utf8_text = body.decode("utf-8")
    except UnicodeDecodeError:
        is_utf8 = False
        utf8_text = ""
    if declared and declared.replace("-", "_") in _SINGLE_BYTE and is_utf8 and not body.isascii():
        return utf8_text, "utf-8"
    if declared:
        try:
            return body.decode(declared), declared
        except (UnicodeDecodeError, LookupError):
            pass
    if is_utf8:
        return utf8_text, "utf-8"
    return body.decode("cp1252", errors="replace"), "cp1252"
