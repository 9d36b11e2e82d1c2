"""Score a marketplace listing as a counterfeit of the brand, with the reasons.

A listing is only considered when it is tied to the brand: it names the brand (exactly or
disguised) or shows one of its official photos. Then each signal adds to the score
(``detectors.scoring``):

- ``disguised_brand_name``: the brand written with homoglyphs, digits for letters, or
  misspelt: sellers do that to slip past exact-match filters, genuine sellers never do;
- ``counterfeit_wording``: the profile's counterfeit words in any of its languages
  ("replica", "1:1", "réplica", "podróbka", ...), matched as whole words;
- ``price_ratio``: the price against the product's MSRP in one currency (the profile's
  exchange rates); under ``PRICE_FLOOR`` a genuine item is implausible;
- ``official_image``: a listing photo matches an official photo (weak alone, authorised
  resellers use them too; mirrored copies count more);
- seller context: few ratings, large quantities, a seller who joined the marketplace less
  than the profile's ``new_seller_days`` (default 90) before the capture (``new_seller``),
  and, when the profile lists ``expected_ships_from``, an item shipping from elsewhere
  (``unexpected_origin``, context for the analyst: too weak to flag anything alone).

An allowlisted seller is never flagged. The product is recognised from its name, aliases or
SKU over the whole catalogue at once (rapidfuzz ``process.extractOne``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from rapidfuzz import fuzz, process

from brandhound.items import Finding, Listing, Subject
from brandhound.profile import BrandProfile, ProductSpec
from brandhound.values import verdict
from detectors.brand_mentions import BrandMatcher, fold
from detectors.official_images import OfficialImages
from detectors.scoring import Evidence, combine, explain

KIND = "counterfeit_listing"
#: Below this share of the MSRP a genuine item is implausible.
PRICE_FLOOR = 0.35
#: Below this share the price is a signal; between the floor and this it grows linearly.
PRICE_SUSPICIOUS = 0.65

WEIGHTS = {
    "disguised_brand_name": 0.8,
    "counterfeit_wording": 0.8,
    "price_ratio": 0.8,
    "official_image": 0.15,
    "mirrored_official_image": 0.3,
    "few_seller_ratings": 0.1,
    "bulk_quantity": 0.15,
    "new_seller": 0.2,
    "unexpected_origin": 0.05,
}


def listing_text(listing: Listing) -> str:
    """The text of a listing that names what it sells: title, claimed brand and product, description."""
    return "\n".join(t for t in (listing.title, listing.product.brand, listing.product.name, listing.description) if t)


@dataclass(frozen=True)
class ListingScore:
    score: float
    finding: Finding | None


class ListingScorer:
    def __init__(self, profile: BrandProfile, images: OfficialImages | None = None):
        self.profile = profile
        self.matcher = BrandMatcher.from_profile(profile)
        self.images = images
        self.canonical = {self._plain(n) for n in profile.names}
        self.allowed_sellers = {s.casefold() for s in profile.allowlist.sellers}
        self.origins = [o.casefold() for o in profile.expected_ships_from]
        self.keywords = [(lang, kw, self._keyword_re(kw)) for lang, kws in profile.counterfeit_keywords.items() for kw in kws]
        self.product_terms: list[str] = []
        self.product_of_term: list[ProductSpec] = []
        for product in profile.products:
            for term in (product.name, *product.aliases, product.sku):
                self.product_terms.append(fold(term))
                self.product_of_term.append(product)

    @staticmethod
    def _plain(text: str) -> str:
        return " ".join(text.casefold().split())

    @staticmethod
    def _keyword_re(keyword: str) -> re.Pattern:
        # Whole words only ("tipo" must not match "prototipo"); ":" and digits make their own edges.
        return re.compile(r"(?<![\w])" + re.escape(keyword.casefold()) + r"(?![\w])")

    # ----------------------------------------------------------------- pieces

    def product_for(self, listing: Listing) -> ProductSpec | None:
        text = fold(" ".join(t for t in (listing.title, listing.product.name, listing.product.sku) if t))
        if not text:
            return None
        best = process.extractOne(text, self.product_terms, scorer=fuzz.partial_ratio, score_cutoff=85)
        return self.product_of_term[best[2]] if best else None

    def to_currency(self, amount: float, currency: str, target: str) -> float | None:
        if currency == target:
            return amount
        rates = self.profile.exchange_rates
        if rates is None:
            return None
        per_base = {rates.base: 1.0, **rates.rates}
        if currency not in per_base or target not in per_base:
            return None
        return amount / per_base[currency] * per_base[target]

    def _brand_evidence(self, text: str) -> tuple[bool, list[Evidence]]:
        mentions = [m for m in self.matcher.mentions(text) if m.kind == "brand"]
        if not mentions:
            return False, []
        disguised = [m for m in mentions if self._plain(m.found) not in self.canonical]
        exact = [m for m in mentions if self._plain(m.found) in self.canonical]
        if exact or not disguised:
            # The real name is there too: a disguise next to it is a typo at most.
            return True, []
        m = disguised[0]
        how = ("homoglyphs" if any(ord(c) > 127 for c in m.found) else
               "digits for letters" if any(c.isdigit() for c in m.found) else "misspelt")
        return True, [Evidence("disguised_brand_name", m.found, WEIGHTS["disguised_brand_name"],
                               evidence=f"'{m.found}' reads as '{m.term}' ({how}, similarity {m.score:.0f})")]

    def _wording_evidence(self, text: str) -> list[Evidence]:
        low = text.casefold()
        found = [(lang, kw) for lang, kw, pattern in self.keywords if pattern.search(low)]
        if not found:
            return []
        words = ", ".join(f"'{kw}' ({lang})" for lang, kw in dict.fromkeys(found))
        return [Evidence("counterfeit_wording", words, WEIGHTS["counterfeit_wording"],
                         evidence=f"counterfeit wording in the title or description: {words}")]

    def _price_evidence(self, listing: Listing, product: ProductSpec | None) -> list[Evidence]:
        amount, currency = listing.price.amount, listing.price.currency
        if product is None or amount is None or not currency:
            return []
        converted = self.to_currency(amount, currency, product.msrp.currency)
        if converted is None:
            return []
        ratio = converted / product.msrp.amount
        if ratio >= PRICE_SUSPICIOUS:
            return []
        strength = 1.0 if ratio <= PRICE_FLOOR else (PRICE_SUSPICIOUS - ratio) / (PRICE_SUSPICIOUS - PRICE_FLOOR)
        below = "below the floor for a genuine item" if ratio <= PRICE_FLOOR else "well under the MSRP"
        return [Evidence("price_ratio", f"{ratio:.2f}", WEIGHTS["price_ratio"], strength,
                         f"{amount:g} {currency} is {ratio:.0%} of the {product.name} MSRP "
                         f"{product.msrp.amount:g} {product.msrp.currency} ({below})")]

    def _image_evidence(self, listing: Listing) -> list[Evidence]:
        if self.images is None:
            return []
        matches = [(img.url, m) for img in listing.images if (m := self.images.match(img.phash)) is not None]
        if not matches:
            return []
        # A stage-1 (hash) match always has its distance; ``or 0`` only tells mypy so.
        url, m = min(matches, key=lambda um: um[1].distance or 0)
        name = "mirrored_official_image" if m.mirrored else "official_image"
        how = "a mirror image of" if m.mirrored else "the same photo as"
        return [Evidence(name, m.official, WEIGHTS[name],
                         evidence=f"{url} is {how} the official {m.official} (pHash distance {m.distance}/64)")]

    def _new_seller_evidence(self, listing: Listing, now: datetime) -> list[Evidence]:
        joined = listing.seller.joined
        if joined is None:
            return []
        joined = joined.replace(tzinfo=timezone.utc) if joined.tzinfo is None else joined
        days = max(0, (now - joined).days)
        limit = self.profile.new_seller_days
        if days >= limit:
            return []
        # A seller a few days old is a stronger sign than one nearing the limit.
        strength = 1.0 if days < limit / 2 else 0.6
        return [Evidence("new_seller", f"{days} days", WEIGHTS["new_seller"], strength,
                         evidence=f"the seller joined the marketplace {joined:%Y-%m-%d}, {days} days before the "
                                  f"capture (new under {limit} days)")]

    def _origin_evidence(self, listing: Listing) -> list[Evidence]:
        origin = listing.seller.ships_from
        if not self.origins or not origin:
            return []
        # Country codes as written (capitals: "Ciudad de México" is not DE), names anywhere.
        codes = {c.casefold() for c in re.findall(r"\b[A-Z]{2}\b", origin)}
        if any(o in codes if len(o) == 2 else o in origin.casefold() for o in self.origins):
            return []
        expected = ", ".join(self.profile.expected_ships_from)
        return [Evidence("unexpected_origin", origin, WEIGHTS["unexpected_origin"],
                         evidence=f"ships from {origin}, not from where the brand's goods ship ({expected})")]

    def _seller_evidence(self, listing: Listing, now: datetime) -> list[Evidence]:
        out: list[Evidence] = self._new_seller_evidence(listing, now) + self._origin_evidence(listing)
        count = listing.seller.ratings_count
        if count is not None and count < 5:
            out.append(Evidence("few_seller_ratings", str(count), WEIGHTS["few_seller_ratings"],
                                evidence=f"the seller has {count} ratings"))
        if listing.quantity is not None and listing.quantity >= 50:
            out.append(Evidence("bulk_quantity", str(listing.quantity), WEIGHTS["bulk_quantity"],
                                evidence=f"{listing.quantity} items in stock"))
        return out

    # ----------------------------------------------------------------- the verdict

    def score(self, listing: Listing, listing_id: str | None = None, now: datetime | None = None) -> ListingScore:
        """The score and finding of ``listing``; seller ages count from ``now``, else from its capture time."""
        now = now or listing.crawl.fetched_at or datetime.now(timezone.utc)
        now = now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now
        text = listing_text(listing)
        tied, evidence = self._brand_evidence(text)
        images = self._image_evidence(listing)
        if not tied and not images:
            return ListingScore(0.0, None)  # not about the brand
        seller = (listing.seller.name or "").casefold()
        threshold = self.profile.threshold
        if seller and seller in self.allowed_sellers:
            score, signals = 0.0, combine([Evidence("allowlisted_seller", listing.seller.name or "", 0.0,
                                                    evidence="the brand profile allowlists this seller")])[1]
        else:
            product = self.product_for(listing)
            evidence += self._wording_evidence(text) + self._price_evidence(listing, product) + images
            evidence += self._seller_evidence(listing, now)
            score, signals = combine(evidence)
        finding = Finding(
            event=listing.event, brand=listing.brand, kind=KIND, score=score, threshold=threshold,
            verdict=verdict(score, threshold), signals=signals,
            explanation=explain(KIND, score, threshold, signals),
            subject=Subject(index=Listing.INDEX, id=listing_id or listing.doc_id(), url=listing.url.full),
            url=listing.url, crawl=listing.crawl,
        )
        return ListingScore(score, finding)


class CounterfeitListingDetector:
    """The Scrapy hook (``BRANDHOUND_DETECTORS``): a finding for every listing tied to the brand."""

    def __init__(self, crawler=None):
        self.crawler = crawler
        self._scorer: ListingScorer | None = None

    @classmethod
    def from_crawler(cls, crawler) -> CounterfeitListingDetector:
        return cls(crawler)

    def scorer(self) -> ListingScorer:
        if self._scorer is None:
            profile = self.crawler.spider.profile
            self._scorer = ListingScorer(profile, OfficialImages.from_profile(profile))
        return self._scorer

    def detect(self, capture) -> list[Finding]:
        if capture.listing is None:
            return []
        result = self.scorer().score(capture.listing)
        return [result.finding] if result.finding is not None else []
