"""What the onion spiders share: Tor-appropriate politeness, and walking a site's own sections.

Onion services answer in seconds, not milliseconds, fail more often (a circuit
breaks, an introduction point goes away), and a hidden market notices a
crawler sooner than a big marketplace. So: long timeouts, more retries, two
requests per site at a time, and AutoThrottle starting slow. Every request
stays on the seed's onion host: an onion site links to clearnet mirrors and
to other onions, and following those would mix sites and circuits.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import urlsplit

from scrapy.http import Response

#: Scrapy settings for crawls over Tor (a spider's ``custom_settings``).
TOR_CRAWL_SETTINGS: dict[str, Any] = {
    "DOWNLOAD_TIMEOUT": 90,
    "RETRY_TIMES": 6,
    # An onion service whose introduction point died needs a minute or two to publish new ones:
    # six retries wait 1-2, 2-4, ... 32-64 s, about two minutes in all.
    "BRANDHOUND_RETRY_BACKOFF_S": 2.0,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
    "AUTOTHROTTLE_START_DELAY": 2.0,
    "AUTOTHROTTLE_MAX_DELAY": 60.0,
    "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
}


def same_onion(url: str, other: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host.endswith(".onion") and host == (urlsplit(other).hostname or "").lower()


class OnionSectionsMixin:
    """Follows a site's section links (categories, boards) on the same onion host."""

    #: Paths of a site's sections: what leads to lists of listings or threads.
    section_pattern: ClassVar[re.Pattern]
    max_sections: int = 200

    def section_links(self, response: Response) -> list[str]:
        links: list[str] = []
        for href in response.xpath("//a/@href").getall():
            url = response.urljoin(href).split("#", 1)[0]
            if same_onion(url, response.url) and self.section_pattern.search(urlsplit(url).path):
                links.append(url)
        return list(dict.fromkeys(links))[: self.max_sections]
