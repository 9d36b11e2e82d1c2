"""Airflow DAG. Surface web: capture candidate fake stores and phishing sites in Chromium."""

from datetime import timedelta

from operations.dag_parts import PAGES, SITES, crawl_dag

dag = crawl_dag(
    "brandhound_crawl_surface", ["surface"], schedule=timedelta(hours=12), outlets=[SITES, PAGES],
    tags=["surface-web", "fake-stores"],
    doc_md="""
### Surface web / fake stores crawl
Twice a day: the `surface` spider renders each candidate domain (`seeds`, e.g. from
`brandhound permute-domain`) and its login and checkout pages in Chromium, captures the site with
a screenshot and scores it as a fake store or phishing site. Updates `brandhound-sites`.
""")
