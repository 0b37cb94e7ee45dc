"""Places for the synthetic sample: exact allocation, areas with polygons, points inside polygons.

The geometric half of :mod:`geo.synth.sample`. Everything works on whole arrays: one call places every
village or every household, whatever the count.

Coordinate order: shapely works in (x, y) = (lon, lat). Functions here take and return ``lon``
and ``lat`` arrays separately, named as such, so the order never has to be guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geothai
import numpy as np
import pandas as pd
import shapely

from geo.errors import ArgumentError, BoundaryError

#: How far outside its declared subdistrict a planted household may sit, in degrees (~1.1 km).
PLANT_REACH_DEG = 0.01
#: Spread of households around their village centre, in degrees (~330 m at 1 sigma), capped
#: for small subdistricts by :data:`HOUSEHOLD_SPREAD_SHARE` of the polygon's bounding box.
HOUSEHOLD_SPREAD_DEG = 0.003
HOUSEHOLD_SPREAD_SHARE = 0.08
#: Decimals kept in coordinates (~0.1 m). Points are rounded *before* the inside test, so
#: rounding can never move a stored point across a border.
COORD_DECIMALS = 6
#: Least share of a subdistrict inside its district polygon for households to keep to that share.
MIN_NESTED_SHARE = 0.5


# ---------------------------------------------------------------------------------------------
# Exact allocation
# ---------------------------------------------------------------------------------------------


def allocate_exact(total: int, weights: np.ndarray | Sequence[float]) -> np.ndarray:
    """Split ``total`` into whole numbers proportional to ``weights``, summing exactly to ``total``.

    Largest-remainder (Hamilton) rounding: every share is the floor of its quota or one more,
    and ties go to the earlier item, so the result is deterministic.

    Parameters
    ----------
    total : int
        Non-negative whole number to split.
    weights : array-like of float
        Non-negative weights, at least one positive when ``total`` > 0.

    Returns
    -------
    numpy.ndarray of int64
        Shares, same length as ``weights``; zero weight gets zero.

    Raises
    ------
    ValueError
        When ``total`` is negative, a weight is negative or not finite, or all weights are zero
        while ``total`` is positive.

    Example
    -------
    >>> allocate_exact(10, [1, 1, 1]).tolist()
    [4, 3, 3]
    """
    w = np.asarray(weights, dtype="float64")
    if total < 0:
        raise ArgumentError(f"total must be >= 0, got {total}")
    if w.size and (not np.isfinite(w).all() or (w < 0).any()):
        raise ArgumentError(f"weights must be finite and >= 0, got {w[~np.isfinite(w) | (w < 0)][:5]}")
    if total == 0:
        return np.zeros(w.size, dtype="int64")
    if w.size == 0 or w.sum() <= 0:
        raise ArgumentError(f"cannot split {total} over weights that are all zero (n={w.size})")
    quota = total * w / w.sum()
    shares = np.floor(quota).astype("int64")
    left = int(total - shares.sum())
    if left:
        order = np.argsort(-(quota - shares), kind="stable")
        shares[order[:left]] += 1
    return shares


def allocate_exact_grouped(
    group_totals: Mapping[object, int], groups: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Apply :func:`allocate_exact` within each group.

    Parameters
    ----------
    group_totals : mapping
        Total to split for each group key.
    groups : numpy.ndarray
        Group key of each item.
    weights : numpy.ndarray
        Weight of each item.

    Returns
    -------
    numpy.ndarray of int64
        Shares; items of a group sum to that group's total.

    Example
    -------
    >>> allocate_exact_grouped({"a": 3, "b": 1}, np.array(["a", "a", "b"]), np.ones(3)).tolist()
    [2, 1, 1]
    """
    groups = np.asarray(groups)
    weights = np.asarray(weights, dtype="float64")
    shares = np.zeros(groups.size, dtype="int64")
    for key, total in group_totals.items():
        idx = np.flatnonzero(groups == key)
        shares[idx] = allocate_exact(int(total), weights[idx])
    return shares


