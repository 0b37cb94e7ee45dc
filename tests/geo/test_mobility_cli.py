"""Tests for ``python -m geo mobility`` and ``python -m geo pilot-impact`` (``geo.cli.mobility``)."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from geo import cli
from geo.engine.mobility import MOBILITY_COLUMNS
from geo.engine.pilot_impact import PILOT_IMPACT_COLUMNS
from tests.support.rounds import two_rounds


@pytest.fixture(scope="module")
def households():
    return two_rounds(2000, seed=7)


@pytest.fixture
def files(tmp_path, households):
    both = tmp_path / "both.parquet"
    households.to_parquet(both)
    early, late = tmp_path / "r2021.csv", tmp_path / "r2023.parquet"
    households[households["survey_year"] == 2021].to_csv(early, index=False)
    households[households["survey_year"] == 2023].to_parquet(late)
    return both, early, late


def run(args, capsys):
    code = cli.main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_mobility_writes_the_contract_columns(files, capsys):
    both, _, _ = files
    code, out, err = run(["mobility", "--input", str(both), "--from", "2021", "--to", "2023", "--by", "district",
                          "--format", "csv", "--out", "-"], capsys)
    assert code == 0 and "followed" in err and "public release" in err
    table = pd.read_csv(io.StringIO(out), dtype={"code": str})
    assert list(table.columns) == ["code", *MOBILITY_COLUMNS]
    assert table["code"].tolist() == ["3401", "4602", "4609"]


def test_rounds_in_several_files_and_years_in_buddhist_era_give_the_same_table(files, capsys, tmp_path):
    both, early, late = files
    outputs = []
    for inputs, years in (([both], ["2021", "2023"]), ([early, late], ["2564", "2566"])):
        out = tmp_path / f"out{len(outputs)}.parquet"
        args = ["mobility", *[a for f in inputs for a in ("--input", str(f))], "--from", years[0], "--to", years[1],
                "--by", "h3", "--res", "7", "--format", "parquet", "--out", str(out)]
        assert run(args, capsys)[0] == 0
        outputs.append(pd.read_parquet(out))
    pd.testing.assert_frame_equal(outputs[0], outputs[1])
    assert outputs[0].columns[0] == "h3_cell" and isinstance(outputs[0]["h3_cell"].iloc[0], str)


def test_exact_release_with_k_1_is_conserved(files, capsys):
    both, _, _ = files
    code, out, _ = run(["mobility", "--input", str(both), "--from", "2021", "--to", "2023", "--by", "province",
                        "--exact", "--min-count", "1", "--format", "csv", "--out", "-"], capsys)
    table = pd.read_csv(io.StringIO(out), dtype={"code": str})
    assert code == 0
    assert (table["followed"] + table["new"] == table["households_to"]).all()
    assert (table["followed"] + table["not_found"] == table["households_from"]).all()


def test_pilot_impact_writes_one_row_per_pilot_and_capital(files, capsys):
    both, _, _ = files
    code, out, err = run(["pilot-impact", "--input", str(both), "--from", "2564", "--to", "2023",
                          "--format", "csv", "--out", "-"], capsys)
    assert code == 0 and "not proof of cause" in err
    table = pd.read_csv(io.StringIO(out))
    assert list(table.columns) == list(PILOT_IMPACT_COLUMNS)
    assert len(table) % 5 == 0 and {"P01", "P02"} <= set(table["pilot_id"])


@pytest.mark.parametrize("args, message", [
    (["--from", "2020", "--to", "2023"], "survey round 2020"),
    (["--from", "2023", "--to", "2021"], "earlier round must come before"),
    (["--from", "20x1", "--to", "2023"], "a survey round is a year"),
])
def test_a_bad_round_is_one_line_and_exit_code_2(files, capsys, args, message):
    both, _, _ = files
    for command in (["mobility", "--by", "district"], ["pilot-impact"]):
        code, _, err = run([*command, "--input", str(both), *args, "--format", "csv", "--out", "-"], capsys)
        assert code == 2 and message in err and "Traceback" not in err


def test_a_missing_file_or_an_empty_store_is_exit_code_2(tmp_path, capsys, monkeypatch):
    code, _, err = run(["mobility", "--input", str(tmp_path / "none.parquet"), "--from", "2021", "--to", "2023",
                        "--by", "district", "--format", "csv", "--out", "-"], capsys)
    assert code == 2 and "does not exist" in err
    monkeypatch.setenv("PPAP_DATA_DIR", str(tmp_path))
    code, _, err = run(["mobility", "--from", "2021", "--to", "2023", "--by", "district", "--format", "csv",
                        "--out", "-"], capsys)
    assert code == 2 and "store" in err


def test_without_input_the_store_is_read(tmp_path, capsys, monkeypatch, households):
    (tmp_path / "store").mkdir()
    households.to_parquet(tmp_path / "store" / "households.parquet")
    monkeypatch.setenv("PPAP_DATA_DIR", str(tmp_path))
    code, out, _ = run(["mobility", "--from", "2021", "--to", "2023", "--by", "province", "--format", "csv",
                        "--out", "-"], capsys)
    assert code == 0 and len(pd.read_csv(io.StringIO(out))) == 2
