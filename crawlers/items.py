"""What spiders yield: one :class:`Capture` per fetched page.

A capture carries the documents to index (the page, and the listing or site
it shows) together with the raw evidence bytes that the pipelines hash and
store. The bytes never reach Elasticsearch; their SHA-256 and stored path do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from brandhound.items import Finding, Leak, Listing, Page, Site


@dataclass
class Capture:
    page: Page
    body: bytes | None = None
    #: False for leak dumps: their hash is kept, their clear text never stored.
    keep_body: bool = True
    screenshot: bytes | None = None
    listing: Listing | None = None
    site: Site | None = None
    #: Text of a dump for the leak detectors; never indexed or stored as is.
    dump_text: str | None = None
    findings: list[Finding] = field(default_factory=list)
    #: Leak documents the leak detector found in ``dump_text`` (masked and hashed), for indexing.
    leaks: list[Leak] = field(default_factory=list)
