"""The shared frontier's pieces that need no Redis: Bloom filter sizing, settings, CLI options."""

from __future__ import annotations

import argparse
import math

import pytest

from brandhound.config import ConfigError
from brandhound.commands.crawl import frontier_options, frontier_overrides
from crawlers.frontier import DUPEFILTER, POLITENESS_MIDDLEWARE, SCHEDULER, frontier_settings
from crawlers.frontier.bloom import MAX_BITS, BloomSize


def test_default_bloom_size_is_the_documented_bound():
    size = BloomSize(2_000_000, 1e-6)
    assert size.hashes == 20
    assert 6.8 < size.memory_bytes / 2**20 < 7.0  # 6.9 MiB, as crawlers/settings.py says


@pytest.mark.parametrize("capacity,rate", [(1000, 0.01), (100_000, 1e-4), (5_000_000, 1e-6)])
def test_bloom_size_follows_the_formula(capacity, rate):
    size = BloomSize(capacity, rate)
    # The false-positive rate these bits and hashes give at capacity is at most the one asked for (rounding aside).
    achieved = (1 - math.exp(-size.hashes * capacity / size.bits)) ** size.hashes
    assert achieved <= rate * 1.05


def test_offsets_are_deterministic_distinct_and_in_range():
    size = BloomSize(1000, 0.001)
    a, b = size.offsets(b"fingerprint-a"), size.offsets(b"fingerprint-b")
    assert a == size.offsets(b"fingerprint-a")
    assert a != b
    assert all(0 <= o < size.bits for o in a + b)
    assert len(a) == size.hashes


@pytest.mark.parametrize("capacity,rate,message", [(0, 0.01, "capacity"), (10, 0.0, "error rate"),
                                                    (10, 1.5, "error rate"), (10**9, 1e-9, str(MAX_BITS))])
def test_bad_bloom_sizes_are_refused_with_the_reason(capacity, rate, message):
    with pytest.raises(ValueError, match=message):
        BloomSize(capacity, rate)


def test_frontier_settings_swap_in_the_scheduler_dupefilter_and_politeness():
    s = frontier_settings("redis://127.0.0.1:6379/0", "crawl-1", base={"a.Middleware": 10})
    assert s["SCHEDULER"] == SCHEDULER and s["DUPEFILTER_CLASS"] == DUPEFILTER
    assert s["DOWNLOADER_MIDDLEWARES"] == {"a.Middleware": 10, POLITENESS_MIDDLEWARE: 950}
    assert s["REDIS_URL"] == s["FRONTIER_REDIS_URL"] == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize("url,key,message", [("http://127.0.0.1:6379", "k", "--frontier 'http"),
                                             ("redis://127.0.0.1:6379", "", "--frontier-key ''"),
                                             ("redis://127.0.0.1:6379", "a b", "without spaces"),
                                             ("redis://127.0.0.1:6379", "50%", "without spaces or %")])
def test_bad_frontier_options_name_the_option(url, key, message):
    with pytest.raises(ConfigError, match=message):
        frontier_settings(url, key)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--job-id")
    frontier_options(parser)
    return parser.parse_args(list(argv))


def test_crawl_without_frontier_adds_no_settings():
    assert frontier_overrides(_args()) == {}


def test_frontier_key_defaults_to_the_job_id_and_is_required():
    assert frontier_overrides(_args("--frontier", "redis://h:1/0", "--job-id", "j1"))["FRONTIER_KEY"] == "j1"
    assert frontier_overrides(_args("--frontier", "redis://h:1/0", "--frontier-key", "k"))["FRONTIER_KEY"] == "k"
    with pytest.raises(ConfigError, match="--frontier-key"):
        frontier_overrides(_args("--frontier", "redis://h:1/0"))
