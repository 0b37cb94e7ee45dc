"""Spatial verification ("search and verify"): is each household where its codes say it is?

For each household with a position this checks the declared district (and subdistrict, when
subdistrict boundaries are given) against the position, gives the distance in metres from the
position to the declared area when it lies outside, and gives households without codes the codes
of the area they stand in.

Coordinate order: positions are ``lon`` (x) then ``lat`` (y) here, as shapely takes them.

Rules (the same as ``geopandas.sjoin(points, areas, predicate="intersects")``):

* A position is *in* an area when it intersects the area's polygon: inside **or on its border**.
* The located area of a position is the declared area when the position is in it; otherwise the
  area with the smallest code among those it is in (a point on a shared border is in both);
  ``""`` when it is in none.

How it is fast: checking a declared area needs no spatial index. Households are grouped by their
declared code (a stable radix sort of small integer codes) and each group is tested against that
one prepared polygon with ``shapely.intersects_xy``, which releases the GIL, so groups are spread
over the cores. Only households outside their declared area (usually a few percent) are looked up
in an STRtree. :func:`sjoin_locate` is the geopandas baseline the tests and the benchmark compare
against, row for row.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.checks import check_choice, check_columns, check_same_length
from geo.data.areas import AREA_WIDTH_BY_LEVEL
from geo.errors import EngineInputError

#: Status of a verification row.
STATUSES: tuple[str, ...] = ("outside_declared", "declared_unknown", "assigned", "no_position")

_CHUNK_GROUPS_MIN_POINTS = 100_000


@dataclass(frozen=True, eq=False)
class PreparedBoundaries:
    """Polygons of one admin level, sorted by code, prepared for fast point tests.

    Build with :func:`prepare_boundaries`; reuse it for every verification against that level.
    """

    level: str
    codes: np.ndarray  # object (str), sorted, unique
    geometries: np.ndarray  # shapely geometries, prepared, same order as codes
    tree: object  # shapely.STRtree over geometries

    def positions_of(self, codes: object) -> np.ndarray:
        """Index of each code in :attr:`codes`; -1 for a missing or unknown code (int32)."""
        if isinstance(codes, np.ndarray) and codes.dtype.kind in "iu":
            return codes.astype(np.int32)  # already positions
        # factorise first (arrow-backed strings hash fast), then look up the few distinct codes
        values, uniques = pd.factorize(pd.array(codes, dtype="string"))
        lookup = pd.Index(self.codes).get_indexer(pd.Index(np.asarray(uniques, dtype=object))).astype(np.int32)
        return np.where(values >= 0, lookup[np.maximum(values, 0)] if lookup.size else -1, -1).astype(np.int32)


def prepare_boundaries(boundaries: pd.DataFrame, level: str = "district") -> PreparedBoundaries:
    """Sort one level's polygons by code and prepare them (GEOS prepared geometry + STRtree).

    Parameters
    ----------
    boundaries : geopandas.GeoDataFrame
        ``geo.data.boundaries.load_boundaries(level)``: columns ``code`` and ``geometry`` in EPSG:4326.
        Several rows with one code are united.
    level : {"province", "district", "subdistrict"}

    Returns
    -------
    PreparedBoundaries

    Raises
    ------
    EngineInputError
        When a column is missing, the CRS is not EPSG:4326 or a code has the wrong width.
    """
    import shapely

    level = check_choice(level, "level", tuple(AREA_WIDTH_BY_LEVEL))
    check_columns(boundaries, "boundaries", ("code", "geometry"))
    crs = getattr(boundaries, "crs", None)
    if crs is not None and crs.to_epsg() != 4326:
        raise EngineInputError(f"boundaries must be in EPSG:4326 (lon/lat degrees), got {crs.to_string()}")
    codes = boundaries["code"].astype("string")
    width = AREA_WIDTH_BY_LEVEL[level]
    bad = codes[codes.isna() | (codes.str.len() != width)]
    if not bad.empty:
        raise EngineInputError(f"boundaries['code'] must be {width}-digit {level} codes, got {bad.head(5).tolist()}")
    frame = pd.DataFrame({"code": codes.to_numpy(dtype=object), "geometry": np.asarray(boundaries.geometry.values)})
    if frame["code"].duplicated().any():
        united = frame.groupby("code", sort=True)["geometry"].agg(lambda g: shapely.union_all(np.asarray(g)))
        frame = united.reset_index()
    else:
        frame = frame.sort_values("code", ignore_index=True)
    geometries = np.asarray(frame["geometry"].to_numpy(), dtype=object)
    shapely.prepare(geometries)
    return PreparedBoundaries(level=level, codes=frame["code"].to_numpy(dtype=object), geometries=geometries,
                              tree=shapely.STRtree(geometries))


def _as_prepared(boundaries: object, level: str) -> PreparedBoundaries:
    if isinstance(boundaries, PreparedBoundaries):
        if boundaries.level != level:
            raise EngineInputError(f"boundaries must be {level} boundaries, got {boundaries.level}")
        return boundaries
    return prepare_boundaries(boundaries, level)  # type: ignore[arg-type]


def _xy(lon: object, lat: object) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(lon, dtype="float64").ravel()
    y = np.asarray(lat, dtype="float64").ravel()
    check_same_length("lon", x, "lat", y)
    return x, y


def locate_points(lon: object, lat: object, boundaries: object, level: str = "district") -> np.ndarray:
    """Index of the area each position is in (smallest code on a shared border), -1 when none.

    Parameters
    ----------
    lon, lat : array-like of float
        WGS84 degrees (note the order: lon first, as shapely). NaN gives -1.
    boundaries : PreparedBoundaries or geopandas.GeoDataFrame
    level : str, default "district"

    Returns
    -------
    numpy.ndarray of int32
        Positions in ``prepared.codes``; use ``prepared.codes[i]`` for the code.
    """
    import shapely

    prepared = _as_prepared(boundaries, level)
    x, y = _xy(lon, lat)
    out = np.full(x.size, -1, dtype=np.int32)
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if ok.size == 0:
        return out
    # Bounding-box candidates from the tree, then the exact test on each (point, polygon) pair.
    pt, geom = prepared.tree.query(shapely.points(x[ok], y[ok]))  # type: ignore[attr-defined]
    hit = shapely.intersects_xy(prepared.geometries[geom], x[ok][pt], y[ok][pt])
    pt, geom = pt[hit], geom[hit]
    if pt.size:
        # smallest code = smallest position, since codes are sorted
        best = np.full(ok.size, np.iinfo(np.int32).max, dtype=np.int64)
        np.minimum.at(best, pt, geom)
        found = best < np.iinfo(np.int32).max
        out[ok[found]] = best[found]
    return out


def in_declared(lon: object, lat: object, declared: object, boundaries: object, level: str = "district",
                *, workers: int | None = None) -> np.ndarray:
    """Whether each position is in (inside or on the border of) its declared area.

    Parameters
    ----------
    lon, lat : array-like of float
        WGS84 degrees.
    declared : array-like of str
        Declared codes of ``level`` (or their integer positions in the prepared codes).
    boundaries : PreparedBoundaries or geopandas.GeoDataFrame
    level : str, default "district"
    workers : int, optional
        Threads; defaults to the number of cores.

    Returns
    -------
    numpy.ndarray of int8
        1 in the declared area, 0 outside it, -1 unknown (no position, or a declared code that is
        missing or has no boundary).
    """
    import shapely

    prepared = _as_prepared(boundaries, level)
    x, y = _xy(lon, lat)
    codes = prepared.positions_of(declared)
    check_same_length("lon", x, "declared", codes)
    out = np.full(x.size, -1, dtype=np.int8)
    usable = np.flatnonzero((codes >= 0) & np.isfinite(x) & np.isfinite(y))
    if usable.size == 0:
        return out
    group = codes[usable]
    small = group.astype(np.int16) if prepared.codes.size < 2**15 else group
    order = usable[np.argsort(small, kind="stable")]  # radix sort for 16-bit codes
    sorted_group = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_group[1:] != sorted_group[:-1]])
    ends = np.append(starts[1:], order.size)
    xs, ys = x[order], y[order]
    result = np.empty(order.size, dtype=bool)

    def work(span: range) -> None:
        for i in span:
            a, b = starts[i], ends[i]
            result[a:b] = shapely.intersects_xy(prepared.geometries[sorted_group[a]], xs[a:b], ys[a:b])

    workers = workers or os.cpu_count() or 1
    if workers <= 1 or order.size < _CHUNK_GROUPS_MIN_POINTS:
        work(range(starts.size))
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(work, [range(w, starts.size, workers) for w in range(workers)]))
    out[order] = result.view(np.int8)
    return out


def locate_households(lon: object, lat: object, declared: object, boundaries: object, level: str = "district",
                      *, workers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Check declared codes and locate every position: the fast path the benchmark times.

    Returns
    -------
    (in_declared, located) : tuple of numpy.ndarray
        ``in_declared`` as :func:`in_declared`; ``located`` is the index in the prepared codes of
        the area each position is in (the declared area when the position is in it), -1 for none.
    """
    prepared = _as_prepared(boundaries, level)
    x, y = _xy(lon, lat)
    declared_pos = prepared.positions_of(declared)
    inside = in_declared(x, y, declared_pos, prepared, level, workers=workers)
    located = np.full(x.size, -1, dtype=np.int32)
    located[inside == 1] = declared_pos[inside == 1]
    rest = np.flatnonzero((inside != 1) & np.isfinite(x) & np.isfinite(y))
    if rest.size:
        located[rest] = locate_points(x[rest], y[rest], prepared, level)
    return inside, located


