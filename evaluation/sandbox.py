"""Score the detectors against the sandbox's ground truth: precision, recall and F1 per kind.

The sandbox is built in memory-free fashion into a directory and its pages are answered
through its route table (no sockets, no crawl), so an evaluation takes seconds and measures
the detectors alone, not extraction or fetching (the crawl tests measure those).
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

from brandhound.values import LEAK_FINDING_KINDS
from brandhound.image_fingerprint import ImageRefused, fingerprint
from brandhound.items import Crawl, Image, Listing, Price, Product, Seller, Url
from brandhound.profile import BrandProfile, load_profile
from evaluation.corpus import EXAMPLE_BRAND
from evaluation.metrics import Metrics, Result
from sandbox.web import build as build_sandbox
from sandbox.web.routes import HostTable, Request


class SandboxBuild:
    """A built sandbox web: its ground truth, and its pages answered without a server."""

    def __init__(self, build_dir: Path):
        self.dir = Path(build_dir)
        self.truth = json.loads((self.dir / "ground_truth.json").read_text(encoding="utf-8"))
        self.table = HostTable(self.dir)
        self._phash: dict[str, str | None] = {}

    def body(self, url: str) -> bytes:
        parts = urlsplit(url)
        return self.table.respond(Request("GET", parts.hostname or "", parts.path or "/", parts.query,
                                          scheme=parts.scheme)).body

    def phash(self, url: str) -> str | None:
        if url not in self._phash:
            try:
                self._phash[url] = fingerprint(self.body(url)).phash
            except ImageRefused:
                self._phash[url] = None
        return self._phash[url]

    def listings(self, now: datetime | None = None) -> list[tuple[dict, Listing]]:
        """Every labelled listing as the crawler would have extracted it at ``now`` (the crawl tests
        check that it does), with the pHashes of its photos and its seller's context."""
        now = now or datetime.now(timezone.utc)
        out = []
        for p in self.truth["pages"]:
            if p["kind"] != "listing":
                continue
            seller = Seller(name=p["seller"], ships_from=p.get("ships_from"), ratings_count=p.get("seller_ratings"),
                            joined=now - timedelta(days=p["seller_joined_days"]) if "seller_joined_days" in p else None)
            out.append((p, Listing(
                url=Url(full=p["url"]), title=p["title"], description=p["description"],
                price=Price(amount=p["price"], currency=p["currency"]),
                product=Product(brand=p.get("brand_text"), sku=p.get("sku")), seller=seller,
                quantity=p.get("quantity"), crawl=Crawl(fetched_at=now),
                images=[Image(url=u, phash=self.phash(u)) for u in p["images"]])))
        return out


def evaluate_listings(profile: BrandProfile, build: SandboxBuild) -> Metrics:
    from detectors.counterfeit_listing import ListingScorer
    from detectors.official_images import OfficialImages

    scorer = ListingScorer(profile, OfficialImages.from_profile(profile))
    tp = fp = fn = 0
    for truth, listing in build.listings():
        finding = scorer.score(listing).finding
        flagged = finding is not None and finding.verdict == "flagged"
        counterfeit = truth["label"] == "counterfeit"
        tp += flagged and counterfeit
        fp += flagged and not counterfeit
        fn += counterfeit and not flagged
    return Metrics.of("counterfeit_listing", tp, fp, fn)


def evaluate_domains(profile: BrandProfile, build: SandboxBuild) -> Metrics:
    """Look-alike domain scores of every sandbox site: fake stores and phishing sites flagged,
    the official site and legitimate ones (resellers, reviews, news) not."""
    from detectors.domain_similarity import DomainScorer

    scorer = DomainScorer.from_profile(profile)
    tp = fp = fn = 0
    for site in (p for p in build.truth["pages"] if p["kind"] == "site"):
        flagged = scorer.score(site["domain"]).verdict(profile.threshold) == "flagged"
        bad = site["label"] in ("fake_store", "phishing")
        tp += flagged and bad
        fp += flagged and not bad
        fn += bad and not flagged
    return Metrics.of("lookalike_domain", tp, fp, fn)


