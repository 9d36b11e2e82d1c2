"""Readers of one CT log, in either API, yielding the certificates logged at a range of indices.

:class:`Rfc6962Log` asks ``ct/v1/get-entries`` in batches and takes what it gets: a log may return
fewer entries than asked (its maximum batch), so the next request starts after the last entry
received. :class:`StaticLog` reads static-ct-api data tiles (``tile/data/<N>``, partial ones
``.p/<W>`` at the right edge of the tree; when a partial tile is gone, the full tile replaced it).
A malformed or truncated entry is logged with its log and index and skipped; the entries before
it have been yielded already and the ones after it still are (in a data tile, where a bad length
leaves the rest of the tile unreadable, the rest of that tile is logged as skipped).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator, Protocol

from crawlers.ct.certs import CertificateError, CertificateFacts, facts
from crawlers.ct.http import CtHttpError, HttpClient, NotFound
from crawlers.ct.loglist import RFC6962, LogInfo
from crawlers.ct.merkle import leaf_hash, verify_consistency, verify_inclusion
from crawlers.ct.sth import TreeHead, parse_checkpoint, parse_sth_json, verify
from crawlers.ct.tiles import TILE_WIDTH, data_tiles, tile_path
from crawlers.ct.wire import Malformed, Reader, TimestampedEntry, parse_extra_data, parse_merkle_leaf, read_tile_leaf

log = logging.getLogger(__name__)

#: Entries asked per get-entries request; logs cap it lower or higher (Google's 256, others 1,000 and more).
DEFAULT_BATCH = 256


@dataclass(frozen=True)
class LoggedCertificate:
    """One log entry as discovery uses it."""

    log: str                    # the log's URL
    index: int
    timestamp: datetime         # when the log accepted it
    precert: bool
    facts: CertificateFacts


def _certificate(log_url: str, index: int, entry: TimestampedEntry) -> LoggedCertificate:
    return LoggedCertificate(log_url, index, datetime.fromtimestamp(entry.timestamp / 1000, timezone.utc),
                             entry.is_precert, facts(entry.certificate, tbs=entry.is_precert))


class CtLog(Protocol):
    info: LogInfo
    skipped: int

    def tree_head(self) -> TreeHead: ...

    def entries(self, start: int, end: int, tree_size: int) -> Iterator[LoggedCertificate]: ...


class _Base:
    def __init__(self, info: LogInfo, http: HttpClient):
        self.info = info
        self.http = http
        self.skipped = 0  # entries logged and skipped as malformed

    def _skip(self, first: int, last: int, why: str) -> None:
        span = f"entry {first}" if first == last else f"entries {first}-{last}"
        log.warning("ct: %s: %s skipped: %s", self.info.url, span, why)
        self.skipped += last - first + 1


class Rfc6962Log(_Base):
    """An RFC 6962 log at ``info.url`` (the base before ``ct/v1/``)."""

    def __init__(self, info: LogInfo, http: HttpClient, batch: int = DEFAULT_BATCH):
        super().__init__(info, http)
        self.batch = batch

    def _json(self, path: str) -> object:
        url = self.info.url + path
        body = self.http.get(url)
        try:
            return json.loads(body)
        except ValueError as exc:
            raise CtHttpError(f"{url}: answer is not JSON: {exc}") from None

    def tree_head(self) -> TreeHead:
        try:
            head = parse_sth_json(self._json("ct/v1/get-sth"), self.info.url)
        except Malformed as exc:
            raise CtHttpError(str(exc)) from None
        if self.info.key:
            verify(head, self.info.key, self.info.url)
        return head

    def _hashes(self, data: object, key: str, url: str) -> list[bytes]:
        items = data.get(key) if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise CtHttpError(f"{url}: answer has no {key!r} list")
        try:
            return [base64.b64decode(x, validate=True) for x in items]
        except (binascii.Error, TypeError) as exc:
            raise CtHttpError(f"{url}: {key!r} holds a hash that is not base64: {exc}") from None

    def prove_consistency(self, old: TreeHead, new: TreeHead) -> None:
        """That ``new`` extends ``old`` (get-sth-consistency, checked); ProofError when the log rewrote history."""
        if old.tree_size in (0, new.tree_size):
            return verify_consistency(old.tree_size, new.tree_size, old.root_hash, new.root_hash, [])
        path = f"ct/v1/get-sth-consistency?first={old.tree_size}&second={new.tree_size}"
        proof = self._hashes(self._json(path), "consistency", self.info.url + path)
        verify_consistency(old.tree_size, new.tree_size, old.root_hash, new.root_hash, proof)

    def prove_inclusion(self, leaf_input: bytes, head: TreeHead) -> int:
        """That the MerkleTreeLeaf ``leaf_input`` is in the tree of ``head`` (get-proof-by-hash, checked);
        its entry index. ProofError when the proof does not lead to the head's root."""
        digest = leaf_hash(leaf_input)
        path = (f"ct/v1/get-proof-by-hash?hash={urllib.parse.quote(base64.b64encode(digest).decode(), safe='')}"
                f"&tree_size={head.tree_size}")
        data = self._json(path)
        index = data.get("leaf_index") if isinstance(data, dict) else None
        if not isinstance(index, int) or isinstance(index, bool):
            raise CtHttpError(f"{self.info.url + path}: answer has no integer 'leaf_index'")
        verify_inclusion(digest, index, head.tree_size, self._hashes(data, "audit_path", self.info.url + path),
                         head.root_hash)
        return index

    def entries(self, start: int, end: int, tree_size: int | None = None) -> Iterator[LoggedCertificate]:
        index = start
        while index < end:
            last = min(index + self.batch, end) - 1
            data = self._json(f"ct/v1/get-entries?start={index}&end={last}")
            got = data.get("entries") if isinstance(data, dict) else None
            if not isinstance(got, list) or not got:
                raise CtHttpError(f"{self.info.url}: get-entries {index}-{last} returned no entries list")
            for entry in got[: last - index + 1]:
                try:
                    yield self._parse(index, entry)
                except (Malformed, CertificateError, binascii.Error, ValueError, TypeError, KeyError) as exc:
                    self._skip(index, index, str(exc) or type(exc).__name__)
                index += 1

    def _parse(self, index: int, entry: object) -> LoggedCertificate:
        if not isinstance(entry, dict):
            raise Malformed("entry is not a JSON object")
        leaf = parse_merkle_leaf(base64.b64decode(entry["leaf_input"], validate=True))
        # extra_data holds the chain (and the precertificate): read, so a truncated one is noticed.
        parse_extra_data(leaf.entry_type, base64.b64decode(entry.get("extra_data", ""), validate=True))
        return _certificate(self.info.url, index, leaf)


