"""`brandhound report` on the real Elasticsearch: the PDF has its pages, charts, thumbnails and numbers.

The documents are indexed here, through the store, rather than crawled: the report's numbers
(takedown outcomes and times to removal above all, which no crawl produces) are then known exactly.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from PIL import Image

from brandhound import cluster
from brandhound.evidence import EvidenceStore
from brandhound.items import (BrandRef, Campaign, Crawl, Event, Finding, Indicator, Leak, Listing, Recipient, Secret,
                              StatusChange, Subject, Takedown, Threat, Url, User)
from brandhound.items import Image as ListingImage
from brandhound.store import open_store
from tests.support.paths import EXAMPLE_BRAND

BRAND = BrandRef(id="kestrava", name="Kestrava")
NOW = datetime.now(timezone.utc)
HOSTILE_TITLE = '<script>alert("x")</script> Kestrava Aalto cup'
ACCOUNTS = ["mikko.jensen@kestrava.com", "aino.virtanen@kestrava.com", "olli.koski@corp.kestrava.com"]


def _photo(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, size=(120, 160, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def _documents(evidence: EvidenceStore) -> list:
    docs: list = []
    for i in range(4):
        url = f"https://www.bazaarhub.com/item/{i}"
        photo = evidence.put(_photo(i), suffix=".png", mime_type="image/png")
        listing = Listing(url=Url(full=url, domain="www.bazaarhub.com", registered_domain="bazaarhub.com"),
                          brand=BRAND, marketplace="BazaarHub", title=HOSTILE_TITLE if i == 0 else f"Kestrava cup {i}",
                          images=[ListingImage(url=url + "/1.png", file=photo)])
        docs.append(listing)
        docs.append(Finding(kind="counterfeit_listing", score=0.95, threshold=0.7, verdict="flagged", brand=BRAND,
                            subject=Subject(index="listings", id=listing.doc_id(), url=url), url=listing.url,
                            campaign=Campaign(id="cmp-bazaar"), crawl=Crawl(source_type="marketplace"),
                            event=Event(created=NOW - timedelta(days=1 + i % 3))))
    docs.append(Finding(kind="fake_store", score=0.9, threshold=0.7, verdict="flagged", brand=BRAND,
                        subject=Subject(index="sites", id="s1"), url=Url(full="https://kestrava.co/", domain="kestrava.co",
                                                                          registered_domain="kestrava.co"),
                        crawl=Crawl(source_type="surface")))
    docs.append(Finding(kind="counterfeit_listing", score=0.9, threshold=0.7, verdict="flagged", brand=BRAND,
                        subject=Subject(index="listings", id="old"), url=Url(full="https://www.bazaarhub.com/old"),
                        crawl=Crawl(source_type="marketplace"), event=Event(created=NOW - timedelta(days=10))))
    for n, email in enumerate(ACCOUNTS):
        seen = NOW - timedelta(hours=5 + n)
        docs.append(Leak(kind="credential", brand=BRAND, user=User(email=email, domain=email.split("@")[1]),
                         secret=Secret(masked="S*******!", length=9, hmac=f"{n:064x}"),
                         threat=Threat(indicator=Indicator(first_seen=seen, last_seen=seen, sightings=1))))
    for name, statuses in (("BazaarHub", [("draft", 60), ("sent", 50), ("removed", 20)]),
                           ("Tori Market", [("draft", 40), ("sent", 30), ("rejected", 10)]),
                           ("Registrar", [("draft", 5)])):
        history = [StatusChange(status=s, at=NOW - timedelta(hours=h)) for s, h in statuses]
        docs.append(Takedown(recipient=Recipient(kind="marketplace", name=name), status=statuses[-1][0],
                             history=history, brand=BRAND, campaign=Campaign(id=f"cmp-{name}")))
    return docs


@pytest.fixture
def report(settings, es, tmp_path):
    evidence_dir = tmp_path / "evidence"
    cluster.init_indices(es, settings.es.index_prefix)
    with open_store(settings) as store:
        for doc in _documents(EvidenceStore(evidence_dir)):
            store.add(doc)
    es.indices.refresh(index=f"{settings.es.index_prefix}-*")
    out = tmp_path / "report"
    env = {**os.environ, "BRANDHOUND_ES_URL": settings.es.url, "BRANDHOUND_ES_INDEX_PREFIX": settings.es.index_prefix,
           "BRANDHOUND_ES_PORT": str(settings.local_node.port), "BRANDHOUND_EVIDENCE_DIR": str(evidence_dir)}
    proc = subprocess.run([sys.executable, "-m", "brandhound.commands", "report", "--brand", str(EXAMPLE_BRAND),
                           "--since", "7d", "--out", str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc.stdout


def _variance(png: bytes) -> float:
    return float(np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float).var())


def test_the_pdf_has_its_pages_charts_and_thumbnails(report, tmp_path):
    out, stdout = report
    assert "5 flagged findings, 1 campaigns, 3 takedowns, 3 newly leaked accounts" in stdout
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "pdftoppm (poppler-utils) is needed to look at the report"
    subprocess.run([pdftoppm, "-png", "-r", "60", str(out / "report.pdf"), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == 4, [p.name for p in pages]  # the takedown metrics begin the fourth
    assert all(_variance(p.read_bytes()) > 100 for p in pages)  # not blank
    charts = sorted((out / "charts").glob("*.png"))
    assert {c.stem for c in charts} == {"timeline", "sources", "marketplaces", "takedowns", "leaks"}
    assert all(_variance(c.read_bytes()) > 100 for c in charts)
    listing = subprocess.run(["pdfimages", "-list", str(out / "report.pdf")], capture_output=True, text=True, check=True)
    images = [line for line in listing.stdout.splitlines()[2:] if line.strip()]
    assert len(images) >= len(charts) + 3  # the charts and the campaign's thumbnails


def test_the_pdf_says_what_happened_with_accounts_masked(report):
    out, _ = report
    text = subprocess.run(["pdftotext", "-layout", str(out / "report.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    for heading in ("Brand-risk report: Kestrava", "Findings by kind", "Findings by source and marketplace",
                    "Top campaigns", "Takedown outcomes", "Takedown metrics", "Leaked corporate credentials"):
        assert heading in text, heading
    assert re.search(r"counterfeit_listing\s+4\s+1\s+\(\+3\)", text)  # this week, last week, change
    assert re.search(r"median time to removal\s+30\.0 h", text)
    assert re.search(r"removed\s+1", text) and re.search(r"rejected\s+1", text)
    assert "bazaarhub.com" in text and "kestrava.com" in text  # campaign hosts, leak domains
    html = (out / "report.html").read_text()
    for account in ACCOUNTS:
        assert account not in text and account not in html
    assert "m**********n@kestrava.com" in text
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
