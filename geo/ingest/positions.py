"""Household positions: read them, fix swapped ones, drop impossible ones, check the district.

A household with a bad position is never rejected for it: the position is dropped (or fixed) and
the row flagged, and the household stays on the map by its district and subdistrict codes. The
check against the declared district is the engine's (:mod:`geo.engine.verify`).

Coordinate order: the contract's columns are ``lat`` and ``lon`` (WGS84 degrees); shapely points
are built as (lon, lat).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.data.contract import THAILAND_LAT_RANGE, THAILAND_LON_RANGE
from geo.ingest.values import parse_number
from geo.errors import ArgumentError


def _in_thailand(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    return (
        (lat >= THAILAND_LAT_RANGE[0]) & (lat <= THAILAND_LAT_RANGE[1])
        & (lon >= THAILAND_LON_RANGE[0]) & (lon <= THAILAND_LON_RANGE[1])
    )


def read_positions(lat_text: pd.Series, lon_text: pd.Series, *, decimal_comma: bool = False) -> pd.DataFrame:
    """Read latitude and longitude cells and classify each position.

    Parameters
    ----------
    lat_text, lon_text : pandas.Series of str
        The cells as text, on the same index (blank is ``""``).
    decimal_comma : bool, default False
        Read ``16,43`` as 16.43 (a semicolon-separated CSV file; see
        :func:`geo.ingest.values.parse_number`).

    Returns
    -------
    pandas.DataFrame
        On the same index: ``lat``, ``lon`` (float, NaN when dropped) and ``problem``: ``None`` for a
        good position, else one of ``latlon_swapped`` (fixed, kept), ``position_missing``,
        ``position_not_number``, ``position_zero``, ``position_outside_thailand`` (all dropped).
        ``bad_text`` holds the offending cell for ``position_not_number``.

    Example
    -------
    >>> out = read_positions(pd.Series(["16.43", "103.5", "0", "abc"]), pd.Series(["103.5", "16.43", "0", "1"]))
    >>> out["problem"].tolist()
    [None, 'latlon_swapped', 'position_zero', 'position_not_number']
    """
    if not lat_text.index.equals(lon_text.index):
        raise ArgumentError("lat_text and lon_text must share one index")
    cache: dict[str, tuple[object, str | None]] = {}

    def parse(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        values = np.full(len(series), np.nan)
        bad = np.zeros(len(series), dtype=bool)
        for i, text in enumerate(series.tolist()):
            if text not in cache:
                cache[text] = parse_number(text, decimal_comma=decimal_comma)
            number, error = cache[text]
            if error:
                bad[i] = True
            elif number is not None:
                values[i] = float(number)  # type: ignore[arg-type]
        return values, bad

    lat, lat_bad = parse(lat_text)
    lon, lon_bad = parse(lon_text)
    problem = np.full(len(lat), None, dtype=object)
    bad_text = np.full(len(lat), "", dtype=object)

    not_number = lat_bad | lon_bad
    problem[not_number] = "position_not_number"
    bad_text[lat_bad] = np.asarray(lat_text.tolist(), dtype=object)[lat_bad]
    only_lon = lon_bad & ~lat_bad
    bad_text[only_lon] = np.asarray(lon_text.tolist(), dtype=object)[only_lon]

    both = ~not_number & ~np.isnan(lat) & ~np.isnan(lon)
    missing = ~not_number & ~both
    problem[missing] = "position_missing"

    zero = both & (lat == 0) & (lon == 0)
    problem[zero] = "position_zero"
    inside = both & _in_thailand(lat, lon)
    swapped = both & ~inside & _in_thailand(lon, lat)
    problem[swapped] = "latlon_swapped"
    lat[swapped], lon[swapped] = lon[swapped].copy(), lat[swapped].copy()
    outside = both & ~zero & ~inside & ~swapped
    problem[outside] = "position_outside_thailand"

    keep = inside | swapped
    out = pd.DataFrame(
        {
            "lat": np.where(keep, lat, np.nan),
            "lon": np.where(keep, lon, np.nan),
            "given_lat": lat,
            "given_lon": lon,
        },
        index=lat_text.index,
    )
    out["problem"] = pd.Series(problem, index=lat_text.index, dtype=object)
    out["bad_text"] = pd.Series(bad_text, index=lat_text.index, dtype=object)
    return out


def district_mismatches(households: pd.DataFrame, boundaries, *, tolerance_m: float | None = None) -> pd.DataFrame:
    """Check each position against its declared district with the engine's verification.

    Delegates to :func:`geo.engine.verify.verify_households` (a point on the border counts as inside).
    A position outside its district by no more than ``tolerance_m`` counts as inside: simplified
    boundaries cannot tell it apart (docs/DATA.md 3.4).

    Parameters
    ----------
    households : pandas.DataFrame
        Columns ``lat``, ``lon`` (WGS84; NaN when unknown) and ``district_code``.
    boundaries : geopandas.GeoDataFrame or geo.engine.verify.PreparedBoundaries
        District boundaries with columns ``code`` and ``geometry``, as
        ``geo.data.boundaries.load_boundaries("district")`` returns them. A GeoDataFrame in another CRS
        is converted to EPSG:4326 first, so tests can pass tiny inline polygons in any CRS.
    tolerance_m : float, optional
        Metres of the boundaries' own accuracy; by default ``boundaries.attrs["tolerance_m"]``
        (set by ``load_boundaries`` from the manifest), else 0 (exact polygons).

    Returns
    -------
    pandas.DataFrame
        On ``households``' index: ``outside`` (boolean: True outside the declared district, False
        inside or on its border, ``<NA>`` when it cannot be told -- no position, or no boundary for
        the declared code), ``located_code`` (the district the position is in, ``""`` for none)
        and ``distance_m`` (metres from the position to the declared district, when outside).

    Raises
    ------
    ValueError
        When a required column is missing from either frame.
    """
    from geo.engine.verify import PreparedBoundaries, verify_households

    if tolerance_m is None:
        tolerance_m = float(getattr(boundaries, "attrs", {}).get("tolerance_m", 0.0))
    if not isinstance(tolerance_m, (int, float)) or isinstance(tolerance_m, bool) or not tolerance_m >= 0:
        raise ArgumentError(f"tolerance_m must be a number of metres >= 0, got {tolerance_m!r}")
    for column in ("lat", "lon", "district_code"):
        if column not in households.columns:
            raise ArgumentError(f"households must have a {column!r} column; it has {list(households.columns)}")
    if not isinstance(boundaries, PreparedBoundaries):
        for column in ("code", "geometry"):
            if column not in boundaries.columns:
                raise ArgumentError(f"boundaries must have a {column!r} column; it has {list(boundaries.columns)}")
        if getattr(boundaries, "crs", None) is not None and boundaries.crs.to_epsg() != 4326:
            boundaries = boundaries.to_crs(4326)
    frame = pd.DataFrame({
        # the row's position stands in for the household ID, so results map back one to one
        "household_id": np.arange(len(households)).astype(str),
        "district_code": households["district_code"].astype("string").to_numpy(),
        "lat": pd.to_numeric(households["lat"], errors="coerce").to_numpy(dtype=float, na_value=np.nan),
        "lon": pd.to_numeric(households["lon"], errors="coerce").to_numpy(dtype=float, na_value=np.nan),
    })
    problems = verify_households(frame, boundaries)
    problems = problems[problems["level"] == "district"]
    outside = pd.array(np.zeros(len(households), dtype=bool), dtype="boolean")
    located = np.full(len(households), "", dtype=object)
    distance = np.full(len(households), np.nan)
    rows = problems["household_id"].astype(int).to_numpy()
    status = problems["status"].to_numpy(dtype=object)
    outside[rows[status != "outside_declared"]] = pd.NA
    declared = (status == "outside_declared") & ~(problems["distance_m"].to_numpy(dtype=float) <= tolerance_m)
    hit = rows[declared]
    outside[hit] = True
    located[hit] = problems.loc[declared, "located_code"].fillna("").to_numpy(dtype=object)
    distance[hit] = problems.loc[declared, "distance_m"].to_numpy(dtype=float)
    return pd.DataFrame({"outside": outside, "located_code": located, "distance_m": distance}, index=households.index)


def positions_outside_district(households: pd.DataFrame, boundaries, *, tolerance_m: float | None = None) -> pd.Series:
    """Tell which households lie outside the district they declare (see :func:`district_mismatches`).

    Returns
    -------
    pandas.Series of boolean
        True outside, False inside or on the border, ``<NA>`` when it cannot be told.

    Example
    -------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> b = gpd.GeoDataFrame({"code": ["4609"]}, geometry=[box(103.4, 16.6, 103.7, 16.9)], crs=4326)
    >>> h = pd.DataFrame({"lat": [16.7, 16.0, None], "lon": [103.5, 103.5, None], "district_code": ["4609"] * 3})
    >>> positions_outside_district(h, b).tolist()
    [False, True, <NA>]
    """
    return district_mismatches(households, boundaries, tolerance_m=tolerance_m)["outside"]
