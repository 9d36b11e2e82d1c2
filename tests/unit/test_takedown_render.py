"""Golden tests: every recipient kind in every notice language carries every required element."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from html.parser import HTMLParser

import pytest

from brandhound.items import File, Hash, NoticeEvidence, Recipient, Takedown
from brandhound.profile import load_profile
from takedown.recipients import RECIPIENT_KINDS
from takedown.render import catalog, languages, render_notice
from tests.support.paths import EXAMPLE_BRAND

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
CAPTURED = datetime(2026, 11, 20, 8, 30, 15, tzinfo=timezone.utc)
PROFILE = load_profile(EXAMPLE_BRAND)
FULL = ("en", "es", "pt", "pl", "fi")


def notice(kind: str, language: str, finding_kind: str = "counterfeit_listing", **extra) -> Takedown:
    entry = NoticeEvidence(finding_id="f-1", kind=finding_kind, url="https://www.bazaarhub.com/item/1001",
                           final_url="https://www.bazaarhub.com/item/1001?ref=x", title="Kestrava cup replica",
                           seller="nordic_deals_88", captured_at=CAPTURED,
                           html=File(path="ab/x.html", hash=Hash(sha256="a" * 64)),
                           screenshot=File(path="cd/y.png", hash=Hash(sha256="b" * 64)),
                           images=[File(path="ef/z.jpg", hash=Hash(sha256="c" * 64))],
                           account="a***n@kestrava.com" if finding_kind.endswith("_leak") else None,
                           secret="K*****6" if finding_kind.endswith("_leak") else None)
    return Takedown(recipient=Recipient(kind=kind, name="Recipient Org", email="abuse@recipient.example",
                                        form_url="https://recipient.example/report"),
                    language=language, finding_ids=["f-1"], evidence=[entry], **extra)


class Structure(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def phrases(language: str) -> dict[str, str]:
    return {**catalog("en"), **catalog(language)}


EXTERNAL = ("marketplace", "registrar", "host", "search_engine")


@pytest.mark.parametrize("language", PROFILE.notice_languages)
@pytest.mark.parametrize("kind", EXTERNAL)
def test_external_notice_has_every_legal_element(kind, language):
    rendered = render_notice(notice(kind, language), PROFILE, now=NOW)
    t = phrases(language)
    holder = PROFILE.rights_holder
    for text in (rendered.text, rendered.html):
        # Rights holder, authority, marks and works, from the profile.
        assert holder.legal_name in text and holder.address in text and holder.email in text
        assert holder.signatory.name in text and holder.signatory.email in text
        for mark in holder.trademarks:
            assert mark.number in text and mark.office in text
        for work in holder.copyrighted_works:
            assert work in text
        # The infringing URL, where it led, and when it was captured.
        assert "https://www.bazaarhub.com/item/1001" in text and "?ref=x" in text
        assert "2026-11-20 08:30:15" in text
        # The evidence hashes.
        assert "a" * 64 in text and "b" * 64 in text and "c" * 64 in text
        # The §512(c)(3) statements, signature and date, in the notice's language.
        assert t["good_faith"] in rendered.text.replace("\n", " ")
        assert t["accuracy"].split(",")[0] in text
        assert "2026-11-24" in text
    text = " ".join(rendered.text.split())
    assert t["good_faith"] in text and t["accuracy"] in text
    assert t["authority"].split("{")[0].strip() in text


@pytest.mark.parametrize("language", FULL)
def test_full_translations_need_no_fallback(language):
    for kind in RECIPIENT_KINDS:
        rendered = render_notice(notice(kind, language), PROFILE, now=NOW)
        assert rendered.missing_phrases == ()
        assert catalog("en")["fallback_note"].split("{")[0] not in rendered.text


@pytest.mark.parametrize("language", ["de", "xx"])
def test_language_without_a_catalogue_is_english_with_a_visible_note(language):
    rendered = render_notice(notice("marketplace", language), PROFILE, now=NOW)
    assert rendered.missing_phrases
    first_line = rendered.text.splitlines()[0]
    assert first_line.startswith("*** Note: parts of this notice are in English") and language in first_line
    assert catalog("en")["good_faith"] in " ".join(rendered.text.split())
    assert "Note: parts of this notice are in English" in rendered.html


def test_a_missing_phrase_falls_back_to_english_and_says_so(monkeypatch):
    import takedown.render as render

    partial = {k: v for k, v in catalog("es").items() if k != "good_faith"}
    real = render.catalog
    monkeypatch.setattr(render, "catalog", lambda lang: partial if lang == "es" else real(lang))
    rendered = render_notice(notice("host", "es"), PROFILE, now=NOW)
    text = " ".join(rendered.text.split())
    assert rendered.missing_phrases == ("good_faith",)
    assert catalog("en")["good_faith"] in text and catalog("es")["accuracy"] in text
    assert rendered.text.startswith("*** Note: parts of this notice are in English because no español translation")


def test_catalogues_have_the_same_phrases_and_placeholders():
    import string

    english = catalog("en")
    for language in languages():
        phrases_ = catalog(language)
        assert set(phrases_) <= set(english), language
        for key, phrase in phrases_.items():
            fields = {f for _, f, _, _ in string.Formatter().parse(phrase) if f}
            english_fields = {f for _, f, _, _ in string.Formatter().parse(english[key]) if f}
            assert fields == english_fields, (language, key)


@pytest.mark.parametrize("language", FULL)
def test_leak_notification_lists_masked_accounts_and_no_takedown_statements(language):
    rendered = render_notice(notice("internal", language, "credential_leak"), PROFILE, now=NOW)
    t = phrases(language)
    assert "a***n@kestrava.com" in rendered.text and "K*****6" in rendered.text
    assert t["section_accounts"] in rendered.text
    assert t["good_faith"] not in " ".join(rendered.text.split())


@pytest.mark.parametrize("kind", ["law_enforcement", "internal"])
def test_intelligence_report_states_accuracy_not_perjury(kind):
    rendered = render_notice(notice(kind, "en", "counterfeit_listing"), PROFILE, now=NOW)
    text = " ".join(rendered.text.split())
    assert catalog("en")["intel_accuracy"] in text
    assert "penalty of perjury" not in text
    assert "onion" in text


@pytest.mark.parametrize("kind", RECIPIENT_KINDS)
def test_html_letter_is_a_whole_document(kind):
    rendered = render_notice(notice(kind, "es"), PROFILE, now=NOW)
    parser = Structure()
    parser.feed(rendered.html)
    assert parser.tags[:3] == ["html", "head", "meta"] and "h1" in parser.tags and "script" not in parser.tags
    assert '<html lang="es">' in rendered.html


def test_unreviewed_drafts_are_labelled():
    rendered = render_notice(notice("marketplace", "pt", unreviewed=True), PROFILE, now=NOW)
    assert rendered.text.startswith("*** " + catalog("pt")["unreviewed_banner"])
    assert catalog("pt")["unreviewed_banner"] in rendered.html


def test_remarks_appear_under_their_heading():
    rendered = render_notice(notice("registrar", "en", remarks="First point.\n\nSecond point."), PROFILE, now=NOW)
    section = rendered.text.split("Remarks\n-------\n", 1)[1]
    assert section.lstrip().startswith("First point.") and "Second point." in section


def test_subject_names_brand_count_and_reference():
    n = notice("marketplace", "es")
    rendered = render_notice(n, PROFILE, now=NOW)
    assert rendered.subject.startswith(catalog("es")["title_marketplace"])
    assert "Kestrava" in rendered.subject and n.doc_id()[:12] in rendered.subject
    json.dumps(rendered.subject)  # one plain string
