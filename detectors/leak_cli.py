"""``brandhound scan-leaks [--brand FILE|DIR] [--domains ...] SOURCE...``: scan dumps, configuration files and
whole directories (recursively, ``-`` for standard input) for the brands' leaks in one process, and write one
JSON line per hit to standard output.

What to look for comes from brand profiles (a file or a directory of them; a minimal profile is enough: only
``corporate_email_domains``, ``card_bin_ranges`` and ``secret_prefixes`` are read) and/or from the
``--domains``, ``--bins`` and ``--prefixes`` flags, so that no profile is needed at all. Built-in key and token
rules apply in every case.

Each line has the kind, the account in clear (``user``, and ``email`` when it is one), the masked secret, its
length, its HMAC and key id, the line number (and ``end_line`` for a key or record over several lines), the
byte offset, the source file and, with profiles, the ``brand`` id the hit belongs to. The clear password, card
number or key is never written. A progress line goes to standard error when it is a terminal.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from brandhound.config import ConfigError, Settings
from brandhound.profile import ProfileError, load_profiles
from brandhound.progress import ProgressLine
from detectors.leak_scan import LeakHit, LeakScanner

_BIN_RANGE = re.compile(r"^\d{6,8}(?:-\d{6,8})?$")


def hit_record(hit: LeakHit, source: str, brand: str | None = None) -> dict[str, Any]:
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
    if hit.end_line is not None:
        record["end_line"] = hit.end_line
    if brand is not None:
        record["brand_id"] = brand
    return record


def split_list(value: str | Sequence[str] | None) -> list[str]:
    """``a.com,b.com`` (or a repeated flag's list of them) as a list, blanks dropped."""
    if not value:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


def _files(sources: Sequence[str], err: TextIO) -> Iterator[tuple[str, str | None]]:
    """(label, problem) for every file the sources name, directories walked in name order; ``problem``
    says why a source cannot be scanned (it is then skipped, and the command exits 2 at the end)."""
    for source in sources:
        if source == "-":
            yield "-", None
            continue
        path = Path(source)
        if path.is_dir():
            for root, dirs, names in os.walk(path, onerror=lambda exc: print(
                    f"scan-leaks: {exc.filename}: cannot list: {exc.strerror}", file=err)):
                dirs.sort()
                for name in sorted(names):
                    file = Path(root) / name
                    if file.is_file():
                        yield str(file), None
        elif path.is_file() or path.exists():
            yield source, None
        else:
            yield source, "no such file or directory"


def _progress_text(files: int, size: int, hits: int, current: str) -> str:
    name = current if len(current) <= 50 else "..." + current[-47:]
    return f"scan-leaks: {files} files, {size / 1e6:.1f} MB, {hits} hits  {name}"


def scan_leaks_command(profile_path: str | None, sources: str | Sequence[str], settings: Settings, *,
                       domains: str | Sequence[str] | None = None, bins: str | Sequence[str] | None = None,
                       prefixes: str | Sequence[str] | None = None, out: TextIO | None = None,
                       err: TextIO | None = None, progress: bool | None = None) -> int:
    """Scan every source (files, directories walked recursively, ``-`` for standard input) for the leaks of
    the profiles' brands and of the flags' domains, BIN ranges and key prefixes.
    Returns the exit status: 0 done, 2 bad profile, key or flags, or a source that could not be read."""
    out = out or sys.stdout
    err = err or sys.stderr
    sources = [sources] if isinstance(sources, str) else list(sources)
    corporate, card_bins, secret_prefixes = split_list(domains), split_list(bins), split_list(prefixes)
    owners: dict[str, str] = {}
    if profile_path:
        try:
            profiles = load_profiles(profile_path, detect_only=True)
        except ProfileError as exc:
            print(f"scan-leaks: {exc}", file=err)
            return 2
        for profile in profiles:
            for value in (*profile.corporate_email_domains, *profile.card_bin_ranges, *profile.secret_prefixes):
                owners.setdefault(value.lower(), profile.id)
            corporate += profile.corporate_email_domains
            card_bins += profile.card_bin_ranges
            secret_prefixes += profile.secret_prefixes
    if not sources:
        print("scan-leaks: no source given (files, directories, or - for standard input)", file=err)
        return 2
    bad = [b for b in card_bins if not _BIN_RANGE.match(b)]
    if bad:
        print(f"scan-leaks: --bins {bad[0]!r}: expected 6-8 digits or a range of them (455670-455679)", file=err)
        return 2
    try:
        key = settings.hmac_key()
        scanner = LeakScanner(key, corporate_domains=corporate, card_bin_ranges=card_bins,
                              secret_prefixes=secret_prefixes, other_cards=False)
    except ConfigError as exc:
        print(f"scan-leaks: {exc}", file=err)
        return 2
    bar = ProgressLine(err, progress)
    count = files = size = 0
    failed = False
    try:
        for label, problem in _files(sources, err):
            shown = "<stdin>" if label == "-" else label
            if problem:
                bar.done()
                print(f"scan-leaks: {shown}: cannot read: {problem}", file=err)
                failed = True
                continue
            try:
                for hit in scanner.scan_path(label):
                    brand = owners.get((hit.matched or "").lower()) if owners else None
                    out.write(json.dumps(hit_record(hit, shown, brand), ensure_ascii=False) + "\n")
                    count += 1
            except OSError as exc:
                bar.done()
                print(f"scan-leaks: {shown}: cannot read: {exc.strerror or exc}", file=err)
                failed = True
                continue
            files += 1
            if label != "-":
                try:
                    size += os.path.getsize(label)
                except OSError:
                    pass
            bar.update(_progress_text(files, size, count, shown))
        out.flush()
    except BrokenPipeError:  # `scan-leaks ... | head`: the reader has what it wanted
        return 0
    bar.done()
    print(f"scan-leaks: {count} hits in {files} file{'s' if files != 1 else ''}"
          + (f" ({size / 1e6:.1f} MB)" if size else ""), file=err)
    return 2 if failed else 0
