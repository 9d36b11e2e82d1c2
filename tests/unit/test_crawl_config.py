"""The crawl's components take brandhound's configuration from the Scrapy settings the runner mapped it into."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy import Spider
from scrapy.utils.test import get_crawler

import brandhound.config
import crawlers.config
from brandhound.config import load_settings
from brandhound.profile import load_profile
from crawlers.config import CONFIG_SETTING, core_settings
from crawlers.paths import evidence_dir
from crawlers.runner import Egress, crawl_settings
from detectors.leak_detector import LeakDetector
from pipelines.elasticsearch import ElasticsearchPipeline
from tests.support.paths import EXAMPLE_BRAND


class _Spider(Spider):
    name = "configured"


@pytest.fixture
def mapped(tmp_path: Path, monkeypatch):
    env = {"BRANDHOUND_HOME": str(tmp_path / "home"), "BRANDHOUND_ES_INDEX_PREFIX": "mapped",
           "BRANDHOUND_HMAC_KEY": "k" * 32}
    config = load_settings(env)

    def refuse(*_args, **_kwargs):
        raise AssertionError("configuration re-read during a crawl")

    # Past this point nothing may read the environment again: only the mapped object counts.
    monkeypatch.setattr(brandhound.config, "load_settings", refuse)
    monkeypatch.setattr(crawlers.config, "load_settings", refuse)
    settings = crawl_settings(Egress(), config=config)
    return config, get_crawler(_Spider, settings_dict={k: v for k, v in settings.items()})


def test_the_runner_maps_the_configuration_once(mapped):
    config, crawler = mapped
    # Scrapy copies its settings deeply: the crawler holds an equal copy, not the object itself.
    assert crawler.settings.get(CONFIG_SETTING) == config
    assert core_settings(crawler.settings).home == config.home


def test_components_read_the_mapped_configuration(mapped):
    config, crawler = mapped
    assert evidence_dir(crawler.settings) == config.evidence_dir
    pipeline = ElasticsearchPipeline.from_crawler(crawler)
    try:
        assert pipeline.store.index_prefix == "mapped"
        assert pipeline.store.spool.directory == config.spool_dir / "crawl-configured"
    finally:
        pipeline.store.client.close()
    scanner = LeakDetector(crawler, profile=load_profile(EXAMPLE_BRAND)).scanner()
    assert scanner.key.key == b"k" * 32


def test_a_wrong_object_in_the_setting_is_named():
    crawler = get_crawler(_Spider, settings_dict={CONFIG_SETTING: {"home": "/tmp"}})
    with pytest.raises(TypeError, match=CONFIG_SETTING):
        core_settings(crawler.settings)
