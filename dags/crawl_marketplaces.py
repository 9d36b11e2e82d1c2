"""Airflow DAG. Marketplaces: search the watched marketplaces for the brand and extract every listing."""

from datetime import timedelta

from operations.dag_parts import LISTINGS, PAGES, crawl_dag

dag = crawl_dag(
    "brandhound_crawl_marketplaces", ["marketplace"], schedule=timedelta(hours=6), outlets=[LISTINGS, PAGES],
    tags=["marketplaces"],
    doc_md="""
### Marketplace crawl
Every 6 hours: the `marketplace` spider searches the brand profile's marketplaces (names,
misspellings, product names) and extracts every listing into `listings` and `pages`. Listings are
scored as counterfeits during the crawl; the `brandhound-listings` Asset then triggers detection.
Params: `brand`, `sandbox`, `frontier` + `workers` to spread one crawl over several processes.
""")
