"""Benchmarks of the geo engine: figures with their baselines, measured in the same run.

``python -m geo bench [--households N] [--json]`` builds ``N`` synthetic households inside the
installed district polygons (:func:`synthetic_households`) and measures:

* **indexing**: :func:`geo.h3index.points_to_cells` at res 10 against a plain Python loop of
  ``h3.latlng_to_cell`` over the same points (and checks they agree cell for cell); also the whole
  :func:`geo.aggregate.index_households` (cells, codes, sort);
* **aggregation** once indexed, at H3 res 5-10 and by district and province, with every metric —
  against ``pandas.DataFrame.groupby(...).sum()`` of the same per-household indicators with the
  keys given (the usual way, and it computes only the sums);
* **verification**: declared-district check and location of every household
  (:func:`geo.verify.locate_households`) against ``geopandas.sjoin`` (:func:`geo.verify.sjoin_locate`),
  and whether the two agree for every household;
* **memory**: bytes held by the index, resident memory after indexing, and peak resident memory.

Timings are the best of several repeats (``time.perf_counter``), as ``timeit`` reports them.
The figures are for reading, not for asserting: tests only smoke-run this module on a small ``N``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from geo.checks import check_int
from geo.contract import (
    ASSISTANCE_STATUSES,
    CAPITAL_COLUMNS,
    DEPRIVATION_COLUMNS,
    conform_households,
    poverty_level_from_scores,
)

#: Resolutions the benchmark aggregates at.
BENCH_RESOLUTIONS: tuple[int, ...] = (5, 6, 7, 8, 9, 10)
#: Targets from issue 3 (2-core machine).
TARGETS = {
    "aggregation_ms_max": 150.0,
    "verification_speedup_min": 10.0,
    "indexing_speedup_min": 2.0,
    "memory_10m_gb_max": 3.0,
}


# ---------------------------------------------------------------------------------------------
# Synthetic households
# ---------------------------------------------------------------------------------------------


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
    no position, so verification has something to find.

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
        Conformed with :func:`geo.contract.conform_households`.
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

    No polygons: positions and codes are independent. ``bbox`` is (lon_min, lat_min, lon_max,
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


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------


def _best_ms(func: Callable[[], object], repeat: int) -> tuple[float, object]:
    best = float("inf")
    result: object = None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best * 1000.0, result


def _time_plain_loop(lat: np.ndarray, lon: np.ndarray, res: int, repeat: int) -> tuple[float, np.ndarray]:
    """The baseline: ``h3.latlng_to_cell`` called once per point from Python."""
    import h3.api.basic_int as h3

    lat_list, lon_list = lat.tolist(), lon.tolist()  # Python floats, as a plain loop would use

    def loop() -> np.ndarray:
        cells = (h3.latlng_to_cell(a, b, res) for a, b in zip(lat_list, lon_list))
        return np.fromiter(cells, dtype=np.uint64, count=len(lat_list))

    ms, cells = _best_ms(loop, repeat)
    return ms, cells  # type: ignore[return-value]


def _release_arrow_memory() -> None:
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except (ImportError, AttributeError):
        pass


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _indicator_frame(index) -> pd.DataFrame:
    """Per-household indicators whose sums give the engine's metrics (the groupby baseline)."""
    from geo.aggregate import DEFAULT_DEFICIT_CUTOFF, DEFAULT_K_DEPRIVATIONS

    # compact dtypes (pandas sums them in 64 bits) so 10 million rows fit beside the index
    columns: dict[str, np.ndarray] = {"households": np.ones(index.n, dtype=np.uint8), "people": index.members}
    for lv in range(1, 5):
        columns[f"hh_level_{lv}"] = (index.level == lv).view(np.uint8)
        columns[f"people_level_{lv}"] = np.where(index.level == lv, index.members, 0).astype(np.int16)
    columns["not_in_tpmap"] = (~index.in_tpmap).view(np.uint8)
    columns["verified"] = index.verified.view(np.uint8)
    deprived = index.capitals < DEFAULT_DEFICIT_CUTOFF
    count = deprived.sum(axis=0)
    poor = count >= DEFAULT_K_DEPRIVATIONS
    for j in range(5):
        columns[f"capital_{j}"] = index.capitals[j]
        columns[f"deficit_{j}"] = deprived[j].view(np.uint8)
        columns[f"censored_{j}"] = (deprived[j] & poor).view(np.uint8)
        columns[f"dep_{j}"] = (index.deprivation_mask >> j) & 1
        columns[f"assist_{j}"] = (index.assistance == j).view(np.uint8)
    columns["poor"] = poor.view(np.uint8)
    columns["poor_count"] = np.where(poor, count, 0).astype(np.uint8)
    return pd.DataFrame(columns)


