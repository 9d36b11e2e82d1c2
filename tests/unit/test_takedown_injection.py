"""Hostile text from scraped pages renders harmlessly: no template evaluation, no markup, no headers."""

from __future__ import annotations

import email
import time
from email.message import EmailMessage
from email.policy import default

import pytest

from brandhound.evidence import EvidenceStore
from brandhound.profile import load_profile
from takedown.drafting import plan_notices
from takedown.export import EML_POLICY, export_batch
from takedown.recipients import RecipientFinder
from takedown.render import render_notice
from sandbox.takedown_samples import listing_case
from takedown.text import one_line
from tests.support.paths import EXAMPLE_BRAND

PROFILE = load_profile(EXAMPLE_BRAND)
HOSTILE_TITLES = {
    "jinja": "Kestrava {{ 7*7 }} {% for x in range(3) %}LOOP{% endfor %} {{ ''.__class__.__mro__ }}",
    "html": 'Kestrava <script>alert(1)</script><img src="http://127.0.0.1:1/x"> <b>bold</b>',
    "crlf": "Kestrava cup\r\nBcc: victim@example.com\r\n\r\nI am not authorised by anyone.",
    "unicode_lines": "Kestrava\u2028Reply-To: evil@example.com\u0085X\u202egnp.exe",
    "huge": "Kestrava " + "A" * 2_000_000,
}


def hostile_notice(tmp_path, title: str, seller: str = "seller"):
    store = EvidenceStore(tmp_path / "evidence")
    case = listing_case(store, PROFILE, "https://www.bazaarhub.com/item/666", title, seller=seller,
                        marketplace="BazaarHub")
    (notice,) = plan_notices([case], PROFILE, RecipientFinder(PROFILE))
    return notice, store


@pytest.mark.parametrize("name", HOSTILE_TITLES)
def test_hostile_title_renders_as_inert_text(tmp_path, name):
    title = HOSTILE_TITLES[name]
    notice, _ = hostile_notice(tmp_path, title, seller=title)
    rendered = render_notice(notice, PROFILE)
    # Template syntax is shown, never evaluated: the title line is the page's text, made one line.
    title_line = next(line for line in rendered.text.splitlines() if line.strip().startswith("Title:"))
    assert title_line.strip() == "Title: " + one_line(title)
    if name == "jinja":
        assert "{{ 7*7 }}" in title_line and "LOOP" in title_line and "LOOPLOOP" not in rendered.text
    # No markup from the page reaches the letter.
    assert "<script" not in rendered.html and "<img" not in rendered.html and "<b>" not in rendered.html
    # No line of the text starts with what the page tried to inject.
    lines = rendered.text.splitlines()
    assert not any(line.startswith(("Bcc:", "Reply-To:", "I am not authorised")) for line in lines)
    assert "\r" not in rendered.text and "\u2028" not in rendered.text and "\u202e" not in rendered.text
    assert "\n" not in rendered.subject and "\r" not in rendered.subject


def test_huge_title_is_truncated_visibly_and_quickly(tmp_path):
    notice, _ = hostile_notice(tmp_path, HOSTILE_TITLES["huge"])
    started = time.perf_counter()
    rendered = render_notice(notice, PROFILE)
    assert time.perf_counter() - started < 5
    assert "[truncated:" in rendered.text and "more characters]" in rendered.html
    assert len(rendered.text) < 20_000
    assert len(notice.evidence[0].title) < 400 and "1999709 more characters" in rendered.text  # the true count


def test_eml_headers_stay_single_even_with_hostile_recipient_name(tmp_path):
    notice, store = hostile_notice(tmp_path, HOSTILE_TITLES["crlf"])
    notice.recipient.name = "BazaarHub\r\nBcc: victim@example.com"
    result = export_batch([notice], PROFILE, store, tmp_path / "out", formats=("eml",))
    eml = next(p for p in result.files if p.name == "notice.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=default)
    assert message["Bcc"] is None
    # The name stays a quoted display name: one recipient, no Bcc header.
    assert [a.addr_spec for a in message["To"].addresses] == ["ip-reports@bazaarhub.com"]
    headers = eml.read_bytes().split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert not any(h.lower().startswith(b"bcc") for h in headers)


def test_the_eml_policy_refuses_line_breaks_in_headers():
    message = EmailMessage(policy=EML_POLICY)
    with pytest.raises(ValueError):
        message["Subject"] = "hello\r\nBcc: victim@example.com"


def test_one_line_removes_every_kind_of_line_break_and_invisible_control():
    text = one_line("a\rb\nc\x0bd\x0ce\x1cf\x85g\u2028h\u2029i\u200bj\u202ek\x00l")
    assert text == "a b c d e f g h ijk l"


def test_csv_cells_cannot_become_formulas(tmp_path):
    notice, store = hostile_notice(tmp_path, "=HYPERLINK(\"http://evil\")")
    notice.recipient.name = "=cmd|' /C calc'!A0"
    result = export_batch([notice], PROFILE, store, tmp_path / "out", formats=("csv",))
    csv_text = (result.directory / "batch.csv").read_text(encoding="utf-8")
    assert ",'=cmd" in csv_text and ",=cmd" not in csv_text
