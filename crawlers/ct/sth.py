"""Signed tree heads: RFC 6962's get-sth and static-ct-api's checkpoint (a C2SP signed note), with their
TreeHeadSignature verified against the log's key from the log list when it is known.

Checkpoint: ``<origin>\\n<size>\\n<base64 root hash>\\n`` then a blank line and signature lines
``— <key name> <base64(key id || signature)>``; the log's own signature is an RFC6962NoteSignature
(``uint64 timestamp`` then the DigitallySigned TreeHeadSignature), its key id the first four bytes of
``SHA-256(name || 0x0A || 0x05 || LogID)``. Other signatures (witnesses) are kept and ignored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15

from crawlers.ct.wire import Malformed, Reader

SIGNATURE_TYPE_TREE_HASH = 1
NOTE_SIGNATURE_TYPE_RFC6962 = 0x05
#: TLS HashAlgorithm sha256 and SignatureAlgorithm rsa / ecdsa (RFC 5246 section 7.4.1.4.1).
SHA256, RSA, ECDSA = 4, 1, 3
EM_DASH = "\u2014"


class SignatureError(ValueError):
    """A tree head whose signature does not verify with the log's key."""


@dataclass(frozen=True)
class TreeHead:
    tree_size: int
    timestamp: int                  # milliseconds since the epoch
    root_hash: bytes
    signature: bytes = b""          # DigitallySigned TreeHeadSignature
    origin: str | None = None       # checkpoints only
    witnesses: tuple[str, ...] = field(default=())


def log_id(public_key_der: bytes) -> bytes:
    """RFC 6962 LogID: SHA-256 of the log's DER SubjectPublicKeyInfo."""
    return hashlib.sha256(public_key_der).digest()


def tree_head_signed_data(tree_size: int, timestamp: int, root_hash: bytes) -> bytes:
    """What a TreeHeadSignature signs: version v1, tree_hash, timestamp, size, root."""
    return struct.pack(">BBQQ", 0, SIGNATURE_TYPE_TREE_HASH, timestamp, tree_size) + root_hash


def digitally_signed(signature_der: bytes, algorithm: int = ECDSA) -> bytes:
    return bytes([SHA256, algorithm]) + len(signature_der).to_bytes(2, "big") + signature_der


def verify(head: TreeHead, public_key_der: bytes, what: str) -> None:
    """Raise :class:`SignatureError` unless ``head`` is signed by ``public_key_der``."""
    r = Reader(head.signature, f"{what} tree head signature")
    try:
        hash_alg, sig_alg, sig = r.uint(1), r.uint(1), r.vector(2)
        r.end()
    except Malformed as exc:
        raise SignatureError(str(exc)) from None
    if hash_alg != SHA256:
        raise SignatureError(f"{what}: tree head signed with hash algorithm {hash_alg}, not SHA-256")
    key = serialization.load_der_public_key(public_key_der)
    data = tree_head_signed_data(head.tree_size, head.timestamp, head.root_hash)
    try:
        if isinstance(key, ec.EllipticCurvePublicKey) and sig_alg == ECDSA:
            key.verify(sig, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey) and sig_alg == RSA:
            key.verify(sig, data, PKCS1v15(), hashes.SHA256())
        else:
            raise SignatureError(f"{what}: signature algorithm {sig_alg} does not match the log's key")
    except InvalidSignature:
        raise SignatureError(f"{what}: the tree head of size {head.tree_size} is not signed by the log's key") from None


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Malformed(f"{what}: {text[:60]!r} is not base64") from None


def parse_sth_json(data: object, what: str) -> TreeHead:
    """A get-sth answer: ``tree_size``, ``timestamp``, ``sha256_root_hash``, ``tree_head_signature``."""
    if not isinstance(data, dict):
        raise Malformed(f"{what}: get-sth answered {type(data).__name__}, not a JSON object")
    try:
        size, ts = data["tree_size"], data["timestamp"]
        root = _b64(data["sha256_root_hash"], f"{what} sha256_root_hash")
        sig = _b64(data.get("tree_head_signature", ""), f"{what} tree_head_signature")
    except KeyError as exc:
        raise Malformed(f"{what}: get-sth answer lacks {exc}") from None
    if not isinstance(size, int) or not isinstance(ts, int) or size < 0 or len(root) != 32:
        raise Malformed(f"{what}: get-sth answer has a bad tree_size, timestamp or root hash")
    return TreeHead(size, ts, root, sig)


def note_key_id(name: str, public_key_der: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([NOTE_SIGNATURE_TYPE_RFC6962]) + log_id(public_key_der)).digest()[:4]


def checkpoint_body(origin: str, tree_size: int, root_hash: bytes) -> str:
    return f"{origin}\n{tree_size}\n{base64.b64encode(root_hash).decode()}\n"


def format_checkpoint(origin: str, head: TreeHead, public_key_der: bytes) -> str:
    """A checkpoint note signed (RFC6962NoteSignature) with ``head.signature``."""
    sig = struct.pack(">Q", head.timestamp) + head.signature
    line = base64.b64encode(note_key_id(origin, public_key_der) + sig).decode()
    return checkpoint_body(origin, head.tree_size, head.root_hash) + f"\n{EM_DASH} {origin} {line}\n"


def parse_checkpoint(text: str, what: str, public_key_der: bytes | None = None) -> TreeHead:
    """A static-ct-api checkpoint. With the log's key, its RFC 6962 signature must be there; without,
    the first signature named after the origin gives the timestamp."""
    body, sep, signatures = text.partition("\n\n")
    lines = body.split("\n")
    if not sep or len(lines) < 3:
        raise Malformed(f"{what}: a checkpoint is origin, size and root hash lines, a blank line and signatures")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if len(lines) > 3:
        raise Malformed(f"{what}: a static-ct checkpoint carries no extension lines")
    if not size_text.isdigit():
        raise Malformed(f"{what}: tree size {size_text[:40]!r} is not a number")
    root = _b64(root_text, f"{what} root hash")
    if len(root) != 32:
        raise Malformed(f"{what}: root hash of {len(root)} bytes, not 32")
    wanted = note_key_id(origin, public_key_der) if public_key_der else None
    found: tuple[int, bytes] | None = None
    others = []
    for line in signatures.splitlines():
        if not line.startswith(EM_DASH + " "):
            continue
        name, _, b64 = line[2:].rpartition(" ")
        raw = _b64(b64, f"{what} signature of {name}")
        if len(raw) < 4 + 8 + 4:
            others.append(name)
            continue
        key_id, sig = raw[:4], raw[4:]
        if name == origin and (wanted is None or key_id == wanted) and found is None:
            found = (int.from_bytes(sig[:8], "big"), sig[8:])
        else:
            others.append(name)
    if found is None:
        raise Malformed(f"{what}: no signature by the log {origin!r}" + (" with its key" if wanted else ""))
    head = TreeHead(int(size_text), found[0], root, found[1], origin, tuple(others))
    if public_key_der:
        verify(head, public_key_der, what)
    return head
