"""Console users: names, roles and scrypt password hashes in one JSON file (mode 0600).

A password is stored as ``hashlib.scrypt`` of it with a random per-user salt; checking a
password costs the same scrypt work whether or not the user exists, and the digests are
compared in constant time, so neither timing nor error messages tell which names exist.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from takedown.lifecycle import TakedownError

#: Roles in increasing power: each may do everything the ones before it may.
ROLES = ("analyst", "legal", "admin")
USERS_FILE = "console-users.json"
MIN_PASSWORD = 10
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
#: scrypt cost: 16 MiB of memory and some 50 ms a check on a small machine.
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}


class ConsoleError(TakedownError):
    """A console request that cannot be done; the message says which input and why."""


def role_allows(role: str, needed: str) -> bool:
    """Whether ``role`` may do what ``needed`` may."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def _digest(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


@dataclass(frozen=True)
class User:
    name: str
    role: str


class UserStore:
    """The users of one brandhound home, read from the file on every call (edits apply at once)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        # Checked against when the name is unknown, so that case costs the same scrypt work.
        self._decoy: dict[str, Any] = {"salt": secrets.token_hex(16), "hash": "00" * 32, **_SCRYPT}

    @classmethod
    def for_home(cls, home: Path) -> UserStore:
        return cls(Path(home) / USERS_FILE)

    def _load(self) -> dict[str, dict]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConsoleError(f"{self.path}: cannot read the console users ({exc})") from exc
        users = data.get("users") if isinstance(data, dict) else None
        if not isinstance(users, dict):
            raise ConsoleError(f"{self.path}: not a console users file (no \"users\" object)")
        return users

    def _save(self, users: dict[str, dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"users": users}, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def list(self) -> list[User]:
        return [User(name, entry["role"]) for name, entry in sorted(self._load().items())]

    def get(self, name: str) -> User | None:
        entry = self._load().get(name)
        return User(name, entry["role"]) if entry else None

    def add(self, name: str, role: str, password: str, replace: bool = False) -> User:
        """Add a user (or, with ``replace``, set an existing one's role and password)."""
        if not _NAME.match(name or ""):
            raise ConsoleError(f"user name {name!r}: use 1-64 letters, digits, '.', '_', '@' or '-'")
        if role not in ROLES:
            raise ConsoleError(f"role {role!r}: one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise ConsoleError(f"the password of {name} is too short: at least {MIN_PASSWORD} characters")
        users = self._load()
        if name in users and not replace:
            raise ConsoleError(f"user {name} exists already (remove it first, or use --replace)")
        salt = secrets.token_bytes(16)
        users[name] = {"role": role, "salt": salt.hex(), "hash": _digest(password, salt, **_SCRYPT).hex(), **_SCRYPT}
        self._save(users)
        return User(name, role)

    def remove(self, name: str) -> None:
        users = self._load()
        if name not in users:
            raise ConsoleError(f"no console user {name!r} in {self.path}")
        del users[name]
        self._save(users)

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when ``password`` is theirs, else None (same work either way)."""
        entry = self._load().get(name)
        stored = entry or self._decoy
        actual = _digest(password, bytes.fromhex(stored["salt"]), stored["n"], stored["r"], stored["p"])
        matches = hmac.compare_digest(actual, bytes.fromhex(stored["hash"]))
        return User(name, entry["role"]) if entry and matches else None
