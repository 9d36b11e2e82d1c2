"""The review console over an in-memory service: every forbidden path, and the allowed ones."""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from brandhound.evidence import EvidenceStore
from brandhound.items import Finding, NoticeEvidence, Recipient, Signal, StatusChange, Subject, Takedown
from brandhound.profile import BrandProfile
from takedown.lifecycle import STATUSES, NoticeNotFound, TakedownError, transition

HOSTILE_TITLE = "<script>alert('title')</script>"
HOSTILE_SELLER = '"onerror=alert(1) x="'
HOSTILE_URL = "javascript:alert(document.cookie)"
SAFE_URL = "https://www.bazaarhub.com/item/1001?q=<b>"


def png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


class FakeService:
    """Notices in a dict, moved along the real lifecycle."""

    def __init__(self, profile: BrandProfile, evidence: EvidenceStore):
        self.profile = profile
        self.evidence = evidence
        self.notices: dict[str, Takedown] = {}
        self.exports: list[dict] = []

    def add(self, notice: Takedown) -> str:
        self.notices[notice.doc_id()] = notice
        return notice.doc_id()

    def list(self, status=None, recipient_kind=None):
        if status is not None and status not in STATUSES:
            raise TakedownError(f"unknown status {status!r}")
        return [n for n in self.notices.values() if status in (None, n.status)]

    def get(self, notice_id):
        if notice_id not in self.notices:
            raise NoticeNotFound(f"no takedown notice {notice_id!r}")
        return self.notices[notice_id]

    def mark(self, notice_id, status, by, reason=None):
        return transition(self.get(notice_id), status, by, reason=reason)

    def approve(self, notice_id, by):
        return self.mark(notice_id, "approved", by)

    def reject(self, notice_id, reason, by):
        return self.mark(notice_id, "rejected", by, reason=reason)

    def edit_free_text(self, notice_id, fields, by):
        notice = self.get(notice_id)
        if notice.status != "draft":
            raise TakedownError(f"notice {notice_id} is {notice.status}: only drafts can be edited")
        for name, value in fields.items():
            setattr(notice, name, value)
        notice.history.append(StatusChange(status="draft", by=by, reason=f"edited {', '.join(sorted(fields))}"))
        return notice

    def export(self, out_dir: Path, *, ids=None, status=None, formats=()):
        chosen = list(ids) if ids else [i for i, n in self.notices.items() if n.status == status]
        if not chosen:
            raise TakedownError(f"no {status} notices to export")
        self.exports.append({"ids": chosen, "dir": out_dir})
        zip_path = out_dir / "batch.zip"
        with zipfile.ZipFile(zip_path, "w") as z:
            z.writestr("manifest.json", json.dumps({"notices": chosen}))
        return SimpleNamespace(zip_path=zip_path, notice_manifests={i: "0" * 64 for i in chosen})


@dataclass
class FakeFindings:
    findings: dict[str, Finding] = field(default_factory=dict)
    decisions: list[tuple] = field(default_factory=list)

    def by_id(self, ids):
        return [self.findings[i] for i in ids if i in self.findings]

    def for_triage(self, status="new"):
        return [f for f in self.findings.values() if f.status == status]

    def set_status(self, finding_id, status, by, reason=None):
        if finding_id not in self.findings:
            raise TakedownError(f"no finding with id {finding_id}")
        self.findings[finding_id].status = status
        self.decisions.append((finding_id, status, by, reason))


