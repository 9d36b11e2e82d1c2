"""Takedown metrics: counts, rates with their denominators, nearest-rank hours, re-up rates of old-enough removals."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from brandhound.items import Recipient, StatusChange, Takedown
from reporting.takedown_metrics import compute, metrics_table, nearest_rank

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
NOW = datetime(2026, 3, 1, tzinfo=timezone.utc)
H = timedelta(hours=1)
D = timedelta(days=1)


def notice(key: str, kind: str, name: str, detected: datetime | None, sent: datetime | None = None,
           removed: datetime | None = None, follow_up_of: str | None = None, drafted: datetime | None = None,
           rejected: datetime | None = None) -> Takedown:
    history = [StatusChange(status="draft", at=drafted or detected or T0, by="t")]
    if sent:
        history += [StatusChange(status="approved", at=sent - H, by="t"), StatusChange(status="sent", at=sent, by="t")]
    if removed:
        history.append(StatusChange(status="removed", at=removed, by="t"))
    if rejected:
        history.append(StatusChange(status="rejected", at=rejected, by="t", reason="no"))
    return Takedown(recipient=Recipient(kind=kind, name=name), group=f"finding:{key}", detected_at=detected,
                    history=history, follow_up_of=follow_up_of)


@pytest.fixture
def notices() -> list[Takedown]:
    # Detection -> sent: 2, 4, 6 and 8 hours; sent -> removed: 10, 30 and 48 hours.
    n1 = notice("n1", "marketplace", "BazaarHub", T0, sent=T0 + 2 * H, removed=T0 + 12 * H)
    n2 = notice("n2", "marketplace", "BazaarHub", T0, sent=T0 + 4 * H, removed=T0 + 34 * H)
    n3 = notice("n3", "marketplace", "BazaarHub", T0, sent=T0 + 6 * H, rejected=T0 + 50 * H)
    # Removed 10 days before NOW: old enough for the 7-day re-up rate only.
    n4_sent = NOW - 12 * D
    n4 = notice("n4", "registrar", "Regi", n4_sent - 8 * H, sent=n4_sent, removed=n4_sent + 48 * H)
    # Re-ups (drafts, never sent): n1 after 5 days, n2 after 20 days (no detected_at: its draft time), n4 after 3.
    f1 = notice("f1", "marketplace", "BazaarHub", T0 + 12 * H + 5 * D, follow_up_of=n1.doc_id())
    f2 = notice("f2", "marketplace", "BazaarHub", None, follow_up_of=n2.doc_id(), drafted=T0 + 34 * H + 20 * D)
    f4 = notice("f4", "registrar", "Regi", n4_sent + 48 * H + 3 * D, follow_up_of=n4.doc_id())
    # A draft never sent and a notice sent after NOW count nowhere.
    late = notice("late", "host", "Hosty", NOW, sent=NOW + H)
    return [n1, n2, n3, n4, f1, f2, f4, late, notice("d", "host", "Hosty", T0)]


def test_nearest_rank_takes_the_value_at_rank_ceil_p_n():
    assert nearest_rank([15, 20, 35, 40, 50], 30) == 20  # rank ceil(1.5) = 2
    assert nearest_rank([15, 20, 35, 40, 50], 100) == 50
    assert nearest_rank([4, 1, 3, 2], 50) == 2  # rank 2: the lower middle, not 2.5
    assert nearest_rank(range(1, 11), 90) == 9
    assert nearest_rank([], 50) is None
    with pytest.raises(ValueError, match="percentile must be in"):
        nearest_rank([1], 0)


def test_overall_figures_match_the_hand_count(notices):
    m = compute(notices, NOW).overall
    assert (m.sent, m.removed, m.removal_rate) == (4, 3, 3 / 4)
    # [2, 4, 6, 8]: median rank ceil(2) = 2 -> 4; p90 rank ceil(3.6) = 4 -> 8.
    assert (m.time_to_notice.n, m.time_to_notice.median_hours, m.time_to_notice.p90_hours) == (4, 4, 8)
    # [10, 30, 48]: median rank 2 -> 30; p90 rank ceil(2.7) = 3 -> 48.
    assert (m.time_to_removal.n, m.time_to_removal.median_hours, m.time_to_removal.p90_hours) == (3, 30, 48)
    # 7 days: n1, n2, n4 eligible; n1 (5 d) and n4 (3 d) re-upped. 15 and 30 days: n4 too young.
    assert [(r.days, r.reupped, r.eligible) for r in m.reups] == [(7, 2, 3), (15, 1, 2), (30, 2, 2)]
    assert m.reups[0].rate == pytest.approx(2 / 3)


def test_per_kind_and_per_recipient(notices):
    metrics = compute(notices, NOW)
    kinds = {g.kind: g for g in metrics.by_kind}
    assert set(kinds) == {"marketplace", "registrar"}
    market = kinds["marketplace"]
    assert (market.sent, market.removed) == (3, 2)
    assert (market.time_to_notice.median_hours, market.time_to_notice.p90_hours) == (4, 6)
    registrar = kinds["registrar"]
    assert [(r.reupped, r.eligible, r.rate) for r in registrar.reups] == [(1, 1, 1.0), (0, 0, None), (0, 0, None)]
    assert [g.scope for g in metrics.by_recipient] == ["marketplace: BazaarHub", "registrar: Regi"]


def test_since_limits_the_cohort_by_send_time(notices):
    m = compute(notices, NOW, since=T0 + 3 * H).overall
    assert (m.sent, m.removed) == (3, 2)  # n1 was sent before
    assert [(r.days, r.reupped, r.eligible) for r in m.reups] == [(7, 1, 2), (15, 0, 1), (30, 1, 1)]


def test_a_removal_after_now_is_not_counted(notices):
    m = compute(notices, T0 + 20 * H).overall
    assert (m.sent, m.removed) == (3, 1)
    assert all(r.eligible == 0 for r in m.reups)


def test_rows_json_and_table(notices):
    metrics = compute(notices, NOW)
    rows = metrics.to_rows()
    assert rows[0]["scope"] == "all" and rows[0]["reup_30d"] == 2 and rows[0]["reup_30d_of"] == 2
    data = json.loads(metrics.to_json())
    assert data["groups"][0]["removal_rate"] == 0.75 and data["method"] == "docs/takedown-metrics.md"
    table = metrics_table(metrics)
    assert "3/4 75%" in table and "registrar: Regi" in table and "0/0 -" in table


def test_the_report_shows_the_metrics_with_their_denominators(notices, tmp_path):
    from brandhound.evidence import EvidenceStore
    from reporting.queries import ReportData, Takedowns
    from reporting.report import render

    notices.append(notice("x", "host", "<b>Hosty</b>", T0, sent=T0 + H))
    data = ReportData(brand_id="kestrava", brand_name="Kestrava", start=NOW - 7 * D, end=NOW, by_kind={},
                      previous_by_kind={}, by_source={}, by_marketplace={}, timeline=[], campaigns=[],
                      takedowns=Takedowns(), leak_domains=[], previous_leaked_accounts=0, campaign_count=0)
    store = EvidenceStore(tmp_path / "evidence")
    html = render(data, tmp_path / "out", store, made=NOW, takedown_metrics=compute(notices, NOW)).html.read_text()
    assert "<h2>Takedown metrics</h2>" in html and "nearest-rank" in html
    assert "3/5 (60%)" in html and "2/3 (67%)" in html  # all: removed of sent; re-up 7 d
    assert "&lt;b&gt;Hosty&lt;/b&gt;" in html and "<b>Hosty" not in html
    assert "Takedown metrics" not in render(data, tmp_path / "out2", store, made=NOW).html.read_text()


def test_since_reads_a_window_or_a_date():
    from reporting.takedown_metrics import parse_moment
    from reporting.window import ReportError

    assert parse_moment("30d", NOW) == NOW - 30 * D and parse_moment("12h", NOW) == NOW - 12 * H
    assert parse_moment("2026-01-31", NOW) == datetime(2026, 1, 31, tzinfo=timezone.utc)
    assert parse_moment("2026-01-31T12:00:00+02:00", NOW).utcoffset() == 2 * H
    with pytest.raises(ReportError, match="--since 'last week': expected a window such as 30d"):
        parse_moment("last week", NOW)
    with pytest.raises(ReportError, match="--since '0d'"):
        parse_moment("0d", NOW)