class StaticLog(_Base):
    """A static-ct-api (tiled) log at its monitoring prefix ``info.url``."""

    def tree_head(self) -> TreeHead:
        url = self.info.url + "checkpoint"
        text = self.http.get(url).decode("utf-8", errors="replace")
        try:
            return parse_checkpoint(text, url, self.info.key)
        except Malformed as exc:
            raise CtHttpError(str(exc)) from None

    def _tile(self, n: int, width: int) -> bytes:
        try:
            return self.http.get(self.info.url + tile_path("data", n, None if width == TILE_WIDTH else width))
        except NotFound:
            if width == TILE_WIDTH:
                raise
            # The tree grew past this tile meanwhile and the log dropped the partial one.
            return self.http.get(self.info.url + tile_path("data", n))

    def entries(self, start: int, end: int, tree_size: int) -> Iterator[LoggedCertificate]:
        for tile in data_tiles(start, end, tree_size):
            reader = Reader(self._tile(tile.index, tile.width), f"data tile {tile.index}")
            for k in range(tile.width):
                index = tile.first + k
                try:
                    leaf = read_tile_leaf(reader)
                except Malformed as exc:
                    # Lengths after a bad one cannot be trusted: the rest of this tile is unreadable.
                    last = min(tile.first + tile.width, end) - 1
                    if index <= last:
                        self._skip(max(index, start), last, f"{exc} (rest of the tile unreadable)")
                    break
                if not start <= index < end:
                    continue
                ext_index = leaf.entry.leaf_index()
                try:
                    if ext_index is not None and ext_index != index:
                        raise Malformed(f"its leaf_index extension says {ext_index}")
                    yield _certificate(self.info.url, index, leaf.entry)
                except (Malformed, CertificateError) as exc:
                    self._skip(index, index, str(exc))


def open_log(info: LogInfo, http: HttpClient, batch: int = DEFAULT_BATCH) -> CtLog:
    return Rfc6962Log(info, http, batch) if info.api == RFC6962 else StaticLog(info, http)
