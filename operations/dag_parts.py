"""The shared wiring of brandhound's DAG files: defaults, Assets, pools, and the crawl DAG of a source family.

DAG files in ``dags/`` call these and stay a few lines each. Parsing a DAG touches no network:
connections, Redis and Elasticsearch are reached only inside tasks.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, Asset, Param, get_current_context, task

from operations.airflow_home import TOR_POOL  # noqa: F401 - the DAG files take it from here
from operations.crawl import DISCOVERED_URI

log = logging.getLogger(__name__)

OWNER = "brand-protection"

DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    "retries": 3,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
    "execution_timeout": timedelta(hours=3),
}


def es_asset(kind: str) -> Asset:
    """The Asset of one brandhound index: a crawl DAG that indexed documents of this kind updates it."""
    return Asset(name=f"brandhound-{kind}", uri=f"brandhound://elasticsearch/{kind}", group="brandhound")


LISTINGS, SITES, PAGES, LEAKS = es_asset("listings"), es_asset("sites"), es_asset("pages"), es_asset("leaks")
FINDINGS, TAKEDOWNS = es_asset("findings"), es_asset("takedowns")
#: New look-alike domains from discovery, in the event's extra (``{"seeds": [...]}``): schedules the surface crawl.
DISCOVERED = Asset(name="brandhound-discovered", uri=DISCOVERED_URI, group="brandhound")


def common_params() -> dict[str, Param]:
    from operations.crawl import EXAMPLE_BRAND
    from operations.es_connection import DEFAULT_CONN_ID

    return {
        "brand": Param(str(EXAMPLE_BRAND), type="string", description="brand profile YAML file"),
        "es_conn_id": Param(DEFAULT_CONN_ID, type="string",
                            description="Airflow Connection of the Elasticsearch cluster (absent: brandhound's config)"),
    }


def crawl_params() -> dict[str, Param]:
    return {
        **common_params(),
        "seeds": Param([], type="array", description="start URLs or domains, besides the spider's own"),
        "sandbox": Param(False, type="boolean", description="crawl the sandbox web (or the onion sandbox) instead"),
        "sandbox_port": Param(8899, type="integer"),
        "listings": Param(300, type="integer", description="listings per sandbox marketplace"),
        "frontier": Param("", type="string",
                          description="Redis URL of a shared frontier; empty: each crawl on its own"),
        "workers": Param(1, type="integer", minimum=1, maximum=64,
                         description="crawl processes sharing the frontier (more than 1 needs a frontier)"),
        "scrapy_settings": Param({}, type="object", description="Scrapy settings for this run, e.g. {\"DOWNLOAD_TIMEOUT\": 10}"),
    }


def crawl_dag(dag_id: str, spiders: list[str], *, schedule: Any, outlets: list[Asset], doc_md: str,
              tags: list[str], pool: str | None = None, timeout: timedelta = timedelta(hours=2)) -> DAG:
    """One DAG per source family: for each spider, ``workers`` crawl processes, then a summary that
    updates the family's Assets (which schedule the detection DAG)."""
    with DAG(dag_id=dag_id, schedule=schedule, start_date=None, catchup=False, max_active_runs=1,
             default_args=DEFAULT_ARGS, params=crawl_params(), doc_md=doc_md, tags=["brandhound", "crawl", *tags],
             render_template_as_native_obj=True) as dag:
        pool_args = {"pool": pool} if pool else {}

        @task(doc_md="How many crawl processes share this run's frontier: one per mapped crawl task.")
        def worker_slots() -> list[int]:
            params = get_current_context()["params"]
            workers = int(params["workers"])
            if workers > 1 and not params["frontier"]:
                raise ValueError(f"workers={workers} needs a shared frontier (param 'frontier': a Redis URL); "
                                 "without one every process would crawl the same pages")
            return list(range(workers))

        @task(doc_md="Sum the crawl processes' counts; updates the Assets the detection DAG waits for.",
              outlets=outlets)
        def summarise(spider: str, counts: list[dict[str, Any]]) -> dict[str, Any]:
            total: dict[str, Any] = {"spider": spider, "workers": len(counts)}
            for key in ("items", "requests", "documents_indexed", "documents_spooled", "errors", "pages_failed"):
                total[key] = sum(int(c.get(key) or 0) for c in counts)
            log.info("crawl %s: %s", spider, total)
            return total

        slots = worker_slots()
        for spider in spiders:
            crawl = _crawl_task(spider, pool_args, timeout)
            summarise.override(task_id=f"summarise_{spider}")(spider, crawl.expand(worker=slots))
    return dag


def _crawl_task(spider: str, pool_args: dict[str, Any], timeout: timedelta):
    @task(task_id=f"crawl_{spider}", execution_timeout=timeout,
          doc_md=f"One `brandhound crawl --spider {spider}` process (one crawl per process: Twisted's reactor cannot "
                 "restart). Exit status, items and errors go to the log and to XCom. Retried with backoff; a retry "
                 "keeps the job id and the frontier, so it resumes and rewrites the same documents.",
          **pool_args)
    def crawl(worker: int) -> dict[str, Any]:
        from operations.crawl import CrawlJob, job_id_for, run_crawl_process, seeds_for_run
        from operations.es_connection import es_environment

        ctx = get_current_context()
        params = ctx["params"]
        job_id = job_id_for(ctx["dag"].dag_id, ctx["run_id"], spider)
        seeds = seeds_for_run(params["seeds"], ctx.get("triggering_asset_events"))  # discovery's, when it triggered
        job = CrawlJob(spider=spider, brand=params["brand"], job_id=job_id, seeds=seeds,
                       sandbox=bool(params["sandbox"]), sandbox_port=int(params["sandbox_port"]),
                       listings=int(params["listings"]), frontier=params["frontier"] or None, frontier_key=job_id,
                       settings={str(k): str(v) for k, v in dict(params["scrapy_settings"]).items()})
        env = es_environment(params["es_conn_id"])
        if job.frontier or int(params["workers"]) > 1:
            # Concurrent crawl processes on one machine must not share a spool directory.
            env["BRANDHOUND_SPOOL_DIR"] = f"{env.get('BRANDHOUND_SPOOL_DIR') or _default_spool(env)}/{job_id}-{worker}"
        return run_crawl_process(job, env, log.info)

    return crawl


def _default_spool(env: dict[str, str]) -> str:
    from brandhound.config import load_settings

    return str(load_settings(env).spool_dir)
