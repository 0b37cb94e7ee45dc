"""Synthetic households for tests and benchmarks: :func:`synthetic_households` inside real district
polygons (with a share placed in the wrong district, for verification), :func:`random_households`
over a few fixed subdistricts. Seeded and deterministic."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.checks import check_int
from geo.data.contract import ASSISTANCE_STATUSES, CAPITAL_COLUMNS, DEPRIVATION_COLUMNS, conform_households, poverty_level_from_scores


def _points_in_polygon(geometry, n: int, rng: np.random.Generator, centres: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points inside ``geometry``, clustered around ``centres`` village centres."""
    import shapely

    minx, miny, maxx, maxy = geometry.bounds

    def uniform(count: int) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = [], []
        have = 0
        while have < count:
            x = rng.uniform(minx, maxx, 2 * (count - have) + 16)
            y = rng.uniform(miny, maxy, x.size)
            inside = shapely.contains_xy(geometry, x, y)
            xs.append(x[inside])
            ys.append(y[inside])
            have += int(inside.sum())
        return np.concatenate(xs)[:count], np.concatenate(ys)[:count]

    cx, cy = uniform(max(1, centres))
    pick = rng.integers(0, cx.size, n)
    x = cx[pick] + rng.normal(0.0, 0.002, n)  # sd about 220 m around the village centre
    y = cy[pick] + rng.normal(0.0, 0.002, n)
    outside = ~shapely.contains_xy(geometry, x, y)
    if outside.any():
        x[outside], y[outside] = uniform(int(outside.sum()))
    return x, y


