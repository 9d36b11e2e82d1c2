"""Untrusted text made safe to quote in a notice: one line, no control characters, bounded length.

Titles, seller names and URLs come from pages written by the people a notice is about. They
are shown as data: escaped in HTML (the templates' autoescape), and in plain text and mail
headers reduced to one visible line, so that a title cannot add lines to a notice, a header
to an e-mail, or hide text with bidirectional overrides. A huge value is cut, visibly.
"""

from __future__ import annotations

import re
import unicodedata

#: Longest untrusted value quoted in full.
MAX_QUOTED = 300

_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_TRUNCATED = re.compile(r"… \[truncated: \d+ more characters\]$")


def one_line(value: object, limit: int = MAX_QUOTED) -> str:
    """``value`` as one visible line of at most ``limit`` characters (plus a truncation note)."""
    text = "" if value is None else str(value)
    text = _INVISIBLE.sub("", text)
    # Every control and separator character (CR, LF, NEL, U+2028...) becomes a space.
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text)
    text = " ".join(text.split())
    marker = _TRUNCATED.search(text)
    if marker and marker.start() <= limit:
        return text  # already cut (stored that way): keep the true count
    if len(text) > limit:
        cut = len(text) - limit
        text = f"{text[:limit]}… [truncated: {cut} more characters]"
    return text


def mask_account(account: str | None) -> str | None:
    """An account shown only enough to recognise it: ``a***e@example.com``, ``j***n``."""
    if not account:
        return None
    local, at, domain = account.partition("@")
    shown = local[0] + "***" + local[-1] if len(local) > 2 else local[:1] + "***"
    return one_line(shown + at + domain, 120)