def sjoin_locate(lon: object, lat: object, declared: object, boundaries: pd.DataFrame) -> np.ndarray:
    """The geopandas baseline: ``sjoin(predicate="intersects")``, same tie rule; returns codes.

    A position in several areas (on a shared border) takes the declared one when it is among
    them, else the smallest code; ``""`` when in none or without position.
    """
    import geopandas as gpd

    x, y = _xy(lon, lat)
    points = gpd.GeoDataFrame(
        {"declared": pd.array(declared, dtype="string")}, geometry=gpd.points_from_xy(x, y), crs="EPSG:4326"
    )
    joined = gpd.sjoin(points, boundaries[["code", "geometry"]], how="left", predicate="intersects")
    joined = joined[joined["code"].notna()]
    is_declared = (joined["code"] == joined["declared"]).fillna(False).to_numpy(bool)
    ranked = pd.DataFrame(
        {"row": joined.index.to_numpy(), "rank": ~is_declared, "code": joined["code"].to_numpy(object)}
    )
    best = ranked.sort_values(["row", "rank", "code"]).drop_duplicates("row")
    out = np.full(x.size, "", dtype=object)
    out[best["row"].to_numpy()] = best["code"].to_numpy(object)
    return out


def distance_to_areas_m(lon: object, lat: object, area_positions: object, boundaries: object,
                        level: str = "district") -> np.ndarray:
    """Distance in metres from each position to an area's polygon (0 inside), NaN when unknown.

    The nearest point of the polygon is found in a local equirectangular frame (longitudes scaled
    by the cosine of the position's latitude); the distance to it is geodesic on the WGS84
    ellipsoid (``pyproj.Geod``). Good to well under 1 % for the distances that matter here.
    """
    import shapely
    from pyproj import Geod

    prepared = _as_prepared(boundaries, level)
    x, y = _xy(lon, lat)
    positions = np.asarray(area_positions, dtype=np.int64).ravel()
    check_same_length("lon", x, "area_positions", positions)
    out = np.full(x.size, np.nan)
    usable = np.flatnonzero((positions >= 0) & np.isfinite(x) & np.isfinite(y))
    if usable.size == 0:
        return out
    near_x = np.empty(usable.size)
    near_y = np.empty(usable.size)
    for group in np.unique(positions[usable]):
        members = np.flatnonzero(positions[usable] == group)
        rows = usable[members]
        scale = np.cos(np.radians(float(np.mean(y[rows]))))
        geometry = shapely.transform(prepared.geometries[group], lambda c, s=scale: c * np.array([s, 1.0]))
        lines = shapely.shortest_line(shapely.points(x[rows] * scale, y[rows]), geometry)
        ends = shapely.get_coordinates(shapely.get_point(lines, 1))
        near_x[members] = ends[:, 0] / scale
        near_y[members] = ends[:, 1]
    _, _, metres = Geod(ellps="WGS84").inv(x[usable], y[usable], near_x, near_y)
    out[usable] = metres
    return out


