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


class ProofError(ValueError):
    """A log's inclusion or consistency proof does not prove what it should: the log misbehaves."""


def verify_inclusion(leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes) -> None:
    """That the leaf hash ``leaf`` is entry ``index`` of the tree of ``tree_size`` whose head is ``root``
    (RFC 9162 section 2.1.3.2, the audit path of RFC 6962 get-proof-by-hash); ProofError if not."""
    if not 0 <= index < tree_size:
        raise ProofError(f"leaf index {index} is outside a tree of {tree_size}")
    fn, sn, node = index, tree_size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise ProofError(f"inclusion proof of entry {index} in {tree_size} is too long ({len(proof)} hashes)")
        if fn & 1 or fn == sn:
            node = node_hash(sibling, node)
            while not fn & 1 and fn != 0:  # the right edge: climb past levels without a right sibling
                fn, sn = fn >> 1, sn >> 1
        else:
            node = node_hash(node, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"inclusion proof of entry {index} in {tree_size} is too short ({len(proof)} hashes)")
    if node != root:
        raise ProofError(f"inclusion proof of entry {index} in {tree_size} leads to another root hash")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """That the tree of ``second`` entries extends the one of ``first`` (RFC 9162 section 2.1.4.2, the
    proof of RFC 6962 get-sth-consistency): the log rewrote no entry it had published. ProofError if not."""
    if not 0 <= first <= second:
        raise ProofError(f"no consistency between tree sizes {first} and {second}")
    if first == second:
        if proof or first_root != second_root:
            raise ProofError(f"two different heads for the same tree size {first}")
        return
    if first == 0:
        if proof:
            raise ProofError("a consistency proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError(f"empty consistency proof from {first} to {second}")
    path = list(proof)
    if first & (first - 1) == 0:  # a perfect subtree: the old root itself starts the path
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"consistency proof from {first} to {second} is too long ({len(proof)} hashes)")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"consistency proof from {first} to {second} is too short ({len(proof)} hashes)")
    if fr != first_root or sr != second_root:
        raise ProofError(f"the tree of {second} entries does not extend the tree of {first}: "
                         "the log changed entries it had published")