def hostile_world(profile: BrandProfile, evidence: EvidenceStore) -> tuple[FakeService, FakeFindings, dict]:
    """One draft whose scraped text is hostile, with a screenshot; and a second notice with its own file."""
    shot = evidence.put(png(), suffix=".png", mime_type="image/png")
    html = evidence.put(b"<script>alert(1)</script>", suffix=".html", mime_type="text/html")
    finding = Finding(kind="counterfeit_listing", score=0.91, threshold=0.7, verdict="flagged", status="new",
                      subject=Subject(index="listings", id="l1", url=HOSTILE_URL),
                      signals=[Signal(name="title_match", value=HOSTILE_TITLE, weight=0.4, contribution=0.3,
                                      evidence="<img src=x onerror=alert(2)>")])
    notice = Takedown(recipient=Recipient(kind="marketplace", name="BazaarHub <IP desk>", email="ip@bazaarhub.example"),
                      finding_ids=[finding.doc_id()], group="g1", urls=[HOSTILE_URL, SAFE_URL],
                      subject_line=f"Notice about {HOSTILE_TITLE}", body=f"Listing {HOSTILE_TITLE} by {HOSTILE_SELLER}",
                      evidence=[NoticeEvidence(finding_id=finding.doc_id(), kind="counterfeit_listing",
                                               url=HOSTILE_URL, final_url=SAFE_URL, title=HOSTILE_TITLE,
                                               seller=HOSTILE_SELLER, screenshot=shot, html=html)],
                      history=[StatusChange(status="draft", by="drafter")])
    other_file = evidence.put(png()[:-1] + b"\x01", suffix=".png", mime_type="image/png")
    other = Takedown(recipient=Recipient(kind="registrar", name="QuickCheap"), group="g2", status="approved",
                     evidence=[NoticeEvidence(finding_id="f2", kind="phishing", screenshot=other_file)])
    service = FakeService(profile, evidence)
    ids = {"draft": service.add(notice), "approved": service.add(other), "shot": shot, "html": html,
           "other_file": other_file, "finding": finding.doc_id()}
    return service, FakeFindings({finding.doc_id(): finding}), ids


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


# --------------------------------------------------------------------------- fixtures

import time  # noqa: E402

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from brandhound.profile import load_profile  # noqa: E402
from takedown.console.app import create_app, is_web_url  # noqa: E402
from takedown.console.sessions import COOKIE, SESSION_SECONDS, LoginLimiter, SessionCodec  # noqa: E402
from takedown.console.users import UserStore  # noqa: E402
from tests.support.paths import EXAMPLE_BRAND  # noqa: E402

PASSWORD = "correct horse battery"
SECRET = "s" * 40


@pytest.fixture(scope="module")
def users(tmp_path_factory) -> UserStore:
    store = UserStore(tmp_path_factory.mktemp("home") / "console-users.json")
    for name, role in (("ana", "analyst"), ("lea", "legal"), ("adam", "admin")):
        store.add(name, role, PASSWORD)
    return store


@pytest.fixture
def world(tmp_path, users):
    service, findings, ids = hostile_world(load_profile(EXAMPLE_BRAND), EvidenceStore(tmp_path / "evidence"))
    app = create_app(service, users, SECRET, findings=findings, limiter=LoginLimiter())
    return TestClient(app), service, findings, ids


def login(client: TestClient, name: str, password: str = PASSWORD):
    csrf = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": name, "password": password, "csrf": csrf},
                       follow_redirects=False)


def page_csrf(client: TestClient, path: str = "/") -> str:
    return csrf_of(client.get(path).text)


# --------------------------------------------------------------------------- forbidden paths


