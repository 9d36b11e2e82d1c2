"""The listing mix of a marketplace: genuine, counterfeit and unrelated offers.

A :class:`Listing` is pure data (no HTML); :mod:`sandbox.web.market_pages`
places and renders it in the marketplace's own style and
:mod:`sandbox.web.ground_truth` reports it. Every random choice comes from
the ``random.Random`` passed in.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from brandhound.profile import BrandProfile, ProductSpec
from sandbox.web import names
from sandbox.web.images import TRANSFORMS, Media, MediaLibrary
from sandbox.web.money import Rates, nice_price

if TYPE_CHECKING:
    from sandbox.web.faults import Fault

LABEL_SHARES = {"genuine": 0.3, "counterfeit": 0.4, "unrelated": 0.3}

# Brands of the unrelated goods. Deliberately unlike any protected brand; the
# build checks that none of them contains the brand's names.
OTHER_BRANDS = ("Nordlys", "Fjellmark", "Lumo Home", "Havsund", "Tessera", "Korpi", "Mariposa Living")

# (product, category, lowest and highest price in EUR). Some are near misses of
# typical brand products (espresso cups, cushion covers, posters) on purpose.
GENERIC_GOODS = (
    ("Ceramic Coffee Mug 350 ml", "kitchen", 8, 25),
    ("Porcelain Espresso Cup Set (4 pcs)", "kitchen", 15, 45),
    ("Stainless Steel Water Bottle 750 ml", "kitchen", 10, 30),
    ("Linen Cushion Cover 45x45", "textiles", 12, 40),
    ("Wool Throw Blanket 130x170", "textiles", 35, 90),
    ("Mountain Lake Poster 50x70", "art", 15, 40),
    ("Vintage Rocket Poster 50x70", "art", 12, 35),
    ("Botanical Art Print 30x40", "art", 10, 35),
    ("Wireless Earbuds with Charging Case", "electronics", 20, 80),
    ("USB-C Charging Cable 2 m", "electronics", 5, 15),
    ("Soy Candle Birch and Moss", "home-decor", 9, 25),
    ("Glass Vase 20 cm", "home-decor", 15, 45),
)

# Category of a brand product, from words in its name and aliases.
CATEGORY_WORDS = (
    ("kitchen", ("cup", "mug", "glass", "plate", "bowl", "jug", "teapot", "kitchen")),
    ("textiles", ("cushion", "pillow", "blanket", "towel", "throw", "textile", "rug")),
    ("art", ("poster", "print", "art", "canvas")),
    ("electronics", ("speaker", "lamp", "charger", "headphone")),
)
DEFAULT_CATEGORY = "home-decor"

GENUINE_SELLERS = ("Nordic Living Store", "Helsinki Design Shop", "Casa Norte Interiors", "Design Corner Oy")
COUNTERFEIT_SELLERS = ("bestdeal_factory88", "LuxuryHomeWholesale", "shenzhen_homegoods_2024", "tanio-design-pl",
                       "mega.ofertas.br", "outlet_nordic_cheap", "GlobalMirrorMart")
UNRELATED_SELLERS = ("HomeGoods Direct", "Kodin Tavaratalo", "ElectroMax", "PrintHaus Berlin", "Candle & Co")
#: Share of each label's sellers who joined the marketplace recently: counterfeiters open new
#: accounts as the old ones are banned; some honest sellers are new too.
NEW_SELLER_SHARE = {"genuine": 0.3, "counterfeit": 0.8, "unrelated": 0.3}
#: Days since a new and an established seller joined (kept clear of a 90-day cut-off).
NEW_SELLER_DAYS = (3, 70)
ESTABLISHED_SELLER_DAYS = (150, 4000)
SHIPS_FROM = {
    "genuine": ("Helsinki, FI", "Tampere, FI", "Stockholm, SE", "Berlin, DE"),
    "counterfeit": ("Shenzhen, CN", "Guangzhou, CN", "Yiwu, CN", "Istanbul, TR"),
    "unrelated": ("Turku, FI", "Hamburg, DE", "Warsaw, PL", "Lisbon, PT", "Leeds, GB"),
}

# A sentence carrying counterfeit wording, per language; other languages get the bare words.
WORDING_SENTENCES = {
    "en": "{kw} - looks exactly like the original. Ships in 24 hours.",
    "es": "Producto {kw}, igual que el de la tienda. Envío rápido.",
    "pt": "Produto {kw}, envio rápido para todo o Brasil.",
    "pl": "Produkt {kw}, szybka wysyłka.",
    "fi": "Tuote: {kw}. Nopea toimitus.",
}


@dataclass
class Listing:
    """One offer on a marketplace, as a careful human would read it."""

    market: str                  # the marketplace's host
    label: str                   # genuine | counterfeit | unrelated
    title: str
    description: str
    price: float
    currency: str
    seller: str
    sku: str | None              # the SKU the page shows, if any
    product_sku: str | None      # the brand product it is or imitates
    brand_text: str | None       # the brand as the listing writes it (structured data)
    category: str
    images: list[Media]
    rating: float | None
    reviews: int
    ships_from: str
    quantity: int
    signals: list[str] = field(default_factory=list)
    seller_joined_days: int = 0  # days since the seller joined the marketplace
    id: str = ""
    structured: str = "jsonld"   # jsonld | microdata | none
    rendering: str = "static"    # static | js
    fault: Fault | None = None   # set on the bad pages (sandbox.web.faults)
    # Where the marketplace put it (set by sandbox.web.market_pages.place).
    path: str = ""
    image_paths: list[str] = field(default_factory=list)
    api_path: str | None = None

    @property
    def slug(self) -> str:
        return slugify(self.title)


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60] or "item"


def category_of(product: ProductSpec) -> str:
    words = " ".join([product.name, *product.aliases]).lower()
    for category, keys in CATEGORY_WORDS:
        if any(re.search(rf"\b{k}", words) for k in keys):
            return category
    return DEFAULT_CATEGORY


class ListingFactory:
    """Makes listings of each label for one marketplace."""

    def __init__(self, profile: BrandProfile, market: str, currencies: tuple[tuple[str, int], ...],
                 media: MediaLibrary, rates: Rates):
        self.profile = profile
        self.market = market
        self.media = media
        self.rates = rates
        self._currencies = [c for c, _ in currencies]
        self._weights = [w for _, w in currencies]
        self.brand = profile.names[0]
        self.misspellings = names.misspellings(self.brand, list(profile.misspellings))
        self.other_brands = [b for b in OTHER_BRANDS if not _resembles(b, profile)]

    # ----------------------------------------------------------------- shared

    def _currency(self, rng: random.Random) -> str:
        return rng.choices(self._currencies, self._weights)[0]

    def _price(self, amount: float, source: str, currency: str, rng: random.Random) -> float:
        """``amount`` in ``source`` currency, converted and rounded the way sellers round."""
        return nice_price(self.rates.convert(amount, source, currency), rng)

    def _rating(self, rng: random.Random, low: float, high: float, max_reviews: int) -> tuple[float | None, int]:
        reviews = rng.randrange(0, max_reviews)
        return (round(rng.uniform(low, high), 1) if reviews else None), reviews

    # ----------------------------------------------------------------- labels

    def genuine(self, rng: random.Random) -> Listing:
        product = rng.choice(self.profile.products)
        brand = rng.choice(self.profile.names)
        currency = self._currency(rng)
        suffix = rng.choice(("", "", " - new", " (unused)", " - gift boxed"))
        rating, reviews = self._rating(rng, 4.3, 5.0, 400)
        sellers = [*self.profile.allowlist.sellers, *GENUINE_SELLERS]
        images = [self.media.official(product.sku, rng.choice(("original", "resized"))),
                  self.media.official(product.sku, "cropped")]
        if rng.random() < 0.5:
            # The seller's own snapshot of the box: not an official photo at all.
            images.append(self.media.picture(f"{self.brand} {product.sku}", 0))
        return Listing(
            market=self.market, label="genuine",
            title=f"{brand} {product.name}{suffix}",
            description=(f"Original {brand} design, {product.name}. Bought from the {self.brand} store, "
                         f"comes with the receipt and the original packaging."),
            price=self._price(product.msrp.amount * rng.uniform(0.88, 1.05), product.msrp.currency, currency, rng),
            currency=currency, seller=rng.choice(sellers),
            sku=product.sku if rng.random() < 0.7 else None, product_sku=product.sku,
            brand_text=self.profile.name, category=category_of(product), images=images,
            rating=rating, reviews=reviews, ships_from=rng.choice(SHIPS_FROM["genuine"]),
            quantity=rng.randrange(1, 12),
        )

    def counterfeit(self, rng: random.Random) -> Listing:
        product = rng.choice(self.profile.products)
        signals: list[str] = []
        written, name_signal = self._written_brand(rng)
        if name_signal:
            signals.append(name_signal)
        product_text = rng.choice([product.name, product.name, *product.aliases])
        title = f"{written} {product_text}"
        description = f"Brand new {product_text}, {written} style."
        if rng.random() < 0.7:
            lang = rng.choice(sorted(self.profile.counterfeit_keywords))
            words = self.profile.counterfeit_keywords[lang]
            wording = " ".join(rng.sample(words, min(len(words), rng.choice((1, 1, 2)))))
            if rng.random() < 0.6:
                title += rng.choice((" ", " - ", " | ")) + wording
            else:
                description += " " + WORDING_SENTENCES.get(lang, "{kw}.").format(kw=wording)
            signals.append(f"counterfeit_wording:{lang}")
        low = rng.random() < 0.75 or not signals
        if low:
            signals.append("low_price")
        factor = rng.uniform(0.12, 0.4) if low else rng.uniform(0.6, 0.9)
        currency = self._currency(rng)
        kinds = rng.sample([t for t in TRANSFORMS if t != "original"], rng.choice((2, 2, 3)))
        if rng.random() < 0.3:
            kinds.insert(0, "original")
        signals += [f"transformed_image:{k}" for k in kinds if k != "original"]
        rating, reviews = self._rating(rng, 3.0, 4.9, 60)
        sku = rng.choice((product.sku, None, None, f"{rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}"))
        return Listing(
            market=self.market, label="counterfeit", title=title, description=description,
            price=self._price(product.msrp.amount * factor, product.msrp.currency, currency, rng),
            currency=currency, seller=rng.choice(COUNTERFEIT_SELLERS), sku=sku, product_sku=product.sku,
            brand_text=written if rng.random() < 0.8 else "Generic", category=category_of(product),
            images=[self.media.official(product.sku, k) for k in kinds],
            rating=rating, reviews=reviews, ships_from=rng.choice(SHIPS_FROM["counterfeit"]),
            quantity=rng.randrange(100, 1000), signals=signals,
        )

    def _written_brand(self, rng: random.Random) -> tuple[str, str | None]:
        kind = rng.choices(("misspelling", "homoglyph", "leetspeak", "exact"), (30, 15, 10, 45))[0]
        if kind == "misspelling":
            return rng.choice(self.misspellings), kind
        if kind == "homoglyph":
            return names.homoglyph_variant(self.brand, rng, rng.choice((1, 1, 2))), kind
        if kind == "leetspeak":
            return names.leet_variant(self.brand, rng), kind
        return self.brand, None

    def unrelated(self, rng: random.Random) -> Listing:
        good, category, low, high = rng.choice(GENERIC_GOODS)
        brand = rng.choice(self.other_brands) if rng.random() < 0.75 else None
        title = f"{brand} {good}" if brand else good
        currency = self._currency(rng)
        label = brand or good.split()[0]
        rating, reviews = self._rating(rng, 3.5, 5.0, 200)
        return Listing(
            market=self.market, label="unrelated", title=title,
            description=f"{good}. Quality product, carefully packed. Ask for combined shipping.",
            price=self._price(rng.uniform(low, high), "EUR", currency, rng), currency=currency,
            seller=rng.choice(UNRELATED_SELLERS), sku=f"SKU-{rng.randrange(10000, 99999)}" if rng.random() < 0.5 else None,
            product_sku=None, brand_text=brand, category=category,
            images=[self.media.picture(label, rng.randrange(3)) for _ in range(rng.choice((1, 2, 3)))],
            rating=rating, reviews=reviews, ships_from=rng.choice(SHIPS_FROM["unrelated"]),
            quantity=rng.randrange(1, 50),
        )

    def make(self, label: str, rng: random.Random) -> Listing:
        listing = {"genuine": self.genuine, "counterfeit": self.counterfeit, "unrelated": self.unrelated}[label](rng)
        listing.seller_joined_days = self.seller_joined_days(listing.seller, label)
        return listing

    def seller_joined_days(self, seller: str, label: str) -> int:
        """Days since ``seller`` joined this marketplace: one value per seller and marketplace, drawn from
        its own generator so that the listings' random stream stays what it was."""
        rng = random.Random(f"{self.market}:seller:{seller}")
        new = rng.random() < NEW_SELLER_SHARE[label]
        return rng.randint(*(NEW_SELLER_DAYS if new else ESTABLISHED_SELLER_DAYS))


