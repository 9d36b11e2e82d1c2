"""The brand-risk report: HTML with its charts and thumbnails, and the same as PDF.

Titles and captions come from hostile pages, so the template is autoescaped,
and evidence images are decoded and re-encoded as small PNGs (bounded in
pixels) before they go near the HTML or WeasyPrint.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from PIL import Image

from brandhound.evidence import EvidenceStore
from brandhound.items import File
from brandhound.pdf import html_to_pdf
from reporting import charts
from reporting.queries import TOP_CAMPAIGNS, ReportData, ReportQueries
from reporting.takedown_metrics import TakedownMetrics
from reporting.window import describe

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
THUMBNAIL_PX = 240
#: Evidence images larger than this are not thumbnailed (a decompression bomb costs nothing).
MAX_THUMBNAIL_SOURCE_PIXELS = 40_000_000


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    pdf: Path


def _delta(now: int, before: int) -> str:
    if now == before:
        return "(no change)"
    sign = "+" if now > before else "-"
    return f"({sign}{abs(now - before)})"


def _hours(hours: float) -> str:
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def _rate(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else f"{part}/0"


def thumbnail(data: bytes) -> bytes | None:
    """A small PNG of an evidence image, or None when it is not a readable, reasonable image."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_THUMBNAIL_SOURCE_PIXELS:
                return None
            img.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            out = io.BytesIO()
            img.convert("RGB").save(out, format="PNG")
            return out.getvalue()
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def render(data: ReportData, out_dir: Path, evidence: EvidenceStore, made: datetime | None = None,
           takedown_metrics: TakedownMetrics | None = None) -> ReportFiles:
    """Write ``report.html``, its images and ``report.pdf`` into ``out_dir``; with ``takedown_metrics``, their table."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "charts").mkdir(exist_ok=True)
    (out_dir / "thumbs").mkdir(exist_ok=True)
    chart_files = {
        "timeline": charts.timeline("Flagged findings over time, by kind", data.timeline),
        "sources": charts.bars("Flagged findings by source type", data.by_source),
        "marketplaces": charts.bars("Flagged findings by marketplace or site", data.by_marketplace),
        "takedowns": charts.bars("Takedown notices by status", data.takedowns.by_status, "notices"),
        "leaks": charts.bars("Newly leaked accounts by corporate domain",
                             {d.domain: d.accounts for d in data.leak_domains}, "accounts"),
    }
    chart_paths = {}
    for name, png in chart_files.items():
        (out_dir / "charts" / f"{name}.png").write_bytes(png)
        chart_paths[name] = f"charts/{name}.png"
    thumbs: dict[str, list[tuple[str, str]]] = {}
    for campaign in data.campaigns:
        thumbs[campaign.id] = []
        for path, caption in campaign.evidence:
            try:
                raw = evidence.read(File(path=path))
            except OSError as exc:
                log.warning("evidence %s of campaign %s: not readable (%s)", path, campaign.id, exc)
                continue
            thumb = thumbnail(raw)
            if thumb is None:
                log.warning("evidence %s of campaign %s: not a usable image", path, campaign.id)
                continue
            name = f"thumbs/{Path(path).stem[:24]}.png"
            (out_dir / name).write_bytes(thumb)
            thumbs[campaign.id].append((name, caption))
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    html = env.get_template("report.html.j2").render(
        data=data, charts=chart_paths, thumbs=thumbs, window=describe(data.end - data.start),
        made=(made or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC"),
        previous_total=sum(data.previous_by_kind.values()), top_campaigns=TOP_CAMPAIGNS,
        delta=_delta, hours=_hours, metrics=takedown_metrics, rate=_rate,
    )
    files = ReportFiles(out_dir / "report.html", out_dir / "report.pdf")
    files.html.write_text(html, encoding="utf-8")
    files.pdf.write_bytes(html_to_pdf(html, base_url=str(out_dir)))
    return files


def make_report(queries: ReportQueries, since: timedelta, out_dir: Path, evidence: EvidenceStore,
                now: datetime | None = None, takedown_metrics: TakedownMetrics | None = None
                ) -> tuple[ReportData, ReportFiles]:
    """Query the last ``since`` and render the report into ``out_dir`` (with the takedown metrics, if given)."""
    end = now or datetime.now(timezone.utc)
    data = queries.collect(end - since, end)
    return data, render(data, out_dir, evidence, made=end, takedown_metrics=takedown_metrics)
