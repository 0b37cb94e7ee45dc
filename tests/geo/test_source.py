"""Which households the app shows and how they are read (geo.data.source), an officer's scope of
households and pilots (geo.access.roles), and the one position-rounding rule: all without Streamlit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from geo.access.roles import (
    User,
    check_view_scope,
    household_rows,
    households_in_scope,
    pilots_in_scope,
    public_viewer,
    scope_provinces,
)
from geo.data import source
from geo.data.contract import position_text, round_positions
from geo.errors import AccessDenied, ContractError, InputFileError
from geo.views.viewstate import ViewState
from tests.pages import tiny_world

PROVINCE_46 = User("k", "provincial_officer", provinces=("46",))
DISTRICT_4609 = User("d", "district_officer", districts=("4609",))
ADMIN = User("a", "administrator")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny world as ``PPAP_DATA_DIR`` (synthetic sample and pilots, no store), no ``$PPAP_HOUSEHOLDS``."""
    monkeypatch.delenv(source.HOUSEHOLDS_ENV, raising=False)
    monkeypatch.setenv("PPAP_DATA_DIR", str(tmp_path))
    return tiny_world.write_data_dir(tmp_path)


def write_households(path: Path, frame: pd.DataFrame, *, synthetic: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if synthetic:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"synthetic": b"true"})
    pq.write_table(table, path, row_group_size=16)
    return path


def two_rounds() -> pd.DataFrame:
    """The tiny world's 71 households in 2023, and the same households again in 2024."""
    older = tiny_world.households()
    newer = older.copy()
    newer["survey_year"] = newer["survey_year"] + 1
    return pd.concat([older, newer], ignore_index=True)


# ---------------------------------------------------------------------------------------------
# Which file is shown
# ---------------------------------------------------------------------------------------------


def test_the_sample_is_shown_when_there_is_no_store(world):
    shown = source.data_source()
    assert shown == source.DataSource(world / "samples" / "households.parquet", "sample", True,
                                      source.file_signature(world / "samples" / "households.parquet"))
    assert shown.path == source.sample_path()


def test_the_store_is_shown_when_it_holds_households(world):
    store = write_households(source.store_path(), tiny_world.households())
    shown = source.data_source()
    assert (shown.path, shown.kind, shown.synthetic) == (store, "store", False)
    assert shown.signature == source.file_signature(store)


def test_an_empty_store_leaves_the_sample_shown(world):
    write_households(source.store_path(), tiny_world.households().iloc[:0])
    assert source.parquet_rows(source.store_path()) == 0
    assert source.data_source().kind == "sample"


def test_an_unreadable_store_counts_as_empty(world):
    source.store_path().parent.mkdir(parents=True)
    source.store_path().write_text("not parquet", encoding="utf-8")
    assert source.parquet_rows(source.store_path()) == 0
    assert source.data_source().path == source.sample_path()


def test_nothing_is_shown_without_store_or_sample(tmp_path, monkeypatch):
    monkeypatch.delenv(source.HOUSEHOLDS_ENV, raising=False)
    monkeypatch.setenv("PPAP_DATA_DIR", str(tmp_path))
    assert source.data_source() is None


# ---------------------------------------------------------------------------------------------
# The administrator's dataset choice
# ---------------------------------------------------------------------------------------------


def test_an_administrator_chooses_the_dataset_and_every_change_is_logged(world, tmp_path):
    from geo.access.audit import read_audit
    from geo.access.settings import change_dataset

    store = write_households(source.store_path(), tiny_world.households())
    log = tmp_path / "audit.jsonl"
    assert source.dataset_choice() == "auto" and source.data_source().path == store  # the default: imported data
    assert source.available_datasets() == ("sample", "store")
    assert change_dataset(ADMIN, "sample", audit=log) == "auto"
    assert source.settings_path() == world / "settings.json" and source.dataset_choice() == "sample"
    assert source.data_source().path == source.sample_path()
    assert change_dataset(ADMIN, "store", audit=log) == "sample"
    assert source.data_source().path == store
    records = read_audit(ADMIN, path=log, event="setting")
    assert list(zip(records["username"], records["what"])) == [("a", "dataset auto -> sample"),
                                                             ("a", "dataset sample -> store")]


