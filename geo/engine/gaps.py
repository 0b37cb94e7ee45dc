"""Pilot coverage gaps: areas of high need with no pilot project within reach.

"Reach" is a great-circle distance from a pilot site (:func:`geo.engine.aggregate.haversine_km`). A
household is *reached* when at least one pilot site lies within ``radius_km`` of it. An area is a
*gap* when it holds households in need (levels 1-2 by default) and none of them is reached: no
pilot lies within ``radius_km`` of any of them. Gaps are ranked by households in need, and each
comes with the mean position of those households (a candidate site) and the distance from there
to the nearest pilot.

The table goes through :func:`geo.engine.protect.protect` like every other aggregate: an area with fewer
than ``k`` households in need is withheld, position included.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from geo.engine.aggregate import HouseholdIndex, haversine_km
from geo.checks import check_columns, check_float, check_int, check_ints
from geo.errors import EngineInputError
from geo.engine.h3index import points_to_cells
from geo.engine.protect import DEFAULT_MIN_COUNT, protect

#: H3 resolution public candidate sites are snapped to (hexagons about 1.2 km across): a mean of
#: households' positions, differenced between two filters, could otherwise place one household.
SITE_SNAP_RES = 7


def _snapped(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each position moved to the centre of its H3 cell at :data:`SITE_SNAP_RES` (NaN stays NaN)."""
    import h3

    cells = points_to_cells(lat, lon, SITE_SNAP_RES)
    centres = [h3.cell_to_latlng(h3.int_to_str(int(c))) if c else (np.nan, np.nan) for c in cells]
    out = np.array(centres, dtype=np.float64).reshape(-1, 2)
    return out[:, 0], out[:, 1]

_EARTH_RADIUS_KM = 6371.0088
GAP_LEVELS: tuple[str, ...] = ("district", "subdistrict")


def reached_mask(index: HouseholdIndex, pilots: pd.DataFrame, *, radius_km: float) -> np.ndarray:
    """Households with at least one pilot site within ``radius_km`` (bool, index order).

    Households without a position are never reached. Each pilot tests a bounding box first and
    computes distances only inside it, so the cost is one cheap pass per pilot.

    Parameters
    ----------
    index : HouseholdIndex
    pilots : pandas.DataFrame
        With ``lat`` and ``lon`` (sites without a position are skipped).
    radius_km : float
        0-500 km.
    """
    if not isinstance(index, HouseholdIndex):
        raise EngineInputError(f"index must be a HouseholdIndex, got {type(index).__name__}")
    check_columns(pilots, "pilots", ("lat", "lon"))
    radius = check_float(radius_km, "radius_km", minimum=0.0, maximum=500.0)
    reached = np.zeros(index.n, dtype=bool)
    lat_all, lon_all = index.lat, index.lon
    for lat, lon in zip(pilots["lat"].to_numpy(float, na_value=np.nan), pilots["lon"].to_numpy(float, na_value=np.nan)):
        if not (np.isfinite(lat) and np.isfinite(lon)):
            continue
        dlat = np.degrees(radius / _EARTH_RADIUS_KM)
        dlon = dlat / max(np.cos(np.radians(abs(lat) + dlat)), 1e-6)
        candidates = np.flatnonzero((np.abs(lat_all - lat) <= dlat) & (np.abs(lon_all - lon) <= dlon))
        near = candidates[haversine_km(lat, lon, lat_all[candidates], lon_all[candidates]) <= radius]
        reached[near] = True
    return reached


def nearest_pilot_km(lat: np.ndarray, lon: np.ndarray, pilots: pd.DataFrame) -> np.ndarray:
    """Distance in km from each position to the nearest pilot site (inf when there is none)."""
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    best = np.full(lat.shape, np.inf)
    sites = zip(pilots["lat"].to_numpy(float, na_value=np.nan), pilots["lon"].to_numpy(float, na_value=np.nan))
    for plat, plon in sites:
        if np.isfinite(plat) and np.isfinite(plon):
            best = np.minimum(best, haversine_km(lat, lon, plat, plon))
    return best


