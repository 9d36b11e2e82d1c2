"""An Airflow crawl task that fails half-way and is retried: the retry finishes the crawl and no
document exists twice.

The test runs what the task runs (``operations.crawl.run_crawl_process``, the ``brandhound crawl``
subprocess), SIGKILLs the crawl once its first bulk batch is in Elasticsearch, checks that the
attempt fails the way Airflow sees it (:class:`CrawlFailed`), then runs the same job again, as
Airflow's retry does with the same job id. The DAG-level test (``test_dags.py``) runs whole DAGs
twice; this one covers the attempt that dies in the middle.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from pathlib import Path

import pytest

from brandhound.urls import canonicalize
from operations.crawl import CrawlFailed, CrawlJob, job_id_for, run_crawl_process
from tests.support.paths import EXAMPLE_BRAND
from tests.integration.crawls import crawl_env, field_values
from tests.integration.fake_web import kill_tagged
from tests.polling import poll

FAST = {"DOWNLOAD_TIMEOUT": "8", "RETRY_TIMES": "1"}


def _listing_count(es, settings) -> int:
    index = f"{settings.es.index_prefix}-listings"
    if not es.indices.exists(index=index):
        return 0
    es.indices.refresh(index=index)
    return es.count(index=index)["count"]


def test_crawl_task_killed_half_way_then_retried_indexes_everything_once(sandbox_web, settings, es, tmp_path):
    home, state = sandbox_web
    tag = f"task-retry-{os.getpid()}"
    env = dict(crawl_env(settings, home), BRANDHOUND_TEST_TAG=tag)
    job = CrawlJob(spider="marketplace", brand=str(EXAMPLE_BRAND), sandbox=True, sandbox_port=state["port"],
                   job_id=job_id_for("brandhound_crawl_marketplaces", "manual__retry-test", "marketplace"),
                   settings=FAST)

    # Attempt 1: killed with SIGKILL as soon as its first batch is in the index (a worker lost mid-task).
    failure: list[BaseException] = []

    def attempt() -> None:
        try:
            run_crawl_process(job, env, log_line=lambda line: None, timeout_s=600)
        except BaseException as exc:  # noqa: BLE001  (kept for the assertion below)
            failure.append(exc)

    first = threading.Thread(target=attempt, daemon=True)
    first.start()
    poll(lambda: _listing_count(es, settings) > 0, 300, "the first bulk batch of listings in Elasticsearch")
    before_kill = _listing_count(es, settings)
    kill_tagged(tag)
    first.join(timeout=60)
    assert not first.is_alive()
    assert len(failure) == 1 and isinstance(failure[0], CrawlFailed), failure
    assert "status -9" in str(failure[0])

    # Attempt 2, Airflow's retry: same job, runs to the end.
    counts = run_crawl_process(job, env, log_line=lambda line: None, timeout_s=900)
    assert counts["exit_code"] == 0 and counts["finish_reason"] == "finished"

    truth = json.loads(Path(state["ground_truth"]).read_text(encoding="utf-8"))
    expected = {canonicalize(p["url"]) for p in truth["pages"] if p["kind"] == "listing"}
    listing_urls = field_values(es, settings, "listings", "url.full")
    duplicates = {k: n for kind, field in (("listings", "url.full"), ("pages", "url.full"),
                                            ("findings", "subject.id"))
                  for k, n in Counter(field_values(es, settings, kind, field)).items() if n > 1}
    found = expected & set(listing_urls)
    print(f"\ncrawl task killed half-way and retried: {len(expected)} labelled listings, {before_kill} indexed "
          f"before the kill, {len(found)} after the retry, {len(duplicates)} documents twice")
    assert not duplicates, sorted(duplicates)[:5]
    assert before_kill < len(found), "the kill came after the crawl had finished"
    assert len(found) >= 0.98 * len(expected), sorted(expected - found)[:5]


@pytest.fixture(autouse=True)
def _no_crawl_left(request):
    """A failed assertion must not leave the killed attempt's retry or a crawl running."""
    yield
    kill_tagged(f"task-retry-{os.getpid()}")