@pytest.mark.parametrize("user", [PROVINCE_46, DISTRICT_4609, User("r", "researcher"), User("v", "viewer"),
                                  public_viewer()])
def test_only_an_administrator_may_choose_the_dataset(world, tmp_path, user):
    from geo.access.settings import change_dataset, may_change_settings

    log = tmp_path / "audit.jsonl"
    with pytest.raises(AccessDenied) as denied:
        change_dataset(user, "sample", audit=log)
    assert denied.value.reason == "setting" and not may_change_settings(user)
    assert not source.settings_path().exists() and not log.exists()


def test_a_chosen_dataset_that_is_missing_falls_back_to_the_other(world):
    assert source.data_source(choice="store").kind == "sample"  # nothing imported yet
    store = write_households(source.store_path(), tiny_world.households())
    source.sample_path().unlink()
    assert source.data_source(choice="sample").path == store
    assert source.available_datasets() == ("store",)


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"dataset": "elsewhere"}'])
def test_a_broken_settings_file_shows_what_auto_shows(world, content):
    source.settings_path().write_text(content, encoding="utf-8")
    assert source.dataset_choice() == "auto"
    assert source.write_dataset_choice("sample") == "auto" and source.dataset_choice() == "sample"


def test_an_unknown_dataset_is_refused(world):
    from geo.errors import ArgumentError

    for bad in ("national", "", None):
        with pytest.raises(ArgumentError, match="auto, sample, store"):
            source.write_dataset_choice(bad)
        if bad is not None:  # None: the saved choice
            with pytest.raises(ArgumentError):
                source.data_source(choice=bad)


def test_the_environment_overrides_the_choice(world, tmp_path, monkeypatch):
    real = write_households(tmp_path / "elsewhere" / "real.parquet", tiny_world.households())
    source.write_dataset_choice("sample")
    monkeypatch.setenv(source.HOUSEHOLDS_ENV, str(real))
    assert source.data_source().path == real and source.dataset_overridden()


def test_the_environment_names_the_file_over_store_and_sample(world, tmp_path, monkeypatch):
    write_households(source.store_path(), tiny_world.households())
    real = write_households(tmp_path / "elsewhere" / "real.parquet", tiny_world.households())
    synthetic = write_households(tmp_path / "elsewhere" / "national.parquet", tiny_world.households(),
                                 synthetic=True)
    monkeypatch.setenv(source.HOUSEHOLDS_ENV, str(real))
    assert (source.data_source().path, source.data_source().kind) == (real, "store")
    monkeypatch.setenv(source.HOUSEHOLDS_ENV, str(synthetic))
    shown = source.data_source()
    assert (shown.path, shown.kind, shown.synthetic) == (synthetic, "sample", True)
    # An explicit mapping instead of os.environ; an empty value is no override.
    assert source.data_source({source.HOUSEHOLDS_ENV: str(real)}).path == real
    assert source.data_source({source.HOUSEHOLDS_ENV: ""}).path == source.store_path()


def test_an_environment_naming_no_file_is_an_error(world, tmp_path, monkeypatch):
    monkeypatch.setenv(source.HOUSEHOLDS_ENV, str(tmp_path / "missing.parquet"))
    with pytest.raises(InputFileError, match="PPAP_HOUSEHOLDS=.*missing.parquet: no such file"):
        source.data_source()


def test_the_row_count_and_synthetic_flag_are_the_callers(world):
    write_households(source.store_path(), tiny_world.households())
    asked = []
    shown = source.data_source(row_count=lambda p: asked.append(p) or 0, synthetic=lambda p: False)
    assert asked == [source.store_path()]  # the store was asked about, found empty: the sample
    assert (shown.kind, shown.synthetic) == ("sample", False)


# ---------------------------------------------------------------------------------------------
# How it is read
# ---------------------------------------------------------------------------------------------