def pilot_gaps(
    index: HouseholdIndex,
    pilots: pd.DataFrame,
    *,
    radius_km: float = 5.0,
    by: str = "subdistrict",
    mask: np.ndarray | None = None,
    need_levels: Sequence[int] = (1, 2),
    k: int = DEFAULT_MIN_COUNT,
    top: int | None = 10,
    exact: bool = False,
) -> pd.DataFrame:
    """Areas with households in need and no pilot within ``radius_km`` of any of them, ranked.

    Parameters
    ----------
    index : HouseholdIndex
    pilots : pandas.DataFrame
        Pilot sites (``lat``, ``lon``).
    radius_km : float, default 5
    by : {"district", "subdistrict"}, default "subdistrict"
    mask : bool array, optional
        Households to consider (the page's filters).
    need_levels : sequence of int, default (1, 2)
    k : int, default 10
        Small-cell threshold for :func:`geo.engine.protect.protect`.
    exact : bool, default False
        Exact counts (officers, administrators); else the public release (perturbed, areas under
        ``k`` left out, candidate sites snapped to the centre of their res-7 hexagon).
    top : int or None, default 10
        Keep the ``top`` gaps with most households in need (None: all).

    Returns
    -------
    pandas.DataFrame
        Protected, sorted by households in need (descending, then code): ``code``,
        ``households_shown``, ``suppressed``, ``suppression``, ``households`` (in need),
        ``lat``, ``lon`` (mean position of those households, the candidate site) and
        ``nearest_pilot_km`` (from there). ``attrs``: ``by``, ``radius_km``, ``gaps`` (the number
        of gap areas before ``top``), ``areas_in_need``.

    Example
    -------
    >>> gaps = pilot_gaps(index, pilots, radius_km=10)  # doctest: +SKIP
    >>> gaps[["code", "households_shown", "nearest_pilot_km"]].head(3)  # doctest: +SKIP
    """
    if not isinstance(index, HouseholdIndex):
        raise EngineInputError(f"index must be a HouseholdIndex, got {type(index).__name__}")
    if by not in GAP_LEVELS:
        raise EngineInputError(f"by must be one of {list(GAP_LEVELS)}, got {by!r}")
    levels = check_ints(need_levels, "need_levels", allowed=(1, 2, 3, 4)) or ()
    k = check_int(k, "k", minimum=1)
    if top is not None:
        top = check_int(top, "top", minimum=1)
    keep = np.ones(index.n, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if keep.shape != (index.n,):
        raise EngineInputError(f"mask must be a bool array of length {index.n}, got shape {keep.shape}")

    codes = index.subdistrict if by == "subdistrict" else index.district
    names = index.subdistrict_codes if by == "subdistrict" else index.district_codes
    need = keep & np.isin(index.level, levels) & np.isfinite(index.lat) & (codes >= 0)
    reached = reached_mask(index, pilots, radius_km=radius_km) & need
    n_codes = names.size
    group = codes[need].astype(np.int64)
    in_need = np.bincount(group, minlength=n_codes)
    reached_count = np.bincount(codes[reached].astype(np.int64), minlength=n_codes)
    lat_sum = np.bincount(group, weights=index.lat[need].astype(float), minlength=n_codes)
    lon_sum = np.bincount(group, weights=index.lon[need].astype(float), minlength=n_codes)
    key_sum = np.bincount(group, weights=index.record_key[need].astype(float), minlength=n_codes)
    gap = np.flatnonzero((in_need > 0) & (reached_count == 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        lat = lat_sum[gap] / in_need[gap]
        lon = lon_sum[gap] / in_need[gap]
    if not exact:  # the public release: the centre of the site's res-7 hexagon, not a mean of positions
        lat, lon = _snapped(lat, lon)
    table = pd.DataFrame({
        "code": pd.array(names[gap].astype(str), dtype="string"),
        "households": in_need[gap].astype(np.int64),
        "lat": lat,
        "lon": lon,
        "nearest_pilot_km": nearest_pilot_km(lat, lon, pilots),
        "ckey_households": np.rint(key_sum[gap]).astype(np.int64),
    })
    table.attrs["by"] = by
    shown = protect(table, k=k, exact=exact)
    order = np.lexsort((shown["code"].astype(str).to_numpy(),
                        -shown["households"].to_numpy(dtype="float64", na_value=-1.0)))
    shown = shown.iloc[order].reset_index(drop=True)
    if top is not None:
        shown = shown.head(top)
    shown.attrs.update({"by": by, "radius_km": float(radius_km), "gaps": int(gap.size),
                        "areas_in_need": int((in_need > 0).sum()), "min_count": k})
    return shown
