"""The profile cube answers admin aggregates exactly as the engine does, for every filter it
accepts, and declines the filters it cannot answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.engine.aggregate import aggregate, index_households
from geo.data.contract import ASSISTANCE_STATUSES, CAPITALS
from geo.engine.cube import CUBE_H3_RES, answers, build_cube, cube_aggregate, cube_for
from geo.engine.filters import area_mask, combine_masks
from geo.engine.filters import HouseholdFilter, filter_mask
from tests.geo import export_world
from tests.pages import tiny_world


def _world():
    frame = pd.concat([tiny_world.households(), export_world.households()], ignore_index=True)
    frame["household_id"] = [f"H{i:04d}" for i in range(len(frame))]
    frame.loc[::7, "subdistrict_code"] = pd.NA  # households without a subdistrict still count above it
    return frame


INDEX = index_households(_world())


@pytest.fixture(autouse=True)
def _no_kept_answers():
    """Each test computes its answers: none kept from another test's (tests here watch how)."""
    import geo.engine.cube

    geo.engine.cube._MEMO.clear()
    yield
    geo.engine.cube._MEMO.clear()


def _engine(by: str, flt: HouseholdFilter | None, area: str, **options) -> pd.DataFrame:
    return aggregate(INDEX, by, mask=combine_masks(filter_mask(INDEX, flt), area_mask(INDEX, area)), **options)


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert got.attrs == want.attrs
    assert len(got) == len(want)
    for column in want.columns:
        a, b = got[column], want[column]
        if pd.api.types.is_float_dtype(b.dtype):
            assert np.allclose(a.to_numpy(float, na_value=np.nan), b.to_numpy(float, na_value=np.nan),
                               equal_nan=True, rtol=1e-9, atol=1e-12), column
        else:
            assert a.astype(str).tolist() == b.astype(str).tolist(), column
            assert a.dtype == b.dtype, column


filters = st.builds(
    HouseholdFilter,
    provinces=st.one_of(st.none(), st.sampled_from([("46",), ("34",), ("34", "46")])),
    districts=st.one_of(st.none(), st.sampled_from([("4609",), ("4601", "3401")])),
    levels=st.one_of(st.none(), st.lists(st.sampled_from([1, 2, 3, 4]), min_size=1, unique=True).map(tuple)),
    in_tpmap=st.one_of(st.none(), st.booleans()),
    verified=st.one_of(st.none(), st.booleans()),
    assistance=st.one_of(st.none(), st.lists(st.sampled_from(ASSISTANCE_STATUSES), min_size=1,
                                             unique=True).map(tuple)),
    capitals_in_deficit=st.one_of(st.none(), st.lists(st.sampled_from(CAPITALS), min_size=1,
                                                      unique=True).map(tuple)),
    pilots=st.one_of(st.none(), st.sampled_from([("P1",), ("P2",), ("none",), ("P1", "none"), ("P9",)])),
)


@settings(max_examples=120, deadline=None)
@given(flt=filters, by=st.sampled_from(["province", "district", "subdistrict"]),
       area=st.sampled_from(["", "46", "34", "4609", "4601", "460901", "340101", "99"]))
def test_the_cube_equals_the_engine(flt, by, area):
    _same(cube_aggregate(INDEX, by, flt, area), _engine(by, flt, area))


@settings(max_examples=60, deadline=None)
@given(flt=filters, area=st.sampled_from(["", "46", "4609", "340101"]), rollup=st.sampled_from([None, 1, 10]))
def test_the_cube_equals_the_engine_for_whole_country_hexagons(flt, area, rollup):
    got = cube_aggregate(INDEX, "h3", flt, area, res=CUBE_H3_RES, rollup_min_count=rollup)
    _same(got, _engine("h3", flt, area, res=CUBE_H3_RES, rollup_min_count=rollup))
    assert cube_aggregate(INDEX, "h3", flt, area, res=CUBE_H3_RES + 1) is None  # finer: the engine's


