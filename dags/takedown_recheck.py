"""Airflow DAG. Takedown re-check: the URLs of sent notices re-fetched; notices whose content is gone close."""

from datetime import timedelta

from airflow.sdk import DAG, Param, get_current_context, task

from operations.dag_parts import DEFAULT_ARGS, TAKEDOWNS, common_params

with DAG(dag_id="brandhound_takedown_recheck", schedule=timedelta(hours=1), start_date=None, catchup=False,
         max_active_runs=1, default_args=DEFAULT_ARGS, tags=["brandhound", "takedown"],
         params={**common_params(),
                 "min_gap_hours": Param(4, type="number", minimum=0,
                                        description="hours between the two removed sightings that confirm a removal"),
                 "allow_private": Param(False, type="boolean",
                                        description="allow private addresses (the sandbox web only)")},
         doc_md="""
### Takedown re-check
Hourly: re-fetches every URL of the brand's `sent` and `acknowledged` notices (each hourly for a week after it
was sent, then daily, and again once a removal waits for its second sighting) over plain HTTP (under the
crawler's SSRF rule) and records each check on the notice (outcome removed, unreachable or online, with the
signal, status, final URL and body hash). A URL is removed only on a clear signal (404/410, a removed,
suspension or parked page, NXDOMAIN, the captured content gone) seen twice `min_gap_hours` apart; a timeout
or a 5xx is unreachable, never removed. A notice whose every URL is removed moves to `removed` by `recheck`.
""") as dag:

    @task(outlets=[TAKEDOWNS], execution_timeout=timedelta(minutes=50),
          doc_md="`takedown.recheck.recheck` over the brand's sent notices; totals and closed ids to XCom.")
    def recheck() -> dict:
        from operations.es_connection import es_settings
        from operations.takedown import recheck_takedowns

        params = get_current_context()["params"]
        return recheck_takedowns(es_settings(params["es_conn_id"]), params["brand"],
                                 min_gap_hours=float(params["min_gap_hours"]),
                                 allow_private=bool(params["allow_private"]))

    recheck()
