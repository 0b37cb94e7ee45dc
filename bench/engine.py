"""Benchmarks of the geo engine: figures with their baselines, measured in the same run.

``python -m bench engine [--households N] [--json]`` builds ``N`` synthetic households inside the
installed district polygons (:func:`synthetic_households`) and measures:

* **indexing**: :func:`geo.engine.h3index.points_to_cells` at res 10 against a plain Python loop of
  ``h3.latlng_to_cell`` over the same points (and checks they agree cell for cell); also the whole
  :func:`geo.engine.aggregate.index_households` (cells, codes, sort);
* **aggregation** once indexed, at H3 res 5-10 and by district and province, with every metric —
  against ``pandas.DataFrame.groupby(...).sum()`` of the same per-household indicators with the
  keys given (the usual way, and it computes only the sums);
* **verification**: declared-district check and location of every household
  (:func:`geo.engine.verify.locate_households`) against ``geopandas.sjoin`` (:func:`geo.engine.verify.sjoin_locate`),
  and whether the two agree for every household;
* **memory**: bytes held by the index, resident memory after indexing, and peak resident memory;
* **vs_peers**: the engine against DuckDB and Polars (:func:`peer_cases`), each computing the same
  per-area metrics (households, people, per level, mean and deficit per capital, not in TPMAP,
  verified, per assistance status, Alkire-Foster poor) from the same households in memory, for
  the cases of issue 17: by district, by H3 res 8, and by district for households at levels 1-2
  not in TPMAP. The engine answers as the app does: from the profile cube's district sums when
  they answer (built once, as at import; its build time is reported), else by a pass over the
  households, whose time is reported too. Medians of ``repeat`` runs, all in the same process on
  the same data.

``python -m bench engine --peers-from PATH [--json]`` runs only the ``vs_peers`` cases, on the latest
survey round of a households Parquet file (:func:`run_peers_from`), e.g. the 13M national households
of ``python -m geo national`` (``data/national/households.parquet``).

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
from geo.data.contract import (
    ASSISTANCE_STATUSES,
    CAPITAL_COLUMNS,
    DEPRIVATION_COLUMNS,
    conform_households,
    poverty_level_from_scores,
)
from geo.synth.households import synthetic_households

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


def _median_ms(func: Callable[[], object], repeat: int) -> tuple[float, object]:
    times = []
    result: object = None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1000.0, result


#: The cases of issue 17's table: (label, grouping, filtered to levels 1-2 and not in TPMAP).
PEER_CASES: tuple[tuple[str, str, bool], ...] = (
    ("district", "district", False),
    ("h3_res8", "h3", False),
    ("district_levels_1_2_not_in_tpmap", "district", True),
)


def _peer_columns(index) -> dict[str, np.ndarray]:
    """The per-household columns DuckDB and Polars read: what a household table would hold.

    The H3 res-8 cell is the exact one (``latlng_to_cell`` at res 8), given to the peers as a column
    as an import would store it; the engine finds it from its own index.
    """
    from geo.engine.aggregate import exact_cells

    columns: dict[str, np.ndarray] = {
        "district": index.district.astype(np.int32),
        "cell8": exact_cells(index, 8).astype(np.int64),  # DuckDB/Polars group int64 fastest
        "members": index.members.astype(np.int32),
        "level": index.level.astype(np.int32),
        "in_tpmap": index.in_tpmap,
        "verified": index.verified,
        "assistance": index.assistance.astype(np.int32),
    }
    for j in range(5):
        columns[f"c{j}"] = np.ascontiguousarray(index.capitals[j])
    return columns


def _duckdb_sql(key: str, filtered: bool) -> str:
    from geo.engine.aggregate import DEFAULT_DEFICIT_CUTOFF, DEFAULT_K_DEPRIVATIONS

    cut = DEFAULT_DEFICIT_CUTOFF
    parts = [f"{key} AS area", "count(*) AS households", "sum(members) AS people"]
    parts += [f"count_if(level = {lv}) AS level_{lv}" for lv in range(1, 5)]
    parts += [f"avg(c{j}) AS mean_{j}" for j in range(5)]
    parts += [f"avg(CAST(c{j} < {cut} AS INTEGER)) AS deficit_{j}" for j in range(5)]
    parts += ["count_if(NOT in_tpmap) AS not_in_tpmap", "count_if(verified) AS verified"]
    parts += [f"count_if(assistance = {s}) AS assistance_{s}" for s in range(5)]
    deprived = " + ".join(f"CAST(c{j} < {cut} AS INTEGER)" for j in range(5))
    parts += [f"count_if({deprived} >= {DEFAULT_K_DEPRIVATIONS}) AS af_poor"]
    where = " WHERE level IN (1, 2) AND NOT in_tpmap" if filtered else (" WHERE cell8 <> 0" if key == "cell8" else "")
    return f"SELECT {', '.join(parts)} FROM households{where} GROUP BY {key}"


def _polars_query(frame, key: str, filtered: bool):
    import polars as pl

    from geo.engine.aggregate import DEFAULT_DEFICIT_CUTOFF, DEFAULT_K_DEPRIVATIONS

    cut = DEFAULT_DEFICIT_CUTOFF
    lazy = frame.lazy()
    if filtered:
        lazy = lazy.filter(pl.col("level").is_in([1, 2]) & ~pl.col("in_tpmap"))
    elif key == "cell8":
        lazy = lazy.filter(pl.col("cell8") != 0)
    deprived = pl.sum_horizontal([(pl.col(f"c{j}") < cut).cast(pl.Int32) for j in range(5)])
    aggs = [pl.len().alias("households"), pl.col("members").sum().alias("people")]
    aggs += [(pl.col("level") == lv).sum().alias(f"level_{lv}") for lv in range(1, 5)]
    aggs += [pl.col(f"c{j}").mean().alias(f"mean_{j}") for j in range(5)]
    aggs += [(pl.col(f"c{j}") < cut).mean().alias(f"deficit_{j}") for j in range(5)]
    aggs += [(~pl.col("in_tpmap")).sum().alias("not_in_tpmap"), pl.col("verified").sum().alias("verified")]
    aggs += [(pl.col("assistance") == s).sum().alias(f"assistance_{s}") for s in range(5)]
    aggs += [(deprived >= DEFAULT_K_DEPRIVATIONS).sum().alias("af_poor")]
    return lazy.group_by(key).agg(aggs).collect()


def _interleaved_median_ms(funcs: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median milliseconds of each function, run in turn ``repeat`` times (one of each, then the
    next round), so that what one leaves behind (caches, freed memory, a busy neighbour on a shared
    machine) falls on every contender alike rather than on whichever runs next."""
    times: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(repeat):
        for name, func in funcs.items():
            gc.collect()
            start = time.perf_counter()
            func()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(values)) * 1000.0 for name, values in times.items()}