def test_without_a_session_pages_redirect_to_login_and_changes_get_401(world):
    client, service, _, ids = world
    for path in ("/", f"/notices/{ids['draft']}", "/findings", "/users", f"/notices/{ids['draft']}/evidence/x"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/login", path
    response = client.post(f"/notices/{ids['draft']}/approve", data={"csrf": "x"}, follow_redirects=False)
    assert response.status_code == 401
    assert service.notices[ids["draft"]].status == "draft"


def test_a_forged_or_expired_cookie_is_no_session(world, monkeypatch):
    client, *_ = world
    client.cookies.set(COOKIE, "eyJ1IjoibGVhIn0.forged.signature")
    assert client.get("/", follow_redirects=False).status_code == 303
    codec = SessionCodec(SECRET)
    client.cookies.set(COOKIE, codec.dumps(codec.new("lea")))
    assert client.get("/", follow_redirects=False).status_code == 200
    now = time.time()
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: now - SESSION_SECONDS - 5)
    old = codec.dumps(codec.new("lea"))
    monkeypatch.undo()
    client.cookies.set(COOKIE, old)
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_an_analyst_reads_but_may_not_approve(world):
    client, service, _, ids = world
    login(client, "ana")
    page = client.get(f"/notices/{ids['draft']}")
    assert page.status_code == 200 and 'id="approve"' not in page.text and 'action="/export"' not in page.text
    csrf = csrf_of(page.text)
    for action, data in (("approve", {}), ("reject", {"reason": "no"}), ("mark", {"status": "sent"}),
                         ("edit", {"remarks": "x"}), ("export", {})):
        response = client.post(f"/notices/{ids['draft']}/{action}", data={"csrf": csrf, **data})
        assert response.status_code == 403, action
    assert client.post("/export", data={"csrf": csrf, "status": "approved"}).status_code == 403
    assert client.get("/users").status_code == 403
    assert service.notices[ids["draft"]].status == "draft" and not service.exports


def test_a_legal_user_may_not_manage_users(world, users):
    client, *_ = world
    login(client, "lea")
    csrf = page_csrf(client)
    assert client.get("/users").status_code == 403
    assert client.post("/users", data={"csrf": csrf, "name": "eve", "role": "admin",
                                       "password": "x" * 12}).status_code == 403
    assert users.get("eve") is None


def test_changes_need_the_sessions_csrf_token(world):
    client, service, _, ids = world
    login(client, "lea")
    url = f"/notices/{ids['draft']}/approve"
    assert client.post(url).status_code == 403
    assert client.post(url, data={"csrf": ""}).status_code == 403
    assert client.post(url, data={"csrf": "A" * 43}).status_code == 403
    assert service.notices[ids["draft"]].status == "draft"
    # Another session's token is no good either.
    other = TestClient(client.app)
    login(other, "lea")
    assert client.post(url, data={"csrf": page_csrf(other)}).status_code == 403
    assert client.post("/login", data={"username": "lea", "password": PASSWORD}).status_code == 403


def test_state_changes_are_post_only(world):
    client, _, _, ids = world
    login(client, "lea")
    for path in (f"/notices/{ids['draft']}/approve", f"/notices/{ids['draft']}/reject", f"/notices/{ids['draft']}/mark",
                 f"/notices/{ids['draft']}/edit", f"/notices/{ids['draft']}/export", "/export", "/logout",
                 f"/findings/{ids['finding']}/confirm", "/users/ana/remove"):
        assert client.get(path).status_code == 405, path


