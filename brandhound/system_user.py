"""Unprivileged system users for what brandhound runs as root would be wrong to run as root:
the local Elasticsearch node (it refuses root) and the capture browser."""

from __future__ import annotations

import pwd
import shutil
import subprocess


class SystemUserError(RuntimeError):
    """The user does not exist and cannot be created; the message carries useradd's reason."""


def ensure_system_user(user: str) -> None:
    """Create ``user`` (a no-login system user with its own group) unless it exists."""
    try:
        pwd.getpwnam(user)
        return
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    proc = subprocess.run([useradd, "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                           "--shell", "/usr/sbin/nologin", user], capture_output=True, text=True)
    if proc.returncode != 0:
        try:
            pwd.getpwnam(user)  # another process created it a moment ago
        except KeyError:
            raise SystemUserError(f"cannot create the system user {user!r}: {proc.stderr.strip()}") from None