def peer_cases(index, repeat: int = 5) -> list[dict]:
    """The engine against DuckDB and Polars on the cases of :data:`PEER_CASES`, same data, same run.

    ``engine_ms`` is the answer as the app gets it (:func:`geo.engine.cube.cube_aggregate`, falling back to
    :func:`geo.engine.aggregate.aggregate`): for district cases a gather and sum of the profile cube's
    district sums, precomputed once per import (``cube_build_ms``, measured here once, not in
    ``engine_ms``); the peers start from households every time. ``engine_households_ms`` is the
    engine's pass over the households, including building the filter's mask
    (:func:`geo.engine.filters.filter_mask`) as the peers' include their ``WHERE``, cell keys off (the
    peers compute none; the cube's answer includes them). Every case checks that the engine's two
    answers and both peers agree on households and people per area before it is timed.

    Returns
    -------
    list of dict
        ``{"case", "households", "engine_ms", "duckdb_ms", "polars_ms", "engine_households_ms",
        "engine_path", "cube_build_ms", "areas", "agree"}`` per case; times are medians of ``repeat``
        runs in milliseconds, the four contenders taking turns (:func:`_interleaved_median_ms`).
    """
    import duckdb
    import polars as pl

    from geo.engine.aggregate import aggregate
    from geo.engine.cube import build_cube, cube_aggregate
    from geo.engine.filters import HouseholdFilter, filter_mask

    cube_build_ms, cube = _median_ms(lambda: build_cube(index), 1)
    columns = _peer_columns(index)
    frame = pl.DataFrame(columns)
    con = duckdb.connect()
    con.register("households_view", frame.to_arrow())
    con.execute("CREATE TABLE households AS SELECT * FROM households_view")
    con.unregister("households_view")
    flt = HouseholdFilter(levels=[1, 2], in_tpmap=False)
    out = []
    for case, by, filtered in PEER_CASES:
        key = "cell8" if by == "h3" else "district"
        res = 8 if by == "h3" else None

        def households_pass(by=by, res=res, filtered=filtered):
            mask = filter_mask(index, flt) if filtered else None
            return aggregate(index, by, res=res, mask=mask, cell_keys=False)

        def answer(by=by, res=res, filtered=filtered, households_pass=households_pass):
            table = cube_aggregate(index, by, flt if filtered else None, res=res, cube=cube)
            return households_pass() if table is None else table

        sql = _duckdb_sql(key, filtered)
        ours, scanned = answer(), households_pass()
        theirs = con.execute(sql + " ORDER BY area").fetchnumpy()
        polars_table = _polars_query(frame, key, filtered).sort(key)
        agree = (len(ours) == len(scanned) == len(theirs["area"]) == polars_table.height
                 and all(np.array_equal(table[column].to_numpy(np.int64), theirs[column].astype(np.int64))
                         for table in (ours, scanned) for column in ("households", "people"))
                 and np.array_equal(polars_table["households"].to_numpy().astype(np.int64),
                                    theirs["households"].astype(np.int64)))
        from_cube = cube_aggregate(index, by, flt if filtered else None, res=res, cube=cube) is not None
        ms = _interleaved_median_ms({
            "engine": answer, "households": households_pass,
            "duckdb": lambda sql=sql: con.execute(sql).fetchnumpy(),
            "polars": lambda key=key, filtered=filtered: _polars_query(frame, key, filtered)}, repeat)
        engine_ms, households_ms, duckdb_ms, polars_ms = (ms[k] for k in ("engine", "households", "duckdb", "polars"))
        out.append({"case": case, "households": index.n, "engine_ms": round(engine_ms, 1),
                    "duckdb_ms": round(duckdb_ms, 1), "polars_ms": round(polars_ms, 1),
                    "engine_households_ms": round(households_ms, 1),
                    "engine_path": "cube district sums" if from_cube else "households",
                    "cube_build_ms": round(cube_build_ms, 1), "areas": len(ours), "agree": bool(agree)})
    con.close()
    return out