def synthetic_households(n: int, districts: pd.DataFrame, *, seed: int = 0, wrong_share: float = 0.03,
                         no_position_share: float = 0.002) -> pd.DataFrame:
    """``n`` synthetic households in the contract's columns, placed inside district polygons.

    Households cluster in villages; counts per district vary widely (gamma weights). About
    ``wrong_share`` declare another district of the same province, and ``no_position_share`` have
    no position, so verification has something to find. A household not in TPMAP has its ``dep_*``
    unknown (NA).

    Parameters
    ----------
    n : int
        Households, >= 1.
    districts : geopandas.GeoDataFrame
        ``load_boundaries("district")``: ``code`` and ``geometry`` (EPSG:4326).
    seed : int, default 0

    Returns
    -------
    pandas.DataFrame
        Conformed with :func:`geo.data.contract.conform_households`.
    """
    n = check_int(n, "n", minimum=1)
    rng = np.random.default_rng(seed)
    frame = districts[["code", "geometry"]].sort_values("code", ignore_index=True)
    frame = frame[~frame.geometry.is_empty & frame.geometry.notna()].reset_index(drop=True)
    weights = rng.gamma(0.6, 1.0, len(frame))
    per_district = rng.multinomial(n, weights / weights.sum())
    lon = np.empty(n)
    lat = np.empty(n)
    district = np.repeat(np.arange(len(frame)), per_district)  # index into frame, in frame order
    at = 0
    for geometry, count in zip(frame.geometry, per_district):
        if count:
            x, y = _points_in_polygon(geometry, int(count), rng, centres=max(1, int(count) // 120))
            lon[at:at + count], lat[at:at + count] = x, y
            at += count

    # A share declares another district of the same province (districts are sorted by code, so
    # each province is one block): shift by 1..size-1 inside the block.
    codes = frame["code"].astype(str).to_numpy(object)
    province_of = np.array([c[:2] for c in codes], dtype=object)
    block_start = pd.Series(np.arange(len(frame))).groupby(province_of).transform("min").to_numpy()
    block_size = pd.Series(np.arange(len(frame))).groupby(province_of).transform("size").to_numpy()
    declared = district.copy()
    wrong = np.flatnonzero((rng.random(n) < wrong_share) & (block_size[district] > 1))
    size, first = block_size[district[wrong]], block_start[district[wrong]]
    shift = 1 + (rng.random(wrong.size) * (size - 1)).astype(np.int64)
    declared[wrong] = first + (district[wrong] - first + shift) % size
    no_position = rng.random(n) < no_position_share
    lat[no_position] = np.nan
    lon[no_position] = np.nan

    base = rng.normal(2.3, 0.45, n)
    capitals = {
        column: np.round(np.clip(base + rng.normal(shift, 0.5, n), 1.0, 4.0), 2)
        for column, shift in zip(CAPITAL_COLUMNS, (0.0, 0.45, -0.3, -0.35, 0.1))
    }
    mean_score = np.mean(np.column_stack(list(capitals.values())), axis=1)
    provinces = pd.unique(province_of)
    province_codes = pd.Index(provinces).get_indexer(province_of)  # province of each district
    pilot_of = np.full(len(frame), -1)
    pilot_districts = np.sort(rng.choice(len(frame), size=min(20, len(frame)), replace=False))
    pilot_of[pilot_districts] = np.arange(pilot_districts.size)
    pilot = pilot_of[district]
    pilot[rng.random(n) > 0.3] = -1
    pilot_names = [f"P{i + 1:02d}" for i in range(pilot_districts.size)]

    data = {
        "household_id": _household_ids(n),
        "survey_year": np.full(n, 2024, dtype=np.int16),
        "province_code": pd.Categorical.from_codes(province_codes[declared], categories=provinces),
        "district_code": pd.Categorical.from_codes(declared, categories=codes),
        "subdistrict_code": None,
        "village_no": rng.integers(1, 20, n).astype(np.int16),
        "lat": lat,
        "lon": lon,
        "members": np.clip(rng.poisson(3.5, n), 1, 30).astype(np.int16),
        "income_per_capita_year": np.round(rng.lognormal(10.3, 0.6, n), 0),
        **capitals,
        "poverty_level": poverty_level_from_scores(mean_score),
        "in_tpmap": rng.random(n) < 0.55,
        "verified": rng.random(n) < 0.7,
        **{column: rng.random(n) < p for column, p in zip(DEPRIVATION_COLUMNS, (0.12, 0.2, 0.15, 0.35, 0.1))},
        "assistance_status": np.array(ASSISTANCE_STATUSES, dtype=object)[
            rng.choice(len(ASSISTANCE_STATUSES), n, p=(0.4, 0.15, 0.15, 0.22, 0.08))
        ],
        "pilot_id": pd.Categorical.from_codes(pilot, categories=pilot_names),
    }
    for column in DEPRIVATION_COLUMNS:  # TPMAP's deprivations: unknown (NA) for a household not in TPMAP
        data[column] = pd.arrays.BooleanArray(data[column], ~data["in_tpmap"])
    return conform_households(pd.DataFrame(data))


def _household_ids(n: int) -> pd.api.extensions.ExtensionArray:
    """``HH000000000``, ``HH000000001``, ... as an Arrow string array (fast for 10 million)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    digits = pc.utf8_lpad(pa.array(np.arange(n)).cast(pa.string()), 9, "0")
    return pd.array(pc.binary_join_element_wise("HH", digits, ""), dtype="string")


def random_households(n: int, *, seed: int = 0, subdistricts: tuple[str, ...] = ("460901", "460902", "460201",
                      "460202", "340101"), bbox: tuple[float, float, float, float] = (103.3, 16.2, 103.8, 16.7),
                      missing_position_share: float = 0.0, cluster_km: float | None = None) -> pd.DataFrame:
    """Small random households for tests: codes drawn from ``subdistricts``, positions in ``bbox``.

    No polygons: positions and codes are independent. Deprivations are drawn for every household,
    in TPMAP or not (the engine must ignore them outside TPMAP). ``bbox`` is (lon_min, lat_min, lon_max,
    lat_max); ``cluster_km`` gathers positions around a few centres so H3 cells hold several
    households.
    """
    n = check_int(n, "n", minimum=0)
    rng = np.random.default_rng(seed)
    sub = np.array(subdistricts, dtype=object)[rng.integers(0, len(subdistricts), n)]
    lon = rng.uniform(bbox[0], bbox[2], n)
    lat = rng.uniform(bbox[1], bbox[3], n)
    if cluster_km:
        centres = max(1, n // 25)
        pick = rng.integers(0, centres, n)
        lon = lon[:centres][pick] + rng.normal(0, cluster_km / 111.0, n) if n else lon
        lat = lat[:centres][pick] + rng.normal(0, cluster_km / 111.0, n) if n else lat
    gone = rng.random(n) < missing_position_share
    lat[gone] = np.nan
    lon[gone] = np.nan
    scores = {c: np.round(rng.uniform(1.0, 4.0, n), 2) for c in CAPITAL_COLUMNS}
    frame = pd.DataFrame({
        "household_id": [f"T{i:06d}" for i in range(n)],
        "survey_year": 2024,
        "province_code": [s[:2] for s in sub],
        "district_code": [s[:4] for s in sub],
        "subdistrict_code": np.where(rng.random(n) < 0.9, sub, None),
        "lat": lat,
        "lon": lon,
        "members": rng.integers(1, 31, n),
        **scores,
        "poverty_level": rng.integers(1, 5, n),
        "in_tpmap": rng.random(n) < 0.5,
        "verified": rng.random(n) < 0.6,
        **{c: rng.random(n) < 0.3 for c in DEPRIVATION_COLUMNS},
        "assistance_status": np.array(ASSISTANCE_STATUSES, dtype=object)[rng.integers(0, len(ASSISTANCE_STATUSES), n)],
        "pilot_id": np.array(["P01", "P02", None], dtype=object)[rng.integers(0, 3, n)],
    })
    return conform_households(frame)
