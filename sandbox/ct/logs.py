"""The sandbox CT logs in memory: entries, a real RFC 6962 Merkle tree over them, signed tree heads.

A log publishes a prefix of its entries (``published``); :meth:`SandboxLog.publish` grows it, so a
test can watch new certificates arrive. Tree heads are signed with the log's ECDSA P-256 key:
get-sth as RFC 6962 has it, the checkpoint as static-ct-api has it (RFC6962NoteSignature).
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from crawlers.ct.merkle import leaf_hash, root_from_hashes
from crawlers.ct.sth import TreeHead, digitally_signed, format_checkpoint, tree_head_signed_data
from crawlers.ct.tiles import TILE_WIDTH
from crawlers.ct.wire import extra_data, leaf_index_extension, merkle_leaf, tile_leaf, timestamped_entry


def _split(n: int) -> int:
    """The largest power of two below ``n`` (RFC 6962's k)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def inclusion_path(m: int, hashes: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 section 2.1.1, from the leaf hashes."""
    if len(hashes) <= 1:
        return []
    k = _split(len(hashes))
    if m < k:
        return inclusion_path(m, hashes[:k]) + [root_from_hashes(hashes[k:])]
    return inclusion_path(m - k, hashes[k:]) + [root_from_hashes(hashes[:k])]


def consistency_path(m: int, hashes: list[bytes], complete: bool = True) -> list[bytes]:
    """SUBPROOF(m, D[n], true) of RFC 6962 section 2.1.2, from the leaf hashes."""
    n = len(hashes)
    if m == n:
        return [] if complete else [root_from_hashes(hashes)]
    k = _split(n)
    if m <= k:
        return consistency_path(m, hashes[:k], complete) + [root_from_hashes(hashes[k:])]
    return consistency_path(m - k, hashes[k:], False) + [root_from_hashes(hashes[:k])]


class SandboxLog:
    """One log: ``api`` ``rfc6962`` or ``static``; ``entries`` as written by :mod:`sandbox.ct.build`."""

    def __init__(self, api: str, key_path: Path, entries: list[dict], ca_der: bytes, origin: str):
        self.api = api
        self.origin = origin
        self._key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        self.public_key = self._key.public_key().public_bytes(serialization.Encoding.DER,
                                                              serialization.PublicFormat.SubjectPublicKeyInfo)
        self.log_id = hashlib.sha256(self.public_key).digest()
        self.ca_der = ca_der
        ca_fp = hashlib.sha256(ca_der).digest()
        self.leaves: list[bytes] = []       # MerkleTreeLeaf of each entry
        self.extra: list[bytes] = []        # get-entries extra_data
        self.tile_leaves: list[bytes] = []  # static-ct TileLeaf
        for index, e in enumerate(entries):
            der = base64.b64decode(e["der"])
            ikh = base64.b64decode(e["issuer_key_hash"]) if e.get("issuer_key_hash") else None
            logged = base64.b64decode(e["tbs"]) if e.get("tbs") else der
            ext = leaf_index_extension(index) if api == "static" else b""
            entry = timestamped_entry(e["timestamp"], logged, ikh, ext)
            self.leaves.append(merkle_leaf(entry))
            self.extra.append(extra_data([ca_der], der if ikh else None))
            self.tile_leaves.append(tile_leaf(entry, [ca_fp], der if ikh else None))
        self._hashes = [leaf_hash(x) for x in self.leaves]
        self._index_of = {h: i for i, h in enumerate(self._hashes)}
        self._lock = threading.Lock()
        self.published = 0
        self.head = TreeHead(0, 0, root_from_hashes([]))
        self.publish(len(self.leaves))

    def publish(self, size: int) -> TreeHead:
        """Publish the first ``size`` entries (never fewer than already published) and sign the new head."""
        with self._lock:
            size = max(self.published, min(size, len(self.leaves)))
            root = root_from_hashes(self._hashes[:size])
            ts = int(time.time() * 1000)
            sig = self._key.sign(tree_head_signed_data(size, ts, root), ec.ECDSA(hashes.SHA256()))
            self.head = TreeHead(size, ts, root, digitally_signed(sig))
            self.published = size
            return self.head

    def sth_json(self) -> dict:
        h = self.head
        return {"tree_size": h.tree_size, "timestamp": h.timestamp,
                "sha256_root_hash": base64.b64encode(h.root_hash).decode(),
                "tree_head_signature": base64.b64encode(h.signature).decode()}

    def checkpoint(self) -> str:
        return format_checkpoint(self.origin, self.head, self.public_key)

    def consistency(self, first: int, second: int) -> list[bytes] | None:
        """get-sth-consistency; None when the sizes are not 0 < first <= second <= published."""
        if not 0 < first <= second <= self.published:
            return None
        return consistency_path(first, self._hashes[:second])

    def proof_by_hash(self, digest: bytes, tree_size: int) -> tuple[int, list[bytes]] | None:
        """get-proof-by-hash: the leaf's index and audit path; None when it is not in that tree."""
        index = self._index_of.get(digest)
        if index is None or not index < tree_size <= self.published:
            return None
        return index, inclusion_path(index, self._hashes[:tree_size])

    def get_entries(self, start: int, end: int, max_batch: int) -> list[dict]:
        """Entries ``start..end`` inclusive, at most ``max_batch`` of them, within the published tree."""
        end = min(end, self.published - 1, start + max_batch - 1)
        return [{"leaf_input": base64.b64encode(self.leaves[i]).decode(),
                 "extra_data": base64.b64encode(self.extra[i]).decode()} for i in range(start, end + 1)]

    def data_tile(self, n: int, width: int | None) -> bytes | None:
        """Data tile ``n``, ``width`` entries wide (None: full); None when the tree does not publish it."""
        first = n * TILE_WIDTH
        available = min(TILE_WIDTH, self.published - first)
        if width is None:
            width = TILE_WIDTH
        if available <= 0 or width > available or (width < TILE_WIDTH and available == TILE_WIDTH):
            return None  # not published yet, or a partial tile the full one has replaced
        return b"".join(self.tile_leaves[first:first + width])

    def hash_tile(self, level: int, n: int, width: int | None) -> bytes | None:
        """Merkle tile ``n`` at ``level``: hashes of full subtrees of 256**level leaves."""
        span = TILE_WIDTH ** level
        full = self.published // span
        first = n * TILE_WIDTH
        available = min(TILE_WIDTH, full - first)
        width = width or TILE_WIDTH
        if available <= 0 or width > available or (width < TILE_WIDTH and available == TILE_WIDTH):
            return None
        return b"".join(root_from_hashes(self._hashes[(first + i) * span:(first + i + 1) * span])
                        for i in range(width))
