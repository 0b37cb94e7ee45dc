"""Tests for ``python -m geo aggregate`` and ``python -m geo verify`` (``geo.cli.engine``)."""

from __future__ import annotations

import io
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from geo import cli
from geo.synth.households import random_households


@pytest.fixture
def households_file(tmp_path):
    frame = random_households(600, seed=5, cluster_km=0.3)
    path = tmp_path / "households.parquet"
    frame.to_parquet(path)
    return path


@pytest.fixture
def boundaries_dir(tmp_path):
    folder = tmp_path / "boundaries"
    folder.mkdir()
    squares = {
        "province": (["46", "34"], [box(103.0, 16.0, 104.0, 17.0), box(104.0, 15.0, 105.0, 16.0)]),
        "district": (["4609", "4602", "3401"],
                     [box(103.0, 16.0, 103.5, 17.0), box(103.5, 16.0, 104.0, 17.0), box(104.0, 15.0, 105.0, 16.0)]),
        "subdistrict": (["460901", "460902", "460201", "460202", "340101"],
                        [box(103.0, 16.0, 103.5, 16.5), box(103.0, 16.5, 103.5, 17.0), box(103.5, 16.0, 104.0, 16.5),
                         box(103.5, 16.5, 104.0, 17.0), box(104.0, 15.0, 105.0, 16.0)]),
    }
    for level, (codes, geoms) in squares.items():
        gpd.GeoDataFrame({"code": codes, "parent_code": [c[:-2] or None for c in codes],
                          "name_th": codes, "name_en": codes}, geometry=geoms, crs="EPSG:4326").to_parquet(
            folder / f"{level}.parquet")
    return folder


def run(args, capsys):
    code = cli.main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_aggregate_csv_to_stdout(households_file, capsys):
    code, out, err = run(["aggregate", "--input", str(households_file), "--by", "district", "--format", "csv",
                          "--out", "-"], capsys)
    assert code == 0
    table = pd.read_csv(io.StringIO(out), dtype={"code": str, "households": str})
    assert list(table.columns[:3]) == ["code", "households", "people"]
    assert table["code"].tolist() == ["3401", "4602", "4609"]
    assert "areas" in err


def test_aggregate_h3_csv_suppresses_small_cells(households_file, tmp_path, capsys):
    out_path = tmp_path / "h3.csv"
    code, _, _ = run(["aggregate", "--input", str(households_file), "--by", "h3", "--res", "9", "--format", "csv",
                      "--exact", "--out", str(out_path)], capsys)
    assert code == 0
    table = pd.read_csv(out_path, dtype={"h3_cell": str, "households": str})
    assert table.columns[0] == "h3_cell" and table["h3_cell"].str.fullmatch(r"89[0-9a-f]{13}").all()
    shown = table["households"]
    assert shown.isin(["<10", "suppressed"]).any()
    numbers = pd.to_numeric(shown, errors="coerce")
    assert ((numbers.dropna() >= 10) | (numbers.dropna() == 0)).all()
    hidden = ~shown.str.fullmatch(r"\d+")
    assert table.loc[hidden, "people"].isna().all() and table.loc[hidden, "af_mpi"].isna().all()


def test_default_output_is_the_public_release(households_file, capsys):
    """Without --exact the CLI writes what a public viewer sees: counts perturbed by cell key (within
    MAX_NOISE of the truth), no area under 10, withheld areas left out."""
    from geo.engine.cellkey import MAX_NOISE

    args = ["aggregate", "--input", str(households_file), "--by", "h3", "--res", "8", "--format", "csv", "--out", "-"]
    code, out, err = run(args, capsys)
    assert code == 0 and "public release" in err
    public = pd.read_csv(io.StringIO(out), dtype={"h3_cell": str})
    _, exact_out, _ = run(args[:-2] + ["--exact", "--min-count", "1", "--out", "-"], capsys)
    exact = pd.read_csv(io.StringIO(exact_out), dtype={"h3_cell": str}).set_index("h3_cell")
    assert len(public) < len(exact) and (public["households"] >= 10).all()
    true = exact.loc[public["h3_cell"], "households"].to_numpy()
    assert (abs(public["households"].to_numpy() - true) <= MAX_NOISE).all()
    assert not any(c.startswith("ckey_") for c in public.columns)


