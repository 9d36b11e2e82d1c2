"""Where a crawl keeps its files: a Scrapy setting wins over brandhound's configuration."""

from __future__ import annotations

from pathlib import Path

from scrapy.settings import BaseSettings

from crawlers.config import core_settings


def evidence_dir(settings: BaseSettings) -> Path:
    configured = settings.get("BRANDHOUND_EVIDENCE_DIR")
    return Path(configured) if configured else core_settings(settings).evidence_dir
