"""Stop redirect loops at the first repeat, and say so.

Without this, a loop A -> B -> A ends silently: Scrapy's duplicate filter
drops the second request for A at debug level. Here a redirect whose target
the chain has already visited fails the request with IgnoreRequest, which
reaches the spider's errback and its log line.
"""

from __future__ import annotations

from urllib.parse import urljoin

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from w3lib.url import safe_url_string


class RedirectLoop(IgnoreRequest):
    """A redirect points back into its own chain."""


class RedirectLoopMiddleware:
    def process_response(self, request: Request, response: Response) -> Response:
        location = response.headers.get(b"Location")
        if response.status not in (301, 302, 303, 307, 308) or not location:
            return response
        target = safe_url_string(urljoin(request.url, location.decode("latin-1")))
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if target in chain:
            raise RedirectLoop(f"redirect loop: {' -> '.join(chain + [target])[:500]}")
        return response
