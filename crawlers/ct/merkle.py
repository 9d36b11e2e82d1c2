"""RFC 6962 Merkle tree hashing (section 2.1): leaf and node hashes and the tree head of a list of leaves."""

from __future__ import annotations

import hashlib
from typing import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    """``SHA-256(0x00 || leaf)``: the hash of one MerkleTreeLeaf."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_hashes(hashes: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of leaves given by their leaf hashes (iterative, so large trees do not recurse)."""
    if not hashes:
        return EMPTY_ROOT
    # Fold the perfect subtrees of the binary decomposition of n, right to left, as MTH does.
    stack: list[tuple[int, bytes]] = []  # (size, hash) of perfect subtrees, left to right
    for h in hashes:
        size, node = 1, h
        while stack and stack[-1][0] == size:
            left_size, left = stack.pop()
            node, size = node_hash(left, node), left_size + size
        stack.append((size, node))
    node = stack.pop()[1]
    while stack:
        node = node_hash(stack.pop()[1], node)
    return node


def tree_hash(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of raw leaves, the definition of RFC 6962 section 2.1."""
    return root_from_hashes([leaf_hash(x) for x in leaves])
