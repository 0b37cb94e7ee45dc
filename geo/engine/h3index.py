"""H3 indexing: each position is indexed once, at a fine resolution; coarser cells come from bits.

Coordinate order: the functions here take ``lat`` then ``lon`` (WGS84 degrees), as h3's scalar
functions do; shapely, GeoJSON and pydeck positions are (lon, lat).

Cells are 64-bit integers (``numpy.uint64``), the form h3's ``basic_int`` API uses; ``0`` stands
for "no position". The string form (``"8a65a2e4c6d7fff"``) is only made for output
(:func:`cells_to_str`).

Indexing uses h3ronpy's vectorised ``coordinates_to_cells`` (Rust, the h3o port of H3), split over
the machine's cores. Tests check it equals ``h3.latlng_to_cell`` cell for cell.

Roll-up to a parent is pure arithmetic on the index (H3 bit layout, see the H3 docs "H3 index
representations"): bits 52-55 hold the resolution and bits ``3 * (15 - r)`` to
``3 * (15 - r) + 2`` hold the digit of resolution ``r``; digits finer than the cell's resolution
are set to 7. So the parent at resolution ``p`` is the cell with its resolution field set to ``p``
and digits ``p + 1 .. 15`` set to 7 — exact, and one vectorised expression for a million cells.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from geo.checks import check_int, check_same_length
from geo.errors import EngineInputError

#: The resolution every household is indexed at when loaded; res 5-9 are derived from it.
INDEX_RES = 10

_RES_SHIFT = np.uint64(52)
_RES_MASK = np.uint64(0xF) << _RES_SHIFT
# Below this many points one call is cheaper than handing work to threads.
_PARALLEL_MIN_POINTS = 200_000


def _valid_positions(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    return np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0)


def points_to_cells(lat: object, lon: object, res: int = INDEX_RES, *, workers: int | None = None) -> np.ndarray:
    """Index positions to H3 cells, vectorised.

    Parameters
    ----------
    lat, lon : array-like of float
        Latitude and longitude in WGS84 degrees (note the order: lat first). NaN, infinite or
        out-of-range positions get cell 0.
    res : int, default 10
        H3 resolution, 0-15.
    workers : int, optional
        Threads to split the work over; defaults to the number of cores. h3ronpy releases the GIL.

    Returns
    -------
    numpy.ndarray of uint64
        One cell per position, 0 where there is no valid position.

    Raises
    ------
    EngineInputError
        When ``res`` is not 0-15 or ``lat`` and ``lon`` differ in length.

    Example
    -------
    >>> hex(int(points_to_cells([16.433], [103.507], res=8)[0]))  # Kalasin provincial hall
    '0x884169b04bfffff'
    """
    res = check_int(res, "res", minimum=0, maximum=15)
    lat_a = np.asarray(lat, dtype="float64").ravel()
    lon_a = np.asarray(lon, dtype="float64").ravel()
    check_same_length("lat", lat_a, "lon", lon_a)
    out = np.zeros(lat_a.size, dtype=np.uint64)
    ok = _valid_positions(lat_a, lon_a)
    if not ok.any():
        return out
    all_ok = bool(ok.all())
    lat_ok = lat_a if all_ok else lat_a[ok]
    lon_ok = lon_a if all_ok else lon_a[ok]

    from h3ronpy import vector  # imported here: only indexing needs it

    def run(part: slice) -> np.ndarray:
        return np.asarray(vector.coordinates_to_cells(lat_ok[part], lon_ok[part], res), dtype=np.uint64)

    n = lat_ok.size
    workers = workers or os.cpu_count() or 1
    if workers <= 1 or n < _PARALLEL_MIN_POINTS:
        cells = run(slice(0, n))
    else:
        edges = np.linspace(0, n, workers + 1).astype(int)
        parts = [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            cells = np.concatenate(list(pool.map(run, parts)))
    if all_ok:
        return cells
    out[ok] = cells
    return out


def cells_at(lat: object, lng: object, res: int) -> np.ndarray:
    """The H3 cell that contains each position at resolution ``res``: exactly ``h3.latlng_to_cell``,
    vectorised (the engine's definition of "the hexagon a household is in", docs/ENGINE.md).

    Not the parent of a finer cell: H3 cells do not nest exactly, so a parent can miss a point
    its child holds.

    Parameters
    ----------
    lat, lng : array-like of float
        WGS84 degrees, latitude first. NaN, infinite or out-of-range positions get cell 0.
    res : int
        H3 resolution, 0-15.

    Returns
    -------
    numpy.ndarray of uint64
        One cell per position, 0 where there is no valid position.

    Raises
    ------
    EngineInputError
        When ``res`` is not 0-15 or ``lat`` and ``lng`` differ in length.

    Example
    -------
    >>> hex(int(cells_at([16.433], [103.507], 8)[0]))  # Kalasin provincial hall
    '0x884169b04bfffff'
    """
    return points_to_cells(lat, lng, res)


def cells_resolution(cells: object) -> np.ndarray:
    """Resolution of each cell (0-15), read from bits 52-55; 0 for the "no position" cell 0.

    Example
    -------
    >>> cells_resolution(np.array([0x8a4169b04b67fff], dtype=np.uint64)).tolist()
    [10]
    """
    arr = np.asarray(cells, dtype=np.uint64)
    return ((arr & _RES_MASK) >> _RES_SHIFT).astype(np.int8)


def cells_to_parent(cells: object, res: int) -> np.ndarray:
    """Parent of each cell at resolution ``res``, by bit arithmetic (equal to ``h3.cell_to_parent``).

    Parameters
    ----------
    cells : array-like of uint64
        H3 cells, all at resolution ``res`` or finer; 0 ("no position") stays 0.
    res : int
        Parent resolution, 0-15.

    Returns
    -------
    numpy.ndarray of uint64

    Raises
    ------
    EngineInputError
        When ``res`` is not 0-15 or is finer than one of the cells.

    Example
    -------
    >>> c = np.array([0x8a4169b04b67fff], dtype=np.uint64)
    >>> hex(int(cells_to_parent(c, 5)[0]))
    '0x854169b3fffffff'
    """
    res = check_int(res, "res", minimum=0, maximum=15)
    arr = np.asarray(cells, dtype=np.uint64)
    if arr.size:
        finest_needed = cells_resolution(arr)
        present = arr != 0
        if present.any() and int(finest_needed[present].min()) < res:
            raise EngineInputError(
                f"res must not be finer than the cells' resolution {int(finest_needed[present].min())}, got {res}"
            )
    low_digits = np.uint64((1 << (3 * (15 - res))) - 1)
    parent = (arr & ~_RES_MASK) | (np.uint64(res) << _RES_SHIFT) | low_digits
    return np.where(arr == 0, np.uint64(0), parent)


def parents_unchecked(cells: np.ndarray, res: int) -> np.ndarray:
    """:func:`cells_to_parent` without its checks, for engine code that knows its cells are valid.

    ``cells`` must be uint64 cells at resolution ``res`` or finer, none of them 0.
    """
    low_digits = np.uint64((1 << (3 * (15 - res))) - 1)
    return (cells & ~_RES_MASK) | (np.uint64(res) << _RES_SHIFT) | low_digits


#: Cells compared per step by :func:`parent_run_starts` (its temporaries stay small).
_RUN_STEP = 1 << 20


def parent_run_starts(cells: np.ndarray, res: int) -> np.ndarray:
    """Start of each run of consecutive ``cells`` sharing their parent at ``res``: int64
    positions, 0 first (empty for no cells).

    ``cells`` must all be at one resolution, ``res`` or finer, none of them 0 (the engine's
    res-10 cells). Two such cells share their parent when they differ only in the digits finer
    than ``res``: the bits below ``3 * (15 - res)``. No parent is computed.
    """
    if cells.size == 0:
        return np.zeros(0, dtype=np.int64)
    limit = np.uint64(1 << (3 * (15 - res)))
    change = np.empty(cells.size, dtype=bool)
    change[0] = True
    for lo in range(1, cells.size, _RUN_STEP):
        hi = min(lo + _RUN_STEP, cells.size)
        np.greater_equal(np.bitwise_xor(cells[lo:hi], cells[lo - 1:hi - 1]), limit, out=change[lo:hi])
    return np.flatnonzero(change)


def descendants_bound(parents: np.ndarray, res: int) -> np.ndarray:
    """Per parent cell (from :func:`parents_unchecked`), a number above every one of its
    descendants at resolution ``res`` and below every descendant of a larger parent, as uint64:
    the parent with its resolution field set to ``res`` (its finer digits are 7, a descendant's
    are 0-6). For cutting a sorted array of res-``res`` cells at a parent's end (``searchsorted``).
    """
    return (parents & ~_RES_MASK) | (np.uint64(res) << _RES_SHIFT)


def cells_to_str(cells: object) -> np.ndarray:
    """H3 string form of each cell (lower-case hex, as ``h3.int_to_str``); ``""`` for cell 0.

    Example
    -------
    >>> cells_to_str(np.array([0x854169b3fffffff], dtype=np.uint64)).tolist()
    ['854169b3fffffff']
    """
    arr = np.asarray(cells, dtype=np.uint64).ravel()
    return np.array([format(int(c), "x") if c else "" for c in arr.tolist()], dtype=object)


def str_to_cells(strings: object) -> np.ndarray:
    """Integer form of H3 strings (as ``h3.str_to_int``); ``""`` or ``None`` gives 0.

    Raises
    ------
    EngineInputError
        When a string is not hexadecimal.
    """
    out = []
    for text in list(strings):  # type: ignore[call-overload]
        if text is None or text == "":
            out.append(0)
            continue
        try:
            out.append(int(str(text), 16))
        except ValueError:
            raise EngineInputError(f"strings must be H3 cells in hexadecimal, got {text!r}") from None
    return np.array(out, dtype=np.uint64)
