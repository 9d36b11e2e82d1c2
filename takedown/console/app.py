"""The review console's web application (FastAPI, server-rendered Jinja2 pages).

Every page needs a session; every change is a POST carrying the session's CSRF token and
goes through :class:`~takedown.service.TakedownService` with the acting user as ``by``, so
``Takedown.history`` is the audit trail. Scraped titles, seller names and URLs are data:
templates autoescape them, and a URL is linked only when it is http(s). Evidence files are
served only as the notice's evidence entries name them, after checking their SHA-256.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import Depends, FastAPI, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException

from brandhound.items import File, Takedown
from takedown.lifecycle import STATUSES, TRANSITIONS, NoticeNotFound, TakedownError
from takedown.console.findings import FindingsView
from takedown.console.sessions import COOKIE, SESSION_SECONDS, LoginLimiter, Session, SessionCodec, csrf_matches
from takedown.console.users import ROLES, User, UserStore, role_allows
from takedown.service import TakedownService
from takedown.triage import TRIAGE_STATUSES

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
#: Evidence shown inline; anything else is only downloaded.
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
                               "object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class LoginRequired(Exception):
    """No valid session: pages redirect to the login form, changes get 401."""


@dataclass(frozen=True)
class Actor:
    """The logged-in user acting on a request."""

    user: User
    session: Session

    def may(self, role: str) -> bool:
        return role_allows(self.user.role, role)


def is_web_url(value: object) -> bool:
    """Whether ``value`` is an absolute http(s) URL, the only kind the console links."""
    if not isinstance(value, str) or any(ord(c) < 0x20 or c == "\x7f" for c in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def evidence_files(notice: Takedown) -> list[tuple[str, File]]:
    """Every stored file a notice's evidence entries name, with what it is."""
    out: list[tuple[str, File]] = []
    for entry in notice.evidence:
        out += [("html", entry.html)] if entry.html else []
        out += [("screenshot", entry.screenshot)] if entry.screenshot else []
        out += [("image", image) for image in entry.images]
    return [(what, f) for what, f in out if f.hash.sha256 and f.path]


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.tests["web_url"] = is_web_url
    env.filters["urlpart"] = lambda value: quote(str(value), safe="")
    return env


