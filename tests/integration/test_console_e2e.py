"""The review console end to end: real Elasticsearch, real drafts, uvicorn, headless Chromium via Playwright."""

from __future__ import annotations

import json
import threading
import zipfile

import pytest
import uvicorn
from playwright.sync_api import sync_playwright

from brandhound.items import Signal
from brandhound.profile import load_profile
from crawlers.browser import launch_options
from takedown.bundle import verify
from takedown.console.app import create_app
from takedown.console.findings import FindingsView
from takedown.console.users import UserStore
from sandbox.takedown_samples import listing_case
from sandbox.processes import free_port
from tests.support.paths import EXAMPLE_BRAND
from tests.support.takedown import sample_world
from tests.polling import poll

PROFILE = load_profile(EXAMPLE_BRAND)
PASSWORD = "review console e2e"
HOSTILE_TITLE = '<img src=x onerror="window.pwned=1">Kestrava cup'
HOSTILE_SELLER = "<script>window.pwned=2</script>"


def with_signals_and_a_hostile_listing(samples, evidence) -> None:
    """Signals on the marketplace findings, and one more listing of that campaign with hostile scraped text."""
    for case in samples.cases[:2]:
        case.finding.signals = [
            Signal(name="image_match", value="phash distance 3", weight=0.5, contribution=0.45,
                   evidence="listing photo matches the official product photo"),
            Signal(name="price_ratio", value="0.11", weight=0.3, contribution=0.3, evidence="9.90 EUR vs 89.00 EUR"),
        ]
    market = PROFILE.marketplaces[0]
    samples.cases.append(listing_case(evidence, PROFILE, f"https://www.{market.domain}/item/1666", HOSTILE_TITLE,
                                      seller=HOSTILE_SELLER, marketplace=market.name, campaign="cmp-aalto-replicas"))


@pytest.fixture
def console(settings, tmp_path):
    """Drafts made by the service from indexed findings, and the console serving them on a free port."""
    settings, service, _ = sample_world(settings, tmp_path, PROFILE, with_signals_and_a_hostile_listing)
    service.draft_from_findings(by="drafter")
    users = UserStore(tmp_path / "console-users.json")
    users.add("aino", "legal", PASSWORD)
    users.add("mikko", "analyst", PASSWORD)
    server = uvicorn.Server(uvicorn.Config(create_app(service, users, "k" * 40), host="127.0.0.1", port=free_port(),
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    poll(lambda: server.started, 30, "the console starts")
    yield service, f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(timeout=30)


def log_in(context, base: str, name: str):
    page = context.new_page()
    page.goto(f"{base}/")  # without a session: sent to the login form
    assert page.url == f"{base}/login"
    page.fill('input[name="username"]', name)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(f"{base}/")
    return page


def test_legal_approves_and_downloads_a_verified_bundle_and_an_analyst_cannot(console, tmp_path):
    service, base = console
    market = service.list(recipient_kind="marketplace")[0]
    other = next(n for n in service.list(status="draft") if n.doc_id() != market.doc_id())
    assert market.status == "draft" and len(market.evidence) == 3
    with sync_playwright() as p:
        browser = p.chromium.launch(**launch_options(None))
        try:
            legal = browser.new_context(accept_downloads=True)
            page = log_in(legal, base, "aino")
            assert "draft" in page.inner_text("ul.tabs")
            page.click(f'a[href="/notices/{market.doc_id()}"]')
            page.wait_for_url(f"{base}/notices/{market.doc_id()}")
            # Thumbnails load from the evidence store; signals and hashes are shown.
            thumbs = page.locator("img.thumb")
            assert thumbs.count() >= 6
            assert all(thumbs.nth(i).evaluate("img => img.complete && img.naturalWidth === 64")
                       for i in range(thumbs.count()))
            text = page.inner_text("main")
            assert "image_match" in text and "phash distance 3" in text and "price_ratio" in text
            assert market.evidence[0].screenshot.hash.sha256 in text
            # Hostile scraped text is shown as text and never runs.
            assert HOSTILE_TITLE in text and HOSTILE_SELLER in text
            assert page.evaluate("() => window.pwned") is None
            page.click("#approve")
            page.wait_for_selector("#status:text('approved')")
            with page.expect_download() as download_info:
                page.click("#download")
            bundle = tmp_path / "download.zip"
            download_info.value.save_as(bundle)
            legal.close()

            analyst = browser.new_context()
            page = log_in(analyst, base, "mikko")
            page.goto(f"{base}/notices/{other.doc_id()}")
            assert page.locator("#approve").count() == 0 and page.locator("#download").count() == 0
            csrf = page.get_attribute('form[action="/logout"] input[name="csrf"]', "value")
            refused = page.request.post(f"{base}/notices/{other.doc_id()}/approve", form={"csrf": csrf})
            assert refused.status == 403
            # Analysts triage: dismiss one confirmed finding with a reason.
            dismissed = other.finding_ids[0]
            page.goto(f"{base}/findings?status=confirmed")
            assert "image_match" in page.inner_text("main")
            form = page.locator(f'form[action="/findings/{dismissed}/dismiss"]')
            form.locator('input[name="reason"]').fill("already taken down")
            form.locator('button[type="submit"]').click()
            page.wait_for_url(f"{base}/findings")
            analyst.close()
        finally:
            browser.close()

    report = verify(bundle)
    assert report.ok and report.files_checked > 0 and report.notices == [market.doc_id()]
    with zipfile.ZipFile(bundle) as z:
        manifest = json.loads(z.read("manifest.json"))
    assert market.doc_id() in json.dumps(manifest)
    stored = service.get(market.doc_id())
    assert stored.status == "approved" and (stored.history[-1].status, stored.history[-1].by) == ("approved", "aino")
    assert stored.manifest_sha256
    assert service.get(other.doc_id()).status == "draft"
    assert FindingsView.of_service(service).by_id([dismissed])[0].status == "dismissed"
