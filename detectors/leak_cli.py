"""``brandhound scan-leaks --brand FILE PATH|-``: scan a dump file (or standard input) for the
brand's leaks and write one JSON line per hit to standard output.

Each line has the kind, the account in clear (``user``, and ``email`` when it is one), the
masked secret, its length, its HMAC and key id, the line number and byte offset, and the
source. The clear password, card number or key is never written.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from brandhound.config import ConfigError, Settings
from brandhound.profile import ProfileError, load_profile
from detectors.leak_scan import LeakHit, LeakScanner


def hit_record(hit: LeakHit, source: str) -> dict[str, Any]:
    """The JSON-able form of a hit (no clear secret: the hit has none)."""
    record: dict[str, Any] = {"kind": hit.kind}
    if hit.kind == "credential":
        record["user"] = hit.user
        if hit.user and "@" in hit.user:
            record["email"] = hit.user
        record["domain"] = hit.domain
        record["format"] = hit.secret_type
        if hit.service:
            record["service"] = hit.service
    elif hit.kind == "secret":
        record["secret_type"] = hit.secret_type
    record.update(
        masked=hit.secret.masked, length=hit.secret.length, hmac=hit.secret.hmac, key_id=hit.secret.key_id,
        brand=hit.brand, matched=hit.matched, line=hit.line, offset=hit.offset, source=source,
    )
    return record


def scan_leaks_command(profile_path: str, source: str, settings: Settings, *, out: TextIO | None = None,
                       err: TextIO | None = None) -> int:
    """Scan ``source`` (a file path, or ``-`` for standard input) for the brand's leaks.
    Returns the exit status: 0 done, 2 bad brand profile, key or input."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        profile = load_profile(profile_path)
    except ProfileError as exc:
        print(f"scan-leaks: {exc}", file=err)
        return 2
    try:
        key = settings.hmac_key()
    except ConfigError as exc:
        print(f"scan-leaks: {exc}", file=err)
        return 2
    scanner = LeakScanner.from_profile(profile, key)
    label = "<stdin>" if source == "-" else source
    count = 0
    try:
        for hit in scanner.scan_path(source):
            out.write(json.dumps(hit_record(hit, label), ensure_ascii=False) + "\n")
            count += 1
        out.flush()
    except BrokenPipeError:  # `scan-leaks ... | head`: the reader has what it wanted
        return 0
    except OSError as exc:
        print(f"scan-leaks: {label}: cannot read: {exc.strerror or exc}", file=err)
        return 2
    print(f"scan-leaks: {count} hits in {label}", file=err)
    return 0
