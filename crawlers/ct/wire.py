"""The TLS-encoded structures of CT logs, read and written: RFC 6962's MerkleTreeLeaf, TimestampedEntry
and get-entries ``extra_data``, and static-ct-api's TileLeaf and ``leaf_index`` extension.

Readers raise :class:`Malformed` naming what was short or wrong, never an IndexError, so the caller
can log the entry and go on. Writers exist for the sandbox logs and tests (the same layout, once).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

X509_ENTRY = 0
PRECERT_ENTRY = 1
#: static-ct-api's one CtExtensions type.
LEAF_INDEX_EXTENSION = 0
ENTRY_TYPES = {X509_ENTRY: "x509_entry", PRECERT_ENTRY: "precert_entry"}


class Malformed(ValueError):
    """Bytes that are not the structure they should be; the message says where."""


class Reader:
    """Reads big-endian integers and length-prefixed vectors off a byte string."""

    def __init__(self, data: bytes, what: str):
        self.data = data
        self.pos = 0
        self.what = what

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise Malformed(f"{self.what}: truncated at byte {self.pos}: needed {n} more bytes, "
                            f"{len(self.data) - self.pos} left")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def vector(self, length_bytes: int) -> bytes:
        return self.take(self.uint(length_bytes))

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def end(self) -> None:
        if not self.at_end():
            raise Malformed(f"{self.what}: {len(self.data) - self.pos} unexpected bytes after the end")


@dataclass(frozen=True)
class TimestampedEntry:
    """RFC 6962 section 3.4's TimestampedEntry: a certificate (``x509_entry``) or a precertificate's
    TBSCertificate with its issuer's key hash (``precert_entry``)."""

    timestamp: int                  # milliseconds since the epoch
    entry_type: int
    certificate: bytes              # the DER certificate, or the precertificate's DER TBSCertificate
    issuer_key_hash: bytes | None   # precert_entry only
    extensions: bytes = b""

    @property
    def is_precert(self) -> bool:
        return self.entry_type == PRECERT_ENTRY

    def leaf_index(self) -> int | None:
        """The static-ct-api ``leaf_index`` extension, when present."""
        r = Reader(self.extensions, "CtExtensions")
        while not r.at_end():
            kind, data = r.uint(1), r.vector(2)
            if kind == LEAF_INDEX_EXTENSION and len(data) == 5:
                return int.from_bytes(data, "big")
        return None


def read_timestamped_entry(r: Reader) -> TimestampedEntry:
    timestamp, entry_type = r.uint(8), r.uint(2)
    if entry_type == X509_ENTRY:
        cert, ikh = r.vector(3), None
    elif entry_type == PRECERT_ENTRY:
        ikh, cert = r.take(32), r.vector(3)
    else:
        raise Malformed(f"{r.what}: unknown entry type {entry_type}")
    if not cert:
        raise Malformed(f"{r.what}: empty certificate")
    return TimestampedEntry(timestamp, entry_type, cert, ikh, r.vector(2))


def parse_merkle_leaf(data: bytes) -> TimestampedEntry:
    """A get-entries ``leaf_input``: MerkleTreeLeaf v1 holding a TimestampedEntry."""
    r = Reader(data, "leaf_input")
    version, leaf_type = r.uint(1), r.uint(1)
    if version != 0 or leaf_type != 0:
        raise Malformed(f"leaf_input: version {version}, leaf type {leaf_type} (expected v1 timestamped_entry)")
    entry = read_timestamped_entry(r)
    r.end()
    return entry


def parse_extra_data(entry_type: int, data: bytes) -> tuple[bytes | None, list[bytes]]:
    """A get-entries ``extra_data``: ``(precertificate or None, issuer chain)``, DER each."""
    r = Reader(data, "extra_data")
    precert = r.vector(3) if entry_type == PRECERT_ENTRY else None
    chain_bytes = Reader(r.vector(3), "extra_data chain")
    chain = []
    while not chain_bytes.at_end():
        chain.append(chain_bytes.vector(3))
    r.end()
    return precert, chain


@dataclass(frozen=True)
class TileLeaf:
    """One entry of a static-ct-api data tile."""

    entry: TimestampedEntry
    precertificate: bytes | None    # the submitted precertificate (precert_entry only)
    chain_fingerprints: tuple[bytes, ...]


def read_tile_leaf(r: Reader) -> TileLeaf:
    entry = read_timestamped_entry(r)
    precert = r.vector(3) if entry.is_precert else None
    chain = r.vector(2)
    if len(chain) % 32:
        raise Malformed(f"{r.what}: certificate_chain of {len(chain)} bytes is not a list of SHA-256 fingerprints")
    return TileLeaf(entry, precert, tuple(chain[i:i + 32] for i in range(0, len(chain), 32)))


# --------------------------------------------------------------------------- writers


def _vec(data: bytes, length_bytes: int) -> bytes:
    if len(data) >= 1 << (8 * length_bytes):
        raise ValueError(f"{len(data)} bytes do not fit a {length_bytes}-byte length")
    return len(data).to_bytes(length_bytes, "big") + data


def leaf_index_extension(index: int) -> bytes:
    return bytes([LEAF_INDEX_EXTENSION]) + _vec(index.to_bytes(5, "big"), 2)


def timestamped_entry(timestamp: int, certificate: bytes, issuer_key_hash: bytes | None = None,
                      extensions: bytes = b"") -> bytes:
    """A TimestampedEntry; a precert_entry when ``issuer_key_hash`` is given (``certificate`` is then the TBS)."""
    head = struct.pack(">QH", timestamp, X509_ENTRY if issuer_key_hash is None else PRECERT_ENTRY)
    body = _vec(certificate, 3) if issuer_key_hash is None else issuer_key_hash + _vec(certificate, 3)
    return head + body + _vec(extensions, 2)


def merkle_leaf(entry: bytes) -> bytes:
    """MerkleTreeLeaf v1 around a TimestampedEntry: what is hashed into the tree."""
    return b"\x00\x00" + entry


def extra_data(chain: list[bytes], precertificate: bytes | None = None) -> bytes:
    chain_list = _vec(b"".join(_vec(c, 3) for c in chain), 3)
    return chain_list if precertificate is None else _vec(precertificate, 3) + chain_list


def tile_leaf(entry: bytes, fingerprints: list[bytes], precertificate: bytes | None = None) -> bytes:
    return entry + (b"" if precertificate is None else _vec(precertificate, 3)) + _vec(b"".join(fingerprints), 2)
