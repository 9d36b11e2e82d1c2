"""Discovery's flagged domains as seeds of the surface crawl through the ``brandhound-discovered`` Asset:
the event's extra discovery writes, and the seeds a crawl run reads from its triggering events."""

from types import SimpleNamespace

import pytest
from airflow.sdk import Asset

from operations.crawl import DISCOVERED_URI, seeds_for_run
from operations.discover import seed_event_extra, seeds_of


def asset(uri):
    return Asset(name=uri.rsplit("/", 1)[-1], uri=uri)


def event(extra, run="scheduled__1"):
    return SimpleNamespace(extra=extra, source_dag_id="brandhound_discover", source_run_id=run)


def Events(*pairs):
    """``triggering_asset_events``: each asset and its events, oldest first."""
    return dict(pairs)


def test_the_seeds_are_the_new_flagged_urls_once_each_sorted():
    summary = {"flagged": [{"url": "https://b.shop/"}, {"url": "https://a.shop/"}, {"url": "https://b.shop/"}]}
    assert seeds_of(summary) == ["https://a.shop/", "https://b.shop/"]
    assert seed_event_extra(seeds_of(summary)) == {"seeds": ["https://a.shop/", "https://b.shop/"]}


def test_an_event_without_seeds_is_refused_before_it_could_start_an_empty_crawl():
    with pytest.raises(ValueError, match="without seeds"):
        seed_event_extra([])


def test_a_run_crawls_its_param_seeds_then_every_triggering_discovery_event_s_once():
    discovered = asset(DISCOVERED_URI)
    events = Events((discovered, [event({"seeds": ["https://a.shop/", "https://b.shop/"]}),
                                  event({"seeds": ["https://b.shop/", "https://c.shop/"]}, run="scheduled__2")]),
                    (asset("brandhound://elasticsearch/sites"), [event({"seeds": ["https://other.example/"]})]))
    assert seeds_for_run(["https://param.example/"], events) == [
        "https://param.example/", "https://a.shop/", "https://b.shop/", "https://c.shop/"]


def test_a_scheduled_or_manual_run_has_only_its_param_seeds():
    assert seeds_for_run(["kestrava-sale.shop"], None) == ["kestrava-sale.shop"]
    assert seeds_for_run([], Events()) == []


def test_a_malformed_event_is_logged_and_skipped_and_the_others_are_crawled(caplog):
    discovered = asset(DISCOVERED_URI)
    events = Events((discovered, [event({"seeds": "https://not-a-list.shop/"}, run="bad__1"), event(None),
                                  event({"seeds": ["https://ok.shop/", 7]}, run="bad__2"),
                                  event({"seeds": ["https://good.shop/"]})]))
    assert seeds_for_run([], events) == ["https://good.shop/"]
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 3 and "bad__1" in skipped[0] and "not-a-list" in skipped[0] and "bad__2" in skipped[2]


def test_the_surface_crawl_is_scheduled_on_the_discovery_asset_besides_its_timer(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    from airflow.sdk import AssetOrTimeSchedule

    from dags.crawl_surface import dag as surface
    from dags.discover import ct_dag, nrd_dag

    assert isinstance(surface.timetable, AssetOrTimeSchedule)
    assert DISCOVERED_URI in repr(surface.timetable.asset_condition)
    for dag in (ct_dag, nrd_dag):
        producers = {t.task_id for t in dag.tasks if DISCOVERED_URI in {a.uri for a in t.outlets}}
        assert producers == {"publish_seeds"}, dag.dag_id  # behind the short-circuit: no event without seeds
        assert dag.get_task("publish_seeds").upstream_task_ids >= {"any_new"}
