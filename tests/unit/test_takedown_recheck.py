"""Removal re-checks: each signal classified, removal confirmed only when seen twice hours apart, notices closed."""

from __future__ import annotations

import copy
import socket
from datetime import datetime, timedelta, timezone

import pytest

from brandhound.items import File, NoticeEvidence, Recipient, RemovalCheck, StatusChange, Takedown
from brandhound.page_fingerprint import HtmlFingerprint
from sandbox.local_http import QuietSite, serve
from takedown.lifecycle import TakedownError
from takedown.recheck import (Capture, FetchResult, classify, confirmed_removed, is_due, recheck, recheck_notice,
                              wording_signal)
from takedown.refetch import HttpRefetcher

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
URL = "https://shop.example/listing/41"
LISTING = ("<html><head><title>Kestrava Trail Boot 2 - cheap</title></head><body><main class='listing'>"
           "<h1 class='title'>Kestrava Trail Boot 2</h1><div class='price'>39.00 EUR</div>"
           "<p class='desc'>Original Kestrava waterproof trail boot, all sizes, fast shipping from our warehouse."
           "</p><div class='seller'>bootdeals</div></main></body></html>")
CAPTURE = Capture(HtmlFingerprint.of(LISTING), "Kestrava Trail Boot 2 - cheap")
OTHER = ("<html><head><title>Garden furniture</title></head><body><nav class='menu'><a>Home</a></nav>"
         "<section class='grid'><article class='tile'>Teak bench, weatherproof</article>"
         "<article class='tile'>Folding chair set of four</article></section></body></html>")


def ok(body: str, url: str = URL, status: int = 200) -> FetchResult:
    return FetchResult(url, status, url, body.encode())


def page(text: str, title: str = "Notice") -> str:
    return f"<html><head><title>{title}</title></head><body><div class='box'><p>{text}</p></div></body></html>"


# ----------------------------------------------------------------------------- classification


@pytest.mark.parametrize("result,signal", [
    (FetchResult(URL, 404, URL, b"not found"), "http_404"),
    (FetchResult(URL, 410, URL, b""), "http_410"),
    (FetchResult(URL, error="nxdomain", detail="shop.example does not resolve"), "nxdomain"),
    (ok(page("This listing has been removed by the seller or the marketplace.")), "removed_page"),
    (ok(page("Dieser Artikel ist nicht mehr verfügbar.")), "removed_page"),
    (ok(page("Cette annonce n’est plus disponible.")), "removed_page"),
    (ok(page("Este anuncio ya no está disponible")), "removed_page"),
    (ok(page("This account has been suspended. Contact your hosting provider.")), "suspended_page"),
    (ok(page("Account Suspended", title="Account Suspended")), "suspended_page"),
    (ok(page("Dieser Domain wurde gesperrt")), "suspended_page"),
    (ok(page("The domain shop.example may be for sale. Buy this domain today!")), "parked_page"),
    (ok("<html><body><script src='https://img.sedoparking.com/js/x.js'></script><p>Related links</p></body></html>"),
     "parked_page"),
    (ok(OTHER), "content_gone"),
])
def test_clear_signals_are_removed(result, signal):
    check = classify(result, CAPTURE, at=T0)
    assert (check.outcome, check.signal) == ("removed", signal), check.detail
    assert check.at == T0 and check.url == URL and check.fetched_with == "http"


@pytest.mark.parametrize("result,signal", [
    (FetchResult(URL, error="timeout", detail="timed out"), "timeout"),
    (FetchResult(URL, error="connection_error"), "connection_error"),
    (FetchResult(URL, error="dns_error"), "dns_error"),
    (FetchResult(URL, 500, URL, b"oops"), "http_5xx"),
    (FetchResult(URL, 503, URL, page("This listing has been removed").encode()), "http_5xx"),
    (FetchResult(URL, 403, URL, b"bot wall"), "http_4xx"),
    (FetchResult(URL, 429, URL, b"slow down"), "http_4xx"),
    (FetchResult(URL, 200, URL, b"   "), "empty_body"),
    (ok(page("Checking your browser before accessing shop.example")), "interstitial_page"),
    (ok(page("Die Seite ist vorübergehend nicht verfügbar")), "interstitial_page"),
    (ok(page("This page is temporarily unavailable, please try again later")), "interstitial_page"),
])
def test_failures_are_unreachable_never_removed(result, signal):
    check = classify(result, CAPTURE, at=T0)
    assert (check.outcome, check.signal) == ("unreachable", signal)


def test_the_captured_content_still_there_is_online_whatever_the_wording():
    still = LISTING.replace("</main>", "<footer class='x'>Items no longer available are hidden.</footer></main>")
    check = classify(ok(still), CAPTURE, at=T0)
    assert (check.outcome, check.signal) == ("online", "content_present")
    assert check.body_sha256 and check.status_code == 200 and "similar" in check.detail


