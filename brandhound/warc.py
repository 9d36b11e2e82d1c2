"""A capture as WARC/1.1 records (request, response, screenshot resource), written and checked with warcio.

The WARC keeps what the server sent, headers and bytes, not only what the crawler parsed, so a
bundle can show the served page to someone who does not trust our parser. Each record is its own
gzip member (the WARC convention), and warcio adds block and payload digests to each one;
:func:`check_warc` reads the file back and recomputes them, so one altered byte is reported.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http import HTTPStatus
from pathlib import Path
from typing import Any, BinaryIO

from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

WARC_VERSION = "WARC/1.1"
MIME_TYPE = "application/warc"
SUFFIX = ".warc.gz"
#: The screenshot's resource record is addressed under this scheme, not the page's URL, so that a
#: replay tool never mistakes it for what the site served.
SCREENSHOT_URI_PREFIX = "urn:brandhound:screenshot:"

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass(frozen=True)
class WarcFile:
    """What was written: the WARC's SHA-256 and size (its name in the evidence store)."""

    sha256: str
    size: int


def _header_list(headers: Headers) -> list[tuple[str, str]]:
    return list(headers.items()) if isinstance(headers, Mapping) else [(str(k), str(v)) for k, v in headers]


def _warc_date(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError(f"captured_at={at!r}: needs a time zone; WARC dates are UTC")
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def capture_warc_bytes(*, url: str, request_headers: Headers, status: int, response_headers: Headers,
                       body: bytes, screenshot: bytes | None, captured_at: datetime, method: str = "GET",
                       http_version: str = "HTTP/1.1") -> bytes:
    """The capture's WARC (request, response, and the screenshot as a resource record when given)."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True, warc_version=WARC_VERSION)
    date = _warc_date(captured_at)
    # The response's headers are kept as sent, but the body we hold is already decoded: a
    # Content-Encoding or Transfer-Encoding left in would make readers decode it a second time.
    served = [(k, v) for k, v in _header_list(response_headers)
              if k.lower() not in {"content-encoding", "transfer-encoding", "content-length"}]
    served.append(("Content-Length", str(len(body))))
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    response = writer.create_warc_record(
        url, "response", payload=io.BytesIO(body), length=len(body), warc_headers_dict={"WARC-Date": date},
        http_headers=StatusAndHeaders(f"{status} {reason}".strip(), served, protocol=http_version))
    path = url.split("://", 1)[-1].partition("/")[2]
    request = writer.create_warc_record(
        url, "request", payload=io.BytesIO(b""), length=0,
        warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": response.rec_headers["WARC-Record-ID"]},
        http_headers=StatusAndHeaders(f"{method} /{path} {http_version}", _header_list(request_headers),
                                      is_http_request=True))
    writer.write_record(request)
    writer.write_record(response)
    if screenshot is not None:
        writer.write_record(writer.create_warc_record(
            SCREENSHOT_URI_PREFIX + url, "resource", payload=io.BytesIO(screenshot), length=len(screenshot),
            warc_content_type="image/png",
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": response.rec_headers["WARC-Record-ID"]}))
    return buffer.getvalue()


def write_capture_warc(target: str | Path | BinaryIO, **capture: Any) -> WarcFile:
    """Write :func:`capture_warc_bytes` to a path or a binary stream; returns its SHA-256 and size."""
    data = capture_warc_bytes(**capture)
    if isinstance(target, (str, Path)):
        Path(target).write_bytes(data)
    else:
        target.write(data)
    return WarcFile(sha256=hashlib.sha256(data).hexdigest(), size=len(data))


# --------------------------------------------------------------------------- reading back


@dataclass(frozen=True)
class WarcRecord:
    type: str
    target_uri: str
    payload_sha256: str


@dataclass
class WarcCheck:
    """The records read back and what did not hold (a digest mismatch, a broken gzip member)."""

    name: str
    records: list[WarcRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_warc(data: bytes, name: str = "WARC") -> WarcCheck:
    """Read a WARC with warcio, recomputing every record's block and payload digest."""
    from warcio.archiveiterator import ArchiveIterator

    check = WarcCheck(name)
    try:
        for record in ArchiveIterator(io.BytesIO(data), check_digests=True):
            if record.rec_type == "warcinfo":
                continue
            payload = record.content_stream().read()
            uri = record.rec_headers.get_header("WARC-Target-URI") or ""
            for problem in record.digest_checker.problems:
                check.problems.append(f"{name}: {record.rec_type} record for {uri}: {problem}")
            if record.rec_type in {"response", "resource"} and not record.rec_headers.get_header("WARC-Payload-Digest"):
                check.problems.append(f"{name}: {record.rec_type} record for {uri} has no payload digest")
            check.records.append(WarcRecord(record.rec_type, uri, hashlib.sha256(payload).hexdigest()))
    except (ArchiveLoadFailed, OSError, EOFError, ValueError) as exc:
        # A changed byte inside a gzip member breaks its CRC or its deflate stream before any digest.
        first = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)[:80]
        check.problems.append(f"{name}: not a readable WARC (a gzip member or record header is damaged): {first!r}")
    if not check.problems and not any(r.type == "response" for r in check.records):
        check.problems.append(f"{name}: holds no response record")
    return check
