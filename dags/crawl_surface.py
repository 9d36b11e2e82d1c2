"""Airflow DAG. Surface web: capture candidate fake stores and phishing sites in Chromium."""

from datetime import timedelta

from airflow.sdk import AssetOrTimeSchedule, DeltaTriggerTimetable

from operations.dag_parts import DISCOVERED, PAGES, SITES, crawl_dag

dag = crawl_dag(
    "brandhound_crawl_surface", ["surface"], outlets=[SITES, PAGES], tags=["surface-web", "fake-stores"],
    schedule=AssetOrTimeSchedule(timetable=DeltaTriggerTimetable(timedelta(hours=12)), assets=[DISCOVERED]),
    doc_md="""
### Surface web / fake stores crawl
Twice a day, and whenever discovery updates the `brandhound-discovered` Asset: the `surface` spider
renders each candidate domain (`seeds`, e.g. from `brandhound permute-domain`, plus the new
look-alike domains in the extra of the discovery events that triggered the run) and its login and
checkout pages in Chromium, captures the site with a screenshot and scores it as a fake store or
phishing site. Updates `brandhound-sites`.
""")