def test_without_a_captured_page_only_wordings_decide():
    assert classify(ok(OTHER), None).outcome == "online"
    assert classify(ok(OTHER), Capture(None, "Kestrava Trail Boot 2")).signal == "content_unverified"
    assert classify(ok(LISTING), Capture(None, "Kestrava Trail Boot 2")).signal == "content_present"
    assert classify(ok(page("This item is no longer available")), None).signal == "removed_page"


def test_wordings_are_not_found_in_ordinary_pages():
    assert wording_signal(LISTING) is None
    assert wording_signal(OTHER) is None
    assert wording_signal(page("Suspension forks and parked bikes for sale")) is None
    assert wording_signal(page("The old thread was removed, see the new one")) is None
    assert wording_signal(page("Ogłoszenie nie jest już dostępne")) == ("removed_page", "ogłoszenie nie jest już dostępne")


# ----------------------------------------------------------------------------- the two-sightings rule


def rc(outcome: str, hours: float, url: str = URL) -> RemovalCheck:
    return RemovalCheck(url=url, at=T0 + timedelta(hours=hours), outcome=outcome,
                        signal={"removed": "http_404", "online": "content_present", "unreachable": "timeout"}[outcome])


def test_removed_needs_two_sightings_some_hours_apart():
    gap = timedelta(hours=4)
    assert not confirmed_removed([rc("removed", 0)], URL, gap)
    assert not confirmed_removed([rc("removed", 0), rc("removed", 3)], URL, gap)
    assert len(confirmed_removed([rc("removed", 0), rc("removed", 5)], URL, gap)) == 2
    assert confirmed_removed([rc("removed", 0), rc("unreachable", 2), rc("removed", 5)], URL, gap)
    assert not confirmed_removed([rc("removed", 0), rc("online", 2), rc("removed", 5)], URL, gap)
    assert not confirmed_removed([rc("removed", 0), rc("removed", 5), rc("online", 6)], URL, gap)
    assert not confirmed_removed([rc("removed", 0), rc("removed", 5, url="https://other.example/")], URL, gap)
    assert not confirmed_removed([rc("unreachable", 0), rc("unreachable", 9)], URL, gap)


def notice(status: str = "sent", urls: tuple[str, ...] = (URL,)) -> Takedown:
    return Takedown(recipient=Recipient(kind="marketplace", name="BazaarHub"), status=status,
                    finding_ids=["f1"], urls=list(urls), group="g1")


class Script:
    """A faked fetcher: per URL, the results in order (the last one repeats)."""

    def __init__(self, **by_url: list[FetchResult]):
        self.by_url = by_url
        self.calls: list[str] = []

    def __call__(self, url: str) -> FetchResult:
        self.calls.append(url)
        results = self.by_url[url]
        return results.pop(0) if len(results) > 1 else results[0]


def run(n: Takedown, fetch, hours: list[float], captures=None):
    results = [recheck_notice(n, fetch, captures or {URL: CAPTURE}, T0 + timedelta(hours=h)) for h in hours]
    return results[-1]


def test_404_twice_five_hours_apart_closes_the_notice():
    n = notice()
    last = run(n, lambda url: FetchResult(url, 404, url, b""), [0, 5])
    assert last.closed and n.status == "removed" and last.confirmed == [URL]
    change = n.history[-1]
    assert change.by == "recheck" and "http_404" in change.reason and URL in change.reason
    assert change.at == T0 + timedelta(hours=5)
    assert n.watch_until == T0 + timedelta(hours=5, days=30)
    assert [c.outcome for c in n.checks] == ["removed", "removed"]


def test_404_once_or_twice_too_close_keeps_it_sent():
    n = notice()
    run(n, lambda url: FetchResult(url, 404, url, b""), [0])
    assert n.status == "sent" and len(n.checks) == 1
    run(n, lambda url: FetchResult(url, 404, url, b""), [1])
    assert n.status == "sent" and n.watch_until is None


def test_timeouts_and_5xx_never_close():
    n = notice()
    fetch = Script(**{URL: [FetchResult(URL, error="timeout"), FetchResult(URL, 502, URL, b"bad gateway")]})
    run(n, fetch, [0, 5, 10, 30])
    assert n.status == "sent" and {c.outcome for c in n.checks} == {"unreachable"}
    assert [c.signal for c in n.checks] == ["timeout", "http_5xx", "http_5xx", "http_5xx"]


@pytest.mark.parametrize("body", [page("This domain has been suspended"), page("Buy this domain"), OTHER,
                                  page("Dieses Angebot wurde beendet")])
