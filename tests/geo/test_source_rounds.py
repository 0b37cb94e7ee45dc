"""Any survey round of a households file (geo.data.source.read_round, read_rounds, read_source)
and a persisted index asked for a round it does not hold (geo.engine.persist.read_index)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from geo.data import source
from geo.engine.persist import read_index, write_index
from geo.errors import InputFileError
from tests.geo.test_source import two_rounds, world, write_households  # noqa: F401 (fixture "world")
from tests.pages import tiny_world


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return write_households(tmp_path / "households.parquet", two_rounds())  # 2023 and 2024


def test_the_rounds_of_a_file(path, tmp_path):
    assert source.file_rounds(path) == (2023, 2024)
    with pytest.raises(InputFileError, match="cannot read"):
        source.file_rounds(tmp_path / "missing.parquet")


@pytest.mark.parametrize("asked, read", [(2023, 2023), (2024, 2024), (None, 2024), (2019, 2024)])
def test_one_round_is_read_the_latest_unless_another_is_held(path, asked, read):
    frame, year = source.read_round(path, asked)
    assert year == read and len(frame) == 71 and set(frame["survey_year"]) == {read}
    assert list(frame.index) == list(range(71))


def test_a_round_with_a_province_scope_and_columns(path):
    frame, year = source.read_round(path, 2023, provinces=("34",), columns=["household_id", "province_code"])
    assert year == 2023 and list(frame.columns) == ["household_id", "province_code"] and len(frame) == 12


def test_several_rounds_at_once(path):
    both = source.read_rounds(path, [2024, 2023], columns=["household_id"])
    assert list(both.columns) == ["household_id", "survey_year"]
    assert both.groupby("survey_year").size().to_dict() == {2023: 71, 2024: 71}
    assert len(source.read_rounds(path, [2023, 2019], provinces=("46",))) == 59
    assert source.read_rounds(path, [2019]).empty


def test_read_source_names_the_round_and_every_round(path):
    read = source.read_source(path, survey_year=2023, with_pilots=False)
    assert (read.survey_year, read.rounds, len(read.frame)) == (2023, (2023, 2024), 71)
    assert source.read_source(path, with_pilots=False).survey_year == 2024


def test_every_round_has_a_persisted_index(path):
    write_index(path)
    assert read_index(path, survey_year=2024)[1]["survey_year"] == 2024
    assert read_index(path)[0].n == 71
    earlier, meta = read_index(path, survey_year=2023)  # a round change maps that round's index
    assert meta["survey_year"] == 2023 and earlier.n == len(pd.read_parquet(path, filters=[("survey_year", "=", 2023)]))
    assert read_index(path, survey_year=2022) is None


def test_the_tiny_world_with_two_rounds(tmp_path):
    tiny_world.write_data_dir(tmp_path, rounds=2)
    assert source.file_rounds(tmp_path / "samples" / "households.parquet") == (2021, 2023)
