"""Airflow DAG. Pastes and leaks: paste sites and forums scanned for the brand's leaked credentials, cards and secrets."""

from datetime import timedelta

from operations.dag_parts import LEAKS, PAGES, crawl_dag

dag = crawl_dag(
    "brandhound_crawl_pastes", ["paste"], schedule=timedelta(hours=1), outlets=[LEAKS, PAGES],
    tags=["pastes", "leaks"],
    doc_md="""
### Pastes and leaks crawl
Hourly (pastes vanish fast): the `paste` spider reads paste-site list pages (`seeds`) and scans
every paste for the brand's leaked credentials, cards and secrets (kept masked, with keyed hashes).
""")