def adjust_to_total(
    values: np.ndarray, target: int, rng: np.random.Generator, *, low: int, high: int
) -> np.ndarray:
    """Nudge whole numbers up or down by one, at random, until they sum to ``target``.

    Used to make people totals exact without changing the shape of the member distribution.

    Parameters
    ----------
    values : numpy.ndarray of int
        Starting values, each within ``[low, high]``.
    target : int
        Required sum; must lie within ``[low * n, high * n]``.
    rng : numpy.random.Generator
        Source of randomness.
    low, high : int
        Bounds every value keeps.

    Returns
    -------
    numpy.ndarray of int64
        A new array summing to ``target``.

    Raises
    ------
    ValueError
        When ``target`` cannot be reached within the bounds.

    Example
    -------
    >>> adjust_to_total(np.array([1, 2, 3]), 9, np.random.default_rng(0), low=1, high=4).sum()
    np.int64(9)
    """
    out = np.asarray(values, dtype="int64").copy()
    n = out.size
    if not (low * n <= target <= high * n):
        raise ArgumentError(f"target {target} is out of reach for {n} values within [{low}, {high}]")
    diff = int(target - out.sum())
    while diff:
        step = 1 if diff > 0 else -1
        movable = np.flatnonzero(out < high) if step > 0 else np.flatnonzero(out > low)
        picked = rng.choice(movable, size=min(abs(diff), movable.size), replace=False)
        out[picked] += step
        diff -= step * picked.size
    return out