def _resembles(other: str, profile: BrandProfile) -> bool:
    low = other.casefold()
    return any(n.casefold() in low or low in n.casefold() for n in [*profile.names, *profile.misspellings])


def label_plan(count: int, rng: random.Random) -> list[str]:
    """``count`` labels in the LABEL_SHARES proportions, shuffled."""
    genuine = round(count * LABEL_SHARES["genuine"])
    counterfeit = round(count * LABEL_SHARES["counterfeit"])
    labels = ["genuine"] * genuine + ["counterfeit"] * counterfeit + ["unrelated"] * (count - genuine - counterfeit)
    rng.shuffle(labels)
    return labels


def assign_ids(listings: list[Listing], base: int, rng: random.Random) -> None:
    """Increasing ids with gaps, like a live site where other listings were deleted."""
    current = base
    for listing in listings:
        current += rng.randrange(1, 12)
        listing.id = str(current)


def check_wording(listings: list[Listing], profile: BrandProfile) -> None:
    """Refuse a build whose non-counterfeit listings accidentally carry counterfeit wording."""
    words = [w.casefold() for ws in profile.counterfeit_keywords.values() for w in ws]
    for listing in listings:
        if listing.label == "counterfeit":
            continue
        text = f" {listing.title} {listing.description} ".casefold()
        hits = [w for w in words if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text)]
        if hits:
            raise AssertionError(f"{listing.label} listing {listing.title!r} contains counterfeit wording {hits}")
