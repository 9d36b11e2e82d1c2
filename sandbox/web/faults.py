"""Bad pages on purpose: listings that are broken, lie about their encoding,
loop, never finish, are huge, show a corrupt image or a decompression bomb,
or answer 404, 500 or 429.

Each fault is made from an ordinary listing (so it appears in search and
category results like any other) and then served or mangled in its own way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sandbox.web.catalog import Listing
from sandbox.web.images import MediaLibrary
from sandbox.web.output import HTML, Output

HUGE_PAGE_BYTES = 5 * 1024 * 1024
THROTTLED_REQUESTS = 2  # 429s before the page is served
RETRY_AFTER_S = 1
IMAGE_FAULTS = ("corrupt_image", "decompression_bomb")  # faults carried by the listing's image
HEADER_LIES = "header_says_utf8_bytes_cp1252"
META_LIES = "meta_says_latin1_bytes_utf8"


@dataclass(frozen=True)
class Fault:
    kind: str
    variant: str | None
    expect: str            # extract | refuse | fail | retry_then_extract
    label: str             # label of the listing it is made from
    extractable: bool      # a listing can still be read from it (the ground truth then has its fields)
    market: int            # index of the marketplace that shows it (modulo their number)


FAULTS = (
    Fault("broken_html", None, "extract", "counterfeit", True, 0),
    Fault("wrong_encoding", HEADER_LIES, "extract", "genuine", True, 0),
    Fault("wrong_encoding", META_LIES, "extract", "genuine", True, 1),
    Fault("redirect_loop", None, "fail", "counterfeit", False, 0),
    # Over the crawler's 4 MiB page cap (DOWNLOAD_MAXSIZE): no listing is that big, so it is refused.
    Fault("huge_page", None, "refuse", "genuine", True, 0),
    Fault("never_finishes", None, "fail", "counterfeit", False, 0),
    Fault("corrupt_image", None, "extract", "counterfeit", True, 1),
    # The page is fine; its image must be refused before it is decoded.
    Fault("decompression_bomb", None, "refuse", "counterfeit", True, 0),
    Fault("http_404", None, "fail", "counterfeit", False, 1),
    Fault("http_500", None, "fail", "genuine", False, 0),
    Fault("http_429", None, "retry_then_extract", "genuine", True, 0),
)

# Characters a cp1252 decoder reads right and a UTF-8 decoder does not.
ENCODING_SUFFIX = " – Édition spéciale"


def prepare(listing: Listing, fault: Fault, media: MediaLibrary) -> None:
    """Turn an ordinary listing into the carrier of ``fault`` (before it is placed and rendered)."""
    listing.fault = fault
    # Faulty listings are plain server-rendered pages whatever the market usually does.
    listing.rendering = "static"
    if fault.kind == "wrong_encoding":
        listing.title += ENCODING_SUFFIX
    elif fault.kind in IMAGE_FAULTS:
        listing.images = [media.corrupt() if fault.kind == "corrupt_image" else media.bomb()]
        # The official photos it would have shown are gone, and so is that evidence.
        listing.signals = [s for s in listing.signals if not s.startswith("transformed_image:")]


def break_html(html: str) -> str:
    """Unclosed paragraphs and list items, stray closing divs, an unclosed <b>, no </body></html>.

    The title, price and structured data survive, as they do on real broken pages."""
    html = re.sub(r"</(p|li)>", "", html)
    html = html.replace("<main>", "<main></div></div>", 1)
    html = html.replace("</main>", '<div class="promo"><b>Hot deal!<div>Only today</main></div></div>', 1)
    return html.replace("</body>", "").replace("</html>", "")


def pad_to(html: str, size: int) -> str:
    """``html`` grown to ``size`` bytes by a very long run of (identical) reviews."""
    review = '<div class="review"><p>Great product, arrived quickly and well packed. Recommended!</p></div>\n'
    missing = max(0, size - len(html.encode()))
    block = review * (missing // len(review) + 1)
    return html.replace("</main>", block + "</main>", 1)


def write(out: Output, host: str, listing: Listing, html: str) -> None:
    """Serve the faulty listing at ``listing.path`` the way its fault says."""
    assert listing.fault is not None
    path, kind, variant = listing.path, listing.fault.kind, listing.fault.variant
    if kind == "broken_html":
        out.page(host, path, break_html(html))
    elif kind == "wrong_encoding" and variant == HEADER_LIES:
        # The header (and the meta tag) promise UTF-8; the bytes are Windows-1252.
        out.page(host, path, html.encode("cp1252", errors="replace"), content_type=HTML)
    elif kind == "wrong_encoding":
        # No charset in the header; the meta tag claims Latin-1 but the bytes are UTF-8.
        out.page(host, path, html.replace('<meta charset="utf-8">', '<meta charset="iso-8859-1">'),
                 content_type="text/html")
    elif kind == "redirect_loop":
        # The classic trailing-slash misconfiguration: each form redirects to the other.
        out.redirect(host, path, path + "/", 301)
        out.redirect(host, path + "/", path, 301)
    elif kind == "huge_page":
        out.page(host, path, pad_to(html, HUGE_PAGE_BYTES))
    elif kind == "never_finishes":
        out.hang(host, path, html[:200])
    elif kind == "http_404":
        pass  # nothing at that path: the server answers 404
    elif kind == "http_500":
        out.page(host, path, "<!doctype html><title>Internal Server Error</title><h1>500</h1>"
                 "<p>Something went wrong. Please try again later.</p>", status=500)
    elif kind == "http_429":
        out.page(host, path, html, throttle=THROTTLED_REQUESTS, retry_after=RETRY_AFTER_S)
    else:
        out.page(host, path, html)
