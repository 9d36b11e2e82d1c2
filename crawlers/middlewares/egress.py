"""Send every surface-web request through the configured egress proxy.

Production deployments often reach the web through an egress proxy; the
sandbox is reached the same way, its proxy serving every sandbox host. The
browser is pointed at the same proxy through its launch options.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured


class EgressProxyMiddleware:
    def __init__(self, proxy: str):
        self.proxy = proxy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EgressProxyMiddleware:
        proxy = crawler.settings.get("BRANDHOUND_EGRESS_PROXY")
        if not proxy:
            raise NotConfigured("no BRANDHOUND_EGRESS_PROXY")
        return cls(proxy)

    def process_request(self, request: Request) -> None:
        host = urlsplit(request.url).hostname or ""
        # Onion and other Tor-routed requests (meta["tor"]) belong to Tor; a request that sets its own proxy keeps it.
        if request.meta.get("tor") or host.endswith(".onion"):
            return None
        if "proxy" not in request.meta:
            request.meta["proxy"] = self.proxy
        return None
