"""Near-duplicate search over 64-bit perceptual hashes: multi-index hashing on sorted NumPy arrays.

The 64 bits are cut into ``m`` contiguous substrings (widths as equal as possible). Each
substring has its own table: the rows sorted by that substring's value, stored as a sorted key
array, the row numbers in that order, and (for substrings narrow enough) a bucket offset array
with one entry per possible value, so a bucket is two array reads; wider substrings use
``searchsorted`` on the sorted keys instead. No Python dict, no per-bucket list.

Why it finds everything (and only what a full scan finds): write the radius as
``r = m*t + a`` with ``0 <= a < m``. If two hashes are within ``r`` bits, then one of the first
``a + 1`` substrings differs by at most ``t`` bits, or one of the others by at most ``t - 1``
(otherwise the distance would be at least ``(a+1)(t+1) + (m-a-1)t = r + 1``). So a query looks
up, in each substring table, every value within that radius of its own substring (an
enumeration of bit-flip masks), collects the rows found, drops repeats, and checks each
candidate's full 64-bit distance. Candidates are only ever filtered by their true distance:
the answer equals a brute-force scan. When the enumeration would touch more rows than the index
holds (a large radius, a small index), the query scans the whole array instead, which gives
the same answer.

With ``N`` random hashes, the tables are fastest when a substring has about ``log2(N)`` bits:
the default picks ``m = ceil(64 / max(16, log2 N))`` at construction (4 for a million hashes,
so radius 10 looks up 3 x 137 + 17 = 428 buckets of ~15 rows each per query). Each table also
keeps the full hashes in its own order, so a bucket's candidates are checked from contiguous
memory and only the hits are mapped back to rows. :meth:`HashIndex.query_many` does all of this
for a batch of queries at once (several times faster per query than :meth:`HashIndex.query`).
"""

from __future__ import annotations

import math
from functools import lru_cache
from itertools import combinations
from typing import Iterable, Sequence

import numpy as np

#: Substrings up to this width get a direct bucket-offset table (2**width + 1 entries).
_DIRECT_MAX_BITS = 22
#: Batch size bound for query_many: expected probes + candidates handled at once.
_BATCH_WORK = 1 << 20

_HAS_BITWISE_COUNT = hasattr(np, "bitwise_count")
_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def popcount64(x: np.ndarray) -> np.ndarray:
    """Set bits of each uint64 (``np.bitwise_count`` where NumPy has it, else a byte table)."""
    x = np.ascontiguousarray(x, dtype=np.uint64)
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x).astype(np.int64, copy=False)
    return _POPCOUNT8[x.view(np.uint8)].reshape(*x.shape, 8).sum(axis=-1, dtype=np.int64)


def _as_hashes(values) -> np.ndarray:
    """A 1-d uint64 array from uint64/int arrays, ints or 16-hex-digit strings."""
    if isinstance(values, np.ndarray):
        if values.dtype == np.uint64:
            return values.ravel()
        if values.dtype.kind in "iu":
            if values.size and values.min() < 0:
                raise ValueError("hashes must be non-negative 64-bit values")
            return values.astype(np.uint64).ravel()
        values = values.ravel().tolist()
    if isinstance(values, (str, bytes, int, np.integer)):
        values = [values]
    out = [_as_hash(v) for v in values]
    return np.array(out, dtype=np.uint64)


def _as_hash(value) -> int:
    if isinstance(value, (bytes, str)):
        value = int(value, 16)
    value = int(value)
    if not 0 <= value < 1 << 64:
        raise ValueError(f"not a 64-bit hash: {value!r}")
    return value


@lru_cache(maxsize=None)
def _flip_masks(width: int, radius: int) -> np.ndarray:
    """Every value of ``width`` bits with at most ``radius`` bits set, fewest bits first."""
    masks = [0]
    for k in range(1, min(radius, width) + 1):
        masks.extend(sum(1 << b for b in bits) for bits in combinations(range(width), k))
    out = np.array(masks, dtype=np.uint64)
    out.setflags(write=False)
    return out