def test_other_clear_signals_close_too(body):
    n = notice(status="acknowledged")
    assert run(n, lambda url: ok(body, url), [0, 4]).closed and n.status == "removed"


def test_nxdomain_twice_closes():
    n = notice()
    assert run(n, lambda url: FetchResult(url, error="nxdomain"), [0, 6]).closed
    assert "nxdomain" in n.history[-1].reason


def test_online_between_two_removed_resets():
    n = notice()
    fetch = Script(**{URL: [FetchResult(URL, 404, URL, b""), ok(LISTING), FetchResult(URL, 404, URL, b"")]})
    run(n, fetch, [0, 2, 5])
    assert n.status == "sent" and [c.outcome for c in n.checks] == ["removed", "online", "removed"]
    run(n, fetch, [9])
    assert n.status == "removed"


def test_every_url_must_be_removed():
    other = "https://shop.example/listing/42"
    n = notice(urls=(URL, other))
    fetch = Script(**{URL: [FetchResult(URL, 410, URL, b"")], other: [ok(LISTING, other)]})
    last = run(n, fetch, [0, 5], {URL: CAPTURE, other: CAPTURE})
    assert n.status == "sent" and last.confirmed == [URL]


@pytest.mark.parametrize("status", ["draft", "approved", "removed", "rejected"])
def test_notices_not_sent_are_not_checked(status):
    n = notice(status=status)
    fetch = Script(**{URL: [FetchResult(URL, 404, URL, b"")]})
    assert not run(n, fetch, [0, 5]).checks and fetch.calls == [] and n.checks == []


def test_checks_and_the_watch_survive_the_index_round_trip():
    from brandhound.mapping import from_document, to_document

    n = notice()
    run(n, lambda url: FetchResult(url, 410, url, b"gone"), [0, 5])
    back = from_document(Takedown, to_document(n))
    assert back.checks == n.checks and back.watch_until == n.watch_until and back.status == "removed"


# ----------------------------------------------------------------------------- the service loop


class FakeEvidence:
    def __init__(self, files: dict[str, bytes]):
        self.files = files

    def read(self, file: File) -> bytes:
        return self.files[file.path]


class FakeService:
    """The parts of TakedownService that recheck uses, over a dict; ``conflict`` fails writes of those ids."""

    def __init__(self, notices: list[Takedown], evidence: dict[str, bytes], conflict: set[str] = frozenset()):
        self.notices = {n.doc_id(): n for n in notices}
        self.evidence = FakeEvidence(evidence)
        self.conflict = conflict
        self.listed: list[str | None] = []
        self.written: list[str] = []

    def list(self, status=None):
        self.listed.append(status)
        return [n for n in self.notices.values() if status is None or n.status == status]

    def _get(self, notice_id):
        return copy.deepcopy(self.notices[notice_id]), {"if_seq_no": 1, "if_primary_term": 1}

    def _write(self, n, condition):
        assert condition
        if n.doc_id() in self.conflict:
            raise TakedownError(f"notice {n.doc_id()} was changed by someone else meanwhile")
        self.notices[n.doc_id()] = n
        self.written.append(n.doc_id())


def test_recheck_reads_the_captured_page_and_writes_each_notice_back():
    sent = notice()
    sent.evidence = [NoticeEvidence(finding_id="f1", kind="counterfeit_listing", url=URL, title="Kestrava",
                                    html=File(path="ab/cd.html"))]
    approved = Takedown(recipient=Recipient(kind="host", name="Hosty"), status="approved", urls=[URL], group="g2")
    service = FakeService([sent, approved], {"ab/cd.html": LISTING.encode()})
    fetch = Script(**{URL: [ok(LISTING), ok(OTHER), ok(OTHER)]})
    first = recheck(service, fetch, now=T0)
    assert first.totals() == {"notices": 1, "urls": 1, "closed": 0, "errors": 0, "removed": 0,
                                   "unreachable": 0, "online": 1}
    assert service.written == [sent.doc_id()] and service.notices[approved.doc_id()].checks == []
    recheck(service, fetch, now=T0 + timedelta(hours=1))
    last = recheck(service, fetch, now=T0 + timedelta(hours=6), min_gap=timedelta(hours=4))
    stored = service.notices[sent.doc_id()]
    assert last.notices[0].closed and stored.status == "removed"
    assert [c.signal for c in stored.checks] == ["content_present", "content_gone", "content_gone"]
    assert "content_gone" in stored.history[-1].reason
    assert service.listed == ["sent", "acknowledged"] * 3


