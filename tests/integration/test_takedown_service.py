"""The takedown service against the real Elasticsearch: drafting, idempotence, lifecycle, exports."""

from __future__ import annotations

import email
import subprocess
from email.policy import default

import pytest

from brandhound import cluster
from brandhound.mapping import index_name
from brandhound.items import Finding
from brandhound.profile import load_profile
from takedown.bundle import verify
from takedown.lifecycle import TakedownError, TransitionError
from sandbox.takedown_samples import listing_case
from takedown.triage import set_finding_status
from tests.support.paths import EXAMPLE_BRAND
from tests.support.takedown import index_cases, sample_world

PROFILE = load_profile(EXAMPLE_BRAND)


@pytest.fixture
def world(settings, tmp_path):
    """Sample findings of every kind indexed with their pages and evidence files."""
    return sample_world(settings, tmp_path, PROFILE)


def ids(notices) -> set[str]:
    return {n.doc_id() for n in notices}


def test_drafting_from_confirmed_findings_is_idempotent(world):
    settings, service, samples = world
    first = service.draft_from_findings(by="aino")
    assert first.findings == 6 and len(first.created) == 10 and not first.updated
    drafts = service.list(status="draft")
    assert ids(drafts) == set(first.created)
    assert all(n.history[0].status == "draft" and n.history[0].by == "aino" for n in drafts)
    second = service.draft_from_findings(by="aino")
    assert not second.created and sorted(second.updated) == sorted(first.created)
    assert ids(service.list()) == set(first.created)


def test_a_sent_notice_is_never_redrafted_and_new_findings_follow_up(world):
    settings, service, samples = world
    service.draft_from_findings(by="aino")
    market = service.list(recipient_kind="marketplace")[0]
    service.approve(market.doc_id(), by="legal")
    sent = service.mark(market.doc_id(), "sent", by="legal")
    again = service.draft_from_findings(by="aino")
    assert market.doc_id() in again.kept and market.doc_id() not in again.updated
    stored = service.get(market.doc_id())
    assert stored.body == sent.body and [c.status for c in stored.history] == ["draft", "approved", "sent"]
    # A new listing of the same campaign: a follow-up, the sent notice untouched.
    newcomer = listing_case(service.evidence, PROFILE, "https://www.bazaarhub.com/item/1003", "Kestrava cup copy",
                            marketplace="BazaarHub", campaign="cmp-aalto-replicas")
    index_cases(settings, [newcomer])
    third = service.draft_from_findings(by="aino")
    assert len(third.followups) == 1
    followup = service.get(third.followups[0])
    assert followup.finding_ids == [newcomer.finding.doc_id()] and followup.group.endswith(market.doc_id())
    assert service.get(market.doc_id()).finding_ids == market.finding_ids
    fourth = service.draft_from_findings(by="aino")
    assert not fourth.created and not fourth.followups and followup.doc_id() in fourth.updated


def test_lifecycle_through_the_service(world):
    _, service, _ = world
    service.draft_from_findings(by="aino")
    notice = service.list(recipient_kind="registrar")[0]
    with pytest.raises(TransitionError, match="cannot become sent"):
        service.mark(notice.doc_id(), "sent", by="legal")
    with pytest.raises(TransitionError, match="needs a reason"):
        service.reject(notice.doc_id(), reason="", by="legal")
    rejected = service.reject(notice.doc_id(), reason="registrar already suspended it", by="legal")
    assert rejected.status == "rejected" and rejected.history[-1].reason == "registrar already suspended it"
    assert service.get(notice.doc_id()).history[-1].by == "legal"
    with pytest.raises(TakedownError, match="no takedown notice 'nope'"):
        service.get("nope")


def test_concurrent_changes_are_detected(world):
    _, service, _ = world
    service.draft_from_findings(by="aino")
    notice_id = service.list(recipient_kind="marketplace")[0].doc_id()
    stale, condition = service._get(notice_id)
    service.approve(notice_id, by="first")
    stale.status = "rejected"
    with pytest.raises(TakedownError, match="changed by someone else"):
        service._write(stale, condition)
    assert service.get(notice_id).status == "approved"


