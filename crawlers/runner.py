"""Run one crawl in this process (one crawl per process: Twisted's reactor cannot restart).

Used by ``brandhound crawl`` and by the Airflow tasks, which start it as a
subprocess. Returns a summary of the crawl's stats.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from brandhound.config import Settings as CoreSettings
from brandhound.config import load_settings
from crawlers.browser import context_options, launch_options
from crawlers.config import CONFIG_SETTING


@dataclass
class Egress:
    """How the crawl reaches the web: directly, or through a proxy (the sandbox's, an egress proxy)."""

    proxy: str | None = None
    allow_private: bool = False
    host_overrides: dict[str, str] = field(default_factory=dict)
    ignore_https_errors: bool = False
    #: Tor's SocksPort ("127.0.0.1:9050") for .onion and Tor-only hosts; None: such requests are refused.
    tor_socks: str | None = None
    #: The SocksPort Chromium uses for browser captures over Tor (one with IsolateDestAddr).
    tor_browser_socks: str | None = None
    #: Tor's ControlPort ("127.0.0.1:9051") and its cookie file, for NEWNYM when a site keeps failing.
    tor_control: str | None = None
    tor_control_cookie: str | None = None
    #: RDAP bootstrap (file or URL) and the CA bundle its servers' certificates chain to; None: the defaults.
    rdap_bootstrap: str | None = None
    rdap_ca_bundle: str | None = None


def crawl_settings(egress: Egress, overrides: dict[str, Any] | None = None,
                   config: CoreSettings | None = None) -> Settings:
    """The Scrapy settings of one crawl: the project's, the egress, and brandhound's configuration,
    read once here (``config``, default the environment's) so no component re-reads it mid-crawl."""
    settings = Settings()
    settings.setmodule("crawlers.settings", priority="project")
    settings.set(CONFIG_SETTING, config if config is not None else load_settings(), priority="cmdline")
    settings.set("BRANDHOUND_EGRESS_PROXY", egress.proxy, priority="cmdline")
    settings.set("SSRF_ALLOW_PRIVATE", egress.allow_private, priority="cmdline")
    settings.set("BRANDHOUND_HOST_OVERRIDES", egress.host_overrides, priority="cmdline")
    if egress.tor_socks:
        settings.set("BRANDHOUND_TOR_SOCKS", egress.tor_socks, priority="cmdline")
    if egress.tor_browser_socks:
        settings.set("BRANDHOUND_TOR_BROWSER_SOCKS", egress.tor_browser_socks, priority="cmdline")
    if egress.rdap_bootstrap:
        settings.set("BRANDHOUND_RDAP_BOOTSTRAP", egress.rdap_bootstrap, priority="cmdline")
        settings.set("BRANDHOUND_RDAP_CA_BUNDLE", egress.rdap_ca_bundle or "", priority="cmdline")
        settings.set("BRANDHOUND_RDAP_PROXY", egress.proxy or "", priority="cmdline")
    if egress.tor_control:
        settings.set("BRANDHOUND_TOR_CONTROL", egress.tor_control, priority="cmdline")
        settings.set("BRANDHOUND_TOR_CONTROL_COOKIE", egress.tor_control_cookie or "", priority="cmdline")
    settings.set("PLAYWRIGHT_LAUNCH_OPTIONS", launch_options(egress.proxy), priority="cmdline")
    settings.set("PLAYWRIGHT_CONTEXTS", {"capture": context_options(egress.ignore_https_errors)}, priority="cmdline")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


SUMMARY_KEYS = (
    "finish_reason", "item_scraped_count", "response_received_count", "downloader/request_count",
    "log_count/ERROR", "log_count/WARNING", "brandhound/listings/extracted", "brandhound/listings/rendered",
    "brandhound/sites/captured", "brandhound/dumps/fetched", "brandhound/images/stored",
    "brandhound/images/refused", "brandhound/images/failed", "brandhound/images/not_fetched_unrelated",
    "brandhound/images/not_fetched_after_match",
    "brandhound/ssrf_refused", "brandhound/ssrf_refused_in_browser", "playwright/browser_count",
    "brandhound/es/indexed", "brandhound/es/spooled", "brandhound/es/rejected", "brandhound/es/leaks_rehashed",
    "brandhound/tor/client_outages", "brandhound/tor/requests_held", "brandhound/tor/client_down_seconds",
    "retry/count", "retry/max_reached", "brandhound/retry/waits", "brandhound/retry/wait_seconds",
    "elapsed_time_seconds",
)


def run_crawl(spider: str, brand: Path, seeds: list[str], egress: Egress, *, job_id: str | None = None,
              overrides: dict[str, Any] | None = None, spider_args: dict[str, Any] | None = None) -> dict[str, Any]:
    # Scrapy owns logging in a crawl process: one handler, its format, its level.
    logging.getLogger().handlers.clear()
    process = CrawlerProcess(crawl_settings(egress, overrides))
    crawler = process.create_crawler(spider)
    process.crawl(crawler, brand=str(brand), seeds=seeds, job_id=job_id, **(spider_args or {}))
    process.start()
    stats = crawler.stats.get_stats()
    summary = {k: stats.get(k, 0) for k in SUMMARY_KEYS}
    summary["fetch_failed"] = {k.rsplit("/", 1)[1]: v for k, v in stats.items() if k.startswith("brandhound/fetch_failed/")}
    summary["spider"] = spider
    return json.loads(json.dumps(summary, default=str))
