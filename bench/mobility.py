"""Benchmark of mobility between two rounds: ``python -m bench mobility [--households 1000000,13000000]``.

For each size ``N`` it makes ``N`` synthetic households per round (clustered villages over
Thailand's extent, about 7,400 subdistricts; 80% of the later round followed from the earlier, 10%
of the earlier not found again, :func:`geo.synth.rounds.with_earlier_round`'s model without its
contract checks, for speed) and measures:

* :func:`geo.engine.mobility.pair_rounds` once (what a new pair of rounds costs; the app caches
  it), split into the pairing and the exact H3 cells of each resolution;
* :func:`geo.engine.mobility.mobility_table` (public release) by province, district, subdistrict
  and H3 res 6-8, whole and for one province, and :func:`geo.engine.mobility.mobility_totals`:
  what a comparison or filter change costs on the Change page (target: under 1 s at 13M);
* the pairs cube (:mod:`geo.engine.mobility_cube`): its build time and size, and each view of
  :data:`CUBE_VIEWS` by province / district / subdistrict answered by the plain path and by the
  cube in the same run (mask, table and totals, as the Change page asks them), checked equal;
* the H3 pairs cube of each resolution of :data:`RESOLUTIONS` (``build_pairs_cube(pairs,
  res=r)``): build time, rows and bytes, whether the app keeps it (:func:`h3_cube_for`: under a
  quarter of the pairs in transition rows), and each view of :data:`H3_VIEWS` over the whole
  country as the Change page's H3 map asks it (the filter's mask, the cells counted, the table),
  plain path and cube in the same run, checked equal; and the map's cell geometry for that table;
* :func:`geo.engine.pilot_impact.pilot_impact`;
* memory: bytes of the pairs frame, resident peak.

Timings are the best of ``--repeat`` runs (``time.perf_counter``).
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
import pandas as pd

from geo.checks import check_int
from geo.data.contract import CAPITAL_COLUMNS, poverty_level_from_scores

#: Resolutions of the Change page's H3 maps measured (5: the whole country's automatic one).
RESOLUTIONS = (5, 6, 7, 8)
TARGET_SECONDS = 1.0


def _ids(prefix: str, numbers: np.ndarray) -> pd.api.extensions.ExtensionArray:
    import pyarrow as pa
    import pyarrow.compute as pc

    digits = pc.utf8_lpad(pa.array(numbers).cast(pa.string()), 9, "0")
    return pd.array(pc.binary_join_element_wise(prefix, digits, ""), dtype="string")


def two_round_frame(n: int, *, seed: int = 0) -> pd.DataFrame:
    """``n`` households in 2023 and about ``n`` in 2021 (80% of 2023's followed, plus not found)."""
    rng = np.random.default_rng(seed)
    villages = max(1, n // 120)
    v_lat, v_lon = rng.uniform(6.0, 20.0, villages), rng.uniform(98.0, 105.0, villages)
    v_sub = rng.integers(0, 7400, villages)
    village = rng.integers(0, villages, n)
    sub = v_sub[village]
    province = sub // 96 + 10
    district = province * 100 + (sub % 96) // 12 + 1
    sub_code = district * 100 + sub % 12 + 1
    later = pd.DataFrame({
        "household_id": _ids("HH", np.arange(n)), "survey_year": np.full(n, 2023, dtype=np.int16),
        "province_code": pd.Categorical(province.astype(str)), "district_code": pd.Categorical(district.astype(str)),
        "subdistrict_code": pd.Categorical(sub_code.astype(str)),
        "lat": v_lat[village] + rng.normal(0, 0.01, n), "lon": v_lon[village] + rng.normal(0, 0.01, n),
        "members": rng.integers(1, 9, n).astype(np.int16),
        **{c: np.round(rng.uniform(1.0, 4.0, n), 2).astype(np.float32) for c in CAPITAL_COLUMNS},
        "pilot_id": pd.Categorical.from_codes(np.where(rng.random(n) < 0.02, rng.integers(0, 40, n), -1),
                                              categories=[f"P{i:02d}" for i in range(40)]),
    })
    later["poverty_level"] = poverty_level_from_scores(later[list(CAPITAL_COLUMNS)].to_numpy().mean(axis=1))
    followed = rng.random(n) < 0.8
    earlier = later.loc[followed].reset_index(drop=True)
    for column in CAPITAL_COLUMNS:
        earlier[column] = np.clip(earlier[column] - rng.normal(0.15, 0.35, len(earlier)), 1.0, 4.0).astype(np.float32)
    lost = later.iloc[rng.integers(0, n, n // 10)].reset_index(drop=True)
    lost["household_id"] = _ids("X", np.arange(len(lost)))
    earlier = pd.concat([earlier, lost], ignore_index=True)
    earlier["survey_year"] = np.int16(2021)
    earlier["poverty_level"] = poverty_level_from_scores(earlier[list(CAPITAL_COLUMNS)].to_numpy().mean(axis=1))
    return pd.concat([earlier, later], ignore_index=True)


def _best(fn, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def measure(n: int, *, repeat: int = 3) -> dict:
    """The figures for ``n`` households per round (see the module docstring)."""
    from geo.engine.mobility import mobility_table, mobility_totals, pair_rounds
    from geo.engine.pilot_impact import pilot_impact

    n = check_int(n, "households", minimum=100)
    start = time.perf_counter()
    frame = two_round_frame(n)
    figures: dict = {"households_per_round": n, "rows": len(frame), "generate_s": time.perf_counter() - start}
    start = time.perf_counter()
    pairs = pair_rounds(frame, 2021, 2023, h3_resolutions=())
    figures["pair_rounds_s_without_h3"] = time.perf_counter() - start
    del pairs
    start = time.perf_counter()
    pairs = pair_rounds(frame, 2021, 2023, h3_resolutions=RESOLUTIONS)
    figures["pair_rounds_s"] = time.perf_counter() - start
    figures["h3_per_resolution_s"] = (figures["pair_rounds_s"] - figures["pair_rounds_s_without_h3"]) / len(RESOLUTIONS)
    del frame
    figures["pairs"] = len(pairs)
    figures["pairs_mb"] = pairs.memory_usage(index=False, deep=False).sum() / 1e6
    province = pairs["province_code"].cat.categories[0]
    one_province = (pairs["province_code"] == province).to_numpy()
    tables = {}
    for by in ("province", "district", "subdistrict", "h3"):
        for res in (RESOLUTIONS if by == "h3" else (None,)):
            label = by if res is None else f"h3 res {res}"
            seconds, table = _best(lambda: mobility_table(pairs, by=by, res=res), repeat)
            masked, _ = _best(lambda: mobility_table(pairs, by=by, res=res, mask=one_province), repeat)
            tables[label] = {"s": seconds, "rows": len(table), "one_province_s": masked}
    figures["mobility_table"] = tables
    figures["mobility_totals_s"] = _best(lambda: mobility_totals(pairs), repeat)[0]
    figures["cube"] = _measure_cube(pairs, repeat)
    figures["h3_cube"] = _measure_h3_cube(pairs, repeat)
    figures["pilot_impact_s"] = _best(lambda: pilot_impact(pairs), 1)[0]
    slowest = max(v["s"] for v in tables.values())
    figures["slowest_table_s"] = slowest
    figures["target_met"] = slowest < TARGET_SECONDS
    figures["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    return figures


#: The filtered views timed beside the whole country: what the Change page's sidebar sends.
CUBE_VIEWS = {
    "whole country": {},
    "levels 1-2": {"levels": (1, 2)},
    "levels 1-2, financial in deficit": {"levels": (1, 2), "capitals_in_deficit": ("financial",)},
    "in no pilot": {"pilots": ("none",)},
}


def _measure_cube(pairs: pd.DataFrame, repeat: int) -> dict:
    """The pairs cube (:mod:`geo.engine.mobility_cube`): build time and bytes (the app's, and the
    one with the deficit code, which a filter on capitals in deficit reads here), then each view of
    :data:`CUBE_VIEWS` by province / district / subdistrict as the Change page asks it (the
    filter's mask, the table, the totals), the plain path and the cube in the same run, alternating
    which runs first; both answers checked equal."""
    from geo.engine.mobility import mobility_table, mobility_totals
    from geo.engine.mobility_cube import (build_pairs_cube, cube_for_filter, cube_mobility_table,
                                          cube_mobility_totals)
    from geo.views.change import pairs_mask
    from geo.views.viewstate import ViewState

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    cube = build_pairs_cube(pairs)
    out: dict = {"build_s": time.perf_counter() - start, "mb": cube.nbytes / 1e6, "rows": len(cube.rows),
                 "coarse_rows": len(cube.coarse.rows),
                 "peak_rss_rise_gb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1e6}
    # The cube with the deficit code (not kept by the app): what it would cost and give.
    start = time.perf_counter()
    full = build_pairs_cube(pairs, deficit=True)
    out.update(deficit_build_s=time.perf_counter() - start, deficit_mb=full.nbytes / 1e6, deficit_rows=len(full.rows))
    views = {}
    for name, fields in CUBE_VIEWS.items():
        view = ViewState(**fields)
        which = cube_for_filter(full if view.capitals_in_deficit else cube, deficit=bool(view.capitals_in_deficit),
                                pilots=bool(view.pilots))
        for by in ("province", "district", "subdistrict"):
            def plain():
                mask = pairs_mask(pairs, view)
                return mobility_table(pairs, by=by, mask=mask), mobility_totals(pairs, mask=mask)

            def cubed():
                mask = pairs_mask(which.rows, view)
                return cube_mobility_table(which, by=by, mask=mask), cube_mobility_totals(which, mask=mask)

            runs = (("plain", plain), ("cube", cubed)) if len(views) % 2 == 0 else (("cube", cubed), ("plain", plain))
            row, answers = {}, {}
            for label, fn in runs:
                row[f"{label}_s"], answers[label] = _best(fn, repeat)
            a, b = answers["plain"][0], answers["cube"][0]
            counts = [c for c in a.columns if not c.endswith("mean_change")]
            row["equal"] = bool(a[counts].equals(b[counts]) and np.allclose(
                a.drop(columns=counts).to_numpy(dtype=float), b.drop(columns=counts).to_numpy(dtype=float),
                rtol=1e-9, equal_nan=True))
            row["ratio"] = row["plain_s"] / row["cube_s"]
            views[f"{name} by {by}"] = row
    out["views"] = views
    return out


#: The whole-country H3 views timed per resolution (the Change page's H3 map).
H3_VIEWS = {
    "whole country": {},
    "levels 1-2": {"levels": (1, 2)},
    "in no pilot": {"pilots": ("none",)},
}


def _measure_h3_cube(pairs: pd.DataFrame, repeat: int) -> dict:
    """The H3 pairs cube of each resolution (:func:`geo.engine.mobility_cube.build_pairs_cube`
    with ``res``): build time, rows, bytes, whether :func:`~geo.engine.mobility_cube.h3_cube_for`
    keeps it; then each view of :data:`H3_VIEWS` as the Change page's H3 map asks it: the plain
    path (the pairs' mask, the table) and, where kept, the cube (the rows' mask, the released
    cells counted, the table), alternating which runs first, both answers checked equal; and
    the cell geometry of the table (:func:`geo.engine.aggregate.attach_cell_geometry`)."""
    from geo.engine.aggregate import attach_cell_geometry
    from geo.engine.mobility import mobility_table
    from geo.engine.mobility_cube import (H3_CUBE_MAX_SHARE, build_pairs_cube, cube_mobility_table,
                                          cube_released_cell_count)
    from geo.views.change import _released_rows, pairs_mask
    from geo.views.viewstate import ViewState

    out: dict = {}
    for res in RESOLUTIONS:
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        cube = build_pairs_cube(pairs, res=res)
        row = {"build_s": time.perf_counter() - start, "mb": cube.nbytes / 1e6, "rows": len(cube.rows),
               "transition_rows": len(cube.parent), "cells": int(cube.cells.size),
               "kept": len(cube.parent) < H3_CUBE_MAX_SHARE * len(pairs),
               "peak_rss_rise_gb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1e6}
        row["bytes_per_pair"] = cube.nbytes / len(pairs)
        views = {}
        for name, fields in H3_VIEWS.items():
            view = ViewState(**fields)

            def plain():
                return mobility_table(pairs, by="h3", res=res, mask=pairs_mask(pairs, view))

            def cubed():
                mask = pairs_mask(cube.rows, view)
                cube_released_cell_count(cube, mask=mask)
                return cube_mobility_table(cube, by="h3", mask=mask)

            runs = [("plain", plain)] + ([("cube", cubed)] if row["kept"] else [])
            runs = runs if len(views) % 2 == 0 else runs[::-1]
            timing, answers = {}, {}
            for label, fn in runs:
                timing[f"{label}_s"], answers[label] = _best(fn, repeat)
            if "cube" in answers:
                a, b = answers["plain"], answers["cube"]
                counts = [c for c in a.columns if not c.endswith("mean_change")]
                timing["equal"] = bool(a[counts].equals(b[counts]) and a.attrs == b.attrs and np.allclose(
                    a.drop(columns=counts).to_numpy(dtype=float), b.drop(columns=counts).to_numpy(dtype=float),
                    rtol=1e-9, equal_nan=True))
            timing["cells"] = len(answers["plain"])
            timing["geometry_s"] = _best(lambda: attach_cell_geometry(_released_rows(answers["plain"], "h3_cell")),
                                         1)[0]
            views[name] = timing
        row["views"] = views
        out[f"res {res}"] = row
        del cube
    return out


def _print(figures: dict) -> None:
    print(f"{figures['households_per_round']:,} households per round ({figures['pairs']:,} pairs): "
          f"generated in {figures['generate_s']:.1f} s")
    print(f"  pair_rounds: {figures['pair_rounds_s']:.1f} s ({figures['pair_rounds_s_without_h3']:.1f} s pairing, "
          f"{figures['h3_per_resolution_s']:.1f} s per H3 resolution); pairs {figures['pairs_mb']:,.0f} MB")
    for label, row in figures["mobility_table"].items():
        print(f"  mobility_table {label:<12} {row['s'] * 1000:8.0f} ms  ({row['rows']:,} rows; one province "
              f"{row['one_province_s'] * 1000:.0f} ms)")
    print(f"  mobility_totals {figures['mobility_totals_s'] * 1000:.0f} ms; pilot_impact "
          f"{figures['pilot_impact_s'] * 1000:.0f} ms")
    cube = figures["cube"]
    print(f"  pairs cube: built in {cube['build_s']:.1f} s, {cube['mb']:,.0f} MB ({cube['rows']:,} rows by leaf x "
          f"transition x pilots, {cube['coarse_rows']:,} by leaf x transition; peak RSS "
          f"+{cube['peak_rss_rise_gb']:.2f} GB); with the deficit code (not kept): {cube['deficit_build_s']:.1f} s, "
          f"{cube['deficit_mb']:,.0f} MB, {cube['deficit_rows']:,} rows")
    for label, row in cube["views"].items():
        print(f"  view {label:<45} plain {row['plain_s'] * 1000:7.0f} ms  cube {row['cube_s'] * 1000:6.0f} ms  "
              f"{row['ratio']:5.1f}x  {'equal' if row['equal'] else 'DIFFERENT'}")
    for label, row in figures["h3_cube"].items():
        print(f"  H3 cube {label}: built in {row['build_s']:.2f} s, {row['mb']:,.0f} MB ({row['bytes_per_pair']:.0f} "
              f"bytes per pair; {row['rows']:,} rows, {row['transition_rows']:,} transition rows, {row['cells']:,} "
              f"cells; peak RSS +{row['peak_rss_rise_gb']:.2f} GB); "
              f"{'kept' if row['kept'] else 'not kept (plain path)'}")
        for name, view in row["views"].items():
            cubed = (f"cube {view['cube_s'] * 1000:6.0f} ms  {view['plain_s'] / view['cube_s']:5.1f}x  "
                     f"{'equal' if view['equal'] else 'DIFFERENT'}") if "cube_s" in view else "cube -"
            print(f"    H3 view {name:<15} plain {view['plain_s'] * 1000:7.0f} ms  {cubed}  ({view['cells']:,} cells, "
                  f"geometry {view['geometry_s'] * 1000:.0f} ms)")
    print(f"  slowest table {figures['slowest_table_s'] * 1000:.0f} ms: target < {TARGET_SECONDS:.0f} s "
          f"{'met' if figures['target_met'] else 'NOT met'}; peak RSS {figures['peak_rss_gb']:.1f} GB")


def _cmd(args: argparse.Namespace) -> int:
    sizes = [int(part) for part in str(args.households).replace("_", "").split(",") if part.strip()]
    results = []
    for n in sizes:
        figures = measure(n, repeat=args.repeat)
        results.append(figures)
        if not args.json:
            _print(figures)
    if args.json:
        print(json.dumps(results, indent=2, default=float))
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``mobility`` to the ``python -m bench`` command line."""
    parser = subparsers.add_parser("mobility", help="benchmark pairing two rounds and the change tables",
                                   description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--households", default="1000000,13000000", metavar="N[,N]",
                        help="households per round, comma-separated (default 1,000,000 and 13,000,000)")
    parser.add_argument("--repeat", type=int, default=3, help="repeats per timing, the best is kept (default 3)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(func=_cmd)