def test_edit_free_text_rerenders_a_draft_only(world):
    _, service, _ = world
    service.draft_from_findings(by="aino")
    notice = service.list(recipient_kind="marketplace")[0]
    edited = service.edit_free_text(notice.doc_id(), {"remarks": "Seller also operates a fake store.",
                                                      "language": "es"}, by="aino")
    assert "Seller also operates a fake store." in edited.body and "Observaciones" in edited.body
    service.draft_from_findings(by="aino")
    kept = service.get(notice.doc_id())
    assert kept.remarks == "Seller also operates a fake store." and kept.language == "es"
    with pytest.raises(TakedownError, match="editable fields are"):
        service.edit_free_text(notice.doc_id(), {"body": "x"}, by="aino")
    service.approve(notice.doc_id(), by="legal")
    with pytest.raises(TakedownError, match="only drafts can be edited"):
        service.edit_free_text(notice.doc_id(), {"remarks": "late"}, by="aino")


def test_triage_decides_what_is_drafted(world):
    settings, service, samples = world
    client = cluster.make_client(settings.es)
    market_findings = [c.finding.doc_id() for c in samples.cases[:2]]
    with pytest.raises(TakedownError, match="no finding with id missing-id"):
        set_finding_status(client, settings.es.index_prefix, [market_findings[0], "missing-id"], "dismissed", "x",
                           reason="typo test")
    assert service.client.get(index=index_name(settings.es.index_prefix, Finding),
                              id=market_findings[0])["_source"]["status"] == "confirmed"
    set_finding_status(client, settings.es.index_prefix, market_findings, "new", "aino")
    result = service.draft_from_findings(by="aino")
    assert not service.list(recipient_kind="marketplace")
    result = service.draft_from_findings(by="aino", include_flagged=True)
    (market,) = service.list(recipient_kind="marketplace")
    assert market.unreviewed and market.body.startswith("*** DEMO DRAFT") and market.doc_id() in result.updated + result.created
    set_finding_status(client, settings.es.index_prefix, market_findings, "dismissed", "aino", reason="authorised reseller")
    client.indices.refresh(index=index_name(settings.es.index_prefix, Finding))
    assert service.draft_from_findings(by="aino", include_flagged=True).findings == 4
    client.close()


def test_export_formats_and_bundle(world, tmp_path):
    settings, service, samples = world
    service.draft_from_findings(by="aino")
    for notice in service.list(status="draft"):
        if notice.recipient.kind in ("marketplace", "internal"):
            service.approve(notice.doc_id(), by="legal")
    result = service.export(tmp_path / "out", status="approved", formats=("eml", "pdf", "csv"))
    assert verify(result.zip_path).ok
    exported = service.list(status="approved")
    assert len(exported) == 2
    for notice in exported:
        assert notice.manifest_sha256 == result.notice_manifests[notice.doc_id()]
        folder = result.directory / notice.doc_id()
        pdf = (folder / "notice.pdf").read_bytes()
        assert pdf.startswith(b"%PDF-")
        text = subprocess.run(["pdftotext", str(folder / "notice.pdf"), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert PROFILE.rights_holder.legal_name in text and "SHA-256" in text
        message = email.message_from_bytes((folder / "notice.eml").read_bytes(), policy=default)
        assert message["Subject"].strip() == notice.subject_line and message["X-Brandhound-Notice"] == notice.doc_id()
        body = message.get_body(("plain",)).get_content()
        assert "penalty of perjury" in body or notice.recipient.kind == "internal"
        attachments = [p.get_filename() for p in message.iter_attachments()]
        if notice.recipient.kind == "marketplace":
            assert "report.json" in attachments and sum(a.endswith(".png") for a in attachments) == 2
    rows = (result.directory / "batch.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("id,status,recipient_kind") and len(rows) == 3
    for path in [*result.files, result.zip_path]:
        assert samples.clear_secrets[0].encode() not in path.read_bytes()
    with pytest.raises(TakedownError, match="no sent notices"):
        service.export(tmp_path / "none", status="sent")


def test_an_address_found_before_survives_a_run_that_cannot_find_it(world):
    """Lookups on, then off (RDAP down, or a job without lookups): the drafts keep their addresses."""
    from brandhound.items import Recipient
    from takedown.recipients import RecipientFinder

    _, service, _ = world

    class WithHosting(RecipientFinder):
        def _host(self, case):
            return Recipient(kind="host", name="Offshore VPS S.A.", email="noc-abuse@offshorevps.example",
                             source="rdap")

    service.finder = WithHosting(PROFILE)
    first = service.draft_from_findings(by="aino")
    hosts = {n.doc_id(): n.recipient.email for n in service.list(recipient_kind="host")}
    assert set(hosts.values()) == {"noc-abuse@offshorevps.example"}
    service.finder = RecipientFinder(PROFILE)
    second = service.draft_from_findings(by="airflow")
    assert not second.created and not second.superseded and sorted(second.updated) == sorted(first.created)
    assert {n.doc_id(): n.recipient.email for n in service.list(recipient_kind="host")} == hosts
