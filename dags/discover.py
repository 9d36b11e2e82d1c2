"""Airflow DAGs. Discovery: new look-alike domains of every brand from CT logs (every 5 minutes) and NRD lists (daily)."""

from datetime import timedelta

from airflow.sdk import DAG, Param, get_current_context, task

from operations.dag_parts import DEFAULT_ARGS, DISCOVERED, FINDINGS, SITES


def _params(**extra: Param) -> dict[str, Param]:
    from operations.crawl import EXAMPLE_BRAND
    from operations.es_connection import DEFAULT_CONN_ID

    return {
        "brands": Param(str(EXAMPLE_BRAND.parent.parent), type="string",
                        description="brand profile directory (or one profile): every brand is scored at once"),
        "es_conn_id": Param(DEFAULT_CONN_ID, type="string",
                            description="Airflow Connection of the Elasticsearch cluster (absent: brandhound's config)"),
        "crawl": Param(True, type="boolean",
                       description="update the brandhound-discovered Asset, which starts the surface crawl"),
        **extra,
    }


def _seed_crawl(result) -> None:
    """The new flagged domains as an event of the Asset the surface crawl is scheduled on, when there are any."""

    @task.short_circuit(doc_md="Go on only when this run flagged new domains and `crawl` is on.")
    def any_new(result: dict) -> bool:
        return bool(result["seeds"]) and bool(get_current_context()["params"]["crawl"])

    @task(outlets=[DISCOVERED],
          doc_md="Updates `brandhound-discovered` with the new flagged domains in the event's extra "
                 "(`{\"seeds\": [...]}`): `brandhound_crawl_surface`, scheduled on it, captures each with a "
                 "screenshot and scores it as a fake store or phishing site.")
    def publish_seeds(result: dict) -> list[str]:
        from operations.discover import seed_event_extra

        get_current_context()["outlet_events"][DISCOVERED].extra = seed_event_extra(result["seeds"])
        return result["seeds"]

    any_new(result) >> publish_seeds(result)


def _result(summary: dict) -> dict:
    from operations.discover import seeds_of

    seeds = seeds_of(summary)
    return {"seeds": seeds, "flagged": len(summary["flagged"]),
            **{k: v for k, v in summary.items() if k not in ("flagged",)}}


with DAG(dag_id="brandhound_discover", schedule=timedelta(minutes=5), start_date=None, catchup=False,
         max_active_runs=1, default_args=DEFAULT_ARGS | {"execution_timeout": timedelta(minutes=30)},
         tags=["brandhound", "discovery", "certificate-transparency"], render_template_as_native_obj=True,
         params=_params(
             log_list=Param("https://www.gstatic.com/ct/log_list/v3/log_list.json", type="string",
                            description="log list JSON (browsers' v3 format), a file or URL"),
             logs=Param([], type="array", description="extra log URLs (static:URL for a tiled log)"),
             since=Param("now", type="string", description="where a log never read starts: now, start or an index"),
             max_entries=Param(200000, type="integer", minimum=1,
                               description="at most this many entries per log and run; the next run goes on"),
         ),
         doc_md="""
### Discovery: certificate transparency
Every five minutes: every log of the log list (RFC 6962 and static-ct), read from where the last run
stopped (the per-log cursor in Elasticsearch, ranges claimed so two runs never read the same entries);
every name of every new certificate scored against every brand of `brands`. New look-alikes become
`brandhound-sites` candidates and `lookalike_domain` findings with the certificate as evidence, update
the `brandhound-discovered` Asset (its event's extra holds the seeds), on which `brandhound_crawl_surface`
is scheduled.
""") as ct_dag:

    @task(task_id="discover_ct", outlets=[SITES, FINDINGS],
          doc_md="One poll of every log up to its tree size (at most `max_entries` per log); counts and seeds to XCom.")
    def discover_ct() -> dict:
        from operations.discover import Progress, run_ct
        from operations.es_connection import es_settings

        ctx = get_current_context()
        params = ctx["params"]
        summary = run_ct(es_settings(params["es_conn_id"]), params["brands"], log_list=params["log_list"] or None,
                         log_urls=list(params["logs"]), since=params["since"], max_entries=int(params["max_entries"]),
                         job_id=f"{ctx['dag'].dag_id}:{ctx['run_id']}", progress=Progress(every=30.0))
        failed = [x for x in summary["logs"] if x["error"]]
        if failed and len(failed) == len(summary["logs"]):
            raise RuntimeError(f"every CT log failed: {failed[0]['error']}")
        return _result(summary)

    _seed_crawl(discover_ct())


with DAG(dag_id="brandhound_discover_nrd", schedule=timedelta(days=1), start_date=None, catchup=False,
         max_active_runs=1, default_args=DEFAULT_ARGS, tags=["brandhound", "discovery", "nrd"],
         render_template_as_native_obj=True,
         params=_params(source=Param("", type="string",
                                     description="the day's newly-registered-domains list: file or URL, text/.gz/.zip")),
         doc_md="""
### Discovery: newly registered domains
Daily: the newly-registered-domains list `source` scored against every brand of `brands`; new
look-alikes become `brandhound-sites` candidates and `lookalike_domain` findings and update the
`brandhound-discovered` Asset, which starts `brandhound_crawl_surface` on them.
""") as nrd_dag:

    @task(task_id="discover_nrd", outlets=[SITES, FINDINGS],
          doc_md="Scores the list's domains against every brand; counts and seeds to XCom.")
    def discover_nrd() -> dict:
        from operations.discover import run_nrd
        from operations.es_connection import es_settings

        ctx = get_current_context()
        params = ctx["params"]
        if not params["source"]:
            raise ValueError("param 'source' (the newly-registered-domains list, a file or URL) is empty")
        return _result(run_nrd(es_settings(params["es_conn_id"]), params["brands"], params["source"],
                               job_id=f"{ctx['dag'].dag_id}:{ctx['run_id']}"))

    _seed_crawl(discover_nrd())
