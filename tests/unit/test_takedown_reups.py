"""Re-ups: which new findings match a removed notice, within its watch only; follow-ups cite it; repeat infringers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from brandhound.items import (Campaign, Crawl, File, Finding, Hash, Image, Listing, NoticeEvidence, Recipient, Seller,
                              StatusChange, Subject, Takedown, Url)
from brandhound.profile import load_profile
from reporting.takedown_metrics import compute
from takedown.recipients import Case
from takedown.drafting import draft
from takedown.recipients import Target
from takedown.recheck import WATCH_FOR
from takedown.reups import (follow_up_notice, match_reups, plan_follow_ups, repeat_infringers, reup_rule,
                            start_watch, watch_end, without_reups)
from tests.support.paths import EXAMPLE_BRAND

PROFILE = load_profile(EXAMPLE_BRAND)
REMOVED = datetime(2026, 2, 1, tzinfo=timezone.utc)
D = timedelta(days=1)
IMAGE_SHA, PAGE_SHA = "a" * 64, "b" * 64
URL = "https://bazaarhub.example/item/1"


def removed_notice(status: str = "removed", key: str = "1", seller: str = "Aalto Outlet",
                   url: str = URL, campaign: str | None = "cmp-1") -> Takedown:
    history = [StatusChange(status=s, at=REMOVED - 3 * D, by="t") for s in ("draft", "approved", "sent")]
    if status == "removed":
        history.append(StatusChange(status="removed", at=REMOVED, by="t"))
    evidence = NoticeEvidence(finding_id=f"f{key}", kind="counterfeit_listing", url=url, final_url=url, seller=seller,
                              images=[File(path="i.jpg", hash=Hash(sha256=IMAGE_SHA))],
                              html=File(path="p.html", hash=Hash(sha256=PAGE_SHA)))
    return Takedown(recipient=Recipient(kind="marketplace", name="BazaarHub", email="ip@bazaarhub.example"),
                    status=status, history=history, urls=[url], evidence=[evidence], campaign=Campaign(id=campaign),
                    group=f"campaign:{campaign}" if campaign else f"finding:f{key}", finding_ids=[f"f{key}"])


def listing_case(url: str, seen: datetime, seller: str = "Someone Else", campaign: str | None = None,
                 image_sha: str = "c" * 64) -> Case:
    listing = Listing(url=Url(full=url), crawl=Crawl(fetched_at=seen), marketplace="BazaarHub", title="Aalto bag",
                      seller=Seller(name=seller), images=[Image(url=url + "/i.jpg", file=File(
                          path="x.jpg", hash=Hash(sha256=image_sha)))])
    finding = Finding(kind="counterfeit_listing", score=0.9, threshold=0.5, verdict="flagged",
                      subject=Subject(index="listings", id=listing.doc_id(), url=url), url=Url(full=url),
                      campaign=Campaign(id=campaign))
    return Case(finding, listing)


@pytest.mark.parametrize("case,rule", [
    (listing_case(URL, REMOVED + 2 * D), "same_url"),
    (listing_case("https://bazaarhub.example/item/99", REMOVED + D, seller="  aalto  OUTLET"), "same_seller"),
    (listing_case("https://otherbazaar.example/item/1", REMOVED + D, seller="Aalto Outlet"), None),
    (listing_case("https://otherbazaar.example/item/2", REMOVED + D, campaign="cmp-1"), "same_campaign"),
    (listing_case("https://otherbazaar.example/item/3", REMOVED + D, image_sha=IMAGE_SHA), "same_images"),
    (listing_case("https://otherbazaar.example/item/4", REMOVED + D, campaign="cmp-2"), None),
])
def test_matching_rules(case, rule):
    assert reup_rule(removed_notice(), case) == rule


def test_same_page_through_the_callers_fingerprint_test():
    case = listing_case("https://otherbazaar.example/item/5", REMOVED + D)
    notice = removed_notice()
    assert reup_rule(notice, case) is None
    assert reup_rule(notice, case, same_page=lambda entry, c: entry.html.hash.sha256 == PAGE_SHA) == "same_page"


def test_only_removed_notices_within_their_watch_and_sightings_after_removal_match():
    now = REMOVED + 10 * D
    back = listing_case(URL, REMOVED + 2 * D)
    before = listing_case(URL + "?v=2", REMOVED - D, seller="Aalto Outlet")  # seen before the removal
    open_notice = removed_notice(status="sent", key="2", campaign="cmp-9", url="https://bazaarhub.example/item/2")
    matches = match_reups([removed_notice(), open_notice], [back, before], now)
    assert [(n.doc_id(), c) for n, c in matches] == [(removed_notice().doc_id(), back)]
    # After the watch ends nothing matches, even a sighting inside the window.
    assert watch_end(removed_notice()) == REMOVED + WATCH_FOR
    assert match_reups([removed_notice()], [back], REMOVED + WATCH_FOR + D) == []
    # A shorter watch set on removal ends earlier.
    short = start_watch(removed_notice(), D)
    assert short.watch_until == REMOVED + D and match_reups([short], [back], now) == []
    with pytest.raises(ValueError, match="only a removed notice is watched"):
        start_watch(open_notice)


def test_follow_up_cites_the_earlier_notice_and_counts_as_its_reup():
    earlier = removed_notice()
    case = listing_case("https://bazaarhub.example/item/7", REMOVED + 4 * D, seller="Aalto Outlet")
    follow = follow_up_notice(earlier, [case], PROFILE, now=REMOVED + 5 * D)
    assert follow.status == "draft" and follow.follow_up_of == earlier.doc_id()
    assert follow.group == f"reup-of:{earlier.doc_id()}" and follow.doc_id() != earlier.doc_id()
    assert follow.recipient == earlier.recipient and follow.detected_at == REMOVED + 4 * D
    assert earlier.doc_id() in follow.body and "2026-02-01" in follow.body and "the same seller" in follow.body
    follow.history = [StatusChange(status="draft", at=REMOVED + 5 * D, by="t")]
    rates = compute([earlier, follow], REMOVED + 40 * D).overall.reups
    assert [(r.days, r.reupped, r.eligible) for r in rates] == [(7, 1, 1), (15, 1, 1), (30, 1, 1)]


def test_repeat_infringers_count_cases_once_across_recipients():
    a = removed_notice(key="1", campaign="cmp-1")
    b = removed_notice(key="2", campaign="cmp-2", url="https://bazaarhub.example/item/2", seller="AALTO outlet")
    c = removed_notice(key="3", campaign="cmp-3", url="https://otherbazaar.example/item/3")  # another marketplace
    still_open = removed_notice(status="sent", key="4", campaign="cmp-4", url="https://bazaarhub.example/item/4")
    site = "https://kestrava-sale.example/"
    registrar = Takedown(recipient=Recipient(kind="registrar", name="Regi"), status="removed", urls=[site],
                         group="finding:site", history=[StatusChange(status="removed", at=REMOVED, by="t")])
    host = Takedown(recipient=Recipient(kind="host", name="Hosty"), status="removed", urls=[site],
                    group="finding:site", history=[StatusChange(status="removed", at=REMOVED, by="t")])
    other_site = Takedown(recipient=Recipient(kind="host", name="Hosty"), status="removed",
                          urls=["https://kestrava-outlet.example/"], group="finding:site2")
    registrants = {"kestrava-sale.example": "J. Doe", "kestrava-outlet.example": "j. doe"}
    found = repeat_infringers([a, b, c, still_open, registrar, host, other_site], n=2, registrants=registrants)
    assert [(r.kind, r.where, len(r.notice_ids)) for r in found] == [
        ("registrant", None, 2), ("seller", "bazaarhub.example", 2)]
    assert found[1].notice_ids == sorted([a.doc_id(), b.doc_id()])
    assert repeat_infringers([a, b, c], n=3) == []
    with pytest.raises(ValueError, match="n must be at least 1"):
        repeat_infringers([a], n=0)


def test_a_reup_is_drafted_once_as_the_follow_up_not_again_as_a_new_notice():
    earlier = removed_notice()
    back = listing_case(URL + "?relisted", REMOVED + 2 * D, seller="Aalto Outlet", campaign="cmp-7")
    new = listing_case("https://bazaarhub.example/item/8", REMOVED + 2 * D, campaign="cmp-7")
    cases = {c.finding.doc_id(): c for c in (back, new)}
    now = REMOVED + 3 * D
    (follow,) = plan_follow_ups([earlier, removed_notice(status="sent", key="9", campaign=None)], cases.values(),
                                PROFILE, now=now)
    assert follow.follow_up_of == earlier.doc_id() and follow.finding_ids == [back.finding.doc_id()]
    market = draft(list(cases.values()), Target(earlier.recipient, "en"), "campaign:cmp-7", PROFILE, now=now)
    elsewhere = draft(list(cases.values()), Target(Recipient(kind="search_engine", name="Engine"), "en"),
                      "campaign:cmp-7", PROFILE, now=now)
    kept = without_reups([market, elsewhere], [follow], cases, PROFILE, now=now)
    assert [(n.recipient.kind, n.finding_ids) for n in kept] == [
        ("marketplace", [new.finding.doc_id()]), ("search_engine", sorted(cases))]
    assert without_reups([follow_up_notice(earlier, [back], PROFILE, now=now)], [follow], cases, PROFILE,
                         now=now) == []
