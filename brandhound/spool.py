"""A local on-disk spool of bulk records that Elasticsearch has not acknowledged yet.

A record is one document as it goes into a ``_bulk`` body: the action line
and the source line, each ending in a newline (JSON never holds a raw
newline, so the framing is exact). Records are appended to numbered segment
files and fsynced before :meth:`Spool.append` returns, so a document handed
to the store survives a crash or an Elasticsearch outage. :meth:`Spool.drain`
replays segments oldest first, in order, and deletes a segment only when every
record in it is acknowledged. Replaying a record twice is harmless because
document ids are deterministic.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

log = logging.getLogger(__name__)

SEGMENT_SUFFIX = ".ndjson"


class SpoolError(RuntimeError):
    """The spool cannot be used (locked by another process, unwritable, disk full)."""


@dataclass(frozen=True)
class SpoolStatus:
    directory: Path
    segments: int
    records: int
    bytes: int


class Spool:
    """An append-only queue of bulk records in ``directory``, owned by one process at a time."""

    def __init__(self, directory: Path, segment_bytes: int = 64 * 1024 * 1024):
        self.directory = Path(directory)
        self.segment_bytes = segment_bytes
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._lock = open(self.directory / ".lock", "a+b")
        except OSError as exc:
            raise SpoolError(f"spool directory {self.directory}: {exc.strerror}") from exc
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise SpoolError(
                f"spool directory {self.directory} is in use by another brandhound process; "
                "give each concurrent process its own BRANDHOUND_SPOOL_DIR"
            ) from None
        self._cursor_path = self.directory / "cursor.json"

    def close(self) -> None:
        if not self._lock.closed:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- writing

    def segments(self) -> list[Path]:
        return sorted(self.directory.glob(f"*{SEGMENT_SUFFIX}"))

    def append(self, records: list[bytes]) -> None:
        """Write ``records`` durably; raises :class:`SpoolError` (naming the directory) if it cannot."""
        if not records:
            return
        segments = self.segments()
        if segments and segments[-1].stat().st_size < self.segment_bytes:
            target = segments[-1]
        else:
            seq = int(segments[-1].stem) + 1 if segments else 1
            target = self.directory / f"{seq:012d}{SEGMENT_SUFFIX}"
        data = b"".join(records)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                start = os.fstat(fd).st_size
                try:
                    _write_all(fd, data)
                    os.fsync(fd)
                except OSError:
                    # Leave no torn record behind: the caller still holds these.
                    os.ftruncate(fd, start)
                    raise
            finally:
                os.close(fd)
            _fsync_dir(self.directory)
        except OSError as exc:
            reason = "the disk is full" if exc.errno == errno.ENOSPC else exc.strerror
            raise SpoolError(f"cannot write to spool {target}: {reason}") from exc

    # ----------------------------------------------------------------- reading

    def status(self) -> SpoolStatus:
        segments = self.segments()
        records = 0
        size = 0
        cursor = self._read_cursor()
        for seg in segments:
            size += seg.stat().st_size
            with open(seg, "rb") as fh:
                if cursor and cursor[0] == seg.name:
                    fh.seek(cursor[1])
                records += sum(1 for _ in fh) // 2
        return SpoolStatus(self.directory, len(segments), records, size)

    def pending(self) -> bool:
        return bool(self.segments())

    def _read_cursor(self) -> tuple[str, int] | None:
        try:
            data = json.loads(self._cursor_path.read_text())
            return data["segment"], int(data["offset"])
        except (OSError, ValueError, KeyError):
            return None

    def _write_cursor(self, segment: str, offset: int) -> None:
        tmp = self._cursor_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"segment": segment, "offset": offset}))
        os.replace(tmp, self._cursor_path)

    def _records(self, segment: Path, offset: int) -> Iterator[tuple[bytes, int]]:
        """``(record, offset after it)`` from ``offset`` on; a torn last record is set aside."""
        with open(segment, "rb") as fh:
            fh.seek(offset)
            while True:
                action = fh.readline()
                if not action:
                    return
                source = fh.readline()
                if not action.endswith(b"\n") or not source.endswith(b"\n"):
                    self._quarantine(segment, action + source)
                    return
                yield action + source, fh.tell()

    def _quarantine(self, segment: Path, data: bytes) -> None:
        path = self.directory / "torn-records.bin"
        with open(path, "ab") as fh:
            fh.write(data + b"\n")
        log.error("spool segment %s ends in an incomplete record (a crash while writing); kept in %s", segment, path)

    def drain(self, send: Callable[[list[bytes]], None], batch_records: int, batch_bytes: int) -> int:
        """Replay every record, oldest first, through ``send``.

        ``send`` must raise if the batch was not acknowledged; draining then
        stops and the next call resumes at that batch. Returns how many
        records were acknowledged.
        """
        done = 0
        while True:
            segments = self.segments()
            if not segments:
                self._cursor_path.unlink(missing_ok=True)
                return done
            segment = segments[0]
            cursor = self._read_cursor()
            offset = cursor[1] if cursor and cursor[0] == segment.name else 0
            batch: list[bytes] = []
            size = 0
            for record, end in self._records(segment, offset):
                batch.append(record)
                size += len(record)
                if len(batch) >= batch_records or size >= batch_bytes:
                    send(batch)
                    done += len(batch)
                    self._write_cursor(segment.name, end)
                    batch, size = [], 0
            if batch:
                send(batch)
                done += len(batch)
            segment.unlink()
            self._cursor_path.unlink(missing_ok=True)
            _fsync_dir(self.directory)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
