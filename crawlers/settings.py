"""Scrapy settings for brandhound's crawls.

Values here are the defaults of a polite, bounded crawl; ``brandhound crawl``
(crawlers.runner) and the Airflow DAGs override them per run through Scrapy's
settings priorities, never by editing this file.
"""

import os

from crawlers.browser import context_options, launch_options

BOT_NAME = "brandhound"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 brandhound/0.1"
# Evidence of counterfeiting must not depend on the counterfeiter's consent.
ROBOTSTXT_OBEY = False

# Politeness: a few requests per site at a time, adapted to how fast it answers.
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 8
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.25
AUTOTHROTTLE_MAX_DELAY = 30
AUTOTHROTTLE_TARGET_CONCURRENCY = 4.0
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
# Retries wait 0.5-1, 1-2, 2-4 s ... (at most 60 s), or the server's Retry-After up to 120 s
# (crawlers.middlewares.retry_backoff): a retry spent at once is spent on the same failure.
BRANDHOUND_RETRY_BACKOFF_S = 1.0
BRANDHOUND_RETRY_BACKOFF_MAX_S = 60.0
BRANDHOUND_RETRY_AFTER_MAX_S = 120.0
REDIRECT_MAX_TIMES = 10
DOWNLOAD_TIMEOUT = 30
# Pages over 4 MiB are refused: a listing is never that big, a trap often is.
DOWNLOAD_MAXSIZE = 4 * 1024 * 1024
DOWNLOAD_WARNSIZE = 1024 * 1024
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy starts this many asyncio tasks for every callback's output; our callbacks yield one
# capture each, and at 100 (the default) those tasks took a tenth of the crawl's CPU.
CONCURRENT_ITEMS = 16
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

DOWNLOADER_MIDDLEWARES = {
    # Before the SSRF guard: .onion and Tor-only hosts go over Tor (meta["tor"]) or are refused.
    "crawlers.middlewares.tor_route.TorRouteMiddleware": 40,
    "crawlers.middlewares.tor_circuits.TorCircuitRenewalMiddleware": 560,
    # Scrapy's retry middleware, in its place, waiting before each retry.
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawlers.middlewares.retry_backoff.BackoffRetryMiddleware": 550,
    # First: nothing, not even a redirect, leaves for an internal address.
    "crawlers.middlewares.ssrf.SsrfGuardMiddleware": 50,
    # Sees a redirect before Scrapy's RedirectMiddleware (600) follows it.
    "crawlers.middlewares.redirect_loop.RedirectLoopMiddleware": 610,
    # Before Scrapy's HttpProxyMiddleware (750), which applies meta["proxy"].
    "crawlers.middlewares.egress.EgressProxyMiddleware": 700,
}
EXTENSIONS = {
    # A live status line on a terminal (BRANDHOUND_PROGRESS, which `brandhound crawl` turns on).
    "crawlers.progress.CrawlProgress": 500,
}
BRANDHOUND_PROGRESS = False
BRANDHOUND_PROGRESS_INTERVAL = 1.0
ITEM_PIPELINES = {
    "pipelines.evidence.EvidencePipeline": 200,
    "pipelines.images.ImageEvidencePipeline": 300,
    "pipelines.detect.DetectorPipeline": 400,
    "pipelines.elasticsearch.ElasticsearchPipeline": 900,
}
BRANDHOUND_DETECTORS: list[str] = [
    "detectors.counterfeit_listing.CounterfeitListingDetector",
    "detectors.leak_detector.LeakDetector",
    "detectors.site_detector.SiteDetector",
]
BRANDHOUND_EGRESS_PROXY = None
# Tor (crawlers.middlewares.tor_route, docs/tor-transport.md): the Tor client's SocksPort as
# "127.0.0.1:9050". Empty: no Tor, and .onion / Tor-only hosts are refused, never fetched in the
# clear. Tor-only hosts: these names (and their subdomains) plus the brand profile's tor_only_hosts.
# The browser's SocksPort (ideally one with IsolateDestAddr): empty refuses browser captures over Tor.
BRANDHOUND_TOR_SOCKS = ""
BRANDHOUND_TOR_ONLY_HOSTS: list[str] = []
BRANDHOUND_TOR_BROWSER_SOCKS = ""
# A site failing this many times in a row gets new circuits; after this many renewals, NEWNYM
# through the ControlPort when one is configured (crawlers.middlewares.tor_circuits).
BRANDHOUND_TOR_RENEW_AFTER = 3
BRANDHOUND_TOR_NEWNYM_AFTER = 2
BRANDHOUND_TOR_CONTROL = ""
BRANDHOUND_TOR_CONTROL_COOKIE = ""
BRANDHOUND_TOR_CONTROL_PASSWORD = ""
SSRF_ALLOW_PRIVATE = False
BRANDHOUND_HOST_OVERRIDES: dict[str, str] = {}
BRANDHOUND_IMAGE_MAX_BYTES = 10 * 1024 * 1024
BRANDHOUND_IMAGE_MAX_PIXELS = 40_000_000
# Whose listing images are fetched: "brand" (listings naming the brand or its products) or "all".
BRANDHOUND_LISTING_IMAGES = "brand"
# Stop fetching a listing's photos at the first that matches an official one (pipelines/images.py).
BRANDHOUND_LISTING_IMAGES_UNTIL_OFFICIAL = True

# Chromium through scrapy-playwright, only for requests that ask for it.
DOWNLOAD_HANDLERS = {
    "http": "crawlers.download_handler.BrandhoundDownloadHandler",
    "https": "crawlers.download_handler.BrandhoundDownloadHandler",
}
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = launch_options(proxy=None)
PLAYWRIGHT_CONTEXTS = {"capture": context_options(ignore_https_errors=False)}
PLAYWRIGHT_MAX_CONTEXTS = 2
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 4
PLAYWRIGHT_ABORT_REQUEST = "crawlers.browser.should_abort_request"
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 30_000
PLAYWRIGHT_RESTART_DISCONNECTED_BROWSER = True
# A root crawl runs Chromium as this user, with its sandbox (crawlers/browser_user.py); empty: as root, unsandboxed.
BRANDHOUND_BROWSER_USER = os.environ.get("BRANDHOUND_BROWSER_USER", "brandhound-browser")

# Shared frontier (crawlers/frontier/): off while FRONTIER_REDIS_URL is empty. `brandhound crawl
# --frontier redis://... --frontier-key NAME` (crawlers.frontier.frontier_settings) turns it on.
FRONTIER_REDIS_URL = ""
FRONTIER_KEY = ""
# The duplicate filter's Bloom filter: 2 million requests at 1e-6 false positives = 6.9 MiB in Redis.
FRONTIER_BLOOM_CAPACITY = 2_000_000
FRONTIER_BLOOM_ERROR_RATE = 1e-6
# A worker whose heartbeat is this old is taken for dead and its leased requests are queued again.
FRONTIER_LEASE_TTL = 30.0
# How often a worker acknowledges finished requests, renews its heartbeat and looks for work.
FRONTIER_TICK = 0.25
# How long a drained frontier stays drained before the worker closes (a peer may be seeding it).
FRONTIER_IDLE_GRACE = 3.0
# How long a finished frontier is kept (a retried task then finds it done): 7 days.
FRONTIER_RETAIN_SECONDS = 7 * 24 * 3600
# Per-domain concurrency across all workers (0: CONCURRENT_REQUESTS_PER_DOMAIN) and delay between requests.
FRONTIER_DOMAIN_CONCURRENCY = 0
FRONTIER_DOMAIN_DELAY = 0.0