def create_app(service: TakedownService, users: UserStore, secret: str, *, findings: FindingsView | None = None,
               limiter: LoginLimiter | None = None, session_seconds: int = SESSION_SECONDS) -> FastAPI:
    """The console over one brand's notices."""
    app = FastAPI(title="brandhound review console", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    codec = SessionCodec(secret, session_seconds)
    limiter = limiter or LoginLimiter()
    findings = findings or FindingsView.of_service(service)
    templates = _templates()

    def render(name: str, actor: Actor | None, http_status: int = 200, session: Session | None = None,
               **context: Any) -> HTMLResponse:
        session = session or (actor.session if actor else None)
        page = templates.get_template(name).render(actor=actor, csrf=session.csrf if session else "",
                                                   statuses=STATUSES, brand=service.profile, **context)
        return HTMLResponse(page, status_code=http_status)

    def set_session(request: Request, response: Response, session: Session) -> Response:
        response.set_cookie(COOKIE, codec.dumps(session), max_age=session_seconds, path="/", httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")
        return response

    def requires(role: str) -> Callable:
        async def actor(request: Request) -> Actor:
            session = codec.loads(request.cookies.get(COOKIE))
            user = users.get(session.user) if session and session.user else None
            if session is None or user is None:
                raise LoginRequired()
            if not role_allows(user.role, role):
                log.warning("console: %s (%s) refused %s %s", user.name, user.role, request.method, request.url.path)
                raise HTTPException(403, f"your role ({user.role}) may not do this: it needs {role}")
            if request.method != "GET" and not csrf_matches(session, (await request.form()).get("csrf")):
                log.warning("console: %s sent %s %s without a valid CSRF token", user.name, request.method,
                            request.url.path)
                raise HTTPException(403, "the form's CSRF token is missing or wrong: reload the page and try again")
            return Actor(user, session)

        return actor

    analyst, legal, admin = (Depends(requires(role)) for role in ROLES)

    def back_to(notice_id: str) -> RedirectResponse:
        return RedirectResponse(f"/notices/{quote(notice_id, safe='')}", status_code=303)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if request.method == "GET":
            return RedirectResponse("/login", status_code=303)
        return render("error.html", None, 401, code=401, message="log in first")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        response = render("error.html", None, exc.status_code, code=exc.status_code, message=exc.detail)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(TakedownError)
    async def takedown_error(request: Request, exc: TakedownError) -> Response:
        code = 404 if isinstance(exc, NoticeNotFound) else 409
        return render("error.html", None, code, code=code, message=str(exc))

    # ------------------------------------------------------------------ login

    @app.get("/login")
    def login_form(request: Request) -> Response:
        session = codec.loads(request.cookies.get(COOKIE))
        if session and session.user and users.get(session.user):
            return RedirectResponse("/", status_code=303)
        session = session or codec.new()
        return set_session(request, render("login.html", None, session=session), session)

    @app.post("/login")
    async def login(request: Request, username: str = Form(""), password: str = Form(""),
                    csrf: str = Form("")) -> Response:
        session = codec.loads(request.cookies.get(COOKIE))
        if not csrf_matches(session, csrf):
            raise HTTPException(403, "the login form expired: reload it and try again")
        address = request.client.host if request.client else "unknown"
        if limiter.blocked(username, address):
            log.warning("console: login for %r from %s refused: too many failures", username[:64], address)
            response = render("login.html", None, 429, session=session,
                              error="Too many failed logins. Try again in 15 minutes.")
            response.headers["Retry-After"] = str(int(limiter.window))
            return response
        user = await run_in_threadpool(users.authenticate, username, password)
        if user is None:
            limiter.failed(username, address)
            log.warning("console: failed login for %r from %s", username[:64], address)
            return render("login.html", None, 401, session=session, error="Wrong user name or password.")
        log.info("console: %s (%s) logged in from %s", user.name, user.role, address)
        return set_session(request, RedirectResponse("/", status_code=303), codec.new(user.name))

    @app.post("/logout")
    def logout(actor: Actor = analyst) -> Response:
        log.info("console: %s logged out", actor.user.name)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # ------------------------------------------------------------------ notices

    @app.get("/")
    def notices(status: str | None = None, actor: Actor = analyst) -> Response:
        everything = service.list()
        shown = service.list(status=status) if status else everything
        return render("notices.html", actor, notices=shown, status=status,
                      counts=Counter(n.status for n in everything), total=len(everything))

    @app.get("/notices/{notice_id}")
    def notice(notice_id: str, actor: Actor = analyst) -> Response:
        item = service.get(notice_id)
        return render("notice.html", actor, notice=item, notice_id=notice_id,
                      findings=findings.by_id(item.finding_ids), next_statuses=sorted(TRANSITIONS[item.status]),
                      languages=service.profile.notice_languages)

    @app.get("/notices/{notice_id}/evidence/{sha256}")
    def evidence(notice_id: str, sha256: str, actor: Actor = analyst) -> Response:
        named = [f for _, f in evidence_files(service.get(notice_id)) if f.hash.sha256 == sha256]
        if not named:
            raise HTTPException(404, f"notice {notice_id} has no evidence file {sha256}")
        file, root = named[0], service.evidence.root.resolve()
        assert file.path is not None, "evidence files are stored files: they have a path"
        path = (root / file.path).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise HTTPException(404, f"evidence file {sha256} is not in the evidence store")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            log.error("console: evidence %s of notice %s no longer matches its SHA-256; refused", file.path, notice_id)
            raise HTTPException(409, f"evidence file {sha256} was altered: its bytes no longer match the hash "
                                     "recorded on the notice")
        inline = file.mime_type in IMAGE_TYPES
        headers = {"Content-Security-Policy": "default-src 'none'; sandbox",
                   "Content-Disposition": "inline" if inline else f'attachment; filename="{sha256}"'}
        return Response(data, media_type=file.mime_type if inline else "application/octet-stream", headers=headers)

    @app.post("/notices/{notice_id}/edit")
    def edit(notice_id: str, remarks: str = Form(""), language: str = Form(""), actor: Actor = legal) -> Response:
        fields = {"remarks": remarks.strip() or None, **({"language": language} if language else {})}
        service.edit_free_text(notice_id, fields, by=actor.user.name)
        log.info("console: %s edited %s of notice %s", actor.user.name, ", ".join(sorted(fields)), notice_id)
        return back_to(notice_id)

    @app.post("/notices/{notice_id}/approve")
    def approve(notice_id: str, actor: Actor = legal) -> Response:
        service.approve(notice_id, by=actor.user.name)
        log.info("console: %s approved notice %s", actor.user.name, notice_id)
        return back_to(notice_id)

    @app.post("/notices/{notice_id}/reject")
    def reject(notice_id: str, reason: str = Form(""), actor: Actor = legal) -> Response:
        service.reject(notice_id, reason=reason, by=actor.user.name)
        log.info("console: %s rejected notice %s", actor.user.name, notice_id)
        return back_to(notice_id)

    @app.post("/notices/{notice_id}/mark")
    def mark(notice_id: str, status: str = Form(""), reason: str = Form(""), actor: Actor = legal) -> Response:
        service.mark(notice_id, status, by=actor.user.name, reason=reason or None)
        log.info("console: %s marked notice %s %s", actor.user.name, notice_id, status)
        return back_to(notice_id)

    def bundle(ids: list[str] | None, status: str | None, name: str, actor: Actor) -> Response:
        workdir = Path(tempfile.mkdtemp(prefix="brandhound-console-export-"))
        try:
            result = service.export(workdir, ids=ids, status=status)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        log.info("console: %s exported %s (%d notices)", actor.user.name, name, len(result.notice_manifests))
        return FileResponse(result.zip_path, media_type="application/zip", filename=f"{name}.zip",
                            background=BackgroundTask(shutil.rmtree, workdir, ignore_errors=True))

    @app.post("/notices/{notice_id}/export")
    def export_notice(notice_id: str, actor: Actor = legal) -> Response:
        return bundle([notice_id], None, f"takedown-{notice_id}", actor)

    @app.post("/export")
    def export_status(status: str = Form("approved"), actor: Actor = legal) -> Response:
        if status not in STATUSES:
            raise TakedownError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
        return bundle(None, status, f"takedowns-{status}", actor)

    # ------------------------------------------------------------------ findings triage

    @app.get("/findings")
    def triage(status: str = "new", actor: Actor = analyst) -> Response:
        if status not in TRIAGE_STATUSES:
            raise TakedownError(f"unknown finding status {status!r}; one of {', '.join(TRIAGE_STATUSES)}")
        return render("findings.html", actor, findings=findings.for_triage(status), status=status,
                      triage_statuses=TRIAGE_STATUSES)

    @app.post("/findings/{finding_id}/{decision}")
    def decide(finding_id: str, decision: str, reason: str = Form(""), actor: Actor = analyst) -> Response:
        status = {"confirm": "confirmed", "dismiss": "dismissed"}.get(decision)
        if status is None:
            raise HTTPException(404, f"no finding decision {decision!r}: confirm or dismiss")
        findings.set_status(finding_id, status, actor.user.name, reason or None)
        log.info("console: %s %s finding %s", actor.user.name, status, finding_id)
        return RedirectResponse("/findings", status_code=303)

    # ------------------------------------------------------------------ users

    @app.get("/users")
    def user_list(actor: Actor = admin) -> Response:
        return render("users.html", actor, users=users.list(), roles=ROLES)

    @app.post("/users")
    def user_add(name: str = Form(""), role: str = Form(""), password: str = Form(""),
                 actor: Actor = admin) -> Response:
        users.add(name, role, password)
        log.info("console: %s added user %s (%s)", actor.user.name, name, role)
        return RedirectResponse("/users", status_code=303)

    @app.post("/users/{name}/remove")
    def user_remove(name: str, actor: Actor = admin) -> Response:
        if name == actor.user.name:
            raise TakedownError("you cannot remove yourself; ask another admin")
        users.remove(name)
        log.info("console: %s removed user %s", actor.user.name, name)
        return RedirectResponse("/users", status_code=303)

    return app
