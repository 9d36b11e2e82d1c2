"""What brandhound's Airflow DAGs (``dags/``) run: importable, unit-tested jobs, one module per concern.

- :mod:`operations.es_connection`: Elasticsearch settings from an Airflow Connection, else brandhound's config;
- :mod:`operations.crawl`: one crawl in its own process (``brandhound crawl``), its counts for XCom;
- :mod:`operations.detection`: the batch detection job (campaigns over the flagged findings);
- :mod:`operations.takedown`: drafting takedown notices from confirmed findings;
- :mod:`operations.maintenance`: index housekeeping, spool replay, Tor health;
- :mod:`operations.dag_parts`: the shared wiring of the DAG files (defaults, assets, pools).

Nothing here touches the network at import time: DAG files import it while Airflow parses them.
"""
