"""detectors.hash_index: multi-index hashing must answer exactly as a brute-force scan."""

import numpy as np
import pytest

from detectors.hash_index import HashIndex, brute_force, default_substrings, popcount64

RADII = (0, 1, 2, 3, 5, 6, 8, 10, 12)


def _flip(rng, h: int, d: int) -> int:
    for b in rng.choice(64, size=d, replace=False):
        h ^= 1 << int(b)
    return h


def _planted(seed: int, n_random: int, n_queries: int, max_d: int):
    """Random hashes plus, for each query, one planted hash at every distance 0..max_d."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 2**64, n_random, dtype=np.uint64, endpoint=False)
    queries = rng.integers(0, 2**64, n_queries, dtype=np.uint64, endpoint=False)
    planted = [_flip(rng, int(q), d) for q in queries for d in range(max_d + 1)]
    hashes = np.concatenate([base, np.array(planted, dtype=np.uint64)])
    rng.shuffle(hashes)
    return hashes, queries


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 8, 11])
def test_identical_to_brute_force_with_planted_neighbours(m):
    hashes, queries = _planted(seed=m, n_random=30_000, n_queries=25, max_d=14)
    index = HashIndex(hashes, m=m, scan_fallback=False)
    for r in RADII:
        if (m == 1 and r > 2) or (m == 2 and r > 8):
            continue  # one 64-bit or two 32-bit substrings enumerate millions of masks there: too slow here
        expected = [brute_force(hashes, q, r) for q in queries]
        got = [index.query(q, r) for q in queries]
        assert got == expected, (m, r)
        assert index.query_many(queries, r) == expected, (m, r)
        # every planted neighbour within the radius is found, at its exact distance
        assert all(sum(1 for _, d in res if d <= r) >= r + 1 for res in got)


def test_default_index_and_scan_fallback_agree_with_brute_force():
    hashes, queries = _planted(seed=7, n_random=50_000, n_queries=20, max_d=12)
    ids = np.array([f"img-{i}" for i in range(len(hashes))], dtype=object)
    index = HashIndex(hashes, ids)
    assert index.m == default_substrings(len(hashes)) == 4
    for r in (*RADII, 16, 24, 64):  # large radii take the full-scan path
        expected = [brute_force(hashes, q, r, ids) for q in queries]
        assert [index.query(q, r) for q in queries] == expected, r
        assert index.query_many(queries, r) == expected, r


def test_results_sorted_by_distance_then_insertion_order():
    q = 0x0123456789ABCDEF
    hashes = np.array([q ^ 0b111, q ^ 0b1, q, q ^ 0b11, q ^ 0b10, q], dtype=np.uint64)
    index = HashIndex(hashes, m=3, scan_fallback=False)
    assert index.query(q, 3) == [(2, 0), (5, 0), (1, 1), (4, 1), (3, 2), (0, 3)]
    assert index.query(q, 1) == [(2, 0), (5, 0), (1, 1), (4, 1)]


def test_empty_index():
    index = HashIndex(np.empty(0, dtype=np.uint64))
    assert len(index) == 0
    assert index.query(0xFFFF, 10) == []
    assert index.query_many(np.array([1, 2, 3], dtype=np.uint64), 5) == [[], [], []]
    assert index.query_many(np.empty(0, dtype=np.uint64), 5) == []
    assert HashIndex().query("00000000000000ff", 64) == []


def test_duplicates_are_all_returned_with_their_ids():
    h = np.uint64(0xDEADBEEFCAFEF00D)
    hashes = np.array([h, h, h ^ np.uint64(1 << 63), h], dtype=np.uint64)
    index = HashIndex(hashes, ids=np.array([10, 11, 12, 13]), m=4, scan_fallback=False)
    assert index.query(h, 0) == [(10, 0), (11, 0), (13, 0)]
    assert index.query(h, 1) == [(10, 0), (11, 0), (13, 0), (12, 1)]


def test_distance_zero_exact_match_only():
    hashes, queries = _planted(seed=3, n_random=20_000, n_queries=30, max_d=3)
    index = HashIndex(hashes, scan_fallback=False)
    for q in queries:
        res = index.query(q, 0)
        assert res == brute_force(hashes, q, 0)
        assert res and all(d == 0 for _, d in res) and all(hashes[i] == q for i, _ in res)
    absent = np.uint64(int(queries[0]) ^ 0xF0F0)
    assert index.query(absent, 0) == brute_force(hashes, absent, 0)


def test_add_keeps_row_ids_and_matches_brute_force():
    hashes, queries = _planted(seed=11, n_random=20_000, n_queries=15, max_d=10)
    half = len(hashes) // 2
    index = HashIndex(hashes[:half], m=4, scan_fallback=False)
    index.add(hashes[half:])
    index.add(np.empty(0, dtype=np.uint64))
    assert len(index) == len(hashes)
    for r in (0, 4, 10):
        assert [index.query(q, r) for q in queries] == [brute_force(hashes, q, r) for q in queries]
    # explicit ids after default ones: the earlier rows keep their row numbers as ids
    index.add(np.array([queries[0]], dtype=np.uint64), ids=np.array([-1]))
    assert index.query(queries[0], 0)[-1] == (-1, 0)
    assert index.query(queries[0], 0)[0][0] < len(hashes)


def test_inputs_hex_int_and_validation():
    index = HashIndex(["ffffffff00000000", 0x00000000FFFFFFFF, np.uint64(5)])
    assert index.query("ffffffff00000001", 1) == [(0, 1)]
    assert index.query(4, 1) == [(2, 1)]
    assert index.query_many(["ffffffff00000000", 5], 0) == [[(0, 0)], [(2, 0)]]
    with pytest.raises(ValueError):
        index.query(1, -1)
    with pytest.raises(ValueError):
        HashIndex([1, 2], ids=[1])
    with pytest.raises(ValueError):
        HashIndex(np.array([-1]))


def test_popcount64():
    x = np.array([0, 1, 2**64 - 1, 0x8000000000000001, 0xF0F0], dtype=np.uint64)
    assert popcount64(x).tolist() == [0, 1, 64, 2, 8]