def verify_households(households: pd.DataFrame, districts: object, subdistricts: object | None = None) -> pd.DataFrame:
    """Households whose position does not agree with their codes, and codes assigned from position.

    Parameters
    ----------
    households : pandas.DataFrame
        Contract columns ``household_id``, ``district_code``, ``lat``, ``lon`` (and
        ``survey_year``, ``subdistrict_code`` when present).
    districts : PreparedBoundaries or geopandas.GeoDataFrame
        District boundaries (``load_boundaries("district")``).
    subdistricts : PreparedBoundaries or geopandas.GeoDataFrame, optional
        Subdistrict boundaries; when given, subdistrict codes are verified and assigned too.

    Returns
    -------
    pandas.DataFrame
        One row per problem: ``household_id``, ``survey_year``, ``lat``, ``lon``, ``level``
        (district or subdistrict), ``declared_code``, ``located_code`` ("" when the position is
        in no area), ``status`` (one of :data:`STATUSES`) and ``distance_m`` (from the position
        to the declared area, for ``outside_declared``). Households whose declared area holds
        their position do not appear.

    Example
    -------
    >>> problems = verify_households(households, load_boundaries("district"))  # doctest: +SKIP
    """
    check_columns(households, "households", ("household_id", "district_code", "lat", "lon"))
    levels: list[tuple[str, PreparedBoundaries]] = [("district", _as_prepared(districts, "district"))]
    if subdistricts is not None:
        check_columns(households, "households", ("subdistrict_code",))
        levels.append(("subdistrict", _as_prepared(subdistricts, "subdistrict")))
    x = households["lon"].to_numpy(dtype="float64", na_value=np.nan)
    y = households["lat"].to_numpy(dtype="float64", na_value=np.nan)
    has_position = np.isfinite(x) & np.isfinite(y)
    parts = []
    for level, prepared in levels:
        declared = households[f"{level}_code"].astype("string")
        inside, located = locate_households(x, y, declared, prepared, level)
        declared_known = prepared.positions_of(declared) >= 0
        missing = declared.isna().to_numpy()
        status = np.full(x.size, "", dtype=object)
        status[(inside == 0)] = "outside_declared"
        status[~missing & ~declared_known & has_position] = "declared_unknown"
        status[missing & has_position] = "assigned"
        status[~has_position] = "no_position"
        rows = np.flatnonzero(status != "")
        if rows.size == 0:
            continue
        outside = rows[status[rows] == "outside_declared"]
        distance = np.full(x.size, np.nan)
        if outside.size:
            area = prepared.positions_of(declared.iloc[outside])
            distance[outside] = distance_to_areas_m(x[outside], y[outside], area, prepared, level)
        codes = np.append(prepared.codes, "")
        parts.append(pd.DataFrame({
            "household_id": households["household_id"].iloc[rows].to_numpy(),
            "survey_year": households["survey_year"].iloc[rows].to_numpy() if "survey_year" in households else pd.NA,
            "lat": y[rows],
            "lon": x[rows],
            "level": level,
            "declared_code": declared.iloc[rows].to_numpy(),
            "located_code": codes[located[rows]],
            "status": status[rows],
            "distance_m": distance[rows],
        }))
    columns = ["household_id", "survey_year", "lat", "lon", "level", "declared_code", "located_code", "status",
               "distance_m"]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    out = pd.concat(parts, ignore_index=True)
    out["located_code"] = out["located_code"].astype("string")
    out["declared_code"] = out["declared_code"].astype("string")
    return out[columns]


