"""The Elasticsearch store: bounded bulk batches, retries, and a spool for outages.

Every component that writes documents goes through :class:`Store`. It
buffers documents into ``_bulk`` requests bounded by count and bytes, retries
what Elasticsearch asks to be retried (429 and 5xx, per document, with
exponential backoff), and when Elasticsearch stays unreachable it appends the
batch to the on-disk :class:`~brandhound.spool.Spool` instead of failing.
While anything is spooled, new batches queue behind it, so that an older
version of a document is never replayed over a newer one. Documents that
Elasticsearch rejects for good (a mapping error) are written with the reason
to ``rejected.ndjson`` beside the spool: nothing handed to the store is lost.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import elasticsearch
from elasticsearch import Elasticsearch

from brandhound.items import Item
from brandhound.mapping import index_name, to_document
from brandhound.spool import Spool, SpoolError

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class Unavailable(Exception):
    """Elasticsearch did not acknowledge these records after every retry."""

    def __init__(self, records: list[bytes], reason: str):
        super().__init__(reason)
        self.records = records


class Refused(Unavailable):
    """Elasticsearch refused the whole request (bad credentials, forbidden): retrying cannot help."""


class StoreError(RuntimeError):
    """The store cannot write; its documents are safe in the spool, the message says why and where."""


@dataclass
class StoreStats:
    indexed: int = 0
    spooled: int = 0
    replayed: int = 0
    rejected: int = 0
    retries: int = 0


def encode_record(index: str, doc_id: str, source: dict[str, Any]) -> bytes:
    """One ``_bulk`` index operation: action line and source line."""
    action = json.dumps({"index": {"_index": index, "_id": doc_id}}, separators=(",", ":"))
    body = json.dumps(source, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"{action}\n{body}\n".encode("utf-8")


def _record_key(record: bytes) -> str:
    action = json.loads(record.split(b"\n", 1)[0])["index"]
    return f"{action['_index']}/{action['_id']}"


class Store:
    """Buffered, retrying, spooling bulk writer. Thread-safe; call :meth:`close` at the end."""

    def __init__(
        self,
        client: Elasticsearch,
        index_prefix: str,
        spool: Spool,
        *,
        batch_docs: int = 1000,
        batch_bytes: int = 8 * 1024 * 1024,
        max_retries: int = 4,
        backoff_s: float = 0.25,
        backoff_max_s: float = 10.0,
        probe_interval_s: float = 5.0,
        auto_flush: bool = True,
    ):
        self.client = client
        self.index_prefix = index_prefix
        self.spool = spool
        self.batch_docs = batch_docs
        self.batch_bytes = batch_bytes
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.probe_interval_s = probe_interval_s
        self.stats = StoreStats()
        self.rejected_path = spool.directory / "rejected.ndjson"
        self.auto_flush = auto_flush
        self._buffer: list[bytes] = []
        self._buffer_bytes = 0
        self._down_until = 0.0
        # Two locks: adding to the buffer never waits for the network, so a
        # crawler thread can keep adding while another thread flushes.
        self._buffer_lock = threading.Lock()
        self._send_lock = threading.RLock()

    # ----------------------------------------------------------------- input

    def add(self, item: Item) -> str:
        """Queue an item; returns its document id."""
        doc_id = item.doc_id()
        self.add_document(index_name(self.index_prefix, type(item)), doc_id, to_document(item))
        return doc_id

    def add_document(self, index: str, doc_id: str, source: dict[str, Any]) -> None:
        self.add_records([encode_record(index, doc_id, source)])

    def add_records(self, records: Iterable[bytes]) -> None:
        """Buffer records; with ``auto_flush`` a full buffer is sent by the calling thread."""
        for record in records:
            with self._buffer_lock:
                self._buffer.append(record)
                self._buffer_bytes += len(record)
                full = self.batch_full()
            if full and self.auto_flush:
                self.flush()

    @property
    def buffered(self) -> int:
        """Documents held in memory, neither indexed nor spooled yet."""
        return len(self._buffer)

    def batch_full(self) -> bool:
        return len(self._buffer) >= self.batch_docs or self._buffer_bytes >= self.batch_bytes

    def _take_batch(self) -> list[bytes]:
        with self._buffer_lock:
            batch = self._buffer[: self.batch_docs]
            del self._buffer[: self.batch_docs]
            self._buffer_bytes = sum(map(len, self._buffer)) if self._buffer else 0
            return batch

    # ----------------------------------------------------------------- output

    def flush(self) -> None:
        """Send (or spool) everything buffered, replaying the spool first when it holds anything."""
        with self._send_lock:
            while True:
                batch = self._take_batch()
                self._flush_batch(batch)
                if not self._buffer:
                    return

    def _flush_batch(self, batch: list[bytes]) -> None:
        if self.spool.pending() and not self._replay_locked():
            self._spool(batch)
            return
        if not batch:
            return
        try:
            self._send(batch)
        except Refused as exc:
            self._spool(exc.records)
            raise StoreError(
                f"Elasticsearch refused the bulk request ({exc}); {len(exc.records)} documents kept in {self.spool.directory}"
            ) from exc
        except Unavailable as exc:
            log.warning("Elasticsearch unavailable (%s): spooling %d documents in %s", exc, len(exc.records), self.spool.directory)
            self._down_until = time.monotonic() + self.probe_interval_s
            self._spool(exc.records)

    def replay(self) -> bool:
        """Replay the spool now; returns True when it is empty."""
        with self._send_lock:
            self._down_until = 0.0
            return self._replay_locked()

    def _replay_locked(self) -> bool:
        if time.monotonic() < self._down_until:
            return False
        try:
            replayed = self.spool.drain(self._send_counted_replay, self.batch_docs, self.batch_bytes)
        except Unavailable as exc:
            log.warning("Elasticsearch still unavailable (%s); the spool keeps its documents", exc)
            self._down_until = time.monotonic() + self.probe_interval_s
            return False
        if replayed:
            log.info("replayed %d spooled documents into Elasticsearch", replayed)
        return True

    def _send_counted_replay(self, records: list[bytes]) -> None:
        before = self.stats.indexed + self.stats.rejected
        self._send(records)
        self.stats.replayed += self.stats.indexed + self.stats.rejected - before

    def _spool(self, records: list[bytes]) -> None:
        if records:
            try:
                self.spool.append(records)
            except SpoolError:
                # Durable nowhere: back to the front of the buffer for a later flush; the caller decides.
                with self._buffer_lock:
                    self._buffer[:0] = records
                    self._buffer_bytes += sum(map(len, records))
                raise
            self.stats.spooled += len(records)

    def _send(self, records: list[bytes]) -> None:
        """Index ``records``, retrying per document; raise :class:`Unavailable` with what is left."""
        pending = records
        reason = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.stats.retries += 1
                delay = min(self.backoff_max_s, self.backoff_s * 2 ** (attempt - 1))
                time.sleep(delay * random.uniform(0.5, 1.0))
            try:
                # The client sends bytes as they are (pre-serialised NDJSON); its annotation names only lists.
                response = self.client.bulk(body=b"".join(pending))  # type: ignore[arg-type]
            except elasticsearch.ApiError as exc:
                if exc.meta.status not in RETRYABLE_STATUS:
                    raise Refused(pending, f"HTTP {exc.meta.status} on _bulk: {exc.message}") from exc
                reason = f"HTTP {exc.meta.status} on _bulk"
                continue
            except elasticsearch.TransportError as exc:
                reason = f"{type(exc).__name__}: {exc.message}"
                continue
            pending = self._settle(pending, response.body)
            if not pending:
                return
            reason = f"{len(pending)} documents answered 429/5xx"
        raise Unavailable(pending, reason)

    def _settle(self, records: list[bytes], body: dict[str, Any]) -> list[bytes]:
        """Count the acknowledged, dead-letter the rejected, return the ones to retry."""
        if not body.get("errors"):
            self.stats.indexed += len(records)
            return []
        retry: list[bytes] = []
        for record, result in zip(records, body["items"]):
            outcome = next(iter(result.values()))
            status = outcome.get("status", 500)
            if status < 300:
                self.stats.indexed += 1
            elif status in RETRYABLE_STATUS:
                retry.append(record)
            else:
                self._reject(record, outcome.get("error"))
        return retry

    def _reject(self, record: bytes, error: Any) -> None:
        self.stats.rejected += 1
        reason = json.dumps(error, ensure_ascii=False)
        log.error("Elasticsearch rejected document %s: %s (kept in %s)", _record_key(record), reason, self.rejected_path)
        with open(self.rejected_path, "ab") as fh:
            fh.write(json.dumps({"error": error, "record": record.decode("utf-8")}, ensure_ascii=False).encode() + b"\n")

    def close(self) -> None:
        """Flush; whatever Elasticsearch did not take stays in the spool for the next run."""
        with self._send_lock:
            try:
                self.flush()
            except SpoolError as exc:
                log.error("%s, and Elasticsearch did not take them: %d documents are lost with this process",
                          exc, self.buffered)
                raise
            finally:
                left = self.spool.status()
                if left.records:
                    log.warning(
                        "%d documents wait in the spool %s; they are replayed by the next run or `brandhound spool replay`",
                        left.records, left.directory,
                    )
                self.spool.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(settings: Any, spool_dir: Path | None = None, **kwargs: Any) -> Store:
    """A store for :class:`brandhound.config.Settings`."""
    from brandhound.cluster import make_client

    return Store(
        make_client(settings.es),
        settings.es.index_prefix,
        Spool(spool_dir or settings.spool_dir),
        **kwargs,
    )
