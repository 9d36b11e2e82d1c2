"""Sessions, CSRF tokens and the login rate limit of the review console.

A session is a cookie signed with the console's secret (itsdangerous), holding the user
name, a per-session CSRF token and its issue time; the signature expires with the session.
Before login the cookie holds only a CSRF token, so the login form is protected too.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from itsdangerous import BadSignature, URLSafeTimedSerializer

from takedown.lifecycle import TakedownError

COOKIE = "bh_session"
SESSION_SECONDS = 8 * 3600
SECRET_FILE = Path("keys") / "console-secret.key"


def load_secret(home: Path, env: Mapping[str, str] | None = None) -> str:
    """``BRANDHOUND_CONSOLE_SECRET``, else the file ``BRANDHOUND_CONSOLE_SECRET_FILE`` names,
    else the home's own secret (made once, mode 0600)."""
    env = os.environ if env is None else env
    if env.get("BRANDHOUND_CONSOLE_SECRET"):
        if len(env["BRANDHOUND_CONSOLE_SECRET"]) < 32:
            raise TakedownError("BRANDHOUND_CONSOLE_SECRET must be at least 32 characters")
        return env["BRANDHOUND_CONSOLE_SECRET"]
    path = Path(env.get("BRANDHOUND_CONSOLE_SECRET_FILE") or Path(home) / SECRET_FILE)
    try:
        if not path.exists() and not env.get("BRANDHOUND_CONSOLE_SECRET_FILE"):
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
        secret = path.read_text(encoding="utf-8").strip()
    except FileExistsError:  # another process made it first: use theirs
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise TakedownError(f"{path}: cannot read or create the console secret ({exc.strerror})") from exc
    if len(secret) < 32:
        raise TakedownError(f"{path}: the console secret must be at least 32 characters")
    return secret


@dataclass
class Session:
    csrf: str
    user: str | None = None


class SessionCodec:
    """Signs sessions into cookie values and back, refusing altered or expired ones."""

    def __init__(self, secret: str, max_age: int = SESSION_SECONDS):
        self.max_age = max_age
        self._serializer = URLSafeTimedSerializer(secret, salt="brandhound-console-session")

    def new(self, user: str | None = None) -> Session:
        return Session(csrf=secrets.token_urlsafe(32), user=user)

    def dumps(self, session: Session) -> str:
        return self._serializer.dumps({"u": session.user, "c": session.csrf})

    def loads(self, value: str | None) -> Session | None:
        if not value:
            return None
        try:
            data = self._serializer.loads(value, max_age=self.max_age)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        return Session(csrf=data["c"], user=data.get("u") if isinstance(data.get("u"), str) else None)


def csrf_matches(session: Session | None, token: object) -> bool:
    return bool(session and isinstance(token, str) and token
                and hmac.compare_digest(session.csrf.encode(), token.encode()))


@dataclass
class LoginLimiter:
    """At most ``limit`` failed logins per user name and per client address in ``window`` seconds."""

    limit: int = 5
    window: float = 15 * 60
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: str, now: float) -> deque:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def blocked(self, user: str, address: str) -> bool:
        now = self.clock()
        with self._lock:
            return any(len(self._recent(k, now)) >= self.limit for k in (f"user:{user}", f"addr:{address}"))

    def failed(self, user: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key in (f"user:{user}", f"addr:{address}"):
                self._recent(key, now).append(now)