def choose_exact(weights: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Choose exactly ``k`` distinct positions with probability rising with ``weights``.

    Weighted sampling without replacement by the Efraimidis-Spirakis keys ``u ** (1 / w)``,
    in one pass.

    Returns
    -------
    numpy.ndarray of bool
        Mask with exactly ``k`` True values.

    Example
    -------
    >>> int(choose_exact(np.ones(10), 3, np.random.default_rng(0)).sum())
    3
    """
    w = np.asarray(weights, dtype="float64")
    if not 0 <= k <= w.size:
        raise ArgumentError(f"k must be within [0, {w.size}], got {k}")
    keys = np.log(rng.random(w.size)) / np.maximum(w, 1e-12)
    mask = np.zeros(w.size, dtype=bool)
    if k:
        mask[np.argpartition(-keys, k - 1)[:k]] = True
    return mask


# ---------------------------------------------------------------------------------------------
# Areas
# ---------------------------------------------------------------------------------------------


def build_areas(
    province_codes: Sequence[str], districts: pd.DataFrame, subdistricts: pd.DataFrame
) -> pd.DataFrame:
    """List the subdistricts households can be placed in, with the polygon to place them in.

    The list of subdistricts comes from ``geothai``; the polygons from the installed boundaries.
    A subdistrict with its own polygon uses it. When a district has no subdistrict polygon at all
    but has a district polygon, all its geothai subdistricts are kept and placed in the district
    polygon (``own_polygon`` False). Other subdistricts without a polygon are left out.

    Boundary levels simplified one by one do not nest exactly, so households go in the part of
    the subdistrict that is also inside its district polygon (when that part holds at least
    :data:`MIN_NESTED_SHARE` of the subdistrict): a point then agrees with both its declared
    subdistrict and its declared district.

    Parameters
    ----------
    province_codes : sequence of str
        DOPA province codes to cover.
    districts, subdistricts : pandas.DataFrame
        Boundaries with columns ``code`` and ``geometry`` (shapely geometries, EPSG:4326).

    Returns
    -------
    pandas.DataFrame
        One row per usable subdistrict, sorted by code: ``province_code``, ``district_code``,
        ``subdistrict_code``, ``own_polygon`` (bool), ``subdistrict_geometry`` (the declared
        polygon; the district's in a fallback), ``district_geometry`` (the district polygon, or
        the union of its subdistricts when the boundaries lack it) and ``geometry`` (where
        households go). Geometries are prepared shapely objects.

    Raises
    ------
    BoundaryError
        When a province has no usable polygon at all.
    """
    sub_geom = _geometry_by_code(subdistricts, "subdistrict")
    dist_geom = _geometry_by_code(districts, "district")
    rows: list[tuple[str, str, str, bool, object, object]] = []
    for province_code in province_codes:
        before = len(rows)
        for district in geothai.districts(province_code):
            codes = [s.code for s in geothai.subdistricts(district.code)]
            with_polygon = [c for c in codes if c in sub_geom]
            if with_polygon:
                whole = dist_geom.get(district.code)
                if whole is None:
                    whole = shapely.unary_union([sub_geom[c] for c in with_polygon])
                rows.extend((province_code, district.code, c, True, sub_geom[c], whole) for c in with_polygon)
            elif district.code in dist_geom:
                whole = dist_geom[district.code]
                rows.extend((province_code, district.code, c, False, whole, whole) for c in codes)
        if len(rows) == before:
            raise BoundaryError(
                f"province {province_code}: no district or subdistrict polygon in the boundaries; "
                "reinstall them with `python -m geo boundaries install`"
            )
    areas = pd.DataFrame(
        rows,
        columns=[
            "province_code", "district_code", "subdistrict_code", "own_polygon",
            "subdistrict_geometry", "district_geometry",
        ],
    )
    areas = areas.sort_values("subdistrict_code", kind="stable").reset_index(drop=True)
    declared = np.asarray(areas["subdistrict_geometry"], dtype=object)
    nested = shapely.intersection(declared, np.asarray(areas["district_geometry"], dtype=object))
    use_nested = shapely.area(nested) >= MIN_NESTED_SHARE * shapely.area(declared)
    placement = np.where(use_nested, nested, declared)
    shapely.prepare(placement)
    areas["geometry"] = placement
    return areas


def _geometry_by_code(frame: pd.DataFrame, level: str) -> dict[str, object]:
    """Map code -> repaired, prepared, non-empty geometry."""
    missing = {"code", "geometry"} - set(frame.columns)
    if missing:
        raise BoundaryError(f"{level} boundaries: missing columns {sorted(missing)}")
    geoms = np.asarray(frame["geometry"], dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    geoms = geoms[ok]
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    shapely.prepare(geoms)
    return dict(zip(frame["code"].astype(str).to_numpy()[ok], geoms, strict=True))


def plant_regions(areas: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where a household of each area can be planted: just over the border into another district.

    For every pair of touching areas in different districts (areas with their own subdistrict
    polygon only; a small tolerance bridges the slivers simplified boundaries leave), the region
    is the neighbour's polygon within :data:`PLANT_REACH_DEG` of the area, minus the area itself
    and minus its whole district polygon (levels simplified separately do not nest exactly).
    Pairs with an empty region are dropped.

    Parameters
    ----------
    areas : pandas.DataFrame
        Output of :func:`build_areas`.

    Returns
    -------
    (offsets, neighbours, regions) : tuple of numpy.ndarray
        CSR layout sorted by area: the choices for area ``i`` are positions
        ``offsets[i]:offsets[i + 1]`` of ``neighbours`` (row positions in ``areas``) and
        ``regions`` (prepared polygons).
    """
    own = np.flatnonzero(areas["own_polygon"].to_numpy())
    geoms = np.asarray(areas["subdistrict_geometry"], dtype=object)
    district_geoms = np.asarray(areas["district_geometry"], dtype=object)
    tree = shapely.STRtree(geoms[own])
    left, right = tree.query(shapely.buffer(geoms[own], 1e-4), predicate="intersects")
    district = areas["district_code"].to_numpy()
    left, right = own[left], own[right]
    keep = district[left] != district[right]
    left, right = left[keep], right[keep]
    order = np.lexsort((right, left))
    left, right = left[order], right[order]
    near = shapely.intersection(geoms[right], shapely.buffer(geoms[left], PLANT_REACH_DEG))
    regions = shapely.difference(near, shapely.union(geoms[left], district_geoms[left]))
    usable = shapely.area(regions) > 1e-7  # ~1,200 m2: room for a house
    left, right, regions = left[usable], right[usable], regions[usable]
    shapely.prepare(regions)
    offsets = np.concatenate([[0], np.cumsum(np.bincount(left, minlength=len(areas)))])
    return offsets, right, regions


# ---------------------------------------------------------------------------------------------
# Points
# ---------------------------------------------------------------------------------------------


def sample_points_in(
    geoms: np.ndarray, rng: np.random.Generator, *, max_rounds: int = 60
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one uniform random point inside each geometry (rejection sampling, all at once).

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
        Polygons (may repeat; prepare them first for speed).
    rng : numpy.random.Generator
        Source of randomness.
    max_rounds : int
        Rounds of rejection before the few points still missing fall back to
        ``shapely.point_on_surface``.

    Returns
    -------
    (lon, lat) : tuple of numpy.ndarray
        Coordinates, each point inside its geometry.
    """
    n = len(geoms)
    lon, lat = np.empty(n), np.empty(n)
    bounds = shapely.bounds(geoms)
    todo = np.arange(n)
    for _ in range(max_rounds):
        if not todo.size:
            break
        b = bounds[todo]
        x = np.round(b[:, 0] + rng.random(todo.size) * (b[:, 2] - b[:, 0]), COORD_DECIMALS)
        y = np.round(b[:, 1] + rng.random(todo.size) * (b[:, 3] - b[:, 1]), COORD_DECIMALS)
        inside = shapely.contains_xy(geoms[todo], x, y)
        lon[todo[inside]], lat[todo[inside]] = x[inside], y[inside]
        todo = todo[~inside]
    if todo.size:
        points = shapely.point_on_surface(geoms[todo])
        lon[todo] = np.round(shapely.get_x(points), COORD_DECIMALS)
        lat[todo] = np.round(shapely.get_y(points), COORD_DECIMALS)
    return lon, lat


def scatter_around(
    centre_lon: np.ndarray,
    centre_lat: np.ndarray,
    geoms: np.ndarray,
    rng: np.random.Generator,
    *,
    max_rounds: int = 12,
) -> tuple[np.ndarray, np.ndarray]:
    """Scatter points around their village centres, keeping each inside its geometry.

    Each point is its centre plus a Gaussian offset whose spread is
    :data:`HOUSEHOLD_SPREAD_DEG`, or less in small polygons. Points that land outside are drawn
    again with half the spread each round; any still outside sit on their centre, which is
    inside.

    Returns
    -------
    (lon, lat) : tuple of numpy.ndarray
    """
    bounds = shapely.bounds(geoms)
    size = np.minimum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
    spread = np.minimum(HOUSEHOLD_SPREAD_DEG, HOUSEHOLD_SPREAD_SHARE * size)
    lon, lat = centre_lon.copy(), centre_lat.copy()
    todo = np.arange(len(geoms))
    for round_no in range(max_rounds):
        if not todo.size:
            break
        s = spread[todo] / 2 ** (round_no // 3)
        x = np.round(centre_lon[todo] + rng.normal(0.0, 1.0, todo.size) * s, COORD_DECIMALS)
        y = np.round(centre_lat[todo] + rng.normal(0.0, 1.0, todo.size) * s, COORD_DECIMALS)
        inside = shapely.contains_xy(geoms[todo], x, y)
        lon[todo[inside]], lat[todo[inside]] = x[inside], y[inside]
        todo = todo[~inside]
    return lon, lat


def plant_outside(
    regions: np.ndarray, excluded: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one point in each planting region, never inside the matching excluded geometry.

    Parameters
    ----------
    regions : numpy.ndarray of shapely geometries
        One region per point (from :func:`plant_regions`).
    excluded : numpy.ndarray of shapely geometries
        Per point, the geometry it must stay out of (its declared subdistrict).
    rng : numpy.random.Generator

    Returns
    -------
    (lon, lat) : tuple of numpy.ndarray

    Raises
    ------
    BoundaryError
        When a point lands inside its excluded geometry (degenerate boundaries).
    """
    lon, lat = sample_points_in(regions, rng)
    still_inside = shapely.contains_xy(excluded, lon, lat)
    if still_inside.any():
        raise BoundaryError(f"could not plant {int(still_inside.sum())} points outside their declared polygon")
    return lon, lat