def peer_index_from(path: str | os.PathLike[str]):
    """The latest survey round of a households Parquet file, indexed as an import indexes it.

    Reads only the columns the engine needs (:data:`geo.engine.aggregate.INDEX_COLUMNS`) of the
    latest round, read by :func:`geo.engine.persist.read_latest_for_index` as an import reads it,
    and indexes them with :func:`geo.engine.aggregate.index_households`.

    Returns
    -------
    (HouseholdIndex, dict)
        The index, and ``{"source", "survey_year", "read_s", "index_s"}``.

    Raises
    ------
    StoreError
        When the file cannot be read, holds no households, or cannot be indexed.
    """
    from geo.engine.aggregate import index_households
    from geo.engine.persist import read_latest_for_index
    from geo.errors import PPAPError, StoreError

    path = Path(path)
    try:
        start = time.perf_counter()
        frame, latest = read_latest_for_index(path)
        read_s = time.perf_counter() - start
        start = time.perf_counter()
        index = index_households(frame)
        index_s = time.perf_counter() - start
    except StoreError:
        raise
    except (OSError, ValueError, KeyError, PPAPError) as exc:
        raise StoreError(f"bench: cannot read households from {path}: {exc}") from exc
    del frame
    gc.collect()
    _release_arrow_memory()
    return index, {"source": str(path), "survey_year": latest, "read_s": round(read_s, 2), "index_s": round(index_s, 2)}


