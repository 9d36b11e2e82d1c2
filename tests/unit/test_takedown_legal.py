"""Legal checks: each element the law asks of a notice, missing in turn, blocks its approval by name."""

from __future__ import annotations

import copy
from datetime import datetime, timezone

import pytest

from brandhound.evidence import EvidenceStore
from brandhound.items import File, Hash, NoticeEvidence, Recipient, Takedown
from brandhound.mapping import from_document, to_document
from brandhound.profile import load_profile
from sandbox.takedown_samples import listing_case, sample_cases
from takedown import legal
from takedown.drafting import plan_notices, rerender
from takedown.lifecycle import TransitionError
from takedown.recipients import RecipientFinder
from takedown.render import Translator, catalog
from takedown.service import TakedownService
from tests.support.paths import EXAMPLE_BRAND

PROFILE = load_profile(EXAMPLE_BRAND)
HOLDER = PROFILE.rights_holder
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
CAPTURED = datetime(2026, 11, 20, 8, 30, 15, tzinfo=timezone.utc)
URL = "https://kestrava-outlet.example/login"
FULL = ("en", "es", "pt", "pl", "fi")


class FakeElasticsearch:
    """The two calls the service's lifecycle writes make, over a dict, with sequence numbers."""

    def __init__(self):
        self.docs: dict[str, tuple[dict, int]] = {}

    def get(self, index, id):
        import elasticsearch

        if id not in self.docs:
            raise elasticsearch.NotFoundError(404, "not_found", {})  # type: ignore[arg-type]
        source, seq = self.docs[id]
        return {"_source": copy.deepcopy(source), "_seq_no": seq, "_primary_term": 1}

    def index(self, index, id, document, refresh=None, if_seq_no=None, if_primary_term=None, op_type=None):
        seq = self.docs.get(id, (None, -1))[1]
        assert if_seq_no is None or if_seq_no == seq
        self.docs[id] = (copy.deepcopy(document), seq + 1)


def service_with(notice: Takedown, tmp_path) -> TakedownService:
    service = TakedownService(FakeElasticsearch(), "bh", PROFILE, EvidenceStore(tmp_path))  # type: ignore[arg-type]
    service.client.index(index=service.index, id=notice.doc_id(), document=to_document(notice))
    return service


def notice(kind: str, language: str = "en", finding_kind: str = "phishing", email: str = "abuse@recipient.example"
           ) -> Takedown:
    entry = NoticeEvidence(finding_id="f-1", kind=finding_kind, url=URL, final_url=URL, captured_at=CAPTURED,
                           title="Kestrava sign in",
                           html=File(path="ab/x.html", hash=Hash(sha256="a" * 64)),
                           screenshot=File(path="cd/y.png", hash=Hash(sha256="b" * 64)))
    draft = Takedown(recipient=Recipient(kind=kind, name="Recipient Org", email=email), language=language,
                     finding_ids=["f-1"], urls=[URL], evidence=[entry], group="finding:f-1")
    return rerender(draft, PROFILE, now=NOW)


def without(body: str, *texts: str) -> str:
    """``body`` with every occurrence of ``texts`` gone (compared with whitespace made single)."""
    body = " ".join(body.split())
    for text in texts:
        body = body.replace(" ".join(text.split()), "")
    return body


def phrase(key: str, **values: str) -> str:
    return Translator("en")(key, **values)


