"""Benchmark of the dashboard: server time of a filter change and the size of one map's payload.

``python -m bench dashboard [--repeat N] [--json] [--no-apptest]`` measures, on the shown
households (the store, else the sample) and the installed boundaries:

* **pipeline** per map mode: the server-side work of the Overview after a filter change —
  filter mask, headline figures (:func:`geo.views.dashboard.selection_totals`), the map
  (:func:`geo.views.dashboard_maps.metric_map`: aggregate, protect, classify, colour, deck) and its JSON
  as sent to the browser, and the top-10 table — with the index built once, as the app caches it;
* **baseline**, in the same run on the same data: the same pipeline without the cached index —
  the frame filtered with pandas and indexed again on every change, as an app that keeps only the
  DataFrame would do;
* **deck JSON size** (MB) per mode: the map's payload;
* **AppTest**: real reruns of ``app.py`` after a widget change (``streamlit.testing``), in a
  child process so that ``geo`` itself never imports Streamlit.

Every figure is the best of ``--repeat`` runs per filter; the table shows the median and the
slowest filter. Figures are for reading, not for asserting (docs/DASHBOARD.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from geo.data import paths
from geo.errors import PPAPError

#: Map modes of the Overview: (label, view fields).
MODES: tuple[tuple[str, dict], ...] = (
    ("province choropleth", {"by": "province"}),
    ("district choropleth", {"by": "district"}),
    ("H3, automatic res", {"by": "h3"}),
    ("H3 res 8", {"by": "h3", "res": 8}),
    ("drill: Kalasin's districts", {"by": "province", "area": "46"}),
    ("drill: Sahatsakhan's subdistricts", {"by": "province", "area": "4609"}),
    ("subdistrict choropleth, all", {"by": "subdistrict"}),
)
#: Filter changes applied in turn (each one a rerun in the app).
FILTERS: tuple[tuple[str, dict], ...] = (
    ("none", {}),
    ("levels 1-2", {"levels": (1, 2)}),
    ("not in TPMAP", {"tpmap": "out"}),
    ("two provinces", {"provinces": ("46", "34")}),
    ("natural capital in deficit", {"capitals_in_deficit": ("natural",)}),
    ("not yet helped, not verified", {"assistance": ("none",), "verified": "no"}),
    ("in no pilot", {"pilots": ("none",)}),
)
TARGET_MS = 300.0
TARGET_MB = 3.0

# Run by the AppTest figure in a child process: geo never imports Streamlit itself.
_APPTEST_SCRIPT = r"""
import json, statistics, sys, time
from streamlit.testing.v1 import AppTest

app, repeat = sys.argv[1], int(sys.argv[2])
at = AppTest.from_file(app, default_timeout=300)
start = time.perf_counter(); at.run(); first = time.perf_counter() - start
assert not at.exception, [e.value for e in at.exception]
changes = [
    ("multiselect", "sidebar_levels", [1, 2]), ("radio", "sidebar_tpmap", "out"),
    ("multiselect", "sidebar_provinces", ["46", "34"]), ("radio", "overview_by", "district"),
    ("multiselect", "sidebar_levels", []), ("radio", "overview_by", "h3"),
    ("radio", "sidebar_tpmap", "any"), ("radio", "overview_by", "province"),
    ("multiselect", "sidebar_provinces", []),
]
times = []
for _ in range(repeat):
    for kind, key, value in changes:
        getattr(at, kind)(key=key).set_value(value)
        start = time.perf_counter(); at.run(); times.append(time.perf_counter() - start)
        assert not at.exception, [e.value for e in at.exception]