def evaluate_sites(profile: BrandProfile, build: SandboxBuild) -> list[Metrics]:
    """The site detector on every labelled sandbox site, its pages as the surface spider captures them
    (JavaScript-only ones as rendered) with RDAP facts from the sandbox registry: a site's verdict is
    its highest-scoring page's; a fake store flagged as phishing counts as a miss of one and a false
    alarm of the other. Pages are compared with the official pages' HTML and carry the certificate
    dates the sandbox serves. Official and legitimate sites must stay clear."""
    from detectors.official_images import OfficialImages
    from detectors.site_detector import FAKE_STORE, PHISHING, SiteScorer
    from evaluation.sandbox_sites import sandbox_official_references, sandbox_rdap_client, score_sandbox_sites

    scorer = SiteScorer.from_profile(profile, OfficialImages.from_profile(profile), sandbox_official_references(build))
    results = score_sandbox_sites(scorer, build, sandbox_rdap_client(build))
    metrics = []
    for kind in (FAKE_STORE, PHISHING):
        tp = sum(r.predicted == kind and r.truth["label"] == kind for r in results)
        fp = sum(r.predicted == kind and r.truth["label"] != kind for r in results)
        fn = sum(r.predicted != kind and r.truth["label"] == kind for r in results)
        metrics.append(Metrics.of(kind, tp, fp, fn))
    return metrics


LEAK_KINDS = LEAK_FINDING_KINDS


def evaluate_leaks(profile: BrandProfile, build: SandboxBuild) -> list[Metrics]:
    """The leak detector on every labelled paste: a flagged finding must be a labelled corporate
    credential, brand card or secret (matched by account and keyed hash), and all of them found."""
    import secrets as random

    from brandhound.config import HmacKey
    from brandhound.items import Page
    from crawlers.items import Capture
    from detectors.leak_detector import LeakDetector
    from detectors.secret_masking import keyed_hash

    key = HmacKey(key=random.token_bytes(32), id="evaluation")  # never stored: only compares hashes
    detector = LeakDetector(profile=profile, key=key)
    counts = {kind: [0, 0, 0] for kind in LEAK_KINDS}
    for page in (p for p in build.truth["pages"] if p["kind"] == "paste"):
        expected = {
            "credential_leak": {(c["user"].lower(), keyed_hash(c["password"], key)) for c in page["credentials"] if c["corporate"]},
            "card_leak": {("", keyed_hash(c["number"], key)) for c in page["cards"] if c["luhn_valid"] and c["in_brand_bin"]},
            "secret_leak": {("", keyed_hash(s["value"], key)) for s in page["secrets"]},
        }
        capture = Capture(page=Page(url=Url(full=page["url"])), dump_text=build.body(page["url"]).decode("utf-8", "replace"))
        findings = detector.detect(capture)
        leaks = {leak.doc_id(): leak for leak in capture.leaks}
        got: dict[str, set] = {kind: set() for kind in LEAK_KINDS}
        for f in findings:
            if f.verdict == "flagged" and f.kind in got:
                leak = leaks[f.subject.id]
                account = ((leak.user.email or leak.user.name or "") if leak.user else "").lower()
                got[f.kind].add((account, leak.secret.hmac))
        for kind in LEAK_KINDS:
            counts[kind][0] += len(got[kind] & expected[kind])
            counts[kind][1] += len(got[kind] - expected[kind])
            counts[kind][2] += len(expected[kind] - got[kind])
    return [Metrics.of(kind, *counts[kind]) for kind in LEAK_KINDS]


def evaluate_build(profile_path: Path, work_dir: Path, listings_per_marketplace: int = 300) -> list[Metrics]:
    """Build the sandbox for ``profile_path`` into ``work_dir`` and score every detector on it."""
    build_sandbox(profile_path, work_dir, listings_per_marketplace=listings_per_marketplace)
    profile = load_profile(profile_path)
    sandbox = SandboxBuild(work_dir)
    return [evaluate_listings(profile, sandbox), evaluate_domains(profile, sandbox), *evaluate_sites(profile, sandbox),
            *evaluate_leaks(profile, sandbox)]


def evaluate(split: str = "all", *, peers: bool = True, profile_path: Path = EXAMPLE_BRAND,
             listings_per_marketplace: int = 300) -> list[Result]:
    """The sandbox as one corpus of the evaluation suite: generated, so it has no dev/test parts
    (every figure is over all of it) and no peer is measured on it."""
    with tempfile.TemporaryDirectory(prefix="brandhound-evaluate-") as work:
        metrics = evaluate_build(profile_path, Path(work), listings_per_marketplace)
    return [Result("sandbox", "all", "brandhound", m) for m in metrics]