def test_no_filter_and_an_empty_selection():
    for by in ("province", "district", "subdistrict"):
        _same(cube_aggregate(INDEX, by), aggregate(INDEX, by))
    empty = cube_aggregate(INDEX, "district", HouseholdFilter(provinces=("34",)), "46")
    assert empty.empty and list(empty.columns) == list(aggregate(INDEX, "district").columns)


def test_a_store_without_households_builds_an_empty_cube():
    # an officer's first import can leave an empty index (every row rejected): no slot, no crash
    none = index_households(_world().iloc[:0])
    assert build_cube(none).district_sums.shape[2] == 0
    for by in ("province", "district"):
        _same(cube_aggregate(none, by), aggregate(none, by))


def test_filters_the_cube_cannot_answer_fall_back():
    assert answers(None) and answers(HouseholdFilter(levels=(1,), capitals_in_deficit=("natural",)))
    assert answers(HouseholdFilter(pilots=("P1", "none")))
    for flt in (HouseholdFilter(capitals_in_deficit=("natural",), deficit_cutoff=2.0),
                HouseholdFilter(deprivations=("income",))):
        assert not answers(flt) and cube_aggregate(INDEX, "province", flt) is None
    with pytest.raises(ValueError):
        cube_aggregate(INDEX, "county")


def test_the_cube_is_built_once_per_index_and_counts_every_household():
    assert cube_for(INDEX) is cube_for(INDEX)
    cube = build_cube(INDEX)
    assert int(cube.households.sum()) == INDEX.n
    assert cube.sums.shape == (17, cube.households.size) and (cube.households > 0).all()


# every selection as all the rows' sums minus the rows left out / gathered
@pytest.mark.parametrize("dense_share", [0.0, 1.0])
def test_both_ways_of_summing_equal_the_engine(monkeypatch, dense_share):
    import geo.engine.cube

    monkeypatch.setattr(geo.engine.cube, "_DENSE_SHARE", dense_share)
    for flt, area in ((None, ""), (HouseholdFilter(levels=(1, 2), pilots=("none",)), "46"),
                      (HouseholdFilter(provinces=("34",)), "46")):
        for by in ("province", "district", "subdistrict"):
            _same(cube_aggregate(INDEX, by, flt, area), _engine(by, flt, area))
        _same(cube_aggregate(INDEX, "h3", flt, area, res=5), _engine("h3", flt, area, res=5))


@pytest.mark.parametrize("by", ["h3", "province", "subdistrict"])
def test_most_rows_selected_sums_only_the_rows_left_out(monkeypatch, by):
    """"In no pilot" and no filter (the national H3 map's slowest filter changes): the kept sums of
    every row minus the pilot rows, equal to the engine and to gathering the selected rows."""
    import geo.engine.cube

    cube = build_cube(INDEX)
    res = CUBE_H3_RES if by == "h3" else None
    seen = []
    group_sums = geo.engine.cube._group_sums

    def recording(cube, group, rows, n, **options):
        seen.append(cube.households.size if rows is None else rows.size)
        return group_sums(cube, group, rows, n, **options)

    monkeypatch.setattr(geo.engine.cube, "_group_sums", recording)
    in_pilots = int(np.count_nonzero(cube.leaf_pilot[cube.row_leaf] >= 0))
    assert 0 < in_pilots < cube.households.size / 2
    no_pilot = HouseholdFilter(pilots=("none",))
    got = cube_aggregate(INDEX, by, no_pilot, res=res, cube=cube)
    assert seen[0] > cube.households.size / 2 and seen[1] <= in_pilots  # the rows with a group, kept; the pilots'
    _same(got, _engine(by, no_pilot, "", res=res))
    seen.clear()
    _same(cube_aggregate(INDEX, by, None, res=res, cube=cube), _engine(by, None, "", res=res))
    geo.engine.cube._MEMO.clear()  # the answer is kept: forget it, to watch the kept sums
    again = cube_aggregate(INDEX, by, no_pilot, res=res, cube=cube)
    assert len(seen) == 1 and 0 < seen[0] <= in_pilots  # the kept sums are reused, not recomputed nor changed
    _same(again, got)
    monkeypatch.setattr(geo.engine.cube, "_DENSE_SHARE", 1.0)  # gather the selected rows instead
    geo.engine.cube._MEMO.clear()
    seen.clear()
    _same(cube_aggregate(INDEX, by, no_pilot, res=res, cube=cube), got)
    assert len(seen) == 1 and seen[0] > in_pilots  # the selected rows gathered, not recalled
    kept = geo.engine.cube._ALL_ROWS[cube][by]
    assert not any(array.flags.writeable for array in kept)