print(json.dumps({"first_run_s": first, "rerun_ms": [1000 * t for t in times]}))
"""


def _best(function: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def load_inputs(data_path: Path | None = None, boundaries_dir: Path | None = None):
    """The shown households (latest round), their index and the display boundaries, as the app loads them."""
    from geo.engine.aggregate import index_households
    from geo.data.boundaries import load_boundaries
    from geo.views.mapview import context_geometry
    from geo.views.deck import display_geometry

    if data_path is None:
        store = paths.store_dir() / "households.parquet"
        data_path = store if store.is_file() else paths.samples_dir() / "households.parquet"
    if not Path(data_path).is_file():
        raise PPAPError(f"no households at {data_path}; run `python -m geo sample`")
    from geo.data.store import latest_round

    frame = pd.read_parquet(data_path)
    frame = frame[frame["survey_year"] == latest_round(frame)].reset_index(drop=True)
    started = time.perf_counter()
    index = index_households(frame)
    index_s = time.perf_counter() - started
    boundaries = {}
    for level in ("province", "district", "subdistrict"):
        raw = load_boundaries(level, boundaries_dir)
        boundaries[level] = raw.set_geometry(display_geometry(raw.geometry))
        if level == "province":
            boundaries["context"] = context_geometry(raw)
    return Path(data_path), frame, index, index_s, boundaries


def render_overview(index, boundaries, view) -> int:
    """The Overview's server work for one view: headline, map, deck JSON, top 10. Returns JSON bytes."""
    from geo.views.dashboard import map_parent, top_areas, view_area_table, view_totals
    from geo.views.dashboard_maps import metric_map
    from geo.views.viewstate import shown_level

    figure = metric_map(index, boundaries, view, size=(600, 600))
    if len(view.area) == 6:  # as the Overview: the map's own totals unless a subdistrict is picked
        view_totals(index, view)
    payload = figure.deck.to_json()
    table = figure.table if figure.level != "h3" else view_area_table(
        index, shown_level(view), view, area=map_parent(view))
    top_areas(table, view.metric, lang=view.lang)
    return len(payload.encode("utf-8"))


def filter_frame(frame: pd.DataFrame, view) -> pd.DataFrame:
    """The view's filters applied with pandas (the baseline's way)."""
    keep = pd.Series(True, index=frame.index)
    if view.provinces:
        keep &= frame["province_code"].isin(view.provinces)
    if view.districts:
        keep &= frame["district_code"].isin(view.districts)
    if view.levels:
        keep &= frame["poverty_level"].isin(view.levels)
    for capital in view.capitals_in_deficit:
        keep &= frame[f"capital_{capital}"] < 1.75
    if view.tpmap != "any":
        keep &= frame["in_tpmap"] == (view.tpmap == "in")
    if view.verified != "any":
        keep &= frame["verified"].fillna(False) == (view.verified == "yes")  # unknown: not verified
    if view.assistance:
        keep &= frame["assistance_status"].isin(view.assistance)
    return frame[keep.fillna(False).to_numpy(bool)].reset_index(drop=True)


def baseline_overview(frame: pd.DataFrame, boundaries, view) -> int:
    """The same work with no cached index: filter the frame, index it again, then render."""
    from geo.engine.aggregate import index_households

    index = index_households(filter_frame(frame, view))
    return render_overview(index, boundaries, view.without_filters())


def measure_pipeline(frame, index, boundaries, *, repeat: int = 3) -> list[dict]:
    """Per map mode: median and slowest filter change, engine and baseline, and the deck size."""
    from geo.views.viewstate import ViewState

    rows = []
    for label, fields in MODES:
        engine_ms, baseline_ms, sizes = [], [], []
        for _, filters in FILTERS:
            view = replace(ViewState(**fields), **filters)
            seconds, size = _best(lambda v=view: render_overview(index, boundaries, v), repeat)
            engine_ms.append(1000 * seconds)
            sizes.append(size / 1e6)
            seconds, _ = _best(lambda v=view: baseline_overview(frame, boundaries, v), max(1, repeat - 1))
            baseline_ms.append(1000 * seconds)
        rows.append({
            "mode": label,
            "engine_ms_median": statistics.median(engine_ms),
            "engine_ms_max": max(engine_ms),
            "baseline_ms_median": statistics.median(baseline_ms),
            "baseline_ms_max": max(baseline_ms),
            "ratio_median": statistics.median(baseline_ms) / statistics.median(engine_ms),
            "deck_mb_max": max(sizes),
            "per_filter_ms": dict(zip([name for name, _ in FILTERS], engine_ms)),
        })
    return rows