def assign_codes(households: pd.DataFrame, districts: object, subdistricts: object | None = None) -> pd.DataFrame:
    """Fill missing district (and subdistrict) codes from position; province codes follow.

    Parameters
    ----------
    households : pandas.DataFrame
        With ``district_code``, ``lat``, ``lon`` (and ``province_code``, ``subdistrict_code``).
    districts, subdistricts : PreparedBoundaries or geopandas.GeoDataFrame

    Returns
    -------
    pandas.DataFrame
        A copy; only missing codes change. A position in no area leaves the code missing.
    """
    check_columns(households, "households", ("district_code", "lat", "lon"))
    out = households.copy()
    x = out["lon"].to_numpy(dtype="float64", na_value=np.nan)
    y = out["lat"].to_numpy(dtype="float64", na_value=np.nan)
    levels: list[tuple[str, object]] = []
    if subdistricts is not None:
        check_columns(households, "households", ("subdistrict_code",))
        levels.append(("subdistrict", subdistricts))
    levels.append(("district", districts))
    for level, boundaries in levels:
        prepared = _as_prepared(boundaries, level)
        column = f"{level}_code"
        values = out[column].astype("string")
        rows = np.flatnonzero(values.isna().to_numpy())
        if rows.size == 0:
            continue
        found = locate_points(x[rows], y[rows], prepared, level)
        codes = pd.array(np.where(found >= 0, np.append(prepared.codes, "")[found], None), dtype="string")
        values.iloc[rows] = codes
        out[column] = values
        if level == "subdistrict":  # a located subdistrict also gives its district
            district = out["district_code"].astype("string")
            fill = district.isna() & values.notna()
            district[fill] = values[fill].str[:4]
            out["district_code"] = district
    if "province_code" in out.columns:
        province = out["province_code"].astype("string")
        fill = province.isna() & out["district_code"].notna()
        province[fill] = out["district_code"].astype("string")[fill].str[:2]
        out["province_code"] = province
    return out