PURPOSE = catalog("en")["purpose_phishing"]
#: How to take each element out of a complete notice's body, by the element's name.
REMOVE = {
    "signature": lambda b: without(b, HOLDER.signatory.name),
    "identification of the work or mark infringed":
        lambda b: without(b, *(m.number for m in HOLDER.trademarks), *HOLDER.copyrighted_works),
    "identification and location of the infringing material": lambda b: without(b, URL),
    "exact electronic location (URLs)": lambda b: without(b, URL),
    "evidence URLs": lambda b: without(b, URL),
    "contact information": lambda b: without(b, HOLDER.phone or ""),
    "good-faith statement": lambda b: without(b, phrase("good_faith")),
    "accuracy and authority under penalty of perjury": lambda b: without(b, phrase("accuracy")),
    "explanation of why the information is illegal":
        lambda b: without(b, phrase("illegality", holder=HOLDER.legal_name, purpose=PURPOSE)),
    "name and e-mail address of the notifier": lambda b: without(b, HOLDER.email),
    "reporter's name and e-mail address": lambda b: without(b, HOLDER.email),
    "statement of bona fide belief that it is accurate and complete": lambda b: without(b, phrase("bona_fide")),
    "DNS abuse type": lambda b: without(b, phrase("dns_abuse", purpose=PURPOSE)),
    "domain names": lambda b: b.replace("kestrava-outlet.example", "elsewhere.example"),
    "timestamps of the evidence": lambda b: without(b, CAPTURED.strftime("%Y-%m-%d %H:%M:%S")),
    "evidence hashes (page, screenshot)": lambda b: without(b, "a" * 64, "b" * 64),
}
KIND_OF = {legal.DMCA: "host", legal.DSA: "host", legal.RAA: "registrar"}
ELEMENTS = [(regime, element) for regime, elements in legal.REGIMES.items() for element in elements]


def test_every_element_has_a_removal_case():
    assert {e.name for _, e in ELEMENTS} == set(REMOVE)


@pytest.mark.parametrize("regime,element", ELEMENTS, ids=[f"{r}-{e.ref}-{e.name}" for r, e in ELEMENTS])
def test_each_missing_element_blocks_approval_and_is_named(regime, element, tmp_path):
    draft = notice(KIND_OF[regime])
    draft.body = REMOVE[element.name](draft.body)
    service = service_with(draft, tmp_path)
    with pytest.raises(TransitionError) as refused:
        service.approve(draft.doc_id(), by="legal")
    message = str(refused.value)
    assert draft.doc_id() in message and regime in message and f"{element.ref} {element.name}" in message
    (result,) = [c for c in legal.check(draft, PROFILE) if c.regime == regime]
    assert any(m.startswith(f"{element.ref} {element.name} (") for m in result.missing)
    stored = service.get(draft.doc_id())
    assert stored.status == "draft" and stored.legal == [] and len(stored.history) == 0


@pytest.mark.parametrize("language", FULL)
@pytest.mark.parametrize("kind", ["marketplace", "registrar", "host", "search_engine"])
def test_complete_notices_of_every_kind_and_language_are_approved_with_their_checks(kind, language, tmp_path):
    draft = notice(kind, language, "counterfeit_listing" if kind == "marketplace" else "phishing")
    service = service_with(draft, tmp_path)
    approved = service.approve(draft.doc_id(), by="legal")
    assert approved.status == "approved" and approved.history[-1].by == "legal"
    stored = service.get(draft.doc_id())
    assert [c.regime for c in stored.legal] == legal.regimes(draft) and stored.legal
    assert all(c.missing == [] for c in stored.legal)


def test_reports_to_own_team_and_law_enforcement_have_no_regime(tmp_path):
    for kind in ("internal", "law_enforcement"):
        draft = notice(kind, finding_kind="counterfeit_listing")
        assert legal.check(draft, PROFILE) == []
        assert service_with(draft, tmp_path).approve(draft.doc_id(), by="legal").status == "approved"


def test_every_sample_draft_passes_and_no_fake_store_goes_to_its_registrar(tmp_path):
    store = EvidenceStore(tmp_path)
    cases = sample_cases(store, PROFILE).cases
    # The review console's end-to-end test adds a listing with hostile scraped text to the campaign.
    cases.append(listing_case(store, PROFILE, "https://www.bazaarhub.com/item/1666", '<img src=x onerror="1">cup',
                              seller="<script>x</script>", marketplace="BazaarHub", campaign="cmp-aalto-replicas"))
    drafts = plan_notices(cases, PROFILE, RecipientFinder(PROFILE), now=NOW)
    refused = []
    for draft in drafts:
        problem = legal.refusal(draft, legal.check(draft, PROFILE))
        if problem:
            refused.append((draft, problem))
    assert [(d.doc_id(), problem) for d, problem in refused] == []
    # Routing follows the rule the check enforces: a counterfeit fake store is not DNS abuse.
    assert [{e.kind for e in d.evidence} for d in drafts if d.recipient.kind == "registrar"] == [{"phishing"}]
    assert len(drafts) == 10


