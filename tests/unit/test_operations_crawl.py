"""operations.crawl: the crawl process runner behind the Airflow crawl tasks (a fake crawl process here)."""

from __future__ import annotations

import sys

import pytest

from operations.crawl import SANDBOX_SETTINGS, CrawlFailed, CrawlJob, counts_of, job_id_for, run_crawl_process


def test_command_is_one_brandhound_crawl_with_the_jobs_options():
    job = CrawlJob(spider="marketplace", brand="b.yaml", job_id="j", seeds=["https://a.example/"], sandbox=True,
                   sandbox_port=9999, listings=40, frontier="redis://127.0.0.1:1/0", frontier_key="k",
                   settings={"RETRY_TIMES": "5"})
    cmd = job.command()
    assert cmd[:4] == [sys.executable, "-m", "brandhound.commands", "crawl"]
    text = " ".join(cmd)
    for part in ("--spider marketplace", "--brand b.yaml", "--job-id j", "--seed https://a.example/",
                 "--sandbox --sandbox-port 9999 --listings 40", "--frontier redis://127.0.0.1:1/0 --frontier-key k",
                 "--set RETRY_TIMES=5", f"--set DOWNLOAD_TIMEOUT={SANDBOX_SETTINGS['DOWNLOAD_TIMEOUT']}"):
        assert part in text
    assert "RETRY_TIMES=2" not in text  # the job's own setting wins over the sandbox default


def test_job_ids_are_stable_per_run_and_safe_as_keys():
    a = job_id_for("brandhound_crawl_marketplaces", "manual__2026-01-01T00:00:00+00:00", "marketplace")
    assert a == job_id_for("brandhound_crawl_marketplaces", "manual__2026-01-01T00:00:00+00:00", "marketplace")
    assert a != job_id_for("brandhound_crawl_marketplaces", "manual__2026-01-02T00:00:00+00:00", "marketplace")
    assert " " not in a and "+" not in a and "%" not in a


def test_counts_sum_failed_pages_and_keep_what_xcom_needs():
    summary = {"spider": "paste", "finish_reason": "finished", "item_scraped_count": 40, "log_count/ERROR": 2,
               "brandhound/es/indexed": 80, "fetch_failed": {"TimeoutError": 2, "HttpError": 3},
               "elapsed_time_seconds": 12.345}
    counts = counts_of(summary, 0)
    assert counts["items"] == 40 and counts["errors"] == 2 and counts["documents_indexed"] == 80
    assert counts["pages_failed"] == 5 and counts["exit_code"] == 0 and counts["elapsed_s"] == 12.3


class FakeCrawl(CrawlJob):
    """A crawl process that prints a log line and a summary, then exits with ``code``."""

    def __init__(self, summary: str, code: int):
        super().__init__(spider="paste", job_id="fake")
        self.summary, self.code = summary, code

    def command(self) -> list[str]:
        script = f"import sys; print('INFO: crawling', file=sys.stderr); print({self.summary!r}); sys.exit({self.code})"
        return [sys.executable, "-c", script]


def test_a_finished_crawl_returns_its_counts_and_logs_every_line():
    lines: list[str] = []
    counts = run_crawl_process(FakeCrawl('{"finish_reason": "finished", "item_scraped_count": 7, "spider": "paste"}', 0),
                               {}, lines.append)
    assert counts["items"] == 7 and counts["finish_reason"] == "finished"
    assert "INFO: crawling" in lines
    assert any(line.startswith("crawl counts: ") for line in lines)


@pytest.mark.parametrize("summary,code,reason", [('{"finish_reason": "shutdown"}', 1, "'shutdown'"),
                                                 ("not json at all", 3, "status 3"),
                                                 ('{"finish_reason": "finished"}', 1, "status 1")])
def test_a_crawl_that_did_not_finish_raises_so_airflow_retries(summary, code, reason):
    with pytest.raises(CrawlFailed, match=reason):
        run_crawl_process(FakeCrawl(summary, code), {}, lambda line: None)
