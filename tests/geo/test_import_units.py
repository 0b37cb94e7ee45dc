"""The importer's parts: cell parsers, areas, positions, IDs, spreadsheets, the store, the CLI."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from shapely.geometry import box

from geo.data.contract import HEADER_ALIASES, HOUSEHOLD_COLUMN_NAMES, HOUSEHOLD_DTYPES
from geo.errors import InputFileError, PPAPError
from geo.ingest import import_households, rejects_to_bytes, save_import
from geo.ingest.areas import code_from_text, resolve_area
from geo.ingest.positions import positions_outside_district, read_positions
from geo.ingest.read import decode_text, is_plausible_thai, match_header, sniff_format
from geo.ingest.reasons import REASONS
from geo.ingest.values import (
    parse_boolean,
    parse_level,
    parse_number,
    parse_status,
    parse_village,
    parse_whole_number,
    parse_year,
)
from geo.data.national_id import (
    ID_HASH_KEY_ENV,
    hash_national_id,
    id_hash_key,
    is_valid_national_id,
    mask_national_id,
)
from geo.errors import IdKeyError
from geo.data.spreadsheet import neutralise_cell, neutralise_frame, to_csv_bytes, to_xlsx_bytes, write_table
from geo.data.store import load_households, load_provenance, save_households
from geo.errors import StoreError

REPO = Path(__file__).resolve().parent.parent.parent
CORPUS = REPO / "tests" / "fixtures" / "import_corpus"
NOW = dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc)
KEY = "unit-test-key-0123456789"
VALID_ID = "1101700203450"


# ---------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234,567.50", 1234567.5), ("๑๒,๐๐๐", 12000.0), ("12 000", 12000.0), ("฿8,500", 8500.0),
        ("25000 บาท", 25000.0), ("-3.5", -3.5), ("\u22122", -2.0), (" 16.7 ", 16.7), ("1e3", 1000.0),
    ],
)
def test_numbers(text, expected):
    assert parse_number(text) == (expected, None)


@pytest.mark.parametrize("text", ["2,5", "1,23", "abc", "nan", "inf", "1_000", "16°42'N", "--1", "1.2.3"])
def test_not_numbers(text):
    assert parse_number(text) == (None, "not_a_number")


def test_whole_numbers_and_villages():
    assert parse_whole_number("๔ คน") == (4, None)
    assert parse_whole_number("4.0") == (4, None)
    assert parse_whole_number("4.5") == (None, "not_a_whole_number")
    assert [parse_village(t)[0] for t in ("5", "หมู่ 5", "หมู่ที่ ๕", "ม.5", "Moo 5")] == [5] * 5


@pytest.mark.parametrize(
    ("text", "year"),
    [("2567", 2024), ("๒๕๖๗", 2024), ("15/06/2567", 2024), ("2567-06-15", 2024), ("พ.ศ. 2566", 2023),
     ("2024", 2024), ("ค.ศ. 2024", 2024), ("มิ.ย. ๒๕๖๗", 2024), ("2024-06-15 00:00:00", 2024)],
)
def test_years(text, year):
    assert parse_year(text) == (year, None)


@pytest.mark.parametrize("text", ["67", "2566-2567", "ปีนี้", "12345"])
def test_bad_years(text):
    assert parse_year(text) == (None, "bad_year")


@pytest.mark.parametrize(
    ("text", "value"),
    [("ใช่", True), ("ไม่ใช่", False), ("มี", True), ("ไม่มี", False), ("1", True), ("0", False),
     ("TRUE", True), ("false", False), ("✓", True), ("✔", True), ("Yes", True), ("no", False)],
)
def test_booleans(text, value):
    assert parse_boolean(text) == (value, None)


@pytest.mark.parametrize(
    ("text", "status"),
    [("ช่วยเหลือแล้ว", "helped"), ("อยู่ระหว่างดำเนินการ", "in_progress"), ("แก้ไขได้ด้วยตนเอง", "self_resolved"),
     ("ส่งต่อ", "referred"), ("ส่งต่อแล้ว", "referred"), ("", "none"), ("ไม่มี", "none"), ("-", "none"),
     ("In progress", "in_progress"), ("self_resolved", "self_resolved")],
)
def test_statuses(text, status):
    assert parse_status(text) == (status, None)


def test_levels():
    assert [parse_level(t)[0] for t in ("1", "ระดับ 2", "อยู่พอได้", "พออยู่ได้", "Well", "๔")] == [1, 2, 3, 3, 4, 4]
    assert parse_level("5") == (None, "level_out_of_range")
    assert parse_level("2.5") == (None, "level_out_of_range")


def test_headers_every_alias_and_contract_name_is_recognised():
    for column, aliases in HEADER_ALIASES.items():
        for alias in aliases:
            assert match_header(alias) == column
            assert match_header(f" {alias.upper()} (หน่วย) ") == column
    for column in HOUSEHOLD_COLUMN_NAMES:
        assert match_header(column) == column


# ---------------------------------------------------------------------------------------------
# Areas
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "column", "parent", "code"),
    [
        ("46", "province_code", None, "46"), ("TH46", "province_code", None, "46"),
        ("จ.กาฬสินธุ์", "province_code", None, "46"), ("Kalasin Province", "province_code", None, "46"),
        ("กทม", "province_code", None, "10"), ("TH4609", "district_code", None, "4609"),
        ("46090000", "district_code", None, "4609"), ("๔๖๐๙", "district_code", None, "4609"),
        ("อ. สหัสขันธ์", "district_code", "46", "4609"), ("Amphoe Na Mon", "district_code", None, "4602"),
        ("อ.เมือง", "district_code", "46", "4601"), ("Mueang", "district_code", "46", "4601"),
        ("เขตบางรัก", "district_code", None, "1004"), ("ต.โนนบุรี", "subdistrict_code", "4609", "460907"),
        ("แขวงสีลม", "subdistrict_code", "1004", "100402"), ("หนองบัว", "subdistrict_code", "4602", "460205"),
        ("46090700", "subdistrict_code", None, "460907"), ("4609 สหัสขันธ์", "district_code", None, "4609"),
    ],
)
def test_areas_resolve(text, column, parent, code):
    assert resolve_area(text, column, parent).code == code


@pytest.mark.parametrize(
    ("text", "column", "parent", "error"),
    [
        ("99", "province_code", None, "unknown_province"), ("123", "district_code", None, "bad_code"),
        ("หนองบัว", "subdistrict_code", None, "ambiguous_name"), ("เมือง", "district_code", None, "ambiguous_name"),
        ("สหัสขันธ์", "district_code", "30", "unknown_district"), ("!!!", "province_code", None, "bad_code"),
        ("4699", "district_code", None, "unknown_district"),
    ],
)
def test_areas_refuse(text, column, parent, error):
    result = resolve_area(text, column, parent)
    assert result.code is None and result.error == error


def test_code_from_text_leaves_names_alone():
    assert code_from_text("สหัสขันธ์", "district_code") is None
    assert code_from_text("460", "district_code") == ""


# ---------------------------------------------------------------------------------------------
# Positions
# ---------------------------------------------------------------------------------------------


def test_read_positions_classifies_every_case():
    lat = pd.Series(["16.7", "103.55", "0", "", "16.7", "N/A", "35.68", "๑๖.๗"])
    lon = pd.Series(["103.55", "16.7", "0", "", "", "103.5", "139.69", "๑๐๓.๕๕"])
    out = read_positions(lat, lon)
    assert out["problem"].tolist() == [None, "latlon_swapped", "position_zero", "position_missing",
                                       "position_missing", "position_not_number", "position_outside_thailand", None]
    assert out.loc[1, "lat"] == 16.7 and out.loc[1, "lon"] == 103.55
    assert out["lat"].isna().tolist() == [False, False, True, True, True, True, True, False]


@pytest.fixture
def squares() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["4609", "4602"]},
        geometry=[box(103.40, 16.60, 103.70, 16.90), box(103.75, 16.50, 104.00, 16.70)],
        crs="EPSG:4326",
    )


@pytest.mark.parametrize(
    ("lat", "lon", "district", "outside"),
    [
        (16.70, 103.55, "4609", False),  # inside
        (16.60, 103.55, "4609", False),  # on the border counts as inside
        (16.60, 103.85, "4609", True),  # in the neighbour
        (10.00, 100.00, "4609", True),  # in no district at all
        (np.nan, np.nan, "4609", None),  # no position
        (16.70, 103.55, "4699", None),  # district without a boundary
        (16.70, 103.55, None, None),  # no district
    ],
)
def test_positions_outside_district(squares, lat, lon, district, outside):
    households = pd.DataFrame({"lat": [lat], "lon": [lon], "district_code": pd.Series([district], dtype=object)})
    result = positions_outside_district(households, squares)
    assert (pd.isna(result.iloc[0]) if outside is None else bool(result.iloc[0]) is outside)


def test_positions_outside_district_converts_crs(squares):
    households = pd.DataFrame({"lat": [16.60], "lon": [103.85], "district_code": ["4609"]})
    assert positions_outside_district(households, squares.to_crs(32648)).tolist() == [True]


def test_positions_within_the_boundaries_tolerance_are_not_flagged(squares):
    # 103.72 is 0.02 degrees (about 2.1 km at 16.7 N) east of district 4609's edge at 103.70
    households = pd.DataFrame({"lat": [16.70, 16.70], "lon": [103.72, 103.80], "district_code": ["4609", "4609"]})
    assert positions_outside_district(households, squares).tolist() == [True, True]
    assert positions_outside_district(households, squares, tolerance_m=2_500).tolist() == [False, True]
    tolerant = squares.copy()
    tolerant.attrs["tolerance_m"] = 2_500.0  # as load_boundaries sets it from the manifest
    assert positions_outside_district(households, tolerant).tolist() == [False, True]
    assert positions_outside_district(households, tolerant, tolerance_m=0).tolist() == [True, True]
    with pytest.raises(ValueError, match="tolerance_m"):
        positions_outside_district(households, squares, tolerance_m=-1)


def test_positions_outside_district_checks_columns(squares):
    with pytest.raises(ValueError, match="district_code"):
        positions_outside_district(pd.DataFrame({"lat": [1.0], "lon": [1.0]}), squares)


# ---------------------------------------------------------------------------------------------
# Reading files
# ---------------------------------------------------------------------------------------------


def test_decode_text_prefers_utf8_then_cp874():
    thai = "รหัสครัวเรือน,ทุนมนุษย์"
    assert decode_text(thai.encode("utf-8")) == (thai, "utf-8")
    assert decode_text(thai.encode("utf-8-sig")) == (thai, "utf-8-sig")
    assert decode_text(thai.encode("cp874")) == (thai, "cp874")
    with pytest.raises(InputFileError, match="encoding"):
        decode_text("Crème brûlée".encode("cp1252"), "menu.csv")


def test_plausible_thai():
    assert is_plausible_thai("ช่วยเหลือแล้ว แก้ไขได้ด้วยตนเอง")
    assert not is_plausible_thai("x\u0e49y\u0e48z")


@pytest.mark.parametrize(
    ("data", "kind"), [(b"PK\x03\x04rest", "xlsx"), (b"PAR1....PAR1", "parquet"), (b"a,b\n1,2", "csv")]
)
def test_sniff_format(data, kind):
    assert sniff_format(data) == kind


def test_sources_can_be_paths_pairs_or_uploads(tmp_path):
    data = (CORPUS / "good_en.csv").read_bytes()

    class Upload(io.BytesIO):
        name = "upload.csv"

    for source in (CORPUS / "good_en.csv", str(CORPUS / "good_en.csv"), ("x.csv", data), Upload(data)):
        result = import_households(source, now=NOW)
        assert result.accepted == 3
    with pytest.raises(InputFileError, match="not found"):
        import_households([tmp_path / "missing.csv"])
    with pytest.raises(ValueError, match="mode"):
        import_households([("x.csv", data)], mode="merge")
    with pytest.raises(TypeError, match="files"):
        import_households([42])


def test_several_files_at_once_share_duplicates_and_hashes():
    data = (CORPUS / "good_en.csv").read_bytes()
    other = (CORPUS / "updates_stored_household.csv").read_bytes()
    result = import_households([("a.csv", data), ("b.csv", data), ("c.csv", other)], now=NOW)
    statuses = [f.status for f in result.files]
    assert statuses == ["read", "already_imported", "read"]
    codes = result.reason_counts()
    assert codes == {"duplicate_household": 1}
    message = next(r for rs in result.rows["reasons"] for r in rs).message_en
    assert "row 1 of a.csv" in message


# ---------------------------------------------------------------------------------------------
# National IDs
# ---------------------------------------------------------------------------------------------


def test_hash_is_keyed_and_stable():
    assert hash_national_id(VALID_ID, KEY) == hash_national_id("1-1017-00203-45-0", KEY)
    assert hash_national_id(VALID_ID, KEY) != hash_national_id(VALID_ID, KEY + "x")
    assert VALID_ID not in hash_national_id(VALID_ID, KEY)
    with pytest.raises(IdKeyError, match="at least 16"):
        hash_national_id(VALID_ID, "short")
    with pytest.raises(ValueError, match="not a valid"):
        hash_national_id("1101700203451", KEY)


def test_key_comes_from_the_caller_or_the_environment():
    assert id_hash_key("from-secrets", {ID_HASH_KEY_ENV: "from-env"}) == "from-secrets"
    assert id_hash_key(None, {ID_HASH_KEY_ENV: "from-env"}) == "from-env"
    assert id_hash_key(None, {}) is None
    with pytest.raises(IdKeyError, match="at least 16"):
        import_households([CORPUS / "good_en.csv"], id_key="short")


def test_mask_keeps_four_digits_at_most():
    assert mask_national_id(VALID_ID) == "XXXXXXXXX3450"
    assert mask_national_id("12") == "XX"
    assert is_valid_national_id(VALID_ID) and not is_valid_national_id(None)


# ---------------------------------------------------------------------------------------------
# Spreadsheets
# ---------------------------------------------------------------------------------------------


def test_every_formula_start_is_neutralised():
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "＝1"):
        assert neutralise_cell(text).startswith("'")
    for value in ("a=b", "บ้าน", 3, -3.5, None, True):
        assert neutralise_cell(value) == value
    frame = pd.DataFrame({"=col": ["=x", "y"], "n": [-1, 2]})
    out = neutralise_frame(frame)
    assert out.columns.tolist() == ["'=col", "n"] and out["=col" if "=col" in out else "'=col"].tolist() == ["'=x", "y"]
    assert out["n"].tolist() == [-1, 2]


def test_xlsx_has_no_formula_cells_and_no_illegal_characters():
    frame = pd.DataFrame({"a": ["=HYPERLINK(\"x\")", "bad\x07char", None], "b": [1.5, pd.NA, -2]})
    sheet = load_workbook(io.BytesIO(to_xlsx_bytes(frame))).active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert sheet["A2"].value == "'=HYPERLINK(\"x\")" and sheet["A3"].value == "badchar"
    assert sheet["B2"].value == 1.5 and sheet["B3"].value is None and sheet["B4"].value == -2
    assert sheet.freeze_panes == "A2"


def test_csv_has_a_bom_for_excel_and_neutralised_text():
    data = to_csv_bytes(pd.DataFrame({"ชื่อ": ["@x", "ปกติ"]}))
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").splitlines() == ["ชื่อ", "'@x", "ปกติ"]


def test_write_table_by_extension(tmp_path):
    frame = pd.DataFrame({"a": [1]})
    for suffix in (".csv", ".xlsx", ".parquet"):
        assert write_table(frame, tmp_path / f"t{suffix}").is_file()
    with pytest.raises(ValueError, match="must end in"):
        write_table(frame, tmp_path / "t.txt")


# ---------------------------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------------------------


def _import(name: str, store: Path, **kwargs):
    return import_households([CORPUS / name], store=store, id_key=KEY, now=NOW, **kwargs)


def test_store_upsert_replace_all_and_provenance(tmp_path):
    store = tmp_path / "store"
    assert load_households(store).empty and load_provenance(store) == []
    save_import(_import("good_en.csv", store), store=store)
    stored = load_households(store)
    assert len(stored) == 3
    assert {c: str(t) for c, t in stored.dtypes.items()} == {c: str(pd.Series(dtype=d).dtype) for c, d in HOUSEHOLD_DTYPES.items()}

    again = _import("good_en.csv", store)
    assert again.refused_files == ["good_en.csv"] and save_import(again, store=store) is None

    more = _import("updates_stored_household.csv", store)  # KS-0001 in 2024 again (6 members), KS-0099 new
    assert more.accepted == 2 and more.reason_counts() == {}
    note = next(n for n in more.files[0].notes if n.code == "replaces_stored")
    assert "1 households of round(s) 2024" in note.message_en
    save_import(more, store=store)
    after = load_households(store).set_index(["household_id", "survey_year"])
    assert len(after) == 4 and after.index.is_unique
    assert after.loc[("KS-0001", 2024), "members"] == 6  # replaced by the later file
    assert after.loc[("KS-0003", 2023), "members"] == stored.set_index(["household_id", "survey_year"]).loc[
        ("KS-0003", 2023), "members"]  # another round: untouched

    replaced = _import("good_th_bom.csv", store, mode="replace_all")
    save_import(replaced, store=store)
    assert len(load_households(store)) == 3
    provenance = load_provenance(store)
    assert [e["file"] for e in provenance] == ["good_en.csv", "updates_stored_household.csv", "good_th_bom.csv"]
    assert [e["mode"] for e in provenance] == ["upsert", "upsert", "replace_all"]
    assert [e["rounds"] for e in provenance] == [[2023, 2024], [2024], [2023, 2024]]
    assert [e["replaced"] for e in provenance] == [0, 1, 0]
    assert all(e["content_hash"].startswith("sha256:") and e["rows_in"] >= 1 for e in provenance)
    # after a replace_all, the earlier file's rows are gone, so it may come in again
    assert _import("updates_stored_household.csv", store).refused_files == []


def test_upsert_touches_only_the_imported_households_and_rounds():
    from geo.data.store import upsert_households

    stored = pd.DataFrame({"household_id": ["A", "A", "B", "C"], "survey_year": [2021, 2023, 2023, 2021],
                           "members": [1, 2, 3, 4]})
    new = pd.DataFrame({"household_id": ["A", "D"], "survey_year": [2023, 2023], "members": [9, 5]})
    out = upsert_households(stored, new)
    assert list(zip(out["household_id"], out["survey_year"], out["members"])) == [
        ("A", 2021, 1), ("B", 2023, 3), ("C", 2021, 4), ("A", 2023, 9), ("D", 2023, 5)]
    with pytest.raises(ValueError, match="twice"):
        upsert_households(stored, pd.concat([new, new]))
    assert upsert_households(stored.iloc[:0], new).equals(new)


def test_legacy_replace_entries_still_start_the_current_data():
    from geo.data.store import current_imports

    history = [{"file": "a", "mode": "append"}, {"file": "b", "mode": "replace"}, {"file": "c", "mode": "upsert"}]
    assert [e["file"] for e in current_imports(history)] == ["b", "c"]
    assert [e["file"] for e in current_imports(history + [{"file": "d", "mode": "replace_all"}])] == ["d"]


def test_store_refuses_a_stale_import(tmp_path):
    store = tmp_path / "store"
    first = _import("good_en.csv", store)
    second = _import("good_en.csv", store)
    save_import(first, store=store)
    with pytest.raises(StoreError, match="meanwhile"):
        save_import(second, store=store)
    assert len(load_households(store)) == 3


def test_replace_with_nothing_accepted_leaves_the_store(tmp_path):
    store = tmp_path / "store"
    save_import(_import("good_en.csv", store), store=store)
    empty = _import("unknown_names.csv", store, mode="replace_all")
    assert empty.accepted == 0
    with pytest.raises(StoreError, match="left as it is"):
        save_import(empty, store=store)
    assert len(load_households(store)) == 3


def test_save_households_checks_mode(tmp_path):
    with pytest.raises(ValueError, match="mode"):
        save_households(pd.DataFrame(), [], mode="merge", store=tmp_path)


def test_no_raw_id_or_name_reaches_the_store(tmp_path):
    store = tmp_path / "store"
    save_import(_import("national_id_valid.csv", store), store=store)
    save_import(_import("head_name.csv", store), store=store)
    for path in store.iterdir():
        data = path.read_bytes()
        for secret in (VALID_ID, "สมชาย".encode(), "สมศรี".encode()):
            secret = secret.encode() if isinstance(secret, str) else secret
            assert secret not in data, path.name
    assert load_households(store)["national_id_hash"].notna().sum() == 3


def test_rejects_download_masks_ids(tmp_path):
    result = _import("national_id_invalid.csv", tmp_path / "store")
    text = rejects_to_bytes(result, "csv").decode("utf-8-sig")
    assert "national_id" in text and "XXXXXXXXX" in text
    frame = pd.read_csv(io.StringIO(text), dtype=str)
    assert frame["reason_codes"].str.len().gt(0).all()
    assert {"file", "row", "reason_codes", "reasons_th", "reasons_en"} <= set(frame.columns)


# ---------------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------------


def _cli(*args: str, env_key: str | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if k != ID_HASH_KEY_ENV}
    if env_key:
        env[ID_HASH_KEY_ENV] = env_key
    return subprocess.run([sys.executable, "-m", "geo", "households", "import", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", ["empty.csv", "password_protected.xlsx", "corrupt_truncated.xlsx", "report.pdf.csv",
                                  "latin1.csv", "binary_nul.csv"])
def test_cli_unreadable_file_is_one_line_and_exit_2(name, tmp_path):
    done = _cli(str(CORPUS / name), "--store", str(tmp_path / "store"))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert not (tmp_path / "store" / "households.parquet").exists()


def test_cli_imports_reports_and_stores(tmp_path):
    store, report, rejects, out = tmp_path / "store", tmp_path / "r.json", tmp_path / "rejects.xlsx", tmp_path / "ok.csv"
    done = _cli(str(CORPUS / "national_id_invalid.csv"), str(CORPUS / "good_en.csv"), "--store", str(store),
                "--report", str(report), "--rejects", str(rejects), "--out", str(out), "--no-district-check",
                env_key=KEY)
    assert done.returncode == 1, done.stderr
    assert "rows/s" in done.stdout and "3 rejected" in done.stdout
    data = json.loads(report.read_text(encoding="utf-8"))
    assert (data["rows_in"], data["accepted"], data["rejected"]) == (7, 4, 3)
    assert len(load_workbook(rejects).active["A"]) == 4
    assert len(pd.read_csv(out)) == 4 and len(load_households(store)) == 4
    for path in (report, rejects, out, *store.iterdir()):
        assert VALID_ID.encode() not in path.read_bytes()

    again = _cli(str(CORPUS / "good_en.csv"), "--store", str(store), "--no-district-check")
    assert again.returncode == 1 and "refused" in again.stdout

    dry = _cli(str(CORPUS / "good_th_bom.csv"), "--store", str(store), "--mode", "replace_all", "--dry-run",
               "--no-district-check")
    assert dry.returncode == 0 and "nothing stored" in dry.stdout and len(load_households(store)) == 4


def test_cli_rejects_bad_output_names(tmp_path):
    done = _cli(str(CORPUS / "good_en.csv"), "--rejects", str(tmp_path / "r.txt"))
    assert done.returncode == 2 and "--rejects must end in" in done.stderr and "Traceback" not in done.stderr


def test_cli_without_key_refuses_ids(tmp_path):
    done = _cli(str(CORPUS / "national_id_valid.csv"), "--store", str(tmp_path / "s"), "--no-district-check")
    assert done.returncode == 1 and "id_key_missing 3" in done.stdout


# ---------------------------------------------------------------------------------------------
# Documentation stays in step
# ---------------------------------------------------------------------------------------------


def test_data_md_lists_every_reason_alias_and_column():
    text = (REPO / "docs" / "DATA.md").read_text(encoding="utf-8")
    for code in REASONS:
        assert f"`{code}`" in text, f"reason code {code} missing from docs/DATA.md"
    for column, aliases in HEADER_ALIASES.items():
        for alias in aliases:
            assert alias in text, f"alias {alias!r} of {column} missing from docs/DATA.md"
    for column in HOUSEHOLD_COLUMN_NAMES:
        assert f"`{column}`" in text


def test_errors_are_project_errors():
    assert issubclass(InputFileError, PPAPError) and issubclass(StoreError, PPAPError)
    assert issubclass(IdKeyError, PPAPError)


# ---------------------------------------------------------------------------------------------
# Optional columns and decimal commas


_CORE = ("household_id,survey_year,district_code,members,capital_human,capital_physical,capital_natural,"
         "capital_financial,capital_social,in_tpmap")


def test_a_file_without_the_optional_columns_is_accepted_with_one_note(tmp_path):
    data = (_CORE + "\nF-1,2566,4609,4,2.1,3.0,1.5,1.8,2.5,false\nF-2,2566,4602,3,1.2,1.4,1.3,1.1,1.6,true\n").encode()
    result = import_households([("field.csv", data)], now=NOW)
    assert (result.accepted, result.warnings, result.rejected) == (2, 0, 0)
    notes = [n for n in result.files[0].notes if n.code == "optional_columns_missing"]
    assert len(notes) == 1
    for column in ("village_no", "income_per_capita_year", "verified", "dep_health", "dep_access",
                   "assistance_status", "pilot_id"):
        assert column in notes[0].message_en
        assert result.households[column].isna().all(), column
    assert str(result.households["verified"].dtype) == "boolean"
    assert str(result.households["assistance_status"].dtype) == "string"
    store = tmp_path / "store"
    save_import(result, store=store)
    stored = load_households(store)
    assert stored["dep_income"].isna().all() and str(stored["dep_income"].dtype) == "boolean"


def test_blank_optional_cells_are_unknown_but_a_blank_in_tpmap_is_missing():
    header = _CORE + ",verified,dep_health,assistance_status"
    data = (header + "\nB-1,2566,4609,4,2.1,3.0,1.5,1.8,2.5,false,,,\nB-2,2566,4609,4,2.1,3.0,1.5,1.8,2.5,,true,true,"
            "helped\n").encode()
    result = import_households([("blank.csv", data)], now=NOW)
    assert (result.accepted, result.rejected) == (1, 1)
    assert result.reason_counts() == {"missing_value": 1}
    row = result.households.iloc[0]
    assert pd.isna(row["verified"]) and pd.isna(row["dep_health"]) and row["assistance_status"] == "none"
    assert not any(n.code == "optional_columns_missing" and "verified" in n.message_en
                   for n in result.files[0].notes)


def test_deprivations_of_a_household_not_in_tpmap_are_stored_as_unknown_with_a_note():
    header = _CORE + ",dep_health,dep_living,dep_education,dep_income,dep_access"
    data = (header + "\nN-1,2566,4609,4,2.1,3.0,1.5,1.8,2.5,false,true,false,,false,false"
            "\nN-2,2566,4609,4,2.1,3.0,1.5,1.8,2.5,false,,,,,"
            "\nT-1,2566,4609,4,2.1,3.0,1.5,1.8,2.5,true,true,false,,false,true\n").encode()
    result = import_households([("tpmap.csv", data)], now=NOW)
    assert (result.accepted, result.rejected) == (3, 0)
    deps = result.households.set_index("household_id")[["dep_health", "dep_living", "dep_education", "dep_income",
                                                        "dep_access"]]
    assert deps.loc[["N-1", "N-2"]].isna().all().all()  # not in TPMAP: TPMAP never assessed them
    assert deps.loc["T-1"].tolist() == [True, False, pd.NA, False, True]
    notes = [n for n in result.files[0].notes if n.code == "deprivations_outside_tpmap"]
    assert len(notes) == 1 and notes[0].message_en.startswith("1 households not in TPMAP")  # N-2 gave none
    # a file that ticks boxes: a blank is "no", but not for a household outside TPMAP, and no note
    ticks = (header + "\nK-1,2566,4609,4,2.1,3.0,1.5,1.8,2.5,false,,,,,\nK-2,2566,4609,4,2.1,3.0,1.5,1.8,2.5,"
             "true,✓,,,,\n").encode()
    result = import_households([("ticks.csv", ticks)], now=NOW)
    deps = result.households.set_index("household_id")[["dep_health", "dep_living"]]
    assert deps.loc["K-1"].isna().all() and deps.loc["K-2"].tolist() == [True, False]
    assert not any(n.code == "deprivations_outside_tpmap" for n in result.files[0].notes)


def test_semicolon_file_reads_a_decimal_comma_in_every_number_and_a_comma_file_does_not():
    header = "household_id;survey_year;district_code;lat;lng;members;income;" + ";".join(
        ("capital_human", "capital_physical", "capital_natural", "capital_financial", "capital_social")) + ";in_tpmap"
    semicolon = (header + "\nD-1;2566;4609;16,70123;103,55123;4;14,123;2,15;3,0;1,5;1,75;2,5;true\n").encode()
    result = import_households([("excel.csv", semicolon)], now=NOW)
    assert result.rejected == 0, result.report()["rows"]
    row = result.households.iloc[0]
    assert (row["lat"], row["lon"], row["income_per_capita_year"]) == (16.70123, 103.55123, 14.123)
    assert [row[c] for c in ("capital_human", "capital_physical", "capital_natural", "capital_financial",
                             "capital_social")] == [2.15, 3.0, 1.5, 1.75, 2.5]
    assert any(n.code == "decimal_comma" for n in result.files[0].notes)
    # the same numbers in a comma-separated file: "14,123" there is fourteen thousand (grouped), never 14.123
    comma = (header.replace(";", ",") + '\nD-1,2566,4609,16.70123,103.55123,4,"14,123",2.15,3.0,1.5,1.75,2.5,true\n')
    result = import_households([("plain.csv", comma.encode())], now=NOW)
    assert result.rejected == 0
    assert result.households.iloc[0]["income_per_capita_year"] == 14_123
    assert not any(n.code == "decimal_comma" for n in result.files[0].notes)
    # and an unquoted decimal comma in a comma file is a shape problem, reported, not misread
    broken = (header.replace(";", ",") + "\nD-1,2566,4609,16,70123,103.55123,4,900,2.15,3.0,1.5,1.75,2.5,true\n")
    result = import_households([("broken.csv", broken.encode())], now=NOW)
    assert result.rejected == 1 and "row_shape" in result.reason_counts()