def _masks_count(width: int, radius: int) -> int:
    return sum(math.comb(width, k) for k in range(min(radius, width) + 1)) if radius >= 0 else 0


def default_substrings(n: int) -> int:
    """Substring count for ``n`` hashes: about log2(n) bits each, never more than 16 substrings."""
    bits = max(16.0, math.log2(max(n, 2)))
    return max(1, min(16, math.ceil(64 / bits)))


class _Table:
    """One substring: keys sorted, the rows in that order, and bucket offsets when narrow."""

    __slots__ = ("shift", "width", "keys", "rows", "hashes", "offsets")

    def __init__(self, shift: int, width: int):
        self.shift = shift
        self.width = width
        self.keys = np.empty(0, dtype=self.dtype)
        self.rows = np.empty(0, dtype=np.int64)
        self.hashes = np.empty(0, dtype=np.uint64)  # the full hashes in this table's order
        self.offsets: np.ndarray | None = None

    @property
    def dtype(self):
        return np.uint32 if self.width <= 32 else np.uint64

    def extract(self, hashes: np.ndarray) -> np.ndarray:
        mask = np.uint64((1 << self.width) - 1)
        return ((hashes >> np.uint64(self.shift)) & mask).astype(self.dtype)

    def insert(self, hashes: np.ndarray, first_row: int) -> None:
        new_keys = self.extract(hashes)
        order = np.argsort(new_keys, kind="stable")
        new_keys = new_keys[order]
        new_rows = order.astype(np.int64) + first_row
        new_hashes = hashes[order]
        if len(self.keys):
            # rows already stored come first among equal keys: buckets stay in insertion order
            at = np.searchsorted(self.keys, new_keys, side="right")
            self.keys = np.insert(self.keys, at, new_keys)
            self.rows = np.insert(self.rows, at, new_rows)
            self.hashes = np.insert(self.hashes, at, new_hashes)
        else:
            self.keys, self.rows, self.hashes = new_keys, new_rows, new_hashes
        if self.width <= _DIRECT_MAX_BITS:
            counts = np.bincount(self.keys, minlength=1 << self.width)
            self.offsets = np.zeros((1 << self.width) + 1, dtype=np.int64)
            np.cumsum(counts, out=self.offsets[1:])

    def ranges(self, probes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[lo, hi) positions in ``rows`` of each probe value's bucket."""
        if self.offsets is not None:
            p = probes.astype(np.int64)
            return self.offsets[p], self.offsets[p + 1]
        p = probes.astype(self.dtype)
        return np.searchsorted(self.keys, p, side="left"), np.searchsorted(self.keys, p, side="right")

    @property
    def nbytes(self) -> int:
        offsets = self.offsets.nbytes if self.offsets is not None else 0
        return self.keys.nbytes + self.rows.nbytes + self.hashes.nbytes + offsets


def _expand(lo: np.ndarray, hi: np.ndarray, tag: np.ndarray | None = None):
    """Concatenation of the ranges [lo[i], hi[i]), and ``tag[i]`` repeated for each element."""
    lengths = hi - lo
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64), (tag[:0] if tag is not None else None)
    # positions: a running sum of 1s, with a jump at the start of each range
    step = np.ones(total, dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    nonempty = lengths > 0
    first, low, high = starts[nonempty], lo[nonempty], hi[nonempty]
    step[first[1:]] = low[1:] - high[:-1] + 1
    step[0] = low[0]
    pos = np.cumsum(step, out=step)
    return pos, (np.repeat(tag, lengths) if tag is not None else None)


class HashIndex:
    """Hashes within a Hamming radius of a query, exactly as a full scan finds them.

    ``hashes``: 64-bit hashes (uint64 array, ints or hex strings); ``ids``: one per hash (any
    array), by default the row number (0, 1, ... continuing across :meth:`add`). ``m``: number of
    substrings, by default :func:`default_substrings` of the initial size. ``scan_fallback``:
    answer by a full scan when the tables would cost more (the answers are the same either way).
    """

    def __init__(self, hashes=None, ids=None, *, m: int | None = None, scan_fallback: bool = True):
        initial = _as_hashes(hashes) if hashes is not None else np.empty(0, dtype=np.uint64)
        self.m = int(m) if m is not None else default_substrings(len(initial))
        if not 1 <= self.m <= 64:
            raise ValueError("m must be between 1 and 64")
        widths = [64 // self.m + (1 if i < 64 % self.m else 0) for i in range(self.m)]
        shifts = [sum(widths[i + 1:]) for i in range(self.m)]  # substring 0 is the top bits
        self._tables = [_Table(s, w) for s, w in zip(shifts, widths)]
        self._hashes = np.empty(0, dtype=np.uint64)
        self._ids: np.ndarray | None = None  # None: ids are the row numbers
        #: Scan the whole array when the tables would cost more (same answers; off only in tests).
        self.scan_fallback = scan_fallback
        self.add(initial, ids)

    def __len__(self) -> int:
        return len(self._hashes)

    @property
    def hashes(self) -> np.ndarray:
        return self._hashes

    @property
    def nbytes(self) -> int:
        """Memory held by the index's arrays."""
        ids = self._ids.nbytes if self._ids is not None else 0
        return self._hashes.nbytes + ids + sum(t.nbytes for t in self._tables)

    def add(self, hashes, ids=None) -> None:
        """Add hashes (with their ids; by default their row numbers)."""
        new = _as_hashes(hashes)
        n_old = len(self._hashes)
        if ids is not None:
            ids = np.asarray(ids)
            if ids.ndim != 1 or len(ids) != len(new):
                raise ValueError(f"{len(new)} hashes but {ids.shape} ids")
        if not len(new):
            return
        if ids is not None or self._ids is not None:
            old_ids = self._ids if self._ids is not None else np.arange(n_old, dtype=np.int64)
            new_ids = ids if ids is not None else np.arange(n_old, n_old + len(new), dtype=np.int64)
            self._ids = np.concatenate([old_ids, new_ids]) if n_old else new_ids.copy()
        self._hashes = np.concatenate([self._hashes, new]) if n_old else new.copy()
        for table in self._tables:
            table.insert(new, n_old)

    # -- queries -----------------------------------------------------------------------------

    def _radii(self, max_distance: int) -> list[int]:
        t, a = divmod(max_distance, self.m)
        return [t if j <= a else t - 1 for j in range(self.m)]

    def _scan_is_cheaper(self, max_distance: int) -> bool:
        if not self.scan_fallback:
            return False
        n = len(self._hashes)
        work = 0.0
        for table, radius in zip(self._tables, self._radii(max_distance)):
            probes = _masks_count(table.width, radius)
            work += probes * (4 + n / 2.0**table.width)
        return work >= n / 4

    def _results(self, rows: np.ndarray, dist: np.ndarray) -> list[tuple[object, int]]:
        order = np.lexsort((rows, dist))
        rows, dist = rows[order], dist[order]
        ids = rows.tolist() if self._ids is None else self._ids[rows].tolist()
        return list(zip(ids, dist.tolist()))

    def query(self, hash_value, max_distance: int) -> list[tuple[object, int]]:
        """(id, distance) of every stored hash within ``max_distance`` bits, nearest first
        (ties in insertion order)."""
        max_distance = int(max_distance)
        if max_distance < 0:
            raise ValueError("max_distance must be >= 0")
        q = np.uint64(_as_hash(hash_value))
        if not len(self._hashes):
            return []
        if self._scan_is_cheaper(max_distance):
            dist = popcount64(self._hashes ^ q)
            rows = np.flatnonzero(dist <= max_distance)
            return self._results(rows, dist[rows])
        hit_rows, hit_dist = [], []
        q_arr = np.array([q], dtype=np.uint64)
        for table, radius in zip(self._tables, self._radii(max_distance)):
            if radius < 0:
                continue
            probes = table.extract(q_arr).astype(np.uint64) ^ _flip_masks(table.width, radius)
            lo, hi = table.ranges(probes)
            pos, _ = _expand(lo, hi)
            x = table.hashes[pos] ^ q
            dist = np.bitwise_count(x) if _HAS_BITWISE_COUNT else popcount64(x)
            keep = dist <= max_distance
            hit_rows.append(table.rows[pos[keep]])
            hit_dist.append(dist[keep])
        if not hit_rows:
            return []
        # a row can be found through several substrings: drop the repeats
        rows, first = np.unique(np.concatenate(hit_rows), return_index=True)
        return self._results(rows, np.concatenate(hit_dist)[first])

    def query_many(self, hashes, max_distance: int) -> list[list[tuple[object, int]]]:
        """:meth:`query` for each hash, batched: one list per query, in order."""
        max_distance = int(max_distance)
        if max_distance < 0:
            raise ValueError("max_distance must be >= 0")
        queries = _as_hashes(hashes)
        if not len(queries):
            return []
        if not len(self._hashes):
            return [[] for _ in queries]
        if self._scan_is_cheaper(max_distance):
            return [self.query(q, max_distance) for q in queries]
        radii = self._radii(max_distance)
        n = len(self._hashes)
        per_query = sum(_masks_count(t.width, r) * (1 + n / 2.0**t.width) for t, r in zip(self._tables, radii))
        step = max(1, int(_BATCH_WORK // max(per_query, 1)))
        out: list[list[tuple[object, int]]] = []
        for start in range(0, len(queries), step):
            out.extend(self._query_batch(queries[start:start + step], max_distance, radii))
        return out

    def _query_batch(self, queries: np.ndarray, max_distance: int, radii: list[int]):
        n = len(self._hashes)
        hit_pairs, hit_dist = [], []  # query number * n + row, distance
        for table, radius in zip(self._tables, radii):
            if radius < 0:
                continue
            masks = _flip_masks(table.width, radius)
            probes = (table.extract(queries).astype(np.uint64)[:, None] ^ masks[None, :]).ravel()
            lo, hi = table.ranges(probes)
            # each candidate carries its query's hash; its query's number only once it is a hit
            pos, qh = _expand(lo, hi, np.repeat(queries, len(masks)))
            x = table.hashes[pos] ^ qh
            dist = np.bitwise_count(x) if _HAS_BITWISE_COUNT else popcount64(x)
            hit = np.flatnonzero(dist <= max_distance)
            qn = np.searchsorted(np.cumsum(hi - lo), hit, side="right") // len(masks)
            hit_pairs.append(qn * n + table.rows[pos[hit]])
            hit_dist.append(dist[hit].astype(np.int64))
        result: list[list[tuple[object, int]]] = [[] for _ in queries]
        if not hit_pairs:
            return result
        # a row can be found through several substrings: drop the repeats
        pair, first = np.unique(np.concatenate(hit_pairs), return_index=True)
        dist = np.concatenate(hit_dist)[first]
        qn, rows = np.divmod(pair, n)
        order = np.lexsort((rows, dist, qn))
        qn, rows, dist = qn[order], rows[order], dist[order]
        ids = rows.tolist() if self._ids is None else self._ids[rows].tolist()
        bounds = np.searchsorted(qn, np.arange(len(queries) + 1)).tolist()
        dist_list = dist.tolist()
        for i in range(len(queries)):
            a, b = bounds[i], bounds[i + 1]
            if b > a:
                result[i] = list(zip(ids[a:b], dist_list[a:b]))
        return result


def brute_force(hashes: np.ndarray, query, max_distance: int, ids: Sequence | None = None) -> list[tuple[object, int]]:
    """The reference answer: a full XOR + popcount scan, same order as :meth:`HashIndex.query`."""
    hashes = _as_hashes(hashes)
    dist = popcount64(hashes ^ np.uint64(_as_hash(query)))
    rows = np.flatnonzero(dist <= max_distance)
    d = dist[rows]
    order = np.lexsort((rows, d))
    rows, d = rows[order], d[order]
    out_ids: Iterable = rows.tolist() if ids is None else np.asarray(ids)[rows].tolist()
    return list(zip(out_ids, d.tolist()))