# The district sums: district and province answers for filters that pick whole profiles and districts.
district_filters = st.builds(
    HouseholdFilter,
    provinces=st.one_of(st.none(), st.sampled_from([("46",), ("34",), ("34", "46")])),
    districts=st.one_of(st.none(), st.sampled_from([("4609",), ("4601", "3401")])),
    levels=st.one_of(st.none(), st.lists(st.sampled_from([1, 2, 3, 4]), min_size=1, unique=True).map(tuple)),
    in_tpmap=st.one_of(st.none(), st.booleans()),
    verified=st.one_of(st.none(), st.booleans()),
    assistance=st.one_of(st.none(), st.lists(st.sampled_from(ASSISTANCE_STATUSES), min_size=1,
                                             unique=True).map(tuple)),
)


def _rows_only(monkeypatch):
    """Make the rows' way of answering fail, so a test proves the district sums answered."""
    import geo.engine.cube

    def refuse(*_args, **_kwargs):
        raise AssertionError("answered from the rows, not the district sums")

    monkeypatch.setattr(geo.engine.cube, "_rows_raw", refuse)


@settings(max_examples=120, deadline=None)
@given(flt=st.one_of(st.none(), district_filters), by=st.sampled_from(["province", "district"]),
       area=st.sampled_from(["", "46", "34", "4609", "4601", "99", "9999"]))
def test_the_district_sums_equal_the_engine(flt, by, area):
    with pytest.MonkeyPatch.context() as monkeypatch:
        _rows_only(monkeypatch)
        _same(cube_aggregate(INDEX, by, flt, area), _engine(by, flt, area))


def test_the_district_sums_answer_the_benchmark_filter_and_the_others_fall_to_the_rows(monkeypatch):
    flt = HouseholdFilter(levels=(1, 2), in_tpmap=False)
    want = {by: _engine(by, flt, "") for by in ("province", "district")}
    _rows_only(monkeypatch)
    for by in ("province", "district"):
        _same(cube_aggregate(INDEX, by, flt), want[by])
    for by, flt, area in (("subdistrict", None, ""), ("district", None, "460901"),
                          ("district", HouseholdFilter(levels=(1,), capitals_in_deficit=("natural",)), ""),
                          ("province", HouseholdFilter(pilots=("none",)), "")):
        with pytest.raises(AssertionError, match="from the rows"):
            cube_aggregate(INDEX, by, flt, area)


def test_the_district_sums_conserve_households_and_keys():
    cube = cube_for(INDEX)
    from geo.engine.cube import _D_HOUSEHOLDS, _KEY

    assert cube.district_sums.shape == (80, 36, cube.slot_province.size)
    assert cube.district_sums[:, _D_HOUSEHOLDS].sum() == INDEX.n
    assert cube.district_sums[:, _KEY].sum() == INDEX.record_key.sum(dtype=np.int64)
    # one slot per province and district pair holding households, sorted
    pairs = cube.slot_province * 65536 + cube.slot_district
    assert np.array_equal(pairs, np.unique(INDEX.province.astype(np.int64) * 65536 + INDEX.district))


