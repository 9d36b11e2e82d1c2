"""tlog-tiles paths (C2SP): ``tile/<L>/<N>[.p/<W>]`` and ``tile/data/<N>[.p/<W>]``, and which data tiles
hold a range of entries of a tree of a given size."""

from __future__ import annotations

from dataclasses import dataclass

TILE_WIDTH = 256


def encode_index(n: int) -> str:
    """A tile index as 3-digit path elements, all but the last prefixed with ``x``: 1234067 -> x001/x234/067."""
    if n < 0:
        raise ValueError(f"tile index {n} is negative")
    groups = []
    while True:
        groups.append(f"{n % 1000:03d}")
        n //= 1000
        if n == 0:
            break
    groups.reverse()
    return "/".join([f"x{g}" for g in groups[:-1]] + [groups[-1]])


def decode_index(path: str) -> int:
    """The inverse of :func:`encode_index`; ValueError for anything else."""
    parts = path.split("/")
    if not parts or any(len(p) != 4 or p[0] != "x" or not p[1:].isdigit() for p in parts[:-1]) \
            or len(parts[-1]) != 3 or not parts[-1].isdigit():
        raise ValueError(f"{path!r} is not a tile index")
    return int("".join(p.lstrip("x") for p in parts))


def tile_path(level: int | str, n: int, width: int | None = None) -> str:
    """``tile/<level>/<N>`` (``level`` ``"data"`` for entries), ``.p/<W>`` for a partial tile."""
    if width is not None and not 0 < width < TILE_WIDTH:
        raise ValueError(f"a partial tile holds 1 to 255 entries, not {width}")
    suffix = f".p/{width}" if width else ""
    return f"tile/{level}/{encode_index(n)}{suffix}"


@dataclass(frozen=True)
class DataTile:
    index: int      # N
    width: int      # entries in the tile as published for this tree size
    first: int      # first entry index of the tile

    @property
    def path(self) -> str:
        return tile_path("data", self.index, None if self.width == TILE_WIDTH else self.width)


def data_tiles(start: int, end: int, tree_size: int) -> list[DataTile]:
    """The data tiles holding entries ``[start, end)`` of a tree of ``tree_size`` entries (end <= size);
    the last is partial when the tree ends inside it."""
    end = min(end, tree_size)
    tiles = []
    for n in range(start // TILE_WIDTH, (end + TILE_WIDTH - 1) // TILE_WIDTH if end > start else start // TILE_WIDTH):
        first = n * TILE_WIDTH
        tiles.append(DataTile(n, min(TILE_WIDTH, tree_size - first), first))
    return tiles
