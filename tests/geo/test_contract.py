"""The household data contract: aliases, level bands, conforming and checking frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.data import contract
from geo.errors import ContractError


def household(**overrides) -> dict:
    row = {
        "household_id": "46-0000001", "survey_year": 2023, "province_code": "46", "district_code": "4609",
        "subdistrict_code": "460901", "village_no": 3, "lat": 16.6, "lon": 103.5, "members": 4,
        "income_per_capita_year": 35000.0, "capital_human": 2.0, "capital_physical": 2.8,
        "capital_natural": 1.5, "capital_financial": 1.6, "capital_social": 2.2, "poverty_level": 2,
        "in_tpmap": False, "verified": True, "dep_health": False, "dep_living": True, "dep_education": False,
        "dep_income": True, "dep_access": False, "assistance_status": "helped", "pilot_id": None,
    }
    row.update(overrides)
    return row


def frame(*rows: dict) -> pd.DataFrame:
    return contract.conform_households(pd.DataFrame(list(rows)))


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("รหัสครัวเรือน", "household_id"), ("รหัสจังหวัด", "province_code"), ("รหัสอำเภอ", "district_code"),
        ("รหัสตำบล", "subdistrict_code"), ("หมู่ที่", "village_no"), ("ละติจูด", "lat"), ("ลองจิจูด", "lon"),
        ("จำนวนสมาชิก", "members"), ("ทุนมนุษย์", "capital_human"), ("ทุนกายภาพ", "capital_physical"),
        ("ทุนธรรมชาติ", "capital_natural"), ("ทุนเศรษฐกิจ", "capital_financial"), ("ทุนการเงิน", "capital_financial"),
        ("ทุนสังคม", "capital_social"), ("เลขประจำตัวประชาชน", "national_id"), ("\ufeffHousehold ID", "household_id"),
        (" Province-Code ", "province_code"), ("LNG", "lon"), ("Latitude", "lat"),
    ],
)
def test_thai_and_english_headers_map_to_contract_columns(header, column):
    assert contract.column_for_header(header) == column


def test_every_alias_is_unambiguous_and_every_column_has_its_own_name():
    keys = [contract.header_key(a) for aliases in contract.HEADER_ALIASES.values() for a in aliases]
    assert len(keys) == len(set(keys)), "one header must not stand for two columns"
    for column in contract.HOUSEHOLD_COLUMN_NAMES:
        if column != "national_id_hash":
            assert contract.column_for_header(column) == column


@pytest.mark.parametrize(
    ("score", "level"),
    [(1.0, 1), (1.74, 1), (1.75, 2), (2.49, 2), (2.5, 3), (3.24, 3), (3.25, 4), (4.0, 4), (np.nan, 0)],
)
def test_levels_follow_the_domain_bands(score, level):
    assert contract.poverty_level_from_scores(np.array([score])).tolist() == [level]


@given(st.lists(st.floats(1.0, 4.0), min_size=1, max_size=50))
def test_levels_never_decrease_as_scores_rise(scores):
    levels = contract.poverty_level_from_scores(np.sort(np.array(scores)))
    assert (np.diff(levels.astype(int)) >= 0).all()
    assert set(levels.tolist()) <= {1, 2, 3, 4}


def test_conform_gives_the_contract_shape_and_fills_optional_columns():
    row = household()
    del row["pilot_id"], row["village_no"]
    df = contract.conform_households(pd.DataFrame([row]))
    assert list(df.columns) == list(contract.HOUSEHOLD_COLUMN_NAMES)
    assert {c: str(t) for c, t in df.dtypes.items()} == contract.HOUSEHOLD_DTYPES
    assert df["pilot_id"].isna().all() and df["national_id_hash"].isna().all()
    contract.check_households(df)


def test_conform_names_a_missing_required_column():
    row = household()
    del row["members"]
    with pytest.raises(ContractError, match="members"):
        contract.conform_households(pd.DataFrame([row]))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"province_code": "4"}, "2 digits"),
        ({"district_code": "4709"}, "district outside its province"),
        ({"subdistrict_code": "460201"}, "subdistrict outside its district"),
        ({"capital_natural": 4.5}, "1.0-4.0"),
        ({"poverty_level": 5}, "levels must be 1-4"),
        ({"members": 0}, "members must be 1-30"),
        ({"assistance_status": "done"}, "status must be one of"),
        ({"lat": None}, "both present or both empty"),
        ({"in_tpmap": None}, "missing values"),
    ],
)
def test_check_names_the_broken_rule(overrides, message):
    with pytest.raises(ContractError, match=message):
        contract.check_households(frame(household(**overrides)))


def test_optional_columns_may_be_unknown():
    row = household()
    for column in contract.OPTIONAL_REPORTED_COLUMNS:
        del row[column]
    out = contract.conform_households(pd.DataFrame([row]))
    contract.check_households(out)  # accepted: unknown is allowed there
    for column in contract.OPTIONAL_REPORTED_COLUMNS:
        assert out[column].isna().all()
    assert {c: str(out[c].dtype) for c in ("verified", "dep_health", "village_no", "income_per_capita_year",
                                           "assistance_status", "pilot_id")} == {
        "verified": "boolean", "dep_health": "boolean", "village_no": "Int16",
        "income_per_capita_year": "Float64", "assistance_status": "string", "pilot_id": "string"}


def test_check_refuses_a_household_twice_in_one_round_but_not_across_rounds():
    contract.check_households(frame(household(), household(survey_year=2024)))
    with pytest.raises(ContractError, match="duplicate household"):
        contract.check_households(frame(household(), household()))


@pytest.mark.parametrize(
    ("lat", "lon", "inside"),
    [(16.43, 103.5, True), (103.5, 16.43, False), (0, 0, False), ("x", 100, False), (None, None, False)],
)
def test_is_in_thailand(lat, lon, inside):
    assert contract.is_in_thailand(lat, lon) is inside


def test_code_predicates_never_raise():
    assert contract.is_valid_district_code("4609")
    for bad in ("460", "46a9", 4609, None, "๔๖๐๙"):
        assert not contract.is_valid_district_code(bad)
    assert contract.is_valid_province_code("46") and contract.is_valid_subdistrict_code("460901")


def test_pilots_conform_with_illustrative_defaulting_to_false():
    pilots = contract.conform_pilots(pd.DataFrame([{
        "pilot_id": "P1", "name_th": "เห็ดฟางเงินล้านแก้จน", "name_en": "Straw mushrooms", "kind": "mushroom",
        "university": "Kalasin University", "province_code": "46", "district_code": "4609", "lat": 16.7,
        "lon": 103.6, "start_year": 2022, "households_target": 500,
    }]))
    assert list(pilots.columns) == list(contract.PILOT_COLUMN_NAMES)
    assert pilots.loc[0, "illustrative"] is np.False_ or pilots.loc[0, "illustrative"] is False
