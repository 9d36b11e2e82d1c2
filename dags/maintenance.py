"""Airflow DAG. Maintenance: index housekeeping, spool replay and Tor health, daily."""

from datetime import timedelta

from airflow.sdk import DAG, Param, get_current_context, task

from operations.dag_parts import DEFAULT_ARGS, TOR_POOL, common_params

with DAG(dag_id="brandhound_maintenance", schedule=timedelta(days=1), start_date=None, catchup=False,
         max_active_runs=1, default_args=DEFAULT_ARGS, tags=["brandhound", "maintenance"],
         params={**common_params(),
                 "tor_control": Param("", type="string",
                                      description="Tor ControlPort HOST:PORT (empty: $BRANDHOUND_TOR_CONTROL; unset: skipped)"),
                 "tor_control_cookie": Param("", type="string")},
         doc_md="""
### Maintenance
Daily, without any sandbox: creates or updates index templates and indices (idempotent), replays
documents spooled while Elasticsearch was away, and reports the Tor client's health (bootstrap,
circuits, NEWNYM) in the `tor` pool.
""") as dag:

    @task(doc_md="Templates and indices created or updated; health and documents per index to XCom.")
    def housekeep_indices() -> dict:
        from operations.es_connection import es_settings
        from operations.maintenance import housekeep_indices as run

        return run(es_settings(get_current_context()["params"]["es_conn_id"]))

    @task(doc_md="Spooled documents sent to Elasticsearch.")
    def replay_spool() -> dict:
        from operations.es_connection import es_settings
        from operations.maintenance import replay_spool as run

        return run(es_settings(get_current_context()["params"]["es_conn_id"]))

    @task(pool=TOR_POOL, execution_timeout=timedelta(minutes=5), doc_md="The Tor client's health; skipped without one.")
    def tor_health() -> dict:
        import os

        from airflow.sdk.exceptions import AirflowSkipException

        from operations.maintenance import tor_health as run

        params = get_current_context()["params"]
        control = params["tor_control"] or os.environ.get("BRANDHOUND_TOR_CONTROL", "")
        if not control:
            raise AirflowSkipException("no Tor ControlPort configured")
        report = run(control, params["tor_control_cookie"] or os.environ.get("BRANDHOUND_TOR_CONTROL_COOKIE") or None)
        if not report.get("reachable"):
            raise RuntimeError(f"Tor at {control} is not healthy: {report.get('error')}")
        return report

    housekeep_indices() >> replay_spool()
    tor_health()