def test_a_url_cut_short_in_the_text_does_not_locate_the_material(tmp_path):
    draft = notice("host")
    long_url = "https://kestrava-outlet.example/" + "x" * 400
    draft.evidence[0].url = draft.evidence[0].final_url = long_url
    draft.urls = [long_url]
    rerender(draft, PROFILE, now=NOW)
    problem = legal.refusal(draft, legal.check(draft, PROFILE))
    assert "512(c)(3)(A)(iii)" in problem and "16(2)(b)" in problem and "URL not in the text" in problem


def test_a_counterfeit_store_is_not_dns_abuse_and_belongs_to_host_and_search_engines(tmp_path):
    for kind in ("fake_store", "counterfeit_listing"):
        draft = notice("registrar", finding_kind=kind)
        with pytest.raises(TransitionError, match="belongs to the host and the search engines .DSA / DMCA., not "
                                                  "the registrar") as refused:
            service_with(draft, tmp_path).approve(draft.doc_id(), by="legal")
        assert "icann_raa_3_18" in str(refused.value) and kind.replace("_", " ") in str(refused.value)
        # The same findings pass where they belong.
        for where in ("host", "search_engine"):
            assert not legal.refusal(notice(where, finding_kind=kind), legal.check(notice(where, finding_kind=kind),
                                                                                   PROFILE))
    # Phishing mixed with a fake store on one registrar notice is still refused: the fake store is named.
    mixed = notice("registrar")
    mixed.evidence.append(NoticeEvidence(finding_id="f-2", kind="fake_store", url=URL, captured_at=CAPTURED))
    assert "fake store is not DNS abuse" in legal.refusal(mixed, legal.check(mixed, PROFILE))


@pytest.mark.parametrize("email,form,expected", [
    ("abuse@hoster.fi", None, [legal.DSA]),
    ("abuse@hoster.eu", None, [legal.DSA]),
    ("abuse@agency.gov", None, [legal.DMCA]),
    ("abuse@hoster.us", None, [legal.DMCA]),
    ("abuse@hoster.com", None, [legal.DMCA, legal.DSA]),
    (None, "https://report.example.de/form", [legal.DSA]),
    (None, None, [legal.DMCA, legal.DSA]),
])
def test_jurisdiction_of_hosts_and_search_engines_from_the_recipient(email, form, expected):
    for kind in ("host", "search_engine"):
        draft = Takedown(recipient=Recipient(kind=kind, name="X", email=email, form_url=form))
        assert legal.regimes(draft) == expected
    assert legal.regimes(Takedown(recipient=Recipient(kind="host", email="a@b.fi")), jurisdiction="us") == [legal.DMCA]
    assert legal.regimes(Takedown(recipient=Recipient(kind="marketplace", email="a@b.fi"))) == [legal.DMCA, legal.DSA]


def test_an_eu_host_is_not_asked_for_the_us_perjury_statement(tmp_path):
    draft = notice("host", email="abuse@hoster.fi")
    draft.body = without(draft.body, phrase("accuracy"))
    assert legal.refusal(draft, legal.check(draft, PROFILE)) is None
    draft.recipient.email = "abuse@hoster.com"
    assert "512(c)(3)(A)(vi)" in legal.refusal(draft, legal.check(draft, PROFILE))


def test_a_notice_that_fell_back_to_english_is_checked_in_english(monkeypatch):
    import takedown.render as render

    partial = {k: v for k, v in catalog("es").items() if k != "bona_fide"}
    real = render.catalog
    monkeypatch.setattr(render, "catalog", lambda lang: partial if lang == "es" else real(lang))
    draft = notice("host", "es")
    assert catalog("en")["bona_fide"] in " ".join(draft.body.split())
    assert all(c.missing == [] for c in legal.check(draft, PROFILE))


def test_checks_round_trip_through_the_stored_document(tmp_path):
    draft = notice("registrar")
    service = service_with(draft, tmp_path)
    service.approve(draft.doc_id(), by="legal")
    source = service.client.docs[draft.doc_id()][0]
    assert from_document(Takedown, source).legal[0].regime == legal.RAA
