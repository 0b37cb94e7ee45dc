"""CSV reading: broken quotation marks never fold lines silently; decimal commas in ';' files.

Every physical line of a CSV file ends up accepted, or rejected with a reason naming its line, in
the report and in the rejects download.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest

from geo.ingest import import_households, rejects_to_bytes
from geo.ingest.read import read_table
from geo.ingest.values import parse_number, parse_whole_number

HEADER = ("household_id,survey_year,district_code,members,capital_human,capital_physical,capital_natural,"
          "capital_financial,capital_social,in_tpmap,verified,dep_health,dep_living,dep_education,dep_income,"
          "dep_access")
ROW = "H{n},2567,4609,4,1.5,2,2,2,2,1,1,0,0,0,0,0"


def rows_of(result) -> list[tuple[int, str, list[str]]]:
    return [(r["row"], r["status"], [x["code"] for x in r["reasons"]]) for r in result.report()["rows"]]


# ---------------------------------------------------------------------------------------------
# Quotation marks
# ---------------------------------------------------------------------------------------------


def test_a_stray_quote_rejects_its_own_line_and_folds_nothing():
    # Three data rows; row 2 (line 3) has a stray '"' before its members. Today: 2 rows counted.
    lines = [HEADER, ROW.format(n=1), ROW.format(n=2).replace(",4,1.5", ',"4,1.5'), ROW.format(n=3)]
    data = ("\n".join(lines) + "\n").encode()
    result = import_households([("stray.csv", data)])
    assert result.rows_in == 3
    assert (result.accepted, result.rejected) == (2, 1)
    assert rows_of(result) == [(1, "accepted", []), (2, "rejected", ["quote_unclosed"]), (3, "accepted", [])]
    reason = result.rows.loc[1, "reasons"][0]
    assert reason.message_en.startswith("line 3: a quotation mark")
    assert reason.message_th.startswith("บรรทัดที่ 3:")
    assert result.households["household_id"].tolist() == ["H1", "H3"]
    notes = {n["code"]: n for n in result.report()["files"][0]["notes"]}
    assert "line 3" in notes["quote_problems"]["message_en"]
    # The rejected line can be downloaded with its reason, under the sender's headers.
    rejects = pd.read_csv(io.BytesIO(rejects_to_bytes(result, "csv")), encoding="utf-8-sig", dtype=str)
    assert rejects[["row", "reason_codes", "household_id"]].values.tolist() == [["2", "quote_unclosed", "H2"]]
    assert rejects.loc[0, "reasons_en"].startswith("line 3:")


@pytest.mark.parametrize(("broken", "last", "expected"), [
    # opens and is never closed: today it swallows every line to the end of the file
    (ROW.format(n=2).replace("H2,", 'H2,"'), ROW.format(n=4), ["accepted", "rejected", "accepted", "accepted"]),
    # text after a closing quote
    (ROW.format(n=2).replace("H2,", '"H2"x,'), ROW.format(n=4), ["accepted", "rejected", "accepted", "accepted"]),
    # closed by a quote at the end of a later line: a well-formed record of 2 cells over 3 lines
    (ROW.format(n=2).replace("H2,", 'H2,"'), ROW.format(n=4) + '"', ["accepted", "rejected", "accepted", "rejected"]),
])
def test_every_physical_line_is_accounted_for(broken, last, expected):
    lines = [HEADER, ROW.format(n=1), broken, ROW.format(n=3), last]
    data = ("\n".join(lines) + "\n").encode()
    result = import_households([("q.csv", data)])
    assert result.rows_in == 4  # one row per data line, whatever the quotes did
    assert [status for _, status, _ in rows_of(result)] == expected
    assert [r.code for r in result.rows.loc[1, "reasons"]] == ["quote_unclosed"]
    assert result.rows.loc[1, "reasons"][0].message_en.startswith("line 3:")
    assert len(result.rejects) == expected.count("rejected")


def test_a_quoted_value_with_a_line_break_stays_one_row():
    # Excel writes a cell with a line break in quotes; the record has the header's width.
    header = HEADER + ",note"
    lines = [header, ROW.format(n=1) + ',"บ้านเลขที่ 5\nหมู่ 3"', ROW.format(n=2) + ',"say ""hi"""']
    table = read_table(("\n".join(lines) + "\n").encode(), "multi.csv")
    assert table.cells.shape[0] == 2 and not table.quote_lines
    assert table.cells.loc[1].tolist()[-1] == "บ้านเลขที่ 5\nหมู่ 3"
    assert table.cells.loc[2].tolist()[-1] == 'say "hi"'
    assert table.lines.tolist() == [2, 4]  # the second row starts on line 4
    result = import_households([("multi.csv", ("\n".join(lines) + "\n").encode())])
    assert (result.rows_in, result.rejected) == (2, 0)