def test_only_the_notices_own_evidence_is_served_and_only_intact(world, tmp_path):
    client, service, _, ids = world
    login(client, "ana")
    base = f"/notices/{ids['draft']}/evidence"
    shot = client.get(f"{base}/{ids['shot'].hash.sha256}")
    assert shot.status_code == 200 and shot.headers["content-type"] == "image/png" and shot.content == png()
    assert "sandbox" in shot.headers["content-security-policy"]
    # Another notice's file, a made-up hash, a path: none is served through this notice.
    assert client.get(f"{base}/{ids['other_file'].hash.sha256}").status_code == 404
    assert client.get(f"{base}/{'0' * 64}").status_code == 404
    assert client.get(f"{base}/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert client.get(f"{base}/../../../etc/passwd").status_code == 404
    # Stored HTML is never served as a page of the console's origin.
    html = client.get(f"{base}/{ids['html'].hash.sha256}")
    assert html.headers["content-type"] == "application/octet-stream"
    assert html.headers["content-disposition"].startswith("attachment")
    # A notice whose entry points outside the store, and a file altered since capture.
    notice = service.notices[ids["draft"]]
    notice.evidence[0].html.path = "../../../etc/hostname"
    assert client.get(f"{base}/{ids['html'].hash.sha256}").status_code == 404
    (service.evidence.root / ids["shot"].path).write_bytes(b"altered")
    assert client.get(f"{base}/{ids['shot'].hash.sha256}").status_code == 409


def test_login_is_rate_limited_per_user_and_per_address(world):
    client, *_ = world
    for _ in range(5):
        assert login(client, "lea", "wrong password!").status_code == 401
    refused = login(client, "lea")
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert login(client, "ana", "wrong").status_code == 429  # same address, other user


def test_the_limiter_counts_users_and_addresses_apart_and_forgets():
    now = [0.0]
    limiter = LoginLimiter(limit=2, window=60, clock=lambda: now[0])
    limiter.failed("a", "10.0.0.1")
    limiter.failed("a", "10.0.0.2")
    assert limiter.blocked("a", "10.0.0.3") and not limiter.blocked("b", "10.0.0.3")
    limiter.failed("b", "10.0.0.3")
    limiter.failed("c", "10.0.0.3")
    assert limiter.blocked("d", "10.0.0.3")
    now[0] = 61
    assert not limiter.blocked("a", "10.0.0.3")


def test_wrong_password_and_unknown_user_look_the_same(world):
    client, *_ = world
    wrong, unknown = login(client, "lea", "nope-nope-nope"), login(client, "nobody", "nope-nope-nope")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong user name or password." in wrong.text and "Wrong user name or password." in unknown.text
    assert "set-cookie" not in wrong.headers and "set-cookie" not in unknown.headers


def test_hostile_scraped_text_renders_escaped_and_javascript_urls_are_not_linked(world):
    client, _, _, ids = world
    login(client, "lea")
    for path in ("/", f"/notices/{ids['draft']}", "/findings"):
        text = client.get(path).text
        assert "<script>alert" not in text and "<img src=x" not in text, path
        assert 'href="javascript:' not in text.lower(), path
    text = client.get(f"/notices/{ids['draft']}").text
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in text
    assert "&#34;onerror=alert(1) x=&#34;" in text and '"onerror=' not in text
    assert "javascript:alert(document.cookie)" in text  # shown as text
    assert 'href="https://www.bazaarhub.com/item/1001?q=&lt;b&gt;" rel="noopener noreferrer"' in text
    assert "BazaarHub &lt;IP desk&gt;" in text


def test_security_headers_on_every_response(world):
    client, *_ = world
    for response in (client.get("/login"), client.get("/", follow_redirects=False), client.get("/static/console.css")):
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert "<script" not in client.get("/login").text


def test_only_http_urls_are_links():
    assert is_web_url("https://a.example/x") and is_web_url("HTTP://a.example")
    for bad in ("javascript:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)", "data:text/html,x",
                "//evil.example", "https:///nohost", "vbscript:x", None, "http://a\x00.example"):
        assert not is_web_url(bad), bad


# --------------------------------------------------------------------------- allowed paths


def test_session_cookie_flags(world):
    client, *_ = world
    cookie = login(client, "lea").headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and "Max-Age=" in cookie
    assert "Secure" not in cookie  # plain http on loopback
    https = TestClient(client.app, base_url="https://testserver")
    assert "Secure" in login(https, "lea").headers["set-cookie"]


def test_legal_reviews_edits_approves_marks_and_downloads(world):
    client, service, _, ids = world
    assert login(client, "lea").headers["location"] == "/"
    listing = client.get("/")
    assert listing.status_code == 200 and ">draft <span class=\"count\">1</span>" in listing.text
    assert ">approved <span class=\"count\">1</span>" in listing.text
    page = client.get(f"/notices/{ids['draft']}")
    assert 'id="approve"' in page.text and "title_match" in page.text and ids["shot"].hash.sha256 in page.text
    assert f'src="/notices/{ids["draft"]}/evidence/{ids["shot"].hash.sha256}"' in page.text
    csrf = csrf_of(page.text)
    base = f"/notices/{ids['draft']}"
    edited = client.post(f"{base}/edit", data={"csrf": csrf, "remarks": "Also sells on other sites."},
                         follow_redirects=False)
    assert edited.status_code == 303 and edited.headers["location"] == base
    assert client.post(f"{base}/approve", data={"csrf": csrf}).status_code == 200
    notice = service.notices[ids["draft"]]
    assert notice.remarks == "Also sells on other sites." and notice.status == "approved"
    assert [(c.status, c.by) for c in notice.history][-2:] == [("draft", "lea"), ("approved", "lea")]
    assert client.post(f"{base}/mark", data={"csrf": csrf, "status": "sent"}).status_code == 200
    assert service.notices[ids["draft"]].status == "sent"
    # A change the lifecycle forbids is a clear 409, the notice unchanged.
    refused = client.post(f"{base}/mark", data={"csrf": csrf, "status": "approved"})
    assert refused.status_code == 409 and "cannot become approved" in refused.text
    download = client.post(f"{base}/export", data={"csrf": csrf})
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    assert f'filename="takedown-{ids["draft"]}.zip"' in download.headers["content-disposition"]
    assert zipfile.ZipFile(io.BytesIO(download.content)).namelist() == ["manifest.json"]
    assert not service.exports[0]["dir"].exists()  # the temporary export is cleaned up
    batch = client.post("/export", data={"csrf": csrf, "status": "approved"})
    assert batch.status_code == 200 and service.exports[-1]["ids"] == [ids["approved"]]


def test_reject_needs_a_reason(world):
    client, service, _, ids = world
    login(client, "lea")
    csrf = page_csrf(client)
    assert client.post(f"/notices/{ids['draft']}/reject", data={"csrf": csrf, "reason": " "}).status_code == 409
    assert client.post(f"/notices/{ids['draft']}/reject", data={"csrf": csrf, "reason": "duplicate"}).status_code == 200
    assert service.notices[ids["draft"]].history[-1].reason == "duplicate"
    assert client.get("/notices/missing").status_code == 404


def test_analysts_triage_findings(world):
    client, _, findings, ids = world
    login(client, "ana")
    page = client.get("/findings")
    assert page.status_code == 200 and "title_match" in page.text
    csrf = csrf_of(page.text)
    assert client.post(f"/findings/{ids['finding']}/dismiss", data={"csrf": csrf, "reason": "genuine reseller"},
                       follow_redirects=False).status_code == 303
    assert findings.decisions == [(ids["finding"], "dismissed", "ana", "genuine reseller")]
    assert client.post(f"/findings/{ids['finding']}/delete", data={"csrf": csrf}).status_code == 404


def test_admin_manages_users_and_logout_ends_the_session(world, users):
    client, *_ = world
    login(client, "adam")
    csrf = page_csrf(client, "/users")
    assert client.post("/users", data={"csrf": csrf, "name": "newbie", "role": "analyst",
                                       "password": "long enough pw"}).status_code == 200
    assert users.get("newbie").role == "analyst"
    assert client.post("/users", data={"csrf": csrf, "name": "short", "role": "analyst",
                                       "password": "x"}).status_code == 409
    assert client.post("/users/adam/remove", data={"csrf": csrf}).status_code == 409
    assert client.post("/users/newbie/remove", data={"csrf": csrf}).status_code == 200
    assert users.get("newbie") is None
    assert client.post("/logout", data={"csrf": csrf}, follow_redirects=False).headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_removed_user_loses_access_at_once(world, users):
    client, *_ = world
    users.add("temp", "legal", PASSWORD)
    login(client, "temp")
    assert client.get("/").status_code == 200
    users.remove("temp")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_logs_name_user_and_action_but_no_secret(world, caplog):
    client, _, _, ids = world
    caplog.set_level("INFO", logger="takedown.console")
    login(client, "lea", "wrong-password-123")
    login(client, "lea")
    csrf = page_csrf(client)
    client.post(f"/notices/{ids['draft']}/approve", data={"csrf": csrf})
    text = caplog.text
    assert "lea approved notice" in text and "failed login for 'lea'" in text
    for secret in (PASSWORD, "wrong-password-123", csrf, client.cookies.get(COOKIE)):
        assert secret not in text
