"""Properties of the importer, checked with hypothesis.

- the reader and the importer raise nothing but the project's own error type on any bytes or CSV
  text, and every row read is accounted for;
- normalising twice changes nothing (importing the importer's own normalised output gives the same
  households back, and the cell cleaners are idempotent);
- the national-ID check digit agrees with an independent reference implementation.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from geo.data.contract import HEADER_ALIASES, HOUSEHOLD_COLUMN_NAMES
from geo.errors import PPAPError
from geo.ingest import import_households
from geo.ingest.areas import area_name_key
from geo.ingest.pipeline import households_to_bytes
from geo.ingest.read import read_table
from geo.ingest.values import clean_cell, parse_number, parse_year, to_ascii_digits
from geo.data.national_id import (
    is_valid_national_id,
    mask_national_id,
    national_id_check_digit,
    normalise_national_id,
)

NOW = dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc)
KEY = "property-test-key-0123456789"
THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------------------------------------
# Only the project's own error type, whatever the input
# ---------------------------------------------------------------------------------------------

MAGIC = [b"", b"PK\x03\x04", b"PAR1", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\xef\xbb\xbf", b"\xff\xfe", b"%PDF"]


@FAST
@given(prefix=st.sampled_from(MAGIC), body=st.binary(max_size=2000))
def test_reader_raises_only_project_errors_on_any_bytes(prefix, body):
    data = prefix + body
    try:
        table = read_table(data, "fuzz.bin")
    except PPAPError as exc:
        assert "\n" not in str(exc)
        return
    assert len(table.cells) >= 1 and table.headers


@FAST
@given(prefix=st.sampled_from(MAGIC), body=st.binary(max_size=1500))
def test_importer_raises_only_project_errors_on_any_bytes(prefix, body):
    try:
        result = import_households([("fuzz.csv", prefix + body)], id_key=KEY, now=NOW)
    except PPAPError:
        return
    assert result.accepted + result.rejected == result.rows_in


HEADERS = sorted({alias for aliases in HEADER_ALIASES.values() for alias in aliases} | set(HOUSEHOLD_COLUMN_NAMES))
CELL = st.one_of(
    st.text(max_size=12),
    st.text(alphabet="0123456789๐๑๒๓๔๕๖๗๘๙.,-+ eE", max_size=10),
    st.sampled_from(["", "2567", "46", "4609", "TH460907", "อ.เมือง", "ใช่", "✓", "=1+1", "16.7", "103.5", "0",
                     "ช่วยเหลือแล้ว", "1101700203450", "อยู่ยาก", "nan", "inf", "1e308", "-0", "'=x"]),
)


@FAST
@given(
    headers=st.lists(st.sampled_from(HEADERS), min_size=1, max_size=12),
    rows=st.lists(st.lists(CELL, max_size=14), min_size=1, max_size=6),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp874"]),
)
def test_importer_raises_only_project_errors_on_any_csv_text(headers, rows, delimiter, encoding):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(headers)
    writer.writerows(rows)
    try:
        data = buffer.getvalue().encode(encoding)
    except UnicodeEncodeError:
        assume(False)
    try:
        result = import_households([("fuzz.csv", data)], id_key=KEY, now=NOW)
    except PPAPError as exc:
        assert "\n" not in str(exc)
        return
    report = result.report()
    assert report["accepted"] + report["rejected"] == report["rows_in"] == len(report["rows"])
    assert len(result.households) == report["accepted"]
    assert all(row["status"] in ("accepted", "warning", "rejected") for row in report["rows"])


# ---------------------------------------------------------------------------------------------
# Normalising twice changes nothing
# ---------------------------------------------------------------------------------------------

AREAS = [  # (province forms, district forms, subdistrict forms, a position inside Thailand)
    (["46", "TH46", "กาฬสินธุ์", "จ.กาฬสินธุ์", "Kalasin"], ["4609", "TH4609", "อ.สหัสขันธ์", "46090000"],
     ["460907", "ต.โนนบุรี", "Non Buri", ""], (16.70, 103.55)),
    (["46", "จังหวัดกาฬสินธุ์"], ["4602", "อำเภอนามน", "Na Mon"], ["460202", "ตำบลยอดแกง", ""], (16.60, 103.85)),
    (["10", "กทม", "กรุงเทพมหานคร"], ["1004", "เขตบางรัก"], ["100402", "แขวงสีลม", ""], (13.72, 100.53)),
]
YES = ["ใช่", "มี", "1", "true", "TRUE", "yes"]
NO = ["ไม่ใช่", "ไม่มี", "0", "false", "FALSE", "no"]
STATUS_WORDS = ["ช่วยเหลือแล้ว", "อยู่ระหว่างดำเนินการ", "แก้ไขได้ด้วยตนเอง", "ส่งต่อ", "", "ไม่มี", "helped", "none"]


def thai(text: str, on: bool) -> str:
    return text.translate(THAI_DIGITS) if on else text


@st.composite
def messy_household(draw, index: int) -> dict:
    prov, dist, sub, (lat, lon) = draw(st.sampled_from(AREAS))
    digits = draw(st.booleans())
    year = draw(st.integers(2015, 2025))
    year_text = draw(st.sampled_from([str(year), str(year + 543), f"15/06/{year + 543}", f"พ.ศ. {year + 543}"]))
    scores = [draw(st.floats(1.0, 4.0).map(lambda x: round(x, 2))) for _ in range(5)]
    position = draw(st.sampled_from(["ok", "swapped", "blank", "zero", "text"]))
    lat_jitter = draw(st.floats(-0.05, 0.05))
    lat_text, lon_text = {
        "ok": (repr(lat + lat_jitter), repr(lon)),
        "swapped": (repr(lon), repr(lat + lat_jitter)),
        "blank": ("", ""),
        "zero": ("0", "0"),
        "text": ("N/A", repr(lon)),
    }[position]
    income = draw(st.one_of(st.none(), st.floats(0, 500_000).map(lambda x: round(x, 2))))
    row = {
        "household_id": draw(st.sampled_from(["KS-", "hh", "ครัวเรือน-", "=X", "-", "@"])) + str(index),
        "survey_year": thai(year_text, digits),
        "province_code": draw(st.sampled_from(prov)),
        "district_code": draw(st.sampled_from(dist)),
        "subdistrict_code": draw(st.sampled_from(sub)),
        "village_no": thai(draw(st.sampled_from(["", "5", "หมู่ 7", "ม.3"])), digits),
        "lat": lat_text,
        "lon": lon_text,
        "members": thai(draw(st.sampled_from(["1", "4", "30", "๕ คน", "4.0"])), digits),
        "income_per_capita_year": "" if income is None else thai(f"{income:,.2f}", digits),
        **{f"capital_{c}": thai(str(s), digits) for c, s in zip(("human", "physical", "natural", "financial", "social"), scores)},
        "poverty_level": draw(st.sampled_from(["", "2", "อยู่ยาก", "ระดับ 3"])),
        "in_tpmap": draw(st.sampled_from(YES + NO)),
        "verified": draw(st.sampled_from(YES + NO)),
        **{f"dep_{d}": draw(st.sampled_from(YES + NO)) for d in ("health", "living", "education", "income", "access")},
        "assistance_status": draw(st.sampled_from(STATUS_WORDS)),
        "national_id": draw(st.sampled_from(["", "1101700203450", "1-1017-00203-45-0", "3500100123458"])),
    }
    return row


@st.composite
def messy_file(draw) -> bytes:
    count = draw(st.integers(1, 8))
    rows = [draw(messy_household(i)) for i in range(count)]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig"]))
    return buffer.getvalue().encode(encoding)


@SLOW
@given(data=messy_file())
def test_normalising_twice_changes_nothing(data):
    first = import_households([("messy.csv", data)], id_key=KEY, now=NOW)
    assume(first.accepted > 0)
    clean = households_to_bytes(first, "csv")
    second = import_households([("clean.csv", clean)], id_key=KEY, now=NOW)
    assert second.rejected == 0, second.report()["rows"]
    pd.testing.assert_frame_equal(second.households, first.households)
    # and a third time, through Parquet
    third = import_households([("clean.parquet", households_to_bytes(second, "parquet"))], id_key=KEY, now=NOW)
    pd.testing.assert_frame_equal(third.households, first.households)


@FAST
@given(st.text(max_size=40))
def test_cell_cleaning_is_idempotent(text):
    assert clean_cell(clean_cell(text)) == clean_cell(text)
    assert area_name_key(area_name_key(text)) == area_name_key(text) or area_name_key(text).startswith(
        ("จังหวัด", "อำเภอ", "เขต", "ตำบล", "แขวง", "กิ่งอำเภอ")
    )


@FAST
@given(st.floats(-1e12, 1e12, allow_nan=False), st.booleans())
def test_numbers_read_back_as_written(number, digits):
    text = f"{number:,.4f}" if abs(number) >= 1000 else repr(number)
    value, error = parse_number(thai(text, digits))
    assert error is None
    assert value == pytest.approx(float(text.replace(",", "")), rel=1e-12, abs=1e-9)


@FAST
@given(st.integers(2000, 2100))
def test_be_and_ce_years_agree(year):
    assert parse_year(str(year)) == (year, None)
    assert parse_year(str(year + 543)) == (year, None)
    assert parse_year(f"31/12/{year + 543}".translate(THAI_DIGITS)) == (year, None)
    assert to_ascii_digits(str(year).translate(THAI_DIGITS)) == str(year)


# ---------------------------------------------------------------------------------------------
# The check digit against a reference implementation
# ---------------------------------------------------------------------------------------------


def reference_check_digit(first12: str) -> int:
    """The rule as printed on Thai ID-card validators: 11 - (weighted sum mod 11), 10 -> 0, 11 -> 1."""
    weights = range(13, 1, -1)
    total = 0
    for weight, char in zip(weights, first12):
        total += weight * (ord(char) - ord("0"))
    x = 11 - total % 11
    return {10: 0, 11: 1}.get(x, x)


def reference_is_valid(text: str) -> bool:
    digits = [c for c in text if c not in "- "]
    if len(digits) != 13 or not all("0" <= c <= "9" for c in digits):
        return False
    return reference_check_digit("".join(digits[:12])) == ord(digits[12]) - ord("0")


ID13 = st.text(alphabet="0123456789", min_size=13, max_size=13)


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_check_digit_matches_reference(first12):
    assert national_id_check_digit(first12) == reference_check_digit(first12)
    assert is_valid_national_id(first12 + str(reference_check_digit(first12)))


@settings(max_examples=2000, deadline=None)
@given(ID13)
def test_validity_matches_reference_on_random_ids(text):
    assert is_valid_national_id(text) == reference_is_valid(text)
    dashed = f"{text[0]}-{text[1:5]}-{text[5:10]}-{text[10:12]}-{text[12]}"
    assert is_valid_national_id(dashed) == reference_is_valid(text)
    assert is_valid_national_id(text.translate(THAI_DIGITS)) == reference_is_valid(text)


@FAST
@given(st.text(max_size=20))
def test_validity_never_raises_and_mask_never_leaks(text):
    is_valid_national_id(text)
    masked = mask_national_id(text)
    digits = normalise_national_id(text)
    assert sum(ch.isdigit() for ch in masked) <= 4
    if len(digits) >= 5:
        assert digits not in masked
