"""The report's charts: matplotlib figures rendered to PNG bytes (no display, no pyplot state)."""

from __future__ import annotations

import io
from datetime import datetime

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

PALETTE = ["#1f5f8b", "#d1495b", "#edae49", "#66a182", "#8e6c8a", "#00798c", "#30638e", "#a5a5a5"]
SIZE = (7.0, 2.8)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def bars(title: str, counts: dict[str, int], xlabel: str = "flagged findings") -> bytes:
    """Horizontal bars, largest on top."""
    fig = Figure(figsize=(SIZE[0], max(1.6, 0.38 * len(counts) + 0.8)))
    ax = fig.add_subplot()
    items = sorted(counts.items(), key=lambda kv: kv[1])
    ax.barh([k for k, _ in items], [v for _, v in items], color=PALETTE[0])
    for y, (_, v) in enumerate(items):
        ax.annotate(str(v), (v, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_xlabel(xlabel, fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.25 of a notice
    ax.tick_params(labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def timeline(title: str, series: list[tuple[datetime, dict[str, int]]]) -> bytes:
    """Stacked bars over time, one colour per finding kind."""
    fig = Figure(figsize=SIZE)
    ax = fig.add_subplot()
    kinds = sorted({k for _, counts in series for k in counts})
    times = [t for t, _ in series]
    width = (times[1] - times[0]) * 0.8 if len(times) > 1 else 0.03
    bottom = [0] * len(series)
    for i, kind in enumerate(kinds):
        values = [counts.get(kind, 0) for _, counts in series]
        # Matplotlib's date converter takes datetimes and timedeltas; its annotations name only numbers.
        ax.bar(times, values, width=width, bottom=bottom, label=kind, color=PALETTE[i % len(PALETTE)])  # type: ignore[arg-type]
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_title(title, fontsize=10, loc="left")
    ax.tick_params(labelsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.spines[["top", "right"]].set_visible(False)
    if kinds:
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    fig.autofmt_xdate()
    return _png(fig)
