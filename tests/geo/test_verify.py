"""Tests for ``geo.engine.verify``: declared areas against positions, equal to ``geopandas.sjoin``.

Three inline squares (as geopandas' ``test_sjoin`` builds them), placed in Kalasin so the
coordinates look Thai: 4601 and 4602 share the border lon = 103.5; 4603 sits on top of 4601.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import box

from geo.errors import EngineInputError
from geo.engine.verify import (
    assign_codes,
    distance_to_areas_m,
    in_declared,
    locate_households,
    locate_points,
    prepare_boundaries,
    sjoin_locate,
    verify_households,
)


@pytest.fixture(scope="module")
def squares() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["4601", "4602", "4603"], "name_en": ["a", "b", "c"]},
        geometry=[box(103.0, 16.0, 103.5, 16.5), box(103.5, 16.0, 104.0, 16.5), box(103.0, 16.5, 103.5, 17.0)],
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def prepared(squares):
    return prepare_boundaries(squares, "district")


# (lon, lat, declared) -> expected in_declared, located code
CASES = [
    pytest.param(103.25, 16.25, "4601", 1, "4601", id="inside"),
    pytest.param(103.75, 16.25, "4601", 0, "4602", id="in-the-neighbour"),
    pytest.param(103.5, 16.25, "4602", 1, "4602", id="on-shared-border-declared-larger-code"),
    pytest.param(103.5, 16.25, "4601", 1, "4601", id="on-shared-border-declared-smaller-code"),
    pytest.param(103.5, 16.25, "4603", 0, "4601", id="on-border-of-two-others-smallest-code"),
    pytest.param(103.5, 16.5, "4603", 1, "4603", id="corner-of-three"),
    pytest.param(105.0, 16.25, "4601", 0, "", id="outside-every-district"),
    pytest.param(np.nan, 16.25, "4601", -1, "", id="nan-position"),
    pytest.param(103.25, 16.25, "4699", -1, "4601", id="unknown-declared-code"),
    pytest.param(103.25, 16.25, None, -1, "4601", id="no-declared-code"),
]


@pytest.mark.parametrize(("lon", "lat", "declared", "inside", "located"), CASES)
def test_edge_cases(prepared, squares, lon, lat, declared, inside, located):
    flag, where = locate_households([lon], [lat], pd.array([declared], dtype="string"), prepared)
    assert flag.tolist() == [inside]
    codes = np.append(prepared.codes, "")
    assert codes[where].tolist() == [located]
    assert sjoin_locate([lon], [lat], pd.array([declared], dtype="string"), squares).tolist() == [located]


def test_in_declared_accepts_a_geodataframe(squares):
    assert in_declared([103.25, 103.75], [16.25, 16.25], ["4601", "4601"], squares).tolist() == [1, 0]


def _random_points(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lon = rng.uniform(102.9, 104.1, n)
    lat = rng.uniform(15.9, 17.1, n)
    # put some points exactly on borders and corners
    on = rng.random(n) < 0.2
    lon[on] = rng.choice([103.0, 103.5, 104.0], on.sum())
    on = rng.random(n) < 0.2
    lat[on] = rng.choice([16.0, 16.5, 17.0], on.sum())
    lon[rng.random(n) < 0.02] = np.nan
    declared = rng.choice(np.array(["4601", "4602", "4603", "4699", None], dtype=object), n, p=[.4, .3, .2, .05, .05])
    return lon, lat, declared


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 300), seed=st.integers(0, 10_000))
def test_equals_geopandas_sjoin(squares, prepared, n, seed):
    lon, lat, declared = _random_points(np.random.default_rng(seed), n)
    declared = pd.array(declared, dtype="string")
    inside, located = locate_households(lon, lat, declared, prepared, workers=1)
    codes = np.append(prepared.codes, "")[located]
    assert codes.tolist() == sjoin_locate(lon, lat, declared, squares).tolist()
    in_declared_by_sjoin = [c != "" and c == d for c, d in zip(codes, declared.fillna("~"))]
    assert (inside == 1).tolist() == in_declared_by_sjoin


def test_threaded_path_equals_serial(prepared):
    lon, lat, declared = _random_points(np.random.default_rng(1), 120_000)
    a = in_declared(lon, lat, declared, prepared, workers=1)
    b = in_declared(lon, lat, declared, prepared, workers=2)
    assert np.array_equal(a, b)


def test_each_position_is_located_in_at_most_one_district(prepared):
    lon, lat, _ = _random_points(np.random.default_rng(2), 2000)
    located = locate_points(lon, lat, prepared)
    assert located.shape == lon.shape
    assert set(np.unique(located)) <= {-1, 0, 1, 2}


def test_distance_is_geodesic_metres(prepared):
    # 0.1 degree east of 4601's eastern edge, inside 4602
    metres = distance_to_areas_m([103.6, 103.25, np.nan], [16.25, 16.25, 16.25], [0, 0, 0], prepared)
    _, _, expected = Geod(ellps="WGS84").inv(103.6, 16.25, 103.5, 16.25)
    assert metres[0] == pytest.approx(expected, rel=1e-3)
    assert metres[1] == 0.0
    assert np.isnan(metres[2])
    # north of 4603: distance is along the meridian
    metres = distance_to_areas_m([103.25], [17.1], [2], prepared)
    _, _, expected = Geod(ellps="WGS84").inv(103.25, 17.1, 103.25, 17.0)
    assert metres[0] == pytest.approx(expected, rel=1e-3)


def _households(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["household_id", "district_code", "subdistrict_code", "lon", "lat"])
    frame["survey_year"] = 2024
    frame["province_code"] = frame["district_code"].str[:2]
    for column in ("district_code", "subdistrict_code", "province_code", "household_id"):
        frame[column] = frame[column].astype("string")
    return frame


def test_verify_households_reports_problems_only(prepared, squares):
    subdistricts = gpd.GeoDataFrame(
        {"code": ["460101", "460102"]}, geometry=[box(103.0, 16.0, 103.25, 16.5), box(103.25, 16.0, 103.5, 16.5)],
        crs="EPSG:4326",
    )
    households = _households([
        ("ok", "4601", "460101", 103.1, 16.2),
        ("wrong-district", "4601", "460101", 103.6, 16.2),
        ("wrong-subdistrict", "4601", "460101", 103.4, 16.2),
        ("no-position", "4601", None, np.nan, np.nan),
        ("no-codes", None, None, 103.3, 16.2),
        ("unknown-code", "4699", "460101", 103.1, 16.2),
    ])
    problems = verify_households(households, prepared, subdistricts)
    found = {(r.household_id, r.level): (r.status, r.located_code) for r in problems.itertuples()}
    assert ("ok", "district") not in found and ("ok", "subdistrict") not in found
    assert found[("wrong-district", "district")] == ("outside_declared", "4602")
    assert found[("wrong-district", "subdistrict")] == ("outside_declared", "")
    assert found[("wrong-subdistrict", "subdistrict")] == ("outside_declared", "460102")
    assert ("wrong-subdistrict", "district") not in found
    assert found[("no-position", "district")] == ("no_position", "")
    assert found[("no-codes", "district")] == ("assigned", "4601")
    assert found[("no-codes", "subdistrict")] == ("assigned", "460102")
    assert found[("unknown-code", "district")] == ("declared_unknown", "4601")
    distance = problems.set_index(["household_id", "level"]).loc[("wrong-district", "district"), "distance_m"]
    assert distance == pytest.approx(Geod(ellps="WGS84").inv(103.6, 16.2, 103.5, 16.2)[2], rel=1e-3)
    assert list(problems.columns) == ["household_id", "survey_year", "lat", "lon", "level", "declared_code",
                                      "located_code", "status", "distance_m"]


def test_verify_with_no_problems_is_empty(squares):
    households = _households([("ok", "4601", "460101", 103.1, 16.2)])
    assert verify_households(households, squares).empty


def test_assign_codes_fills_only_missing(squares):
    households = _households([
        ("a", None, None, 103.75, 16.2), ("b", "4601", None, 103.75, 16.2), ("c", None, None, 110.0, 16.2),
    ])
    households.loc[0, "province_code"] = pd.NA
    out = assign_codes(households, squares)
    assert out["district_code"].tolist()[:2] == ["4602", "4601"]
    assert out["district_code"].isna().tolist() == [False, False, True]
    assert out.loc[0, "province_code"] == "46"
    assert households["district_code"].isna().sum() == 2  # input unchanged


def test_prepare_checks(squares):
    with pytest.raises(EngineInputError, match="boundaries must be in EPSG:4326"):
        prepare_boundaries(squares.to_crs(32648), "district")
    bad = squares.assign(code=["461", "4602", "4603"])
    with pytest.raises(EngineInputError, match=r"boundaries\['code'\] must be 4-digit district codes, got \['461'\]"):
        prepare_boundaries(bad, "district")
    with pytest.raises(EngineInputError, match=r"level must be one of \['province', 'district', 'subdistrict'\]"):
        prepare_boundaries(squares, "village")
    doubled = pd.concat([squares, squares.iloc[[0]].assign(geometry=[box(102.5, 16.0, 103.0, 16.5)])])
    prepared = prepare_boundaries(gpd.GeoDataFrame(doubled, crs="EPSG:4326"), "district")
    assert prepared.codes.tolist() == ["4601", "4602", "4603"]
    assert locate_points([102.75], [16.25], prepared).tolist() == [0]
    with pytest.raises(EngineInputError, match="lon and lat must have the same length, got 2 and 1"):
        locate_points([1.0, 2.0], [1.0], prepared)


def test_installed_boundaries_equal_sjoin(skip_or_fail):
    from geo.data.boundaries import load_boundaries
    from geo.errors import BoundaryError

    try:
        districts = load_boundaries("district")
    except BoundaryError:
        skip_or_fail("no installed boundaries; run `python -m geo boundaries install`")
        return
    rng = np.random.default_rng(7)
    n = 20_000
    lon = rng.uniform(97.3, 105.7, n)
    lat = rng.uniform(5.6, 20.5, n)
    declared = pd.array(districts["code"].to_numpy(object)[rng.integers(0, len(districts), n)], dtype="string")
    prepared = prepare_boundaries(districts, "district")
    _, located = locate_households(lon, lat, declared, prepared)
    assert np.append(prepared.codes, "")[located].tolist() == sjoin_locate(lon, lat, declared, districts).tolist()
