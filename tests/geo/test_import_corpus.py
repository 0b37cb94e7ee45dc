"""The import corpus: every hand-made file in tests/fixtures/import_corpus/ against expected.json."""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from openpyxl import load_workbook
from shapely.geometry import box

from geo.errors import InputFileError
from geo.ingest import import_households, rejects_to_bytes, save_import
from geo.ingest.pipeline import households_to_bytes
from geo.ingest.reasons import REASONS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CORPUS = FIXTURES / "import_corpus"
MANIFEST = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
CASES: dict[str, dict] = MANIFEST["cases"]
NOW = dt.datetime.fromisoformat(MANIFEST["now"])
FORMULA_START = ("=", "+", "-", "@")


@pytest.fixture(scope="module")
def tiny_boundaries() -> gpd.GeoDataFrame:
    codes = sorted(MANIFEST["tiny_boundaries"])
    return gpd.GeoDataFrame(
        {"code": codes, "parent_code": [c[:2] for c in codes]},
        geometry=[box(*MANIFEST["tiny_boundaries"][c]) for c in codes],
        crs="EPSG:4326",
    )


def _import(name: str, store: Path, boundaries: gpd.GeoDataFrame):
    options = CASES[name]["options"]
    key = MANIFEST["id_key"] if options.get("id_key", True) else None
    for before in options.get("store_before", []):
        save_import(import_households([CORPUS / before], store=store, id_key=key, now=NOW), store=store)
    return import_households(
        [CORPUS / name],
        mode=options.get("mode", "upsert"),
        store=store,
        id_key=key,
        keep_head_name=options.get("keep_head_name", False),
        sheet=options.get("sheet"),
        boundaries=boundaries if options.get("boundaries") else None,
        now=NOW,
    )


def test_corpus_is_big_enough_and_covers_every_reason():
    assert len(CASES) >= 40
    files = {p.name for p in CORPUS.iterdir()} - {"expected.json"}
    assert files == set(CASES), "every corpus file has an expectation and vice versa"
    wanted = {code for spec in CASES.values() for code in spec.get("reasons", []) + spec.get("notes", [])}
    rejects_and_warnings = {c for c, s in REASONS.items() if s.severity in ("reject", "warning")}
    assert rejects_and_warnings - wanted == set(), "a reject/warning code no corpus file exercises"
    assert sum("error" in spec for spec in CASES.values()) >= 12


@pytest.mark.parametrize("name", sorted(n for n, s in CASES.items() if "error" in s))
def test_unreadable_file_gives_one_line(name, tmp_path, tiny_boundaries):
    with pytest.raises(InputFileError) as info:
        _import(name, tmp_path / "store", tiny_boundaries)
    message = str(info.value)
    assert CASES[name]["error"] in message
    assert name in message and "\n" not in message and "Traceback" not in message


@pytest.mark.parametrize("name", sorted(n for n, s in CASES.items() if "error" not in s))
def test_corpus_file(name, tmp_path, tiny_boundaries):
    spec = CASES[name]
    result = _import(name, tmp_path / "store", tiny_boundaries)
    report = result.report()
    summary = report["files"][0]

    assert (report["rows_in"], report["accepted"], report["warnings"], report["rejected"]) == (
        spec["rows_in"], spec["accepted"], spec["warnings"], spec["rejected"]
    ), json.dumps(report["rows"], ensure_ascii=False, indent=1)[:3000]
    assert report["accepted"] + report["rejected"] == report["rows_in"] == len(report["rows"])
    assert len(result.households) == report["accepted"]
    assert len(result.rejects) == report["rejected"]

    codes = {r["code"] for row in report["rows"] for r in row["reasons"]}
    assert set(spec["reasons"]) <= codes, codes
    assert codes <= set(REASONS)
    if not spec["reasons"]:
        assert codes == set(), report["rows"]
    for row in report["rows"]:
        severities = {REASONS[r["code"]].severity for r in row["reasons"]}
        expected = "rejected" if "reject" in severities else "warning" if severities else "accepted"
        assert row["status"] == expected
        for reason in row["reasons"]:
            assert reason["message_th"] and reason["message_en"]
    notes = {n["code"] for n in summary["notes"]}
    assert set(spec["notes"]) <= notes, notes

    for check in spec["values"]:
        value = result.households.loc[check["index"], check["column"]]
        if check["value"] is None:
            assert pd.isna(value)
        elif isinstance(check["value"], float):
            assert value == pytest.approx(check["value"])
        else:
            assert value == check["value"]
    for key in ("encoding", "sheet", "header_row", "extra_columns", "missing_columns"):
        if key in spec:
            assert summary[key] == spec[key]
    if "file_status" in spec:
        assert summary["status"] == spec["file_status"]
    if "row_numbers" in spec:
        assert [r["row"] for r in report["rows"]] == spec["row_numbers"]
    if "head_name" not in {c["column"] for c in spec["values"]}:
        assert "head_name" not in result.households.columns

    outputs = _every_output(result)
    for secret in spec.get("secrets", []):
        for label, text in outputs.items():
            assert secret not in text, f"{secret!r} leaked into {label}"
    if spec.get("formulas"):
        _assert_no_live_formulas(result)


def _every_output(result) -> dict[str, str]:
    """Everything an import can write, as text: report, rejects (CSV and XLSX), households."""
    outputs = {
        "report": json.dumps(result.report(), ensure_ascii=False),
        "rejects.csv": rejects_to_bytes(result, "csv").decode("utf-8-sig"),
        "households.csv": households_to_bytes(result, "csv").decode("utf-8-sig"),
        "households.frame": result.households.to_csv(),
    }
    for label, data in (("rejects.xlsx", rejects_to_bytes(result, "xlsx")),
                        ("households.xlsx", households_to_bytes(result, "xlsx"))):
        sheet = load_workbook(io.BytesIO(data)).active
        outputs[label] = "\n".join(str(c.value) for row in sheet.iter_rows() for c in row)
    return outputs


def _assert_no_live_formulas(result) -> None:
    for data in (rejects_to_bytes(result, "xlsx"), households_to_bytes(result, "xlsx")):
        sheet = load_workbook(io.BytesIO(data)).active
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.value
                assert not (isinstance(cell.value, str) and cell.value.startswith(FORMULA_START)), cell.value
    for data in (rejects_to_bytes(result, "csv"), households_to_bytes(result, "csv")):
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
        for column in frame.columns:
            assert not frame[column].str.startswith(FORMULA_START).any(), frame[column].tolist()


def test_corpus_is_reproducible(tmp_path):
    spec = importlib.util.spec_from_file_location("make_import_corpus", FIXTURES / "make_import_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write(tmp_path)
    for path in sorted(CORPUS.iterdir()):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), f"{path.name} differs when regenerated"


def test_accepted_rows_keep_the_contract(tmp_path, tiny_boundaries):
    from geo.data.contract import HOUSEHOLD_COLUMN_NAMES, check_households

    frames = []
    for name, spec in CASES.items():
        if "error" in spec or spec["options"].get("keep_head_name"):
            continue
        frames.append(_import(name, tmp_path / name, tiny_boundaries).households)
    every = pd.concat(frames, ignore_index=True)
    assert list(every.columns) == list(HOUSEHOLD_COLUMN_NAMES)
    check_households(every.drop_duplicates(["household_id", "survey_year"]).reset_index(drop=True))