def run_peers_from(path: str | os.PathLike[str], *, repeat: int = 5,
                   progress: Callable[[str], None] = lambda _msg: None) -> dict:
    """Only the ``vs_peers`` cases (:func:`peer_cases`), on the households of a Parquet file.

    For national scale (``data/national/households.parquet``, 13M households), where generating the
    households in the benchmark's process, the plain ``h3`` loop and ``geopandas.sjoin`` would take
    far longer than the cases themselves. The load average (``os.getloadavg``, 1/5/15 minutes) is
    recorded before and after, since the machine may be shared.
    """
    repeat = check_int(repeat, "repeat", minimum=1)
    figures: dict = {"machine": _machine(), "peers_from": str(path)}
    progress(f"reading and indexing the latest round of {path}")
    index, source = peer_index_from(path)
    figures["households"] = int(index.n)
    figures["source"] = source
    figures["memory"] = {"index_mb": round(index.nbytes / 2**20, 1), "rss_holding_index_mb": round(_rss_mb(), 1)}
    progress("vs_peers: engine, DuckDB, Polars")
    figures["vs_peers"] = peer_cases(index, repeat)
    figures["memory"]["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    figures["machine"]["load_average_after"] = _load_average()
    return figures


def _load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _machine() -> dict:
    return {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "load_average": _load_average()}


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
    from geo.engine.aggregate import DEFAULT_DEFICIT_CUTOFF, DEFAULT_K_DEPRIVATIONS

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
        District boundaries; ``geo.data.boundaries.load_boundaries("district")`` when not given.
    progress : callable, optional
        Called with a short message before each step.
    """
    from geo.engine.aggregate import aggregate, index_households
    from geo.engine.h3index import INDEX_RES, points_to_cells
    from geo.engine.protect import protect
    from geo.engine.verify import locate_households, prepare_boundaries, sjoin_locate

    n = check_int(n, "households", minimum=100)
    repeat = check_int(repeat, "repeat", minimum=1)
    baseline_repeat = min(repeat, 2)  # baselines take seconds: best of two
    if districts is None:
        from geo.data.boundaries import load_boundaries

        districts = load_boundaries("district")
    figures: dict = {
        "households": n,
        "machine": _machine(),
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
    from geo.engine.aggregate import exact_cells

    aggregation: dict = {}
    with_position = index.cell != 0
    for by, res in [("h3", r) for r in BENCH_RESOLUTIONS] + [("district", None), ("province", None)]:
        label = f"h3_res{res}" if by == "h3" else by
        ms, table = _best_ms(lambda: aggregate(index, by, res=res), repeat)
        if by == "h3":
            keys = exact_cells(index, res)[with_position]  # the cell containing each household
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

    from geo.engine.filters import HouseholdFilter, filter_mask

    flt = HouseholdFilter(levels=[1, 2], in_tpmap=False)
    ms, _ = _best_ms(lambda: aggregate(index, "h3", res=8, mask=filter_mask(index, flt)), repeat)
    figures["aggregation"]["h3_res8_filtered"] = {"aggregate_ms": round(ms, 1), "filter": "levels 1-2, not in TPMAP"}
    ms, _ = _best_ms(lambda: aggregate(index, "h3", res=9, rollup_min_count=10), repeat)
    figures["aggregation"]["h3_res9_rollup_k10"] = {"aggregate_ms": round(ms, 1)}

    progress("vs_peers: engine, DuckDB, Polars")
    figures["vs_peers"] = peer_cases(index, repeat)

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
    lines.append("")
    lines += _format_peers(figures.get("vs_peers", []))
    mem = figures["memory"]
    lines.append("")
    lines.append(f"memory: index {mem['index_mb']:,.1f} MB ({mem['index_bytes_per_household']} B/household), "
                 f"contract frame {mem['frame_mb']:,.1f} MB;\n        process RSS holding frame and index "
                 f"{mem['rss_holding_frame_and_index_mb']:,.1f} MB, holding the index only {mem['rss_holding_index_mb']:,.1f} MB, "
                 f"peak RSS {mem['peak_rss_mb']:,.1f} MB")
    return "\n".join(lines)


def _format_peers(rows: list[dict]) -> list[str]:
    lines = ["vs_peers, medians (ms)                       households     engine     DuckDB     Polars  agree"
             "   engine over households   engine / best peer"]
    for row in rows:
        ratio = row["engine_ms"] / min(row["duckdb_ms"], row["polars_ms"])
        lines.append(f"  {row['case']:<36}{row['households']:>14,}{row['engine_ms']:>11,.1f}"
                     f"{row['duckdb_ms']:>11,.1f}{row['polars_ms']:>11,.1f}  {row['agree']!s:<5}"
                     f"{row['engine_households_ms']:>12,.1f}   x{ratio:.2f}   ({row['engine_path']})")
    if rows:
        lines.append(f"  engine: the profile cube, built once per import in {rows[0]['cube_build_ms']:,.1f} ms")
    return lines


def format_peers_figures(figures: dict) -> str:
    """The figures of :func:`run_peers_from` as aligned text lines."""
    source, machine = figures["source"], figures["machine"]
    lines = [f"engine vs DuckDB and Polars: {figures['households']:,} households of round {source['survey_year']} "
             f"from {source['source']}, {machine['cores']} cores, Python {machine['python']}",
             f"  read {source['read_s']:,.2f} s, indexed {source['index_s']:,.2f} s; load average "
             f"{machine['load_average']} before, {machine['load_average_after']} after", ""]
    lines += _format_peers(figures["vs_peers"])
    mem = figures["memory"]
    lines.append("")
    lines.append(f"memory: index {mem['index_mb']:,.1f} MB, process RSS holding the index "
                 f"{mem['rss_holding_index_mb']:,.1f} MB, peak RSS {mem['peak_rss_mb']:,.1f} MB")
    return "\n".join(lines)


def _cmd_bench(args: argparse.Namespace) -> int:
    progress = (lambda msg: print(f"... {msg}", file=sys.stderr)) if not args.json else (lambda _msg: None)
    if args.peers_from:
        figures = run_peers_from(args.peers_from, repeat=args.repeat, progress=progress)
        print(json.dumps(figures, indent=2) if args.json else format_peers_figures(figures))
        return 0
    districts = None
    if args.boundaries:
        from geo.data.boundaries import load_boundaries

        districts = load_boundaries("district", Path(args.boundaries))
    figures = run_bench(args.households, repeat=args.repeat, districts=districts, progress=progress)
    print(json.dumps(figures, indent=2) if args.json else format_figures(figures))
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``bench`` to the ``python -m bench`` command line."""
    parser = subparsers.add_parser("engine", help="benchmark the geo engine on synthetic households",
                                   description=__doc__.split("\n\n")[0] if __doc__ else None)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--households", type=int, default=1_000_000, metavar="N",
                        help="synthetic households (default 1,000,000)")
    source.add_argument("--peers-from", metavar="PATH",
                        help="run only the vs_peers cases, on the latest round of this households Parquet "
                             "file (e.g. data/national/households.parquet) instead of synthetic households")
    parser.add_argument("--repeat", type=int, default=5,
                        help="repeats per engine timing, the best is kept (default 5; baselines: best of 2)")
    parser.add_argument("--boundaries", metavar="DIR", help="installed boundaries folder (default: data/boundaries)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(func=_cmd_bench)
