"""Airflow DAG. Takedown drafting: notices drafted (never sent) from the brand's findings."""

from airflow.sdk import DAG, Param, get_current_context, task

from operations.dag_parts import DEFAULT_ARGS, FINDINGS, TAKEDOWNS, common_params

with DAG(dag_id="brandhound_takedowns", schedule=FINDINGS, start_date=None, catchup=False, max_active_runs=1,
         default_args=DEFAULT_ARGS, tags=["brandhound", "takedown"],
         params={**common_params(),
                 "include_flagged": Param(False, type="boolean",
                                          description="also draft for findings nobody confirmed (labelled UNREVIEWED)"),
                 "lookups": Param(False, type="boolean", description="find hosts and registrars through RDAP")},
         doc_md="""
### Takedown drafting
Runs when detection updates `brandhound-findings`: drafts notices for confirmed findings, grouped
per recipient and campaign. Notice ids come from those, so a re-run updates the same drafts and
never touches notices legal staff have moved past draft. Nothing is sent from here.
""") as dag:

    @task(outlets=[TAKEDOWNS], doc_md="`TakedownService.draft_from_findings`; counts to XCom.")
    def draft() -> dict:
        from operations.es_connection import es_settings
        from operations.takedown import draft_takedowns

        params = get_current_context()["params"]
        return draft_takedowns(es_settings(params["es_conn_id"]), params["brand"],
                               include_flagged=bool(params["include_flagged"]), lookups=bool(params["lookups"]))

    draft()