def test_a_district_code_under_two_provinces_is_summed_once_per_code():
    frame = _world()
    moved = frame.index[frame["district_code"] == "4609"][:3]
    frame.loc[moved, "province_code"] = "34"  # messy data: a 46 district's households filed under 34
    index = index_households(frame)
    cube = build_cube(index)
    assert cube.slot_district.size > np.unique(cube.slot_district).size
    for by in ("province", "district"):
        for flt in (None, HouseholdFilter(levels=(1, 2), in_tpmap=False), HouseholdFilter(provinces=("34",))):
            _same(cube_aggregate(index, by, flt, cube=cube), aggregate(index, by, mask=filter_mask(index, flt)))


def test_a_cube_saved_without_district_sums_gets_them_on_reading(tmp_path):
    from geo.engine.cube import CUBE_ARRAYS, read_cube, write_cube

    cube = build_cube(INDEX)
    write_cube(cube, tmp_path)
    for name in ("slot_province", "slot_district", "district_sums"):
        (tmp_path / f"cube_{name}.npy").unlink()
    read = read_cube(tmp_path)
    for name in CUBE_ARRAYS:
        assert np.allclose(getattr(read, name), getattr(cube, name)), name
    _same(cube_aggregate(INDEX, "district", HouseholdFilter(levels=(1, 2)), cube=read),
          _engine("district", HouseholdFilter(levels=(1, 2)), ""))


# Recent answers are kept per cube: an Overview rerun asks for the province table twice.
@pytest.mark.parametrize("by, options", [("province", {}), ("district", {}), ("subdistrict", {}),
                                         ("h3", {"res": CUBE_H3_RES, "rollup_min_count": 10})])
def test_a_kept_answer_equals_a_fresh_one_and_callers_cannot_change_it(monkeypatch, by, options):
    import geo.engine.cube

    flt, area = HouseholdFilter(levels=(1, 2), capitals_in_deficit=("natural",)), "46"
    first = cube_aggregate(INDEX, by, flt, area, **options)
    want = _engine(by, flt, area, **options)
    _same(first, want)
    computed = []
    answer = geo.engine.cube._answer
    monkeypatch.setattr(geo.engine.cube, "_answer", lambda *a: computed.append(a) or answer(*a))
    first.loc[:, "households"] = 0  # a caller changing the table it got, its values and attributes
    first.attrs["by"] = "changed"
    second = cube_aggregate(INDEX, by, flt, area, **options)
    assert not computed and second is not first
    _same(second, want)
    second[second.columns[-1]] = -1
    _same(cube_aggregate(INDEX, by, flt, area, **options), want)
    assert not computed
    # another question (filter, area or options) is computed, not recalled
    cube_aggregate(INDEX, by, HouseholdFilter(levels=(1, 2)), area, **options)
    cube_aggregate(INDEX, by, flt, "", **options)
    assert len(computed) == 2


def test_the_kept_answers_are_few_and_small(monkeypatch):
    import geo.engine.cube

    cube = cube_for(INDEX)
    for level in (1, 2, 3, 4):
        for by in ("province", "district"):
            cube_aggregate(INDEX, by, HouseholdFilter(levels=(level,)))
    assert len(geo.engine.cube._MEMO[cube]) == geo.engine.cube._MEMO_ENTRIES
    monkeypatch.setattr(geo.engine.cube, "_MEMO_MAX_BYTES", 0)  # too large to keep: computed each time
    geo.engine.cube._MEMO.clear()
    cube_aggregate(INDEX, "district")
    assert not geo.engine.cube._MEMO.get(cube)


