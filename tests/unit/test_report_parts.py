"""The report's parts that need no Elasticsearch: windows, masking, thumbnails, charts, escaping."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

from brandhound.evidence import EvidenceStore
from reporting import charts
from reporting.queries import Campaign, LeakDomain, ReportData, Takedowns, _hours_to_removal, mask_account
from reporting.report import render, thumbnail
from reporting.window import ReportError, describe, parse_since


@pytest.mark.parametrize("text,expected", [("7d", timedelta(days=7)), ("12h", timedelta(hours=12)),
                                           ("2w", timedelta(weeks=2)), (" 30d ", timedelta(days=30))])
def test_windows_are_read_as_people_write_them(text, expected):
    assert parse_since(text) == expected


@pytest.mark.parametrize("text", ["", "7", "0d", "-1d", "7m", "seven days", "1.5d"])
def test_a_bad_window_is_named(text):
    with pytest.raises(ReportError, match="--since"):
        parse_since(text)


def test_windows_are_described_in_words():
    assert describe(timedelta(days=7)) == "1 week"
    assert describe(timedelta(days=3)) == "3 days"
    assert describe(timedelta(hours=1)) == "1 hour"


def test_accounts_keep_their_domain_and_lose_their_name():
    assert mask_account("mikko.jensen@corp.kestrava.com") == "m**********n@corp.kestrava.com"
    assert "mikko" not in mask_account("mikko@kestrava.com")


def test_time_to_removal_counts_from_sending():
    history = [{"status": "draft", "at": "2026-01-01T00:00:00+00:00"},
               {"status": "sent", "at": "2026-01-02T00:00:00+00:00"},
               {"status": "removed", "at": "2026-01-03T12:00:00+00:00"}]
    assert _hours_to_removal(history) == 36
    assert _hours_to_removal(history[:2]) is None


def _png(size=(300, 200), color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def test_thumbnails_are_small_pngs_and_garbage_is_refused():
    thumb = Image.open(io.BytesIO(thumbnail(_png())))
    assert thumb.format == "PNG" and max(thumb.size) <= 240
    assert thumbnail(b"<html>not an image</html>") is None


def test_charts_are_pngs_with_something_drawn():
    png = charts.bars("x", {"a": 3, "b": 1})
    image = Image.open(io.BytesIO(png)).convert("L")
    assert len(image.getcolors(256)) > 10
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert charts.timeline("t", [(now, {"a": 1}), (now + timedelta(days=1), {"a": 2, "b": 1})]).startswith(b"\x89PNG")


def test_hostile_titles_are_escaped_and_an_empty_takedown_index_is_said_plainly(tmp_path):
    store = EvidenceStore(tmp_path / "evidence")
    photo = store.put(_png(), suffix=".png", mime_type="image/png")
    now = datetime(2026, 11, 24, tzinfo=timezone.utc)
    data = ReportData(
        brand_id="kestrava", brand_name="Kestrava <b>", start=now - timedelta(days=7), end=now,
        by_kind={"counterfeit_listing": 3}, previous_by_kind={}, by_source={"marketplace": 3},
        by_marketplace={"BazaarHub": 3}, timeline=[(now - timedelta(days=1), {"counterfeit_listing": 3})],
        campaigns=[Campaign("cmp-1", 3, {"counterfeit_listing": 3}, ["bazaarhub.com"],
                            [(photo.path, '<img src=x onerror="alert(1)">'), ("ab/missing.png", "gone")])],
        takedowns=Takedowns(), leak_domains=[LeakDomain("kestrava.com", 2, ["m***o@kestrava.com"])],
        previous_leaked_accounts=0, campaign_count=1,
    )
    files = render(data, tmp_path / "out", store, made=now)
    html = files.html.read_text()
    assert '<img src=x onerror' not in html and "&lt;img src=x onerror=" in html
    assert "Kestrava &lt;b&gt;" in html
    assert "No takedown notices were drafted, sent or answered in this period." in html
    assert files.pdf.read_bytes().startswith(b"%PDF") and len(list((tmp_path / "out" / "thumbs").iterdir())) == 1
