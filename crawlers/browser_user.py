"""The capture browser under a user of its own when the crawl runs as root.

Chromium refuses its sandbox as root, so a root crawl would have to pass ``--no-sandbox`` and
render hostile pages with every privilege the crawl has. Instead Chromium is started through a
small launcher that hands Playwright's throw-away profile directory to an unprivileged system
user (``BRANDHOUND_BROWSER_USER``, default ``brandhound-browser``, created like Elasticsearch's)
and ``exec``s Chromium as that user with ``setpriv``, no capabilities, and its own sandbox on.
Playwright still talks to it over the inherited pipe. A crawl that is not root runs Chromium as
itself, sandboxed, as before.
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

from brandhound.system_user import SystemUserError, ensure_system_user

DEFAULT_USER = "brandhound-browser"

_LAUNCHER = """#!/bin/sh
# Written by brandhound (crawlers/browser_user.py): Chromium as {user}, sandboxed.
set -eu
for arg in "$@"; do
  case "$arg" in --user-data-dir=*) chown -R {user}: "${{arg#--user-data-dir=}}" ;; esac
done
export HOME=/tmp
exec {setpriv} --reuid={user} --regid={user} --init-groups --inh-caps=-all --bounding-set=-all {chromium} "$@"
"""


class BrowserUserError(RuntimeError):
    """The browser's own user cannot be set up; the message says what to do."""


def ensure_user(user: str) -> None:
    try:
        ensure_system_user(user)
    except SystemUserError as exc:
        raise BrowserUserError(f"{exc} (set BRANDHOUND_BROWSER_USER to an existing user, or empty to run "
                               "Chromium as root without its sandbox)") from None


def launcher(chromium: str, user: str, directory: Path) -> str:
    """The launcher script for ``user`` (written once into ``directory``), to use as ``executable_path``."""
    setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
    if not os.access(setpriv, os.X_OK):
        raise BrowserUserError("setpriv (util-linux) is needed to run the capture browser as its own user")
    ensure_user(user)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"chromium-as-{user}"
    text = _LAUNCHER.format(user=shlex.quote(user), setpriv=shlex.quote(setpriv), chromium=shlex.quote(chromium))
    if not path.exists() or path.read_text() != text:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # crawl processes may start together
        tmp.write_text(text)
        tmp.chmod(0o755)
        tmp.replace(path)
    return str(path)


def own_user_launch_options(options: dict, user: str | None, directory: Path) -> dict:
    """``options`` (Playwright's launch options) changed to run Chromium as ``user`` when we are root.

    Unchanged when we are not root or ``user`` is empty.
    """
    if os.geteuid() != 0 or not user:
        return options
    args = [a for a in options.get("args", []) if a != "--no-sandbox"]
    return {**options, "executable_path": launcher(options["executable_path"], user, directory), "args": args}
