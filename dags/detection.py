"""Airflow DAG. Detection: batch detectors over everything the crawls indexed, when a crawl updates an Asset."""

from airflow.sdk import DAG, get_current_context, task

from operations.dag_parts import DEFAULT_ARGS, FINDINGS, LEAKS, LISTINGS, SITES, common_params

with DAG(dag_id="brandhound_detection", schedule=(LISTINGS | SITES | LEAKS), start_date=None, catchup=False,
         max_active_runs=1, default_args=DEFAULT_ARGS, params=common_params(), tags=["brandhound", "detection"],
         doc_md="""
### Detection
Runs whenever a crawl DAG updates `brandhound-listings`, `-sites` or `-leaks`: groups the brand's
flagged findings into campaigns (shared sellers, hosts, own photos). Rewrites `campaign.id` in
place, so a re-run changes nothing. Updates `brandhound-findings`, which schedules takedown drafting.
""") as dag:

    @task(outlets=[FINDINGS], doc_md="Campaigns over the brand's flagged findings; counts to XCom.")
    def detect() -> dict:
        from operations.detection import detect as run
        from operations.es_connection import es_settings

        params = get_current_context()["params"]
        return run(es_settings(params["es_conn_id"]), params["brand"])

    detect()