def measure_apptest(repeat: int = 2) -> dict:
    """Reruns of the real app (AppTest) after widget changes, in a child process."""
    app = str(paths.PROJECT_ROOT / "app.py")
    result = subprocess.run([sys.executable, "-c", _APPTEST_SCRIPT, app, str(repeat)], capture_output=True,
                            text=True, timeout=900, cwd=paths.PROJECT_ROOT, env=os.environ.copy())
    if result.returncode != 0:
        raise PPAPError(f"the AppTest run failed: {result.stderr.strip().splitlines()[-1:]}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    reruns = data["rerun_ms"]
    return {"first_run_s": data["first_run_s"], "reruns": len(reruns), "rerun_ms_median": statistics.median(reruns),
            "rerun_ms_p90": float(np.percentile(reruns, 90)), "rerun_ms_max": max(reruns)}


def run(*, repeat: int = 3, apptest: bool = True, data_path: Path | None = None) -> dict:
    """Every figure of the benchmark as a dict (see the module docstring)."""
    path, frame, index, index_s, boundaries = load_inputs(data_path)
    report = {
        "data": str(path),
        "households": int(index.n),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "index_once_s": index_s,
        "pipeline": measure_pipeline(frame, index, boundaries, repeat=repeat),
        "targets": {"filter_change_ms": TARGET_MS, "deck_mb": TARGET_MB},
    }
    if apptest:
        report["apptest"] = measure_apptest()
    return report


def format_report(report: dict) -> str:
    """The figures as a readable table."""
    lines = [
        f"dashboard benchmark: {report['households']:,} households from {report['data']}",
        f"index built once at load: {1000 * report['index_once_s']:.0f} ms (cached for every session)",
        "",
        "Overview after a filter change (headline + map + deck JSON + top 10), best of repeats per filter;",
        "median and slowest of the filter changes. Baseline: the same with the frame filtered and indexed again.",
        f"{'mode':<36}{'engine ms':>16}{'baseline ms':>18}{'ratio':>8}{'deck MB':>9}",
    ]
    for row in report["pipeline"]:
        lines.append(
            f"{row['mode']:<36}{row['engine_ms_median']:>8.0f} / {row['engine_ms_max']:<5.0f}"
            f"{row['baseline_ms_median']:>10.0f} / {row['baseline_ms_max']:<5.0f}"
            f"{'x' + format(row['ratio_median'], '.1f'):>8}{row['deck_mb_max']:>9.2f}")
    slowest = max(row["engine_ms_max"] for row in report["pipeline"])
    biggest = max(row["deck_mb_max"] for row in report["pipeline"])
    lines.append(f"slowest filter change {slowest:.0f} ms (target {TARGET_MS:.0f} ms); "
                 f"largest deck {biggest:.2f} MB (target {TARGET_MB:.0f} MB)")
    if "apptest" in report:
        a = report["apptest"]
        lines += ["", f"AppTest (app.py, in-process): first run {a['first_run_s']:.1f} s (loads and indexes); "
                      f"{a['reruns']} reruns after a widget change: median {a['rerun_ms_median']:.0f} ms, "
                      f"p90 {a['rerun_ms_p90']:.0f} ms, max {a['rerun_ms_max']:.0f} ms"]
    return "\n".join(lines)


def _cmd(args: argparse.Namespace) -> int:
    report = run(repeat=args.repeat, apptest=not args.no_apptest, data_path=args.data)
    print(json.dumps(report, indent=1) if args.json else format_report(report))
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``bench-dashboard`` to the ``python -m bench`` command line."""
    parser = subparsers.add_parser("dashboard", help="time the dashboard's filter changes and map payloads")
    parser.add_argument("--repeat", type=int, default=3, help="runs per filter; the best counts (default 3)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--no-apptest", action="store_true", help="skip the AppTest reruns")
    parser.add_argument("--data", type=Path, metavar="FILE",
                        help="households file (default: the store, else the sample)")
    parser.set_defaults(func=_cmd)
