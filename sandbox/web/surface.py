"""The surface web around the brand: its official sites, look-alike fake
stores and phishing pages, and legitimate sites that merely mention it.

Fake stores copy the official storefront's template, logo and favicon (as
their real counterparts do with a scraper); their checkout and login forms
post to a collector on another domain. Some are built entirely by
JavaScript from an obfuscated payload, so only a browser sees their forms.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from brandhound.profile import BrandProfile
from sandbox.web import names
from sandbox.web.catalog import slugify
from sandbox.web.images import MediaLibrary
from sandbox.web.money import Rates, format_en, nice_price
from sandbox.web.output import Output
from sandbox.web.render import render

# Where fake stores and phishing pages send what visitors type: (host, path).
COLLECTORS = {"store": ("pay-secure-gateway.top", "/checkout/submit.php"),
              "phishing": ("login-verify-center.xyz", "/gate.php")}
# A news site that is not on the allowlist but must not be flagged either.
NEWS_SITE = "nordicdaily-news.com"
# What each allowlisted domain is made to be, in turn.
LEGIT_ROLES = ("magazine", "review", "reseller")

LOGIN_FIELDS = ({"name": "email", "type": "email", "label": "E-mail"},
                {"name": "password", "type": "password", "label": "Password"})
CARD_FIELDS = ({"name": "card_number", "type": "text", "label": "Card number"},
               {"name": "card_expiry", "type": "text", "label": "Expiry date (MM/YY)"},
               {"name": "card_cvv", "type": "password", "label": "Security code (CVV)"},
               {"name": "card_name", "type": "text", "label": "Name on card"})


@dataclass
class Site:
    host: str                       # as on the wire (punycode for IDNs)
    label: str                      # official | fake_store | phishing | legit
    role: str                       # official, store, phishing, magazine, review, reseller, news
    permutation: str | None = None
    technique: str | None = None
    rendering: str = "static"
    uses_official_logo: bool = False
    form_actions: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)

    @property
    def root(self) -> str:
        return f"https://{self.host}/"

    def url(self, path: str) -> str:
        return f"https://{self.host}{path}"


def plan_sites(profile: BrandProfile) -> list[Site]:
    official = [Site(names.to_ascii_host(d), "official", "official", uses_official_logo=True)
                for d in profile.official_domains]
    taken = {*profile.official_domains, *profile.allowlist.domains}
    fakes = []
    for i, domain in enumerate(names.lookalike_domains(profile.official_domains[0], taken)):
        fakes.append(Site(
            domain.host, "phishing" if domain.purpose == "phishing" else "fake_store", domain.purpose,
            domain.permutation, domain.technique,
            # Every fourth is a JavaScript-only build; every fifth recolours the logo.
            rendering="js" if i % 4 == 2 else "static", uses_official_logo=i % 5 != 4,
        ))
    # Press, reviewers and resellers show the official logo and photos legitimately.
    legit = [Site(names.to_ascii_host(d), "legit", LEGIT_ROLES[i % len(LEGIT_ROLES)], uses_official_logo=True)
             for i, d in enumerate(profile.allowlist.domains)]
    legit.append(Site(NEWS_SITE, "legit", "news", uses_official_logo=True))
    return official + fakes + legit


def collector_url(purpose: str) -> str:
    host, path = COLLECTORS[purpose]
    return f"https://{host}{path}"


class SiteWriter:
    """Writes every planned site, sharing the storefront pieces between the official and fake ones."""

    def __init__(self, out: Output, profile: BrandProfile, media: MediaLibrary, rates: Rates, seed: int):
        self.out = out
        self.profile = profile
        self.media = media
        self.rates = rates
        self.rng = random.Random(f"{seed}:sites")

    # ----------------------------------------------------------------- pieces

    def _assets(self, site: Site, image_kind: str) -> dict[str, str]:
        """Logo, favicon and product photos for ``site``; returns product slug -> image path."""
        logo = self.media.logo(recoloured=not site.uses_official_logo)
        self.out.media(site.host, "/static/logo.png", logo)
        self.out.media(site.host, "/favicon.ico", self.media.favicon())
        images = {}
        for p in self.profile.products:
            path = f"/static/products/{slugify(p.name)}.jpg"
            self.out.media(site.host, path, self.media.official(p.sku, image_kind))
            images[p.sku] = path
        return images

    def _products(self, images: dict[str, str], discount: tuple[float, float] | None = None) -> list[dict[str, Any]]:
        """The brand's products at list price, or at a random ``discount`` factor (fake stores)."""
        out = []
        for p in self.profile.products:
            price = nice_price(p.msrp.amount * self.rng.uniform(*discount), self.rng) if discount else p.msrp.amount
            out.append({"name": p.name, "sku": p.sku, "slug": slugify(p.name), "image": images[p.sku],
                        "url": f"/products/{slugify(p.name)}", "price": price, "currency": p.msrp.currency,
                        "price_text": format_en(price, p.msrp.currency)})
        return out

    def _context(self, site: Site, products: list[dict], banner: str | None) -> dict[str, Any]:
        rh = self.profile.rights_holder
        return {"brand": self.profile.name, "legal_name": rh.legal_name, "address": rh.address,
                "host": site.host, "banner": banner, "products": products, "official": site.label == "official"}

    def _form(self, site: Site, title: str, action: str, fields: tuple[dict, ...], submit: str) -> dict[str, Any]:
        absolute = action if action.startswith("https://") else site.url(action)
        if absolute not in site.form_actions:
            site.form_actions.append(absolute)
        return {"title": title, "action": action, "fields": list(fields), "submit": submit}

    def _page(self, site: Site, path: str, html: str, on_post: str | None = None) -> None:
        self.out.page(site.host, path, html, on_post=on_post)
        site.pages.append(path)

    # ----------------------------------------------------------------- kinds

    def official(self, site: Site, index: int) -> None:
        products = self._products(self._assets(site, "original"))
        ctx = self._context(site, products, None)
        # The first domain has the account login, the others the web shop's checkout.
        if index == 0:
            form = self._form(site, "Sign in to your account", "/login", LOGIN_FIELDS, "Sign in")
            form_path = "/login"
        else:
            form = self._form(site, "Checkout", "/checkout", CARD_FIELDS, "Pay now")
            form_path = "/checkout"
        self._storefront(site, ctx, form_path, form,
                         on_post=render("store/form_page.html", **ctx, form=form,
                                        error="The details you entered are not valid. Please try again."))

    def fake_store(self, site: Site) -> None:
        kind = self.rng.choice(("resized", "cropped", "recompressed"))
        products = self._products(self._assets(site, kind), (0.2, 0.45))
        ctx = self._context(site, products, "OUTLET CLEARANCE: everything -70% today only, free shipping")
        form = self._form(site, "Secure checkout", collector_url("store"), (*LOGIN_FIELDS[:1], *CARD_FIELDS),
                          "Complete order")
        if site.rendering == "js":
            self._js_shell(site, ctx, form)
        else:
            self._storefront(site, ctx, "/checkout", form)

    def phishing(self, site: Site) -> None:
        self._assets(site, "resized")
        ctx = self._context(site, [], None)
        login = self._form(site, f"Sign in to your {self.profile.name} account", collector_url("phishing"),
                           LOGIN_FIELDS, "Sign in")
        if site.rendering == "js":
            self._js_shell(site, ctx, login)
            return
        self._page(site, "/", render("store/form_page.html", **ctx, form=login,
                                     error="Unusual activity was detected. Please verify your account.", nav=False))
        verify = self._form(site, "Verify your payment method", collector_url("phishing"), CARD_FIELDS, "Verify")
        self._page(site, "/verify", render("store/form_page.html", **ctx, form=verify, error=None, nav=False))

    def _storefront(self, site: Site, ctx: dict, form_path: str, form: dict, on_post: str | None = None) -> None:
        # The header links to where the form really is, as a working shop's would.
        ctx = ctx | {"form_path": form_path, "form_link": "Account" if form_path == "/login" else "Checkout"}
        self._page(site, "/", render("store/home.html", **ctx))
        for product in ctx["products"]:
            self._page(site, product["url"], render("store/product.html", **ctx, product=product))
        self._page(site, form_path, render("store/form_page.html", **ctx, form=form, error=None), on_post=on_post)

    def _js_shell(self, site: Site, ctx: dict, form: dict) -> None:
        payload = {"brand": ctx["brand"], "legal_name": ctx["legal_name"], "logo": "/static/logo.png",
                   "banner": ctx["banner"], "products": ctx["products"], "form": form}
        self._page(site, "/", render("store/js_shell.html", payload=payload))

    def legit(self, site: Site) -> None:
        # Press and reviewers show the official photos as they are; so does the authorised reseller.
        images = self._assets(site, "original")
        products = self._products(images)
        ctx = self._context(site, products, None) | {"role": site.role}
        self._page(site, "/", render(f"legit/{'reseller' if site.role == 'reseller' else 'article'}.html", **ctx))

    def write(self, sites: list[Site]) -> None:
        for i, site in enumerate(s for s in sites if s.label == "official"):
            self.official(site, i)
        for site in sites:
            if site.label == "fake_store":
                self.fake_store(site)
            elif site.label == "phishing":
                self.phishing(site)
            elif site.label == "legit":
                self.legit(site)
        home = sites[0].root
        for host, path in COLLECTORS.values():
            # A phishing kit's collector takes what was typed and sends the victim to the real site.
            self.out.sink(host, path, home)