def run_bench(n: int = 1_000_000, *, repeat: int = 5, districts: pd.DataFrame | None = None,
              progress: Callable[[str], None] = lambda _msg: None) -> dict:
    """Run every benchmark on ``n`` synthetic households; return the figures as a dict.

    Parameters
    ----------
    n : int, default 1,000,000
    repeat : int, default 5
        Repeats per engine timing (the best is kept, as ``timeit`` does); baselines run twice,
        ``sjoin`` once.
    districts : geopandas.GeoDataFrame, optional
        District boundaries; ``geo.boundaries.load_boundaries("district")`` when not given.
    progress : callable, optional
        Called with a short message before each step.
    """
    from geo.aggregate import aggregate, index_households
    from geo.h3index import INDEX_RES, points_to_cells
    from geo.protect import protect
    from geo.verify import locate_households, prepare_boundaries, sjoin_locate

    n = check_int(n, "households", minimum=100)
    repeat = check_int(repeat, "repeat", minimum=1)
    baseline_repeat = min(repeat, 2)  # baselines take seconds: best of two
    if districts is None:
        from geo.boundaries import load_boundaries

        districts = load_boundaries("district")
    figures: dict = {
        "households": n,
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "targets": TARGETS,
    }
    progress(f"generating {n:,} households in {len(districts)} districts")
    start = time.perf_counter()
    households = synthetic_households(n, districts)
    figures["generate_s"] = round(time.perf_counter() - start, 2)
    lat = households["lat"].to_numpy("float64", na_value=np.nan)
    lon = households["lon"].to_numpy("float64", na_value=np.nan)
    frame_mb = households.memory_usage(deep=True).sum() / 2**20
    declared = households["district_code"].astype("string")

    progress("indexing: index_households")
    index_ms, index = _best_ms(lambda: index_households(households), 1)
    gc.collect()
    figures["memory"] = {
        "frame_mb": round(frame_mb, 1),
        "index_mb": round(index.nbytes / 2**20, 1),
        "index_bytes_per_household": round(index.nbytes / n, 1),
        "rss_holding_frame_and_index_mb": round(_rss_mb(), 1),
    }
    del households  # the engine works from the index; the frame can stay on disk
    gc.collect()
    _release_arrow_memory()
    figures["memory"]["rss_holding_index_mb"] = round(_rss_mb(), 1)

    progress("indexing: plain h3.latlng_to_cell loop")
    ok = np.isfinite(lat) & np.isfinite(lon)
    loop_ms, loop_cells = _time_plain_loop(lat[ok], lon[ok], INDEX_RES, baseline_repeat)
    progress("indexing: points_to_cells")
    ours_ms, cells = _best_ms(lambda: points_to_cells(lat, lon, INDEX_RES), repeat)
    figures["indexing"] = {
        "loop_ms": round(loop_ms, 1),
        "points_to_cells_ms": round(ours_ms, 1),
        "speedup": round(loop_ms / ours_ms, 2),
        "identical": bool(np.array_equal(cells[ok], loop_cells)),
        "index_households_ms": round(index_ms, 1),
    }
    del loop_cells, cells

    progress("aggregation")
    indicators = _indicator_frame(index)
    from geo.h3index import parents_unchecked

    aggregation: dict = {}
    with_position = index.cell != 0
    for by, res in [("h3", r) for r in BENCH_RESOLUTIONS] + [("district", None), ("province", None)]:
        label = f"h3_res{res}" if by == "h3" else by
        ms, table = _best_ms(lambda: aggregate(index, by, res=res), repeat)
        if by == "h3":
            keys = parents_unchecked(index.cell[with_position], res)
            frame = indicators[with_position]
        else:
            keys = index.district if by == "district" else index.province
            frame = indicators
        base_ms, _ = _best_ms(lambda frame=frame, keys=keys: frame.groupby(keys, sort=True).sum(), baseline_repeat)
        protect_ms, _ = _best_ms(lambda: protect(table), 1)
        aggregation[label] = {
            "areas": len(table),
            "aggregate_ms": round(ms, 1),
            "pandas_groupby_sum_ms": round(base_ms, 1),
            "speedup": round(base_ms / ms, 2),
            "protect_ms": round(protect_ms, 1),
        }
    figures["aggregation"] = aggregation
    del indicators

    from geo.filters import HouseholdFilter, filter_mask

    flt = HouseholdFilter(levels=[1, 2], in_tpmap=False)
    ms, _ = _best_ms(lambda: aggregate(index, "h3", res=8, mask=filter_mask(index, flt)), repeat)
    figures["aggregation"]["h3_res8_filtered"] = {"aggregate_ms": round(ms, 1), "filter": "levels 1-2, not in TPMAP"}
    ms, _ = _best_ms(lambda: aggregate(index, "h3", res=9, rollup_min_count=10), repeat)
    figures["aggregation"]["h3_res9_rollup_k10"] = {"aggregate_ms": round(ms, 1)}

    progress("verification: prepare boundaries")
    prepare_ms, prepared = _best_ms(lambda: prepare_boundaries(districts, "district"), 1)
    boundaries = districts[["code", "geometry"]]
    boundaries.sindex  # noqa: B018 - build geopandas' spatial index before timing sjoin, as ours is prepared
    progress("verification: geopandas.sjoin")
    sjoin_ms, sjoin_codes = _best_ms(lambda: sjoin_locate(lon, lat, declared, boundaries), 1)
    progress("verification: locate_households")
    ours_ms, (inside, located) = _best_ms(lambda: locate_households(lon, lat, declared, prepared), repeat)
    ours_codes = np.append(prepared.codes, "")[located]
    mismatches = int((inside == 0).sum())
    figures["verification"] = {
        "prepare_boundaries_ms": round(prepare_ms, 1),
        "sjoin_ms": round(sjoin_ms, 1),
        "locate_households_ms": round(ours_ms, 1),
        "speedup": round(sjoin_ms / ours_ms, 2),
        "identical": bool(np.array_equal(ours_codes.astype(str), sjoin_codes.astype(str))),
        "outside_declared": mismatches,
    }
    figures["memory"]["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    return figures


def format_figures(figures: dict) -> str:
    """The figures as aligned text lines."""
    lines = [f"geo engine benchmark: {figures['households']:,} households, {figures['machine']['cores']} cores, "
             f"Python {figures['machine']['python']}"]
    ix = figures["indexing"]
    lines.append("")
    lines.append("indexing (res 10)")
    lines.append(f"  plain h3.latlng_to_cell loop   {ix['loop_ms']:>10,.1f} ms")
    lines.append(f"  points_to_cells (h3ronpy)      {ix['points_to_cells_ms']:>10,.1f} ms   "
                 f"x{ix['speedup']:.2f}  identical={ix['identical']}")
    lines.append(f"  index_households (all)         {ix['index_households_ms']:>10,.1f} ms")
    lines.append("")
    lines.append("aggregation, all metrics, once indexed        engine ms   pandas groupby-sum ms   ratio   protect ms")
    for label, row in figures["aggregation"].items():
        if "pandas_groupby_sum_ms" in row:
            lines.append(f"  {label:<12} {row['areas']:>9,} areas {row['aggregate_ms']:>16,.1f} "
                         f"{row['pandas_groupby_sum_ms']:>21,.1f}   x{row['speedup']:<6.2f}{row['protect_ms']:>9,.1f}")
        else:
            extra = f" ({row['filter']})" if "filter" in row else ""
            lines.append(f"  {label:<28}{row['aggregate_ms']:>16,.1f}{extra}")
    vf = figures["verification"]
    lines.append("")
    lines.append("verification (declared district + locate every household)")
    lines.append(f"  geopandas.sjoin                {vf['sjoin_ms']:>10,.1f} ms")
    lines.append(f"  locate_households              {vf['locate_households_ms']:>10,.1f} ms   x{vf['speedup']:.2f}  "
                 f"identical={vf['identical']}  outside declared={vf['outside_declared']:,}")
    lines.append(f"  prepare_boundaries (once)      {vf['prepare_boundaries_ms']:>10,.1f} ms")
    mem = figures["memory"]
    lines.append("")
    lines.append(f"memory: index {mem['index_mb']:,.1f} MB ({mem['index_bytes_per_household']} B/household), "
                 f"contract frame {mem['frame_mb']:,.1f} MB;\n        process RSS holding frame and index "
                 f"{mem['rss_holding_frame_and_index_mb']:,.1f} MB, holding the index only {mem['rss_holding_index_mb']:,.1f} MB, "
                 f"peak RSS {mem['peak_rss_mb']:,.1f} MB")
    return "\n".join(lines)


def _cmd_bench(args: argparse.Namespace) -> int:
    progress = (lambda msg: print(f"... {msg}", file=sys.stderr)) if not args.json else (lambda _msg: None)
    districts = None
    if args.boundaries:
        from geo.boundaries import load_boundaries

        districts = load_boundaries("district", Path(args.boundaries))
    figures = run_bench(args.households, repeat=args.repeat, districts=districts, progress=progress)
    print(json.dumps(figures, indent=2) if args.json else format_figures(figures))
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``bench`` to the ``python -m geo`` command line."""
    parser = subparsers.add_parser("bench", help="benchmark the geo engine on synthetic households",
                                   description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--households", type=int, default=1_000_000, metavar="N",
                        help="synthetic households (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="repeats per engine timing, the best is kept (default 5; baselines: best of 2)")
    parser.add_argument("--boundaries", metavar="DIR", help="installed boundaries folder (default: data/boundaries)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(func=_cmd_bench)
