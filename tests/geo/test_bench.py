"""Smoke tests for ``bench.engine``: it runs end to end on a tiny N and reports every figure.

The figures themselves are not asserted (they are read, see docs/ENGINE.md); only that the
engine and its baselines agreed while being timed.
"""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from shapely.geometry import box

from bench.__main__ import main as bench_main
from bench.engine import format_figures, run_bench
from geo.synth.households import synthetic_households
from geo.data.contract import check_households


@pytest.fixture(scope="module")
def districts() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["4601", "4602", "4603", "3401"], "parent_code": ["46", "46", "46", "34"],
         "name_th": ["ก", "ข", "ค", "ง"], "name_en": ["a", "b", "c", "d"]},
        geometry=[box(103.0, 16.0, 103.5, 16.5), box(103.5, 16.0, 104.0, 16.5), box(103.0, 16.5, 103.5, 17.0),
                  box(104.5, 15.0, 105.0, 15.5)],
        crs="EPSG:4326",
    )


def test_synthetic_households_keep_the_contract(districts):
    households = synthetic_households(2000, districts, seed=1)
    check_households(households)
    assert len(households) == 2000
    assert households["district_code"].isin(districts["code"]).all()


def test_bench_smoke(districts):
    figures = run_bench(2000, repeat=1, districts=districts)
    assert figures["households"] == 2000
    assert figures["indexing"]["identical"] is True
    assert figures["verification"]["identical"] is True
    assert {"h3_res5", "h3_res10", "district", "province"} <= set(figures["aggregation"])
    for row in figures["aggregation"].values():
        assert row["aggregate_ms"] > 0
    assert figures["memory"]["peak_rss_mb"] > 0
    peers = figures["vs_peers"]
    assert [row["case"] for row in peers] == ["district", "h3_res8", "district_levels_1_2_not_in_tpmap"]
    for row in peers:
        assert row["agree"] is True and row["households"] == 2000
        assert min(row["engine_ms"], row["duckdb_ms"], row["polars_ms"]) > 0
    text = format_figures(figures)
    assert "plain h3.latlng_to_cell loop" in text and "geopandas.sjoin" in text and "DuckDB" in text
    json.dumps(figures)


