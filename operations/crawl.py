"""One crawl per process, for an Airflow task: ``brandhound crawl`` as a subprocess, its counts for XCom.

Twisted's reactor cannot be restarted, so a task never runs two crawls in its own process: it
starts ``python -m brandhound.commands crawl`` and reads the JSON summary the command prints last. The
crawl's log goes to the task log line by line; exit status, item and error counts come back as a
small dict (the task's XCom). A crawl that did not finish raises :class:`CrawlFailed`, so Airflow
retries it; a retry reuses the job id and the frontier key, so it resumes the same shared frontier
and rewrites the same documents (ids are stable) instead of adding new ones.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_BRAND = REPO_ROOT / "examples" / "brands" / "kestrava" / "brand.yaml"
#: The Asset discovery updates with the look-alike domains it found new (event extra ``{"seeds": [...]}``);
#: the surface crawl is scheduled on it.
DISCOVERED_URI = "brandhound://discovery/domains"
#: The sandbox answers in milliseconds: a page that takes 10 s never finishes (as `brandhound run`).
SANDBOX_SETTINGS = {"DOWNLOAD_TIMEOUT": "10", "RETRY_TIMES": "2"}


class CrawlFailed(RuntimeError):
    """The crawl process did not finish; the message gives its exit status and finish reason."""


@dataclass
class CrawlJob:
    """One crawl as a task runs it."""

    spider: str
    brand: str = str(EXAMPLE_BRAND)
    job_id: str | None = None
    seeds: list[str] = field(default_factory=list)
    sandbox: bool = False
    sandbox_port: int = 8899
    listings: int = 300
    #: Shared frontier (crawlers/frontier): a Redis URL, and the key all workers of the crawl share.
    frontier: str | None = None
    frontier_key: str | None = None
    settings: dict[str, str] = field(default_factory=dict)

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "brandhound.commands", "crawl", "--brand", self.brand, "--spider", self.spider]
        if self.job_id:
            cmd += ["--job-id", self.job_id]
        for seed in self.seeds:
            cmd += ["--seed", seed]
        if self.sandbox:
            cmd += ["--sandbox", "--sandbox-port", str(self.sandbox_port), "--listings", str(self.listings)]
        if self.frontier:
            cmd += ["--frontier", self.frontier, "--frontier-key", self.frontier_key or self.job_id or ""]
        settings = {**(SANDBOX_SETTINGS if self.sandbox else {}), **self.settings}
        for name, value in settings.items():
            cmd += ["--set", f"{name}={value}"]
        return cmd


def job_id_for(dag_id: str, run_id: str, spider: str) -> str:
    """Stable across retries of one run, distinct between runs; safe as a Redis key and a document field."""
    return re.sub(r"[^A-Za-z0-9_.:-]+", "-", f"{dag_id}:{run_id}:{spider}")


def counts_of(summary: dict[str, Any], exit_code: int) -> dict[str, Any]:
    """The XCom of a crawl task: exit status, items, documents, errors."""
    failed = summary.get("fetch_failed") or {}
    return {
        "spider": summary.get("spider"),
        "exit_code": exit_code,
        "finish_reason": summary.get("finish_reason"),
        "items": summary.get("item_scraped_count", 0),
        "requests": summary.get("downloader/request_count", 0),
        "documents_indexed": summary.get("brandhound/es/indexed", 0),
        "documents_spooled": summary.get("brandhound/es/spooled", 0),
        "documents_rejected": summary.get("brandhound/es/rejected", 0),
        "errors": summary.get("log_count/ERROR", 0),
        "pages_failed": sum(failed.values()),
        "fetch_failed": failed,
        "elapsed_s": round(float(summary.get("elapsed_time_seconds") or 0), 1),
    }


def run_crawl_process(job: CrawlJob, env: Mapping[str, str], log_line: Callable[[str], None] = log.info,
                      timeout_s: float | None = None) -> dict[str, Any]:
    """Run the crawl in its own process; its log lines go to ``log_line``; returns :func:`counts_of`."""
    cmd = job.command()
    log_line("crawl: " + " ".join(cmd))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            text=True, env=dict(env), cwd=REPO_ROOT, errors="replace")
    last_json: dict[str, Any] | None = None
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            line = line.rstrip("\n")
            log_line(line)
            if line.startswith("{") and '"finish_reason"' in line:
                try:
                    last_json = json.loads(line)
                except ValueError:
                    pass
        code = proc.wait(timeout=timeout_s)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    counts = counts_of(last_json or {}, code)
    log_line("crawl counts: " + json.dumps(counts))
    if code != 0 or counts["finish_reason"] != "finished":
        raise CrawlFailed(f"crawl {job.spider} (job {job.job_id}) exited with status {code}, "
                          f"finish reason {counts['finish_reason']!r}")
    return counts


def seeds_for_run(param_seeds: Iterable[Any], triggering_asset_events: Mapping[Any, Sequence[Any]] | None,
                  uri: str = DISCOVERED_URI) -> list[str]:
    """A crawl's seeds: its ``seeds`` param, then those of the discovery events that triggered the
    run (``triggering_asset_events``, oldest first), each once. An event whose extra is not
    ``{"seeds": [str, ...]}`` is logged and skipped: one bad event must not stop the crawl of the others."""
    seeds = [str(s) for s in param_seeds]
    events: Mapping[Any, Sequence[Any]] = triggering_asset_events or {}
    for asset in events:
        if getattr(asset, "uri", None) != uri:
            continue
        for event in events[asset]:
            extra = getattr(event, "extra", None) or {}
            found = extra.get("seeds") if isinstance(extra, Mapping) else None
            if not isinstance(found, list) or not all(isinstance(x, str) and x.strip() for x in found):
                log.warning("asset event of %s from %s run %s skipped: its extra %r is not {\"seeds\": [URL, ...]}",
                            uri, getattr(event, "source_dag_id", None), getattr(event, "source_run_id", None), extra)
                continue
            seeds += [x.strip() for x in found]
    return list(dict.fromkeys(seeds))
