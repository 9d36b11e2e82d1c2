"""Takedown metrics with a stated method: notices sent, removal rate, time to notice and to removal, re-up rates.

Every figure is computed per recipient kind and per recipient (kind and ``recipient.name``:
the marketplace, registrar or host), and over all notices, from the notices alone:

- *sent*: notices whose ``history`` has a ``sent`` entry; the first one is the send time.
  With ``since``, only notices sent at or after ``since`` count (the cohort), for every figure.
- *removed*: sent notices whose ``history`` has a ``removed`` entry at or before ``now``;
  the first one is the removal time.
- *removal rate* = removed / sent, both counts reported beside it; none when nothing was sent.
- *time to notice*: hours from ``detected_at`` to the send time, over sent notices that have a
  ``detected_at`` (their count is ``n``); *time to removal*: hours from the send time to the
  removal time, over removed notices.
- *median* and *p90* are nearest-rank percentiles: of ``n`` values sorted ascending, the P-th
  percentile is the value of rank ``ceil(P / 100 * n)`` (ranks from 1). The median is P = 50, so
  for an even ``n`` it is the lower of the two middle values, never an average: every figure is
  a time some notice actually took.
- *re-up rate at N days* (N = 7, 15, 30): of the removed notices whose removal is at least N
  days before ``now`` (younger ones cannot have been watched N days yet, so they are left out of
  numerator and denominator alike), the share re-upped within N days: some notice names it in
  ``follow_up_of`` and was detected (its ``detected_at``, else its first history entry, else its
  ``event.created``) after the removal and no later than N days after it. Follow-up notices count
  whatever ``since`` says, since a re-up of a cohort notice may be drafted after the cohort.

docs/takedown-metrics.md states the same definitions for readers of the report.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from brandhound.items import Takedown
from reporting.window import ReportError, parse_since
from takedown.reups import status_time

REUP_DAYS = (7, 15, 30)
PERCENTILES = (50, 90)


def nearest_rank(values: Iterable[float], percentile: float) -> float | None:
    """The nearest-rank ``percentile`` of ``values`` (rank ``ceil(P/100 * n)`` of the sorted values); None if empty."""
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile!r}")
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(1, math.ceil(percentile / 100 * len(ordered))) - 1]


@dataclass
class Durations:
    """Hours some step took, over ``n`` notices: nearest-rank median and 90th percentile."""

    n: int
    median_hours: float | None
    p90_hours: float | None

    @classmethod
    def of(cls, hours: list[float]) -> Durations:
        return cls(n=len(hours), median_hours=nearest_rank(hours, 50), p90_hours=nearest_rank(hours, 90))


@dataclass
class ReupRate:
    """Removed notices re-upped within ``days`` of removal, out of those removed at least ``days`` before now."""

    days: int
    reupped: int
    eligible: int

    @property
    def rate(self) -> float | None:
        return self.reupped / self.eligible if self.eligible else None


@dataclass
class GroupMetrics:
    """The figures of one group of notices: all of them, a recipient kind, or one recipient."""

    kind: str | None
    recipient: str | None
    sent: int = 0
    removed: int = 0
    time_to_notice: Durations = field(default_factory=lambda: Durations.of([]))
    time_to_removal: Durations = field(default_factory=lambda: Durations.of([]))
    reups: list[ReupRate] = field(default_factory=list)

    @property
    def removal_rate(self) -> float | None:
        return self.removed / self.sent if self.sent else None

    @property
    def scope(self) -> str:
        if self.kind is None:
            return "all"
        return self.kind if self.recipient is None else f"{self.kind}: {self.recipient}"

    def to_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row["removal_rate"] = self.removal_rate
        row["reups"] = [{**asdict(r), "rate": r.rate} for r in self.reups]
        return row


@dataclass
class TakedownMetrics:
    """Every group's figures at ``now``, for notices sent since ``since`` (all when None)."""

    now: datetime
    since: datetime | None
    overall: GroupMetrics
    by_kind: list[GroupMetrics]
    by_recipient: list[GroupMetrics]

    def groups(self) -> list[GroupMetrics]:
        return [self.overall, *self.by_kind, *self.by_recipient]

    def to_rows(self) -> list[dict[str, Any]]:
        """One flat row per group, for tables and CSV: counts, rates, hours, re-up rates."""
        rows = []
        for g in self.groups():
            row: dict[str, Any] = {"scope": g.scope, "kind": g.kind, "recipient": g.recipient, "sent": g.sent,
                                   "removed": g.removed, "removal_rate": g.removal_rate,
                                   "to_notice_n": g.time_to_notice.n,
                                   "to_notice_median_h": g.time_to_notice.median_hours,
                                   "to_notice_p90_h": g.time_to_notice.p90_hours,
                                   "to_removal_n": g.time_to_removal.n,
                                   "to_removal_median_h": g.time_to_removal.median_hours,
                                   "to_removal_p90_h": g.time_to_removal.p90_hours}
            for r in g.reups:
                row[f"reup_{r.days}d"], row[f"reup_{r.days}d_of"], row[f"reup_{r.days}d_rate"] = \
                    r.reupped, r.eligible, r.rate
            rows.append(row)
        return rows

    def to_json(self) -> str:
        return json.dumps({"now": self.now.isoformat(), "since": self.since.isoformat() if self.since else None,
                           "method": "docs/takedown-metrics.md",
                           "groups": [g.to_dict() for g in self.groups()]}, indent=2, sort_keys=True)