def test_hourly_the_first_week_then_daily_unless_a_removal_waits_for_confirmation():
    n = notice()
    n.history = [StatusChange(status="sent", at=T0, by="aino")]
    week = timedelta(days=8)
    assert is_due(n, T0 + week)  # never checked
    n.checks = [rc("online", 1)]
    assert is_due(n, T0 + timedelta(hours=2))  # first week: every run
    n.checks = [rc("online", 8 * 24 - 2)]
    assert not is_due(n, T0 + week)
    assert is_due(n, T0 + week + timedelta(hours=21))
    n.checks.append(rc("removed", 8 * 24 - 1))
    assert not is_due(n, T0 + week + timedelta(hours=2)) and is_due(n, T0 + week + timedelta(hours=3))


def test_a_conflicting_write_is_reported_not_lost_silently():
    n = notice()
    service = FakeService([n], {}, conflict={n.doc_id()})
    summary = recheck(service, lambda url: FetchResult(url, 404, url, b""), now=T0)
    assert summary.notices[0].error and "changed by someone else" in summary.notices[0].error
    assert summary.totals()["errors"] == 1 and service.notices[n.doc_id()].checks == []


# ----------------------------------------------------------------------------- the plain-HTTP fetcher


@pytest.fixture
def server():
    class Handler(QuietSite):
        def do_GET(self):  # noqa: N802 - http.server's name
            routes = {"/gone": (404, b"gone"), "/live": (200, LISTING.encode()), "/down": (503, b"maintenance")}
            if self.path == "/moved":
                self.answer(302, location="/gone")
                return
            self.answer(*routes.get(self.path, (500, b"?")))

    httpd = serve(Handler)
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_the_fetcher_reports_status_final_url_and_body(server):
    fetch = HttpRefetcher(allow_private=True, timeout=5)
    assert classify(fetch(f"{server}/gone"), CAPTURE).signal == "http_404"
    moved = fetch(f"{server}/moved")
    assert moved.status_code == 404 and moved.final_url == f"{server}/gone"
    assert classify(fetch(f"{server}/live"), CAPTURE).signal == "content_present"
    assert classify(fetch(f"{server}/down"), CAPTURE).outcome == "unreachable"


def test_the_fetcher_keeps_the_ssrf_rule(server):
    refused = HttpRefetcher(timeout=5)(f"{server}/gone")
    assert refused.error == "refused" and "non-public address 127.0.0.1" in refused.detail
    assert classify(refused, CAPTURE).outcome == "unreachable"
    assert HttpRefetcher()("file:///etc/passwd").error == "refused"
    assert HttpRefetcher(allow_private=True)("http://abc.onion/").error == "refused"


def test_the_fetcher_tells_nxdomain_from_a_dns_outage():
    def no_such(host):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    def outage(host):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    assert HttpRefetcher(resolve=no_such)("https://gone.example/x").error == "nxdomain"
    assert HttpRefetcher(resolve=outage)("https://gone.example/x").error == "dns_error"


def test_the_fetcher_reports_a_connection_refused_as_unreachable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = HttpRefetcher(allow_private=True, timeout=5)(f"http://127.0.0.1:{port}/")
    assert result.error == "connection_error" and classify(result, CAPTURE).outcome == "unreachable"


def test_the_cli_prints_each_url_and_the_totals(monkeypatch, capsys):
    import argparse

    import brandhound.commands.takedown as commands
    import takedown.refetch

    n = notice()
    n.checks = [rc("removed", 0)]
    service = FakeService([n], {})
    monkeypatch.setattr(commands, "service_for", lambda args, settings: service)
    monkeypatch.setattr(takedown.refetch.HttpRefetcher, "__call__", lambda self, url: FetchResult(url, 404, url, b""))
    args = argparse.Namespace(brand="b", allow_private=False, min_gap_hours=1.0, json=False)
    assert commands.cmd_recheck(args, None) == 0
    text = capsys.readouterr().out
    assert "removed     http_404" in text and f"{URL}  confirmed" in text and "(closed now)" in text
    assert "1 notices, 1 URLs checked: 1 removed, 0 unreachable, 0 online; 1 notices closed" in text


def test_the_cli_json_has_each_check_and_the_totals(monkeypatch, capsys):
    import argparse
    import json

    import brandhound.commands.takedown as commands
    import takedown.refetch

    service = FakeService([notice()], {})
    monkeypatch.setattr(commands, "service_for", lambda args, settings: service)
    monkeypatch.setattr(takedown.refetch.HttpRefetcher, "__call__", lambda self, url: FetchResult(url, error="timeout"))
    args = argparse.Namespace(brand="b", allow_private=False, min_gap_hours=None, json=True)
    assert commands.cmd_recheck(args, None) == 0
    first, totals = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert first["checks"][0]["outcome"] == "unreachable" and first["checks"][0]["signal"] == "timeout"
    assert not first["closed"] and totals["totals"]["unreachable"] == 1