def test_min_count_1_turns_suppression_off(households_file, capsys):
    code, out, _ = run(["aggregate", "--input", str(households_file), "--by", "h3", "--res", "10", "--min-count", "1",
                        "--exact", "--format", "csv", "--out", "-"], capsys)
    table = pd.read_csv(io.StringIO(out))
    assert table["households"].sum() == 600
    assert table["households"].min() >= 1


def test_aggregate_filters_and_rollup_geojson(households_file, capsys):
    code, out, _ = run(["aggregate", "--input", str(households_file), "--by", "h3", "--res", "8", "--rollup",
                        "--level", "1,2", "--tpmap", "no", "--exact", "--format", "geojson", "--out", "-"], capsys)
    assert code == 0
    features = json.loads(out)["features"]
    assert features and all(f["geometry"]["type"] == "Polygon" for f in features)
    props = pd.DataFrame([f["properties"] for f in features])
    frame = pd.read_parquet(households_file)
    expected = int((frame["poverty_level"].isin([1, 2]) & ~frame["in_tpmap"]).sum())
    visible = props["households"].dropna()
    assert 0 < visible.sum() <= expected and (visible >= 10).all()


def test_aggregate_geojson_with_boundaries(households_file, boundaries_dir, tmp_path, capsys):
    out_path = tmp_path / "districts.geojson"
    code, _, _ = run(["aggregate", "--input", str(households_file), "--by", "district", "--boundaries",
                      str(boundaries_dir), "--format", "geojson", "--out", str(out_path)], capsys)
    assert code == 0
    layer = gpd.read_file(out_path)
    assert layer["code"].tolist() == ["3401", "4602", "4609"]
    assert layer["name_en"].tolist() == ["3401", "4602", "4609"]
    assert layer.geometry.notna().all()


def test_aggregate_parquet(households_file, tmp_path, capsys):
    out_path = tmp_path / "sub.parquet"
    assert cli.main(["aggregate", "--input", str(households_file), "--by", "subdistrict", "--format", "parquet",
                     "--out", str(out_path)]) == 0
    table = pd.read_parquet(out_path)
    assert {"code", "households", "households_shown", "suppression"} <= set(table.columns)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "district", "--level", "9"], "levels must hold integers from [1, 2, 3, 4], got [9]"),
        (["--by", "district", "--province", "4"], "provinces must be 2-digit DOPA codes"),
        (["--by", "district", "--min-count", "0"], "k must be between 1 and inf, got 0"),
    ],
)
def test_aggregate_errors_are_one_line(households_file, capsys, args, message):
    code, _, err = run(["aggregate", "--input", str(households_file), "--format", "csv", "--out", "-", *args], capsys)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_aggregate_rejects_unknown_input(tmp_path, capsys):
    path = tmp_path / "households.txt"
    path.write_text("x")
    code, _, err = run(["aggregate", "--input", str(path), "--by", "district", "--format", "csv", "--out", "-"], capsys)
    assert code == 2 and "--input must be a .parquet or .csv file" in err


def test_verify_writes_mismatches(households_file, boundaries_dir, tmp_path, capsys):
    out_path = tmp_path / "problems.csv"
    code, _, err = run(["verify", "--input", str(households_file), "--out", str(out_path), "--boundaries",
                        str(boundaries_dir)], capsys)
    assert code == 0
    problems = pd.read_csv(out_path, dtype={"declared_code": str, "located_code": str})
    frame = pd.read_parquet(households_file)
    # random_households draws positions independently of codes, so many are outside
    assert set(problems["status"]) <= {"outside_declared", "declared_unknown", "assigned", "no_position"}
    outside = problems[(problems["level"] == "district") & (problems["status"] == "outside_declared")]
    assert len(outside) > 0 and (outside["distance_m"] > 0).all()
    assert set(outside["household_id"]) <= set(frame["household_id"])
    assert "households checked" in err
    assert np.isfinite(outside["distance_m"]).all()
