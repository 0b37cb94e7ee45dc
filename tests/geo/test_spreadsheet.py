"""Spreadsheets the app writes carry no live formula (OWASP's CSV injection advice), keep numbers
as numbers, and keep one row per row even when a cell holds a carriage return."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from geo.data.spreadsheet import FORMULA_PREFIXES, is_formula_like, neutralise_frame, to_csv_bytes, to_xlsx_bytes

FORMULAS = ["=1+1", "+cmd|' /C calc'!A0", "@SUM(A1:A9)", "-2+3", "\t=1+1", "\r=1+1", "＝1+1",
            '=HYPERLINK("http://evil.invalid","x")']


def csv_rows(data: bytes) -> list[list[str]]:
    """The rows a spreadsheet would read: RFC 4180, where a bare CR or LF outside quotes ends a row."""
    text = data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_every_owasp_formula_start_is_neutralised_in_csv_and_xlsx():
    frame = pd.DataFrame({"household_id": FORMULAS, "income": [-2.5, -1, 0, 3, 4, 5, 6, 7]})
    rows = csv_rows(to_csv_bytes(frame))
    assert rows[0] == ["household_id", "income"]
    assert [r[0] for r in rows[1:]] == ["'" + f for f in FORMULAS]
    assert [r[1] for r in rows[1:3]] == ["-2.5", "-1.0"]  # genuine negative numbers: numbers, unprefixed
    sheet = load_workbook(io.BytesIO(to_xlsx_bytes(frame))).active
    # (XML reads a carriage return back as a line feed)
    assert [sheet.cell(row=i, column=1).value for i in range(2, 10)] == ["'" + f.replace("\r", "\n") for f in FORMULAS]
    assert sheet["B2"].value == -2.5 and sheet["B2"].data_type == "n"
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


def test_a_carriage_return_inside_a_cell_cannot_start_a_new_row():
    frame = pd.DataFrame({"a": ["x\r=1+1", "y\n@SUM(A1)", "z\r\n-2+3"], "n": [1, -2, 3]})
    rows = csv_rows(to_csv_bytes(frame))
    assert len(rows) == 4 and [r[1] for r in rows[1:]] == ["1", "-2", "3"]
    assert [r[0] for r in rows[1:]] == ["x\r=1+1", "y\n@SUM(A1)", "z\r\n-2+3"]  # one quoted cell each


@settings(max_examples=200, deadline=None)
@given(cells=st.lists(st.text(max_size=12), min_size=1, max_size=6),
       numbers=st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), min_size=1, max_size=6))
def test_no_cell_of_any_csv_is_a_formula_and_numbers_stay_numbers(cells, numbers):
    size = min(len(cells), len(numbers))
    frame = pd.DataFrame({"text": cells[:size], "number": numbers[:size]})
    rows = csv_rows(to_csv_bytes(frame))
    assert len(rows) == size + 1
    for row, cell, number in zip(rows[1:], cells, numbers):
        assert not is_formula_like(row[0])
        assert row[0] == ("'" + cell if cell.startswith(FORMULA_PREFIXES) else cell)
        assert float(row[1]) == pytest.approx(number, rel=1e-6, abs=1e-30)


def test_neutralising_is_idempotent_and_leaves_numbers_alone():
    frame = pd.DataFrame({"t": FORMULAS, "n": range(-4, 4)})
    once = neutralise_frame(frame)
    assert once.equals(neutralise_frame(once))
    assert once["n"].tolist() == list(range(-4, 4))
