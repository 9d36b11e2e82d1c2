"""Airflow DAG. Tor: the onion marketplace and leak-forum spiders, in the `tor` pool."""

from datetime import timedelta

from operations.dag_parts import LEAKS, LISTINGS, PAGES, TOR_POOL, crawl_dag

dag = crawl_dag(
    "brandhound_crawl_tor", ["onion_market", "onion_forum"], schedule=timedelta(hours=12),
    outlets=[LISTINGS, LEAKS, PAGES], tags=["tor", "dark-web"], pool=TOR_POOL, timeout=timedelta(hours=4),
    doc_md="""
### Tor crawl
Twice a day: `onion_market` and `onion_forum` over Tor (`BRANDHOUND_TOR_SOCKS`,
`BRANDHOUND_TOR_CONTROL` in the workers' environment; `sandbox=true` uses the onion sandbox).
Every crawl task runs in the `tor` pool, which bounds concurrent onion crawls across the
deployment (`airflow pools set tor 2 "onion crawls"`).
""")
