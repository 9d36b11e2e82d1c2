"""brandhound's configuration as a crawl's components see it: mapped into Scrapy's settings once."""

from __future__ import annotations

from scrapy.settings import BaseSettings

from brandhound.config import Settings, load_settings

#: The Scrapy setting that carries the core :class:`~brandhound.config.Settings` of the crawl
#: (set by :func:`crawlers.runner.crawl_settings`). One object rather than a key per value: Scrapy logs
#: the overridden settings at start, and this object's repr leaves its secrets out.
CONFIG_SETTING = "BRANDHOUND_CONFIG"


def core_settings(settings: BaseSettings | None) -> Settings:
    """The crawl's core configuration, as mapped by the runner."""
    config = settings.get(CONFIG_SETTING) if settings is not None else None
    if config is None:
        # A crawl not started through crawlers.runner (a bare `scrapy crawl`), or a component used
        # outside a crawl, has nothing mapped: the environment is read here, as the runner would.
        return load_settings()
    if not isinstance(config, Settings):
        raise TypeError(f"the Scrapy setting {CONFIG_SETTING} must hold brandhound.config.Settings, "
                        f"not {type(config).__name__}")
    return config
