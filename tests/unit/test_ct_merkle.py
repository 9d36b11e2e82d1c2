"""RFC 6962 tree hashing against the definition, computed here independently, and published vectors."""

import hashlib

import pytest

from crawlers.ct.merkle import EMPTY_ROOT, leaf_hash, node_hash, root_from_hashes, tree_hash

# The eight leaves of the certificate-transparency project's Merkle test vectors and their roots.
LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                      "606162636465666768696a6b6c6d6e6f")]
ROOTS = ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
         "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
         "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
         "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
         "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
         "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
         "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]


def mth(leaves):
    """MTH exactly as RFC 6962 section 2.1 writes it (recursive, split at the largest power of two < n)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def test_empty_tree_is_the_hash_of_nothing():
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert tree_hash([]) == EMPTY_ROOT


def test_leaf_and_node_hashes_carry_their_domain_prefix():
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()


@pytest.mark.parametrize("n", range(1, 9))
def test_published_vectors(n):
    assert tree_hash(LEAVES[:n]).hex() == ROOTS[n - 1]
    assert mth(LEAVES[:n]).hex() == ROOTS[n - 1]


@pytest.mark.parametrize("n", [9, 15, 16, 17, 100, 255, 256, 257, 1000])
def test_larger_trees_match_the_definition(n):
    leaves = [i.to_bytes(4, "big") for i in range(n)]
    assert tree_hash(leaves) == mth(leaves)
    assert root_from_hashes([leaf_hash(x) for x in leaves]) == mth(leaves)