def test_only_the_latest_round_is_read(tmp_path):
    path = write_households(tmp_path / "households.parquet", two_rounds())
    frame, latest = source.read_latest_round(path)
    assert latest == 2024
    assert len(frame) == 71 and set(frame["survey_year"]) == {2024}
    assert list(frame.index) == list(range(71))


def test_a_province_scope_reads_only_its_provinces(tmp_path):
    path = write_households(tmp_path / "households.parquet", two_rounds())
    frame, latest = source.read_latest_round(path, provinces=("34",), columns=["household_id", "province_code"])
    assert latest == 2024
    assert list(frame.columns) == ["household_id", "province_code"]
    assert len(frame) == 12 and set(frame["province_code"]) == {"34"}


def test_a_file_without_households_is_an_error(tmp_path):
    empty = write_households(tmp_path / "households.parquet", tiny_world.households().iloc[:0])
    with pytest.raises(InputFileError, match="holds no households"):
        source.read_latest_round(empty)
    with pytest.raises(InputFileError, match="cannot read"):
        source.read_latest_round(tmp_path / "missing.parquet")


def test_read_source_brings_metadata_and_the_pilots_beside_the_file(world, tmp_path):
    read = source.read_source(source.sample_path())
    assert (len(read.frame), read.survey_year) == (71, 2023)
    assert read.metadata["synthetic"] is True and read.metadata["seed"] == 7
    assert list(read.pilots["pilot_id"]) == ["P1", "P2"]
    assert source.read_source(source.sample_path(), with_pilots=False).pilots is None
    # A file with its own pilots.csv gets those; one without gets the sample's.
    own = write_households(tmp_path / "own" / "households.parquet", tiny_world.households())
    tiny_world.pilots().iloc[:1].to_csv(own.with_name("pilots.csv"), index=False)
    assert list(source.pilots_beside(own)["pilot_id"]) == ["P1"]
    other = write_households(tmp_path / "other" / "households.parquet", tiny_world.households())
    assert list(source.read_source(other).pilots["pilot_id"]) == ["P1", "P2"]
    assert source.read_source(other).metadata == {}


def test_pilots_missing_or_broken(tmp_path):
    none = source.read_pilots(tmp_path / "pilots.csv")
    assert none.empty and "pilot_id" in none.columns
    (tmp_path / "pilots.csv").write_bytes(b"pilot_id,name_th\n\xff\xfe,\xfa\n")  # not UTF-8
    with pytest.raises(InputFileError, match="cannot read the pilots"):
        source.read_pilots(tmp_path / "pilots.csv")
    (tmp_path / "pilots.csv").write_text("pilot_id\nP9\n", encoding="utf-8")
    with pytest.raises(ContractError, match="missing required columns"):
        source.read_pilots(tmp_path / "pilots.csv")


def test_metadata_of_an_unreadable_file_is_empty(tmp_path):
    (tmp_path / "x.parquet").write_text("no", encoding="utf-8")
    assert source.metadata_of(tmp_path / "x.parquet") == {}
    assert source.metadata_of(tmp_path / "missing.parquet") == {}


# ---------------------------------------------------------------------------------------------
# An officer's scope
# ---------------------------------------------------------------------------------------------


def test_the_provinces_a_scoped_read_needs():
    assert scope_provinces(ADMIN) is None and scope_provinces(public_viewer()) is None
    assert scope_provinces(PROVINCE_46) == ("46",)
    assert scope_provinces(User("d", "district_officer", districts=("4609", "3401", "4601"))) == ("34", "46")


def test_officers_hold_only_their_households():
    frame = tiny_world.households()
    assert len(households_in_scope(frame, ADMIN)) == 71
    mine = households_in_scope(frame, PROVINCE_46)
    assert len(mine) == 59 and set(mine["province_code"]) == {"46"}
    assert list(mine.index) == list(range(59))
    district = households_in_scope(frame, DISTRICT_4609)
    assert len(district) == 29 and set(district["district_code"]) == {"4609"}
    assert list(district.columns) == list(frame.columns)  # narrowed, not trimmed