def _seen_at(notice: Takedown) -> datetime:
    """When a follow-up notice's re-up was detected."""
    if notice.detected_at:
        return notice.detected_at
    return min(c.at for c in notice.history) if notice.history else notice.event.created


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _group(kind: str | None, recipient: str | None, notices: list[tuple[Takedown, datetime]], now: datetime,
           reup_seen: dict[str, list[datetime]]) -> GroupMetrics:
    """The figures of ``notices``, each with its send time."""
    g = GroupMetrics(kind=kind, recipient=recipient, sent=len(notices))
    to_notice, to_removal, removals = [], [], []
    for notice, sent in notices:
        if notice.detected_at:
            to_notice.append(_hours(sent - notice.detected_at))
        removed = status_time(notice, "removed")
        if removed is not None and removed <= now:
            to_removal.append(_hours(removed - sent))
            removals.append((removed, reup_seen.get(notice.doc_id(), [])))
    g.removed = len(removals)
    g.time_to_notice, g.time_to_removal = Durations.of(to_notice), Durations.of(to_removal)
    for days in REUP_DAYS:
        window = timedelta(days=days)
        eligible = [(at, seen) for at, seen in removals if at + window <= now]
        reupped = sum(1 for at, seen in eligible if any(at < s <= at + window for s in seen))
        g.reups.append(ReupRate(days=days, reupped=reupped, eligible=len(eligible)))
    return g


def compute(notices: Iterable[Takedown], now: datetime, since: datetime | None = None) -> TakedownMetrics:
    """The metrics of ``notices`` at ``now``; with ``since``, of the notices sent at or after it."""
    notices = list(notices)
    reup_seen: dict[str, list[datetime]] = {}
    for n in notices:
        if n.follow_up_of:
            reup_seen.setdefault(n.follow_up_of, []).append(_seen_at(n))
    cohort: list[tuple[Takedown, datetime]] = []
    for n in notices:
        sent = status_time(n, "sent")
        if sent is not None and sent <= now and (since is None or sent >= since):
            cohort.append((n, sent))
    kinds: dict[str, list[tuple[Takedown, datetime]]] = {}
    recipients: dict[tuple[str, str], list[tuple[Takedown, datetime]]] = {}
    for n, sent in cohort:
        kinds.setdefault(n.recipient.kind, []).append((n, sent))
        recipients.setdefault((n.recipient.kind, n.recipient.name or "(unnamed)"), []).append((n, sent))
    return TakedownMetrics(
        now=now, since=since, overall=_group(None, None, cohort, now, reup_seen),
        by_kind=[_group(k, None, ns, now, reup_seen) for k, ns in sorted(kinds.items())],
        by_recipient=[_group(k, r, ns, now, reup_seen) for (k, r), ns in sorted(recipients.items())])


def parse_moment(text: str, now: datetime, option: str = "--since") -> datetime:
    """A window back from ``now`` (``30d``, ``12h``, ``2w``) or an ISO 8601 date or time (UTC unless it says)."""
    if text and text[-1:] in "hdw" and text[:-1].isdigit():
        return now - parse_since(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ReportError(f"{option} {text!r}: expected a window such as 30d, 12h or 2w, or an ISO 8601 date or "
                          "time such as 2026-01-31 or 2026-01-31T12:00:00+00:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _fmt_rate(part: int, whole: int) -> str:
    return f"{part}/{whole} {100 * part / whole:.0f}%" if whole else f"{part}/0 -"


def _fmt_hours(d: Durations) -> str:
    if not d.n:
        return "-"
    return f"{d.median_hours:.1f} / {d.p90_hours:.1f} (n={d.n})"


def metrics_table(metrics: TakedownMetrics) -> str:
    """A plain-text table of ``metrics`` for the terminal, with the method's reference under it."""
    header = ["scope", "sent", "removed", "to notice h med/p90", "to removal h med/p90",
              *(f"re-up {d}d" for d in REUP_DAYS)]
    rows = [[g.scope, str(g.sent), _fmt_rate(g.removed, g.sent), _fmt_hours(g.time_to_notice),
             _fmt_hours(g.time_to_removal), *(_fmt_rate(r.reupped, r.eligible) for r in g.reups)]
            for g in metrics.groups()]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    cohort = f"sent since {metrics.since.isoformat()}" if metrics.since else "all sent notices"
    lines.append(f"\nAt {metrics.now.isoformat()}, {cohort}. Rates are part/denominator; hours are nearest-rank "
                 "median / p90. Method: docs/takedown-metrics.md")
    return "\n".join(lines)
