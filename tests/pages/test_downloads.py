"""No unlogged way out: every table is drawn without Streamlit's own CSV download, and the
household rows leave only through the app's logged, formula-neutralised downloads.

Streamlit's table toolbar offers "Download as CSV" (and the clipboard copy of cells) for every
``st.dataframe``: a file nobody logs, with formulas live. ``pages/_render.show_table`` draws every
table with that export off (``client.disableDataExport``, set by ``pages/_sidebar.no_builtin_export``
before anything is drawn); the browser test ``tests/e2e/test_no_unlogged_way_out.py`` checks the
toolbar itself.
"""

from __future__ import annotations

import ast
import io
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from streamlit import config as st_config

from geo.data.spreadsheet import is_formula_like
from pages._sidebar import NO_EXPORT_OPTION
from tests.pages.conftest import open_app, rerun

PAGES_DIR = Path(__file__).resolve().parents[2] / "pages"
#: Streamlit calls that draw a table with a toolbar (or could grow one): only ``show_table`` may call them.
TABLE_CALLS = {"dataframe", "data_editor", "table"}
#: Pages another change must still move to ``show_table`` (a strict xfail: remove the entry when done).
PENDING: dict[str, str] = {}
PAGES = ("overview", "capitals", "pilots", "households", "data", "audit", "meeting")
FORMULAS = ["=1+1", "+cmd|' /C calc'!A0", "@SUM(A1:A9)", "-2+3", "\t=1+1", "\r=1+1", "＝1+1",
            '=HYPERLINK("http://evil.invalid","x")']


def table_calls_outside_helper(path: Path) -> list[str]:
    """``file:line call`` for every ``<anything>.dataframe/.data_editor/.table(...)`` outside
    ``show_table`` (the helper itself is the one allowed caller)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "show_table" and path.name == "_render.py":
            allowed |= {id(n) for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and id(node) not in allowed:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in TABLE_CALLS:
                found.append(f"{path.name}:{node.lineno} {name}")
    return found


@pytest.mark.parametrize("path", [
    pytest.param(p, id=p.name, marks=[pytest.mark.xfail(strict=True, reason=PENDING[p.name])] if p.name in PENDING else [])
    for p in sorted(PAGES_DIR.glob("*.py"))])
def test_every_table_goes_through_show_table(path):
    assert table_calls_outside_helper(path) == []


def test_the_scan_finds_a_direct_table_call(tmp_path):
    page = tmp_path / "page.py"
    page.write_text("import streamlit as st\nst.dataframe(x)\ncol.table(y)\nst.sidebar.data_editor(z)\n")
    assert table_calls_outside_helper(page) == ["page.py:2 dataframe", "page.py:3 table", "page.py:4 data_editor"]


def test_show_table_is_the_helper_and_calls_dataframe():
    assert "show_table" in (PAGES_DIR / "_render.py").read_text(encoding="utf-8")
    tree = ast.parse((PAGES_DIR / "_render.py").read_text(encoding="utf-8"))
    helper = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "show_table")
    called = {n.func.attr for n in ast.walk(helper) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    assert "dataframe" in called
    assert "no_builtin_export" in {n.func.id for n in ast.walk(helper) if isinstance(n, ast.Call)
                                   and isinstance(n.func, ast.Name)}


@pytest.fixture
def export_option_off():
    """Streamlit's export as a fresh server has it (on), restored afterwards."""
    before = st_config.get_option(NO_EXPORT_OPTION)
    st_config.set_option(NO_EXPORT_OPTION, False)
    yield
    st_config.set_option(NO_EXPORT_OPTION, before)