@pytest.mark.parametrize("by", ["province", "district", "h3"])
@pytest.mark.parametrize("capitals", [("natural",), ("human", "financial"), tuple(CAPITALS)])
def test_capitals_in_deficit_alone_take_kept_fields_and_the_rows_summed_by_group(monkeypatch, by, capitals):
    """The whole country's map with only capitals in deficit: the 17 fields come from the kept sums
    per deficit code and the histograms from the cube's rows summed by group, profile and code (no
    pass over the cube's rows), equal to the engine and to gathering the rows."""
    import geo.engine.cube

    res = CUBE_H3_RES if by == "h3" else None
    flt = HouseholdFilter(capitals_in_deficit=capitals)
    gathered_fields = []
    group_sums = geo.engine.cube._group_sums

    def recording(*args, **kwargs):
        out = group_sums(*args, **kwargs)
        gathered_fields.append(out[-1] is not None)
        return out

    monkeypatch.setattr(geo.engine.cube, "_group_sums", recording)
    cube_aggregate(INDEX, by, None, res=res)  # the kept sums, as after the first (unfiltered) map
    geo.engine.cube._MEMO.clear()
    gathered_fields.clear()
    got = cube_aggregate(INDEX, by, flt, res=res)
    assert gathered_fields == []
    coarse = geo.engine.cube._ALL_ROWS[geo.engine.cube.cube_for(INDEX)][(by, "coarse")]
    assert coarse[0].size < geo.engine.cube.cube_for(INDEX).row_leaf.size  # fewer than the cube's rows
    _same(got, _engine(by, flt, "", res=res))
    monkeypatch.setattr(geo.engine.cube, "_BY_CODE_LEVELS", ())  # gather every field instead
    geo.engine.cube._MEMO.clear()
    _same(cube_aggregate(INDEX, by, flt, res=res, cube=build_cube(INDEX)), got)
    # with another restriction (levels, pilots, an area) the rows are gathered, fields too
    monkeypatch.undo()
    monkeypatch.setattr(geo.engine.cube, "_group_sums", recording)
    monkeypatch.setattr(geo.engine.cube, "_DENSE_SHARE", 1.0)
    for other, area in ((HouseholdFilter(capitals_in_deficit=capitals, levels=(1, 2)), ""),
                        (HouseholdFilter(capitals_in_deficit=capitals, pilots=("none",)), ""), (flt, "46")):
        gathered_fields.clear()
        _same(cube_aggregate(INDEX, by, other, area, res=res), _engine(by, other, area, res=res))
        assert all(gathered_fields)


@pytest.mark.parametrize("flt", [HouseholdFilter(in_tpmap=False), HouseholdFilter(levels=(1, 2)),
                                 HouseholdFilter(assistance=("none",), verified=False)])
def test_whole_country_hexagons_by_profile_take_the_fields_from_the_kept_sums_per_profile(monkeypatch, flt):
    import geo.engine.cube

    gathered_fields = []
    group_sums = geo.engine.cube._group_sums

    def recording(*args, **kwargs):
        out = group_sums(*args, **kwargs)
        gathered_fields.append(out[-1] is not None)
        return out

    monkeypatch.setattr(geo.engine.cube, "_group_sums", recording)
    monkeypatch.setattr(geo.engine.cube, "_DENSE_SHARE", 1.0)  # never all rows minus those left out
    got = cube_aggregate(INDEX, "h3", flt, res=CUBE_H3_RES)
    assert gathered_fields == [False]
    _same(got, _engine("h3", flt, "", res=CUBE_H3_RES))
    assert not geo.engine.cube._ALL_ROWS[cube_for(INDEX)][("h3", "profile")].flags.writeable
    for other, area in ((HouseholdFilter(in_tpmap=False, capitals_in_deficit=("natural",)), ""),
                        (HouseholdFilter(levels=(1, 2), pilots=("P1",)), ""), (flt, "4609")):
        gathered_fields.clear()
        _same(cube_aggregate(INDEX, "h3", other, area, res=CUBE_H3_RES), _engine("h3", other, area, res=CUBE_H3_RES))
        assert all(gathered_fields)