def test_bench_command_prints_json(districts, tmp_path, capsys):
    districts.to_parquet(tmp_path / "district.parquet")
    assert bench_main(["engine", "--households", "500", "--repeat", "1", "--json", "--boundaries", str(tmp_path)]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["households"] == 500
    assert figures["verification"]["identical"] is True


def test_bench_rejects_tiny_n(districts):
    from geo.errors import EngineInputError

    with pytest.raises(EngineInputError, match="households must be between 100 and inf, got 5"):
        run_bench(5, districts=districts)


def test_bench_mobility_runs_and_reports_every_figure(capsys):
    """``python -m bench mobility`` on a tiny N: every table and the target verdict are printed."""
    assert bench_main(["mobility", "--households", "3000", "--repeat", "1", "--json"]) == 0
    (figures,) = json.loads(capsys.readouterr().out)
    assert figures["households_per_round"] == 3000 and figures["pairs"] > 3000
    assert set(figures["mobility_table"]) == {"province", "district", "subdistrict", "h3 res 5", "h3 res 6",
                                              "h3 res 7", "h3 res 8"}
    assert all(row["rows"] > 0 for row in figures["mobility_table"].values())
    # The H3 cube of each resolution: its size, and where kept its answers equal the plain path's.
    assert set(figures["h3_cube"]) == {"res 5", "res 6", "res 7", "res 8"}
    for row in figures["h3_cube"].values():
        assert row["mb"] > 0 and row["transition_rows"] >= row["rows"] > 0
        assert all(view.get("equal", True) for view in row["views"].values())
        assert all(("cube_s" in view) == row["kept"] for view in row["views"].values())
    assert isinstance(figures["target_met"], bool)


@pytest.fixture()
def households_parquet(districts, tmp_path):
    """A small households file of two rounds: 1,500 households in 2024, 700 in 2023."""
    import pandas as pd

    latest = synthetic_households(1500, districts, seed=2)
    earlier = synthetic_households(700, districts, seed=3)
    earlier["survey_year"] = earlier["survey_year"] - 1
    path = tmp_path / "households.parquet"
    pd.concat([earlier, latest], ignore_index=True).to_parquet(path)
    return path


def test_bench_peers_from_parquet_runs_the_peer_cases_on_its_latest_round(households_parquet, capsys):
    """``--peers-from`` reads the file's latest round, and only the vs_peers cases run, all agreeing."""
    assert bench_main(["engine", "--peers-from", str(households_parquet), "--repeat", "1", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["households"] == 1500
    assert figures["source"]["survey_year"] == 2024
    assert "indexing" not in figures and "verification" not in figures
    peers = figures["vs_peers"]
    assert [row["case"] for row in peers] == ["district", "h3_res8", "district_levels_1_2_not_in_tpmap"]
    for row in peers:
        assert row["agree"] is True and row["households"] == 1500
        assert min(row["engine_ms"], row["duckdb_ms"], row["polars_ms"]) > 0
    assert figures["memory"]["peak_rss_mb"] > 0
    assert len(figures["machine"]["load_average"]) == 3


def test_bench_peers_from_prints_text(households_parquet, capsys):
    assert bench_main(["engine", "--peers-from", str(households_parquet), "--repeat", "1"]) == 0
    text = capsys.readouterr().out
    assert "1,500 households of round 2024" in text and "DuckDB" in text and "load average" in text


def test_bench_peers_from_a_missing_file_is_a_store_error(tmp_path, capsys):
    from bench.engine import run_peers_from
    from geo.errors import StoreError

    with pytest.raises(StoreError, match="cannot read households"):
        run_peers_from(tmp_path / "none.parquet")
    assert bench_main(["engine", "--peers-from", str(tmp_path / "none.parquet")]) != 0
    assert "cannot read households" in capsys.readouterr().err


def test_bench_peers_from_and_households_exclude_each_other(households_parquet):
    with pytest.raises(SystemExit):
        bench_main(["engine", "--peers-from", str(households_parquet), "--households", "500"])


def test_bench_national_report_states_issue_17_targets_and_load_average():
    """``format_report`` of ``python -m bench national``: the 0.3 s filter-change target, cold start and
    memory against 6.7 s / 651 MB, and the load averages, on a made-up report."""
    from bench.national import format_report

    child = {"seconds": 1.0, "peak_mb": 100.0}
    report = {
        "data": "x.parquet", "households": 13_000_000, "cpus": 2, "load_1m": 3.0,
        "load_average": {"start": [3.0, 2.0, 1.0], "end": [4.0, 3.0, 2.0]},
        "generated_now": False, "generate_s": 84.0, "generate_peak_mb": 5000.0, "write_index": child,
        "parquet_mb": 324.0, "index_mb": 1264.0, "index_bytes_per_household": 97.0,
        "startup_persisted": child, "startup_baseline": {**child, "read_seconds": 0.5},
        "household_rows": {**child, "rows": 10, "frame_mb": 1.0},
        "filter_change": [{"mode": "province choropleth", "median_s": 0.2, "max_s": 0.35, "per_filter_s": {"none": 0.35}}],
        "app": {"healthy_s": 1.0, "first_map_s": 5.0, "cold_start_s": 7.0, "rerun_s": [1.0], "peak_mb": 600.0,
                "settled_mb": 550.0, "memory_mb": [[0, 57], [2, 568]]},
    }
    text = format_report(report)
    assert "slowest filter change 0.35 s   target < 0.3 s: MISSES" in text
    assert "no worse than 6.7 s: MISSES" in text and "no worse than 651 MB: meets" in text
    assert "start [3.0, 2.0, 1.0]; end [4.0, 3.0, 2.0]" in text


def test_bench_national_filters_only_states_each_pass_load_and_target():
    """``python -m bench national --filters-only``: every pass with its load average and the 0.3 s target."""
    from bench.national import format_filter_changes

    row = {"mode": "H3, automatic res", "first_draw_s": 0.45, "median_s": 0.2, "max_s": 0.31,
           "per_filter_s": {"none": 0.2, "natural capital in deficit": 0.31}}
    report = {"data": "x.parquet", "households": 13_000_000,
              "passes": [{"load_average": [2.0, 1.5, 1.0], "filter_change": [row], "slowest_s": 0.31},
                         {"load_average": [2.1, 1.6, 1.0], "filter_change": [{**row, "max_s": 0.25}],
                          "slowest_s": 0.25}]}
    text = format_filter_changes(report)
    assert "pass 1 (load average [2.0, 1.5, 1.0]), slowest 0.31 s, target < 0.3 s: MISSES" in text
    assert "pass 2 (load average [2.1, 1.6, 1.0]), slowest 0.25 s, target < 0.3 s: meets" in text
    assert "H3, automatic res" in text and "0.20 0.31" in text
    # The level's first draw is shown apart and is not a filter change (0.45 s is not the slowest).
    assert "(first draw of the level 0.45)" in text
