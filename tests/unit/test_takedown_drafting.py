"""Drafting: one notice per recipient and group, deterministic ids, leaks masked, report data."""

from __future__ import annotations

import json

from brandhound.evidence import EvidenceStore
from brandhound.profile import load_profile
from takedown.drafting import plan_notices
from takedown.recipients import RecipientFinder
from sandbox.takedown_samples import SAMPLE_PASSWORD, sample_cases
from tests.support.paths import EXAMPLE_BRAND

PROFILE = load_profile(EXAMPLE_BRAND)


def test_drafting_twice_gives_the_same_notices(tmp_path):
    store = EvidenceStore(tmp_path)
    first = plan_notices(sample_cases(store, PROFILE).cases, PROFILE, RecipientFinder(PROFILE))
    second = plan_notices(list(reversed(sample_cases(store, PROFILE).cases)), PROFILE, RecipientFinder(PROFILE))
    assert [n.doc_id() for n in first] == [n.doc_id() for n in second]
    assert [n.body for n in first] == [n.body for n in second]


def test_a_campaign_on_one_recipient_is_one_notice(tmp_path):
    notices = plan_notices(sample_cases(EvidenceStore(tmp_path), PROFILE).cases, PROFILE, RecipientFinder(PROFILE))
    market = [n for n in notices if n.recipient.kind == "marketplace"]
    assert len(market) == 1 and len(market[0].finding_ids) == 2
    assert market[0].campaign.id == "cmp-aalto-replicas" and len(market[0].urls) == 2
    # 1 marketplace, 2 sites x (host, 2 search engines) + the phishing site's registrar (a fake store is not
    # DNS abuse, so its registrar gets nothing), 1 onion report, 1 leak notification.
    kinds = sorted(n.recipient.kind for n in notices)
    assert kinds.count("search_engine") == 4 and kinds.count("registrar") == 1 and len(notices) == 10


def test_leak_notification_masks_accounts_and_never_holds_the_secret(tmp_path):
    notices = plan_notices(sample_cases(EvidenceStore(tmp_path), PROFILE).cases, PROFILE, RecipientFinder(PROFILE))
    (leak,) = [n for n in notices if n.recipient.kind == "internal"]
    assert leak.evidence[0].account == "m***i@kestrava.com"
    assert "mikko.lahti@" not in leak.body and "m***i@kestrava.com" in leak.body
    assert SAMPLE_PASSWORD not in json.dumps([n.body for n in notices]) + str(leak)


def test_marketplace_and_search_engine_report_data(tmp_path):
    notices = plan_notices(sample_cases(EvidenceStore(tmp_path), PROFILE).cases, PROFILE, RecipientFinder(PROFILE))
    market = next(n for n in notices if n.recipient.kind == "marketplace")
    report = json.loads(market.report)
    assert report["form"] == "marketplace_ip_infringement_report" and report["right_type"] == "trademark"
    assert {m["registration_number"] for m in report["trademarks"]} == {"018765432", "7123456"}
    assert all(x["captured_at"] and x["screenshot_sha256"] and x["seller"] for x in report["listings"])
    assert report["statements"] == {"good_faith_belief": True, "accurate_under_penalty_of_perjury": True,
                                    "authorised_to_act": True}
    engines = {json.loads(n.report)["form"] for n in notices if n.recipient.kind == "search_engine"}
    assert engines == {"google_safe_browsing_report_phish", "microsoft_report_unsafe_site"}
    assert all(n.report is None for n in notices if n.recipient.kind in ("registrar", "host", "internal"))


def test_flagged_findings_are_labelled_unreviewed(tmp_path):
    cases = sample_cases(EvidenceStore(tmp_path), PROFILE).cases
    unreviewed = {cases[0].finding.doc_id()}
    notices = plan_notices(cases, PROFILE, RecipientFinder(PROFILE), unreviewed=unreviewed)
    labelled = [n for n in notices if n.unreviewed]
    assert [n.recipient.kind for n in labelled] == ["marketplace"]
    assert labelled[0].body.startswith("*** DEMO DRAFT, NOT FOR SENDING")