def test_rows_count_lines_below_a_title():
    lines = ["รายงานครัวเรือน", HEADER, ROW.format(n=1), 'H"2' + ROW.format(n=2)[2:], ROW.format(n=3)]
    result = import_households([("t.csv", ("\r\n".join(lines) + "\r\n").encode())])
    assert result.rows_in == 3 and result.rejected == 0  # a quote inside a value is only a character


# ---------------------------------------------------------------------------------------------
# Decimal comma in semicolon-separated files
# ---------------------------------------------------------------------------------------------


def test_decimal_comma_in_a_semicolon_file():
    header = HEADER.replace(",", ";") + ";lat;lon;income_per_capita_year"
    row = "H1;2567;4609;4;1,75;2;2;2;2;1;1;0;0;0;0;0;16,7;103,5;12.500,50"
    result = import_households([("excel_de.csv", (header + "\n" + row + "\n").encode("utf-8-sig"))])
    assert (result.rows_in, result.rejected) == (1, 0), result.report()["rows"]
    household = result.households.iloc[0]
    assert household["capital_human"] == 1.75
    assert (household["lat"], household["lon"]) == (16.7, 103.5)
    assert household["income_per_capita_year"] == 12500.5
    notes = [n["code"] for n in result.report()["files"][0]["notes"]]
    assert "decimal_comma" in notes


def test_comma_files_still_refuse_a_decimal_comma():
    row = ROW.format(n=1).replace(",1.5,", ',"1,75",')
    result = import_households([("comma.csv", (HEADER + "\n" + row + "\n").encode())])
    assert result.rejected == 1
    assert [r.code for r in result.rows.loc[0, "reasons"]] == ["not_a_number"]


@pytest.mark.parametrize(("text", "value"), [
    ("1,75", 1.75), ("-0,5", -0.5), ("12.500,5", 12500.5), ("1.234.567,25", 1234567.25), ("1.75", 1.75),
    ("๑,๕", 1.5), ("2", 2.0), ("1,234,567", 1234567.0),
])
def test_parse_number_with_decimal_comma(text, value):
    assert parse_number(text, decimal_comma=True) == (value, None)


def test_whole_numbers_with_decimal_comma():
    assert parse_whole_number("4,0", decimal_comma=True) == (4, None)
    assert parse_whole_number("4,5", decimal_comma=True) == (None, "not_a_whole_number")
    assert parse_number("1,2,3", decimal_comma=True) == (None, "not_a_number")


# ---------------------------------------------------------------------------------------------
# Streaming: text decoded in pieces
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shift", [0, 1, 2])
def test_encoding_is_found_across_piece_boundaries(shift):
    from geo.ingest.read import CHUNK_BYTES, detect_encoding

    text = "x" * shift + "รหัสครัวเรือน,ปี\n" + "บ้านเลขที่,2567\n" * (2 * CHUNK_BYTES // 30)
    assert len(text.encode("utf-8")) > 2 * CHUNK_BYTES  # Thai letters straddle the pieces' edges
    assert detect_encoding(text.encode("utf-8")) == "utf-8"
    assert detect_encoding(text.encode("cp874")) == "cp874"
    assert detect_encoding(text.encode("utf-8-sig")) == "utf-8-sig"
    table = read_table(text.encode("cp874"), "big.csv")
    assert table.cells.shape[0] == text.count("\n") - 1 and table.cells.loc[1].tolist() == ["บ้านเลขที่", "2567"]
