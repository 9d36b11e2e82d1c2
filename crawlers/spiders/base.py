"""What every brandhound spider shares: the brand profile, seeds, and turning responses into documents."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Iterable

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from brandhound.items import BrandRef, Crawl, Event, Page, utcnow
from brandhound.profile import BrandProfile, load_profile
from brandhound.urls import UrlError, url_fields
from brandhound.html_text import decode_html


def split_seeds(seeds: str | Iterable[str] | None) -> list[str]:
    if not seeds:
        return []
    if isinstance(seeds, str):
        seeds = seeds.replace(",", " ").split()
    return [s.strip() for s in seeds if s.strip()]


class BrandSpider(scrapy.Spider):
    source_type: ClassVar[str]

    def __init__(self, brand: str | BrandProfile | None = None, seeds: str | list[str] | None = None,
                 job_id: str | None = None, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if brand is None:
            raise ValueError(f"spider {self.name}: the brand profile is required (-a brand=FILE)")
        self.profile = brand if isinstance(brand, BrandProfile) else load_profile(brand)
        self.seeds = split_seeds(seeds)
        self.job_id = job_id or f"{self.name}-{uuid.uuid4().hex[:12]}"

    # ----------------------------------------------------------------- documents

    def brand_ref(self) -> BrandRef:
        return BrandRef(id=self.profile.id, name=self.profile.name)

    def crawl_facts(self, renderer: str) -> Crawl:
        return Crawl(spider=self.name, source_type=self.source_type, job_id=self.job_id,
                     fetched_at=utcnow(), renderer=renderer)

    def page_for(self, response: Response, *, text: str | None = None, title: str | None = None, links: list[str] | None = None) -> Page:
        original = response.meta.get("redirect_urls", [response.request.url if response.request else response.url])[0]
        page = Page(
            event=Event(dataset=f"crawl.{self.name}"),
            brand=self.brand_ref(),
            url=url_fields(response.url, original=original),
            crawl=self.crawl_facts("browser" if response.meta.get("playwright") else "http"),
            title=title,
            links=links or [],
        )
        page.http.response.status_code = response.status
        page.http.response.mime_type = (response.headers.get("Content-Type") or b"").decode("latin-1").split(";")[0].strip() or None
        page.http.response.body.bytes = len(response.body)
        return page

    def text_of(self, response: Response) -> str:
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
        return decode_html(response.body, content_type)[0]

    # ----------------------------------------------------------------- failures

    def on_error(self, failure: Failure) -> None:
        """A page that could not be fetched: one clear log line, a counter, and the crawl goes on."""
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        first = request.meta.get("redirect_urls", [url])[0] if request is not None else url
        via = f" (redirected to {url[:300]})" if first != url else ""
        assert failure.type is not None, "a Failure always holds its exception's type"
        reason = failure.getErrorMessage() or failure.type.__name__
        self.crawler.stats.inc_value(f"brandhound/fetch_failed/{failure.type.__name__}")
        self.logger.warning("fetch failed: %s%s: %s: %s", first[:300], via, failure.type.__name__, reason[:300])

    def safe_url_fields(self, url: str):
        try:
            return url_fields(url)
        except UrlError as exc:
            self.logger.warning("skipping malformed URL: %s", exc)
            return None