def test_officers_hold_only_their_pilots():
    pilots = tiny_world.pilots()
    assert list(pilots_in_scope(pilots, ADMIN)["pilot_id"]) == ["P1", "P2"]
    assert list(pilots_in_scope(pilots, PROVINCE_46)["pilot_id"]) == ["P1"]
    assert list(pilots_in_scope(pilots, User("d", "district_officer", districts=("4601",)))["pilot_id"]) == ["P1"]
    assert pilots_in_scope(pilots, DISTRICT_4609).empty
    assert list(pilots_in_scope(pilots, User("u", "district_officer", districts=("3401",))).index) == [0]


def test_a_scoped_read_and_narrowing_give_exactly_the_scope(world):
    read = source.read_source(source.sample_path(), provinces=scope_provinces(DISTRICT_4609))
    assert set(read.frame["province_code"]) == {"46"}
    assert set(households_in_scope(read.frame, DISTRICT_4609)["district_code"]) == {"4609"}


def test_a_view_outside_the_scope_is_denied():
    check_view_scope(ViewState(area="4609"), PROVINCE_46)
    check_view_scope(ViewState(provinces=("46",)), PROVINCE_46)
    check_view_scope(ViewState(area="340101"), ADMIN)
    for view in (ViewState(area="34"), ViewState(area="340101"), ViewState(provinces=("34",))):
        with pytest.raises(AccessDenied) as denied:
            check_view_scope(view, PROVINCE_46)
        assert denied.value.reason == "scope"
    with pytest.raises(AccessDenied):
        check_view_scope(ViewState(area="460101"), DISTRICT_4609)
    check_view_scope(ViewState(area="460901"), DISTRICT_4609)


# ---------------------------------------------------------------------------------------------
# Position rounding, in one place
# ---------------------------------------------------------------------------------------------


def test_positions_round_the_same_for_numbers_and_text():
    numbers = pd.Series([16.433125, 103.25049, None])
    assert round_positions(numbers, 3).tolist() == [16.433, 103.25, pd.NA]
    assert round_positions(pd.Series(["16.433125", " 103.25049 ", "n/a"]), 3).tolist() == [16.433, 103.25, pd.NA]
    assert position_text(pd.Series(["16.433125", "103.2", "", None, "x"]), 3).tolist() == [
        "16.433", "103.200", "", "", ""]


def test_household_rows_and_rejects_share_the_rounding():
    from geo.ingest.pipeline import ImportResult, round_reject_positions

    frame = tiny_world.households()
    rows = household_rows(frame, PROVINCE_46)
    decimals = PROVINCE_46.capabilities.position_decimals
    mine = households_in_scope(frame, PROVINCE_46)
    assert rows["lat"].tolist() == round_positions(mine["lat"], decimals).tolist()
    assert household_rows(frame, ADMIN)["lat"].tolist() == frame["lat"].tolist()  # exact for administrators

    rejects = pd.DataFrame({"file": ["a.csv"] * 2, "row": [1, 2], "reason_codes": ["x", "x"],
                            "reasons_th": ["", ""], "reasons_en": ["", ""],
                            "Latitude": ["16.4331251", "abc"], "lon": ["103.250499", ""], "members": ["3.14159", "2"]})
    result = ImportResult(households=frame.iloc[:0], rows=pd.DataFrame(), rejects=rejects, files=[],
                          mode="append", imported_at="2026-01-01T00:00:00+00:00")
    rounded = round_reject_positions(result, decimals)
    assert rounded.rejects["Latitude"].tolist() == ["16.433", ""]
    assert rounded.rejects["lon"].tolist() == ["103.250", ""]
    assert rounded.rejects["members"].tolist() == ["3.14159", "2"]  # not a position: as sent
    assert result.rejects["Latitude"].tolist() == ["16.4331251", "abc"]  # the result itself is unchanged
    assert round_reject_positions(result, ADMIN.capabilities.position_decimals) is result
