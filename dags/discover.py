"""Airflow DAGs. Discovery: new look-alike domains of every brand from CT logs (every 5 minutes) and NRD lists (daily)."""

from datetime import timedelta

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, Asset, Param, get_current_context, task

from operations.dag_parts import DEFAULT_ARGS, FINDINGS, SITES

#: Updated with the new flagged domains in the event's extra (``{"seeds": [...]}``), for the surface crawl.
DISCOVERED = Asset(name="brandhound-discovered", uri="brandhound://discovery/domains", group="brandhound")


def _params(**extra: Param) -> dict[str, Param]:
    from operations.crawl import EXAMPLE_BRAND
    from operations.es_connection import DEFAULT_CONN_ID

    return {
        "brands": Param(str(EXAMPLE_BRAND.parent.parent), type="string",
                        description="brand profile directory (or one profile): every brand is scored at once"),
        "es_conn_id": Param(DEFAULT_CONN_ID, type="string",
                            description="Airflow Connection of the Elasticsearch cluster (absent: brandhound's config)"),
        "crawl": Param(True, type="boolean", description="start the surface crawl on the new flagged domains"),
        **extra,
    }


def _seed_crawl(result, task_id: str) -> None:
    """The surface crawl on the new flagged domains, when there are any (a short-circuit skips it otherwise)."""

    @task.short_circuit(doc_md="Go on to the surface crawl only when this run flagged new domains and `crawl` is on.")
    def any_new(result: dict) -> bool:
        return bool(result["seeds"]) and bool(get_current_context()["params"]["crawl"])

    gate = any_new(result)
    trigger = TriggerDagRunOperator(
        task_id="crawl_surface", trigger_dag_id="brandhound_crawl_surface", wait_for_completion=False,
        conf={"seeds": f"{{{{ ti.xcom_pull(task_ids='{task_id}')['seeds'] }}}}",
              "es_conn_id": "{{ params.es_conn_id }}"},
        doc_md="Triggers `brandhound_crawl_surface` with the new flagged domains as its `seeds`, so each is "
               "captured with a screenshot and scored as a fake store or phishing site.")
    gate >> trigger


def _result(summary: dict) -> dict:
    seeds = sorted({f["url"] for f in summary["flagged"]})
    context = get_current_context()
    context["outlet_events"][DISCOVERED].extra = {"seeds": seeds}
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
the `brandhound-discovered` Asset (its event's extra holds the seeds) and start `brandhound_crawl_surface`
on them.
""") as ct_dag:

    @task(task_id="discover_ct", outlets=[DISCOVERED, SITES, FINDINGS],
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

    _seed_crawl(discover_ct(), "discover_ct")


with DAG(dag_id="brandhound_discover_nrd", schedule=timedelta(days=1), start_date=None, catchup=False,
         max_active_runs=1, default_args=DEFAULT_ARGS, tags=["brandhound", "discovery", "nrd"],
         render_template_as_native_obj=True,
         params=_params(source=Param("", type="string",
                                     description="the day's newly-registered-domains list: file or URL, text/.gz/.zip")),
         doc_md="""
### Discovery: newly registered domains
Daily: the newly-registered-domains list `source` scored against every brand of `brands`; new
look-alikes become `brandhound-sites` candidates and `lookalike_domain` findings, update the
`brandhound-discovered` Asset and start `brandhound_crawl_surface` on them.
""") as nrd_dag:

    @task(task_id="discover_nrd", outlets=[DISCOVERED, SITES, FINDINGS],
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

    _seed_crawl(discover_nrd(), "discover_nrd")