@pytest.fixture
def tables_drawn(monkeypatch):
    """Every ``st.dataframe`` call of the run: whether Streamlit's export was off when it was drawn."""
    import streamlit
    from streamlit.elements.arrow import ArrowMixin

    drawn: list[bool] = []
    original_method, original_function = ArrowMixin.dataframe, streamlit.dataframe

    def recording_method(self, *args, **kwargs):  # container.dataframe(...)
        drawn.append(bool(st_config.get_option(NO_EXPORT_OPTION)))
        return original_method(self, *args, **kwargs)

    def recording_function(*args, **kwargs):  # st.dataframe(...): a method bound at import
        drawn.append(bool(st_config.get_option(NO_EXPORT_OPTION)))
        return original_function(*args, **kwargs)

    monkeypatch.setattr(ArrowMixin, "dataframe", recording_method)
    monkeypatch.setattr(streamlit, "dataframe", recording_function)
    return drawn


@pytest.mark.parametrize("page", PAGES)
def test_no_table_is_drawn_with_streamlits_export_on(page, tiny_dir, access_users, export_option_off, tables_drawn):
    at = open_app(page, login="admin")  # the administrator sees every table (household rows, the audit log)
    assert st_config.get_option(NO_EXPORT_OPTION) is True
    if page not in ("meeting",):
        assert tables_drawn, "the page drew no table"
    assert all(tables_drawn), tables_drawn
    assert not at.exception


def plant_formulas(root: Path) -> list[str]:
    """Household IDs that a spreadsheet would run, in the tiny world's sample (one per household)."""
    path = root / "samples" / "households.parquet"
    table = pq.read_table(path)
    frame = table.to_pandas()
    ids = [FORMULAS[i % len(FORMULAS)] + f" {i}" if i >= len(FORMULAS) else FORMULAS[i] for i in range(len(frame))]
    frame["household_id"] = ids
    out = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(table.schema.metadata)
    pq.write_table(out, path)
    return ids


def audit_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_household_rows_are_downloaded_neutralised_and_logged(tiny_dir, access_users, audit_log, download_bytes):
    import hashlib

    import openpyxl

    plant_formulas(tiny_dir)
    at = open_app("households", login="admin")
    assert len(at.dataframe) == 2  # the area table, then the household rows (no id without a selection)
    shown = at.dataframe[1].value
    assert not any(is_formula_like(v) for v in shown.to_numpy().ravel() if isinstance(v, str))
    assert "'=1+1" in shown["household_id"].tolist() and "'-2+3" in shown["household_id"].tolist()

    data = download_bytes(at, "households_rows_download_csv")
    csv = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert len(csv) == 71
    cells = csv.to_numpy().ravel().tolist()
    assert not any(is_formula_like(c) for c in cells)
    for formula in FORMULAS:
        assert "'" + formula in csv["household_id"].tolist(), formula
    assert pd.to_numeric(csv["members"]).min() >= 1 and not csv["lat"].str.startswith("'").any()

    book = openpyxl.load_workbook(io.BytesIO(download_bytes(at, "households_rows_download_xlsx")))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    column = header.index("household_id")
    values = [row[column].value for row in sheet.iter_rows(min_row=2)]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert "'+cmd|' /C calc'!A0" in values and "'@SUM(A1:A9)" in values
    members = [row[header.index("members")] for row in sheet.iter_rows(min_row=2)]
    assert all(c.data_type == "n" and isinstance(c.value, int) for c in members)  # numbers stay numbers

    exports = [r for r in audit_records(audit_log) if r["event"] == "export" and "household_rows" in r["what"]]
    assert {(r["what"], r["format"], r["page"]) for r in exports} == {
        ("household_rows", "csv", "households"), ("household_rows", "xlsx", "households")}
    assert hashlib.sha256(data).hexdigest() in {r["file_sha256"] for r in exports}
    assert all(r["rows"] == 71 and r["username"] == "admin" for r in exports)


def test_roles_without_household_rows_get_no_rows_download(tiny_dir, access_users):
    at = open_app("households", login="research")
    keys = [b.proto.id for b in at.get("download_button")]
    assert keys and not any("households_rows" in k for k in keys)
