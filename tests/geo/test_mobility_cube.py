"""Tests for :mod:`geo.engine.mobility_cube`: the pairs cube answers as the plain path does."""

from __future__ import annotations

import gc
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from geo.data.contract import CAPITALS
from geo.engine import mobility_cube
from geo.engine.mobility import mobility_table, mobility_totals, pair_rounds, released_cell_count
from geo.engine.mobility_cube import (H3_CUBE_MAX_SHARE, MEASURES, PairsH3Cube, answers, build_pairs_cube,
                                      cube_for_filter, cube_mobility_table, cube_mobility_totals,
                                      cube_released_cell_count, h3_cube_for, pairs_cube_for)
from geo.errors import EngineInputError
from geo.views.change import change_map, pairs_mask
from geo.views.dashboard_maps import MapContext
from geo.views.viewstate import ViewState
from tests.support.rounds import two_rounds

MEANS = [f"{c}_mean_change" for c in CAPITALS]


@pytest.fixture(scope="module")
def pairs() -> pd.DataFrame:
    return pair_rounds(two_rounds(3000, seed=3), 2021, 2023, h3_resolutions=())


@pytest.fixture(scope="module")
def cube(pairs):
    """The cube with the deficit code (every filter)."""
    return build_pairs_cube(pairs, deficit=True)


def _same_table(plain: pd.DataFrame, cubed: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(plain.drop(columns=MEANS), cubed.drop(columns=MEANS))
    # Change sums are summed per cube row first: equal up to float rounding.
    pd.testing.assert_frame_equal(plain[MEANS], cubed[MEANS], rtol=1e-9, atol=1e-12)
    assert plain.attrs == cubed.attrs


def _random_view(rng: np.random.Generator, pairs: pd.DataFrame) -> ViewState:
    provinces = sorted(pairs["province_code"].dropna().astype(str).unique())
    districts = sorted(pairs["district_code"].dropna().astype(str).unique())
    subdistricts = sorted(pairs["subdistrict_code"].dropna().astype(str).unique())
    pilots = sorted(set(pairs["pilot_from"].dropna().astype(str)) | set(pairs["pilot_to"].dropna().astype(str)))

    def some(values, most=3):
        if not values or rng.random() < 0.5:
            return ()
        return tuple(rng.choice(values, size=min(len(values), int(rng.integers(1, most + 1))), replace=False).tolist())

    area = ""
    if rng.random() < 0.3:
        area = str(rng.choice(provinces + districts + subdistricts))
    return ViewState(provinces=some(provinces), districts=some(districts, 6), area=area,
                     levels=tuple(int(v) for v in some([1, 2, 3, 4], 2)),
                     capitals_in_deficit=some(list(CAPITALS), 2),
                     pilots=some(pilots + ["none"], 2))


def test_the_cube_sums_every_pair_once(pairs, cube):
    assert cube.measures.shape == (len(cube.rows), len(MEASURES))
    assert cube.measures[:, 0].sum() == len(pairs)
    assert cube.measures[:, 1].sum() == pairs["record_key"].astype("int64").sum()
    assert len(cube.coarse.rows) <= len(cube.by_pilot.rows) <= len(cube.rows)
    for smaller in (cube.coarse, cube.by_pilot):
        np.testing.assert_allclose(smaller.measures.sum(axis=0), cube.measures.sum(axis=0))
    assert "financial_from" not in cube.by_pilot.rows and "pilot_from" not in cube.coarse.rows
    assert cube_for_filter(cube, deficit=True, pilots=True) is cube
    kept = build_pairs_cube(pairs)  # the app's: no deficit code, its rows are by leaf x transition x pilots
    assert not kept.deficit and kept.by_pilot is kept and "financial_from" not in kept.rows
    assert kept.by_deficit.deficit and "pilot_from" not in kept.by_deficit.rows
    assert (kept.by_deficit.place["subdistrict"] == -1).all() and len(kept.by_deficit.rows) < len(cube.rows)
    np.testing.assert_allclose(kept.by_deficit.measures.sum(axis=0), cube.measures.sum(axis=0))
    for by in (None, "province", "district"):
        assert cube_for_filter(kept, deficit=True, pilots=False, by=by) is kept.by_deficit
    for by, pilots in (("subdistrict", False), ("h3", False), ("district", True)):
        assert cube_for_filter(kept, deficit=True, pilots=pilots, by=by) is None
    np.testing.assert_allclose(kept.measures.sum(axis=0), cube.measures.sum(axis=0))
    assert cube_for_filter(cube, deficit=False, pilots=True) is cube.by_pilot
    assert cube_for_filter(cube, deficit=False, pilots=False) is cube.coarse


@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize("by", ["province", "district", "subdistrict"])
def test_whole_tables_equal_the_plain_path(pairs, cube, by, exact):
    plain = mobility_table(pairs, by=by, exact=exact, min_count=5)
    for which in (cube, cube.by_pilot, cube.coarse, build_pairs_cube(pairs)):
        _same_table(plain, cube_mobility_table(which, by=by, exact=exact, min_count=5))


@pytest.mark.parametrize("seed", range(12))
def test_random_filters_equal_the_plain_path(pairs, cube, seed):
    rng = np.random.default_rng(seed)
    view = _random_view(rng, pairs)
    by = str(rng.choice(["province", "district", "subdistrict"]))
    exact, k = bool(rng.random() < 0.5), int(rng.choice([1, 5, 10]))
    mask = pairs_mask(pairs, view)
    plain = mobility_table(pairs, by=by, exact=exact, min_count=k, mask=mask)
    cubed = cube_mobility_table(cube, by=by, exact=exact, min_count=k, mask=pairs_mask(cube.rows, view))
    _same_table(plain, cubed)
    totals = mobility_totals(pairs, exact=exact, min_count=k, mask=mask)
    from_cube = cube_mobility_totals(cube, exact=exact, min_count=k, mask=pairs_mask(cube.rows, view))
    counts = [name for name in totals.index if name not in MEANS]
    assert totals[counts].astype(object).equals(from_cube[counts].astype(object))
    np.testing.assert_allclose(totals[MEANS].astype(float), from_cube[MEANS].astype(float), rtol=1e-9)
    assert totals.attrs == from_cube.attrs
    smaller = cube_for_filter(cube, deficit=bool(view.capitals_in_deficit), pilots=bool(view.pilots))
    _same_table(plain, cube_mobility_table(smaller, by=by, exact=exact, min_count=k,
                                           mask=pairs_mask(smaller.rows, view)))


@pytest.mark.parametrize("seed", range(8))
def test_filters_on_capitals_in_deficit_by_district_equal_the_plain_path(pairs, seed):
    """The app's cube (no deficit code in its rows) answers a filter on capitals in deficit, with
    areas and levels, from its sums by district x deficit code: province and district tables and
    the totals equal the plain path's."""
    rng = np.random.default_rng(100 + seed)
    view = replace(_random_view(rng, pairs), pilots=(), capitals_in_deficit=some_capitals(rng))
    view = replace(view, area=view.area[:4])  # a subdistrict's scope takes the plain path (geo.views.change._cube)
    by = str(rng.choice(["province", "district"]))
    exact, k = bool(rng.random() < 0.5), int(rng.choice([1, 5, 10]))
    sums = cube_for_filter(pairs_cube_for(pairs), deficit=True, pilots=False, by=by)
    mask, rows = pairs_mask(pairs, view), pairs_mask(sums.rows, view)
    _same_table(mobility_table(pairs, by=by, exact=exact, min_count=k, mask=mask),
                cube_mobility_table(sums, by=by, exact=exact, min_count=k, mask=rows))
    totals = mobility_totals(pairs, exact=exact, min_count=k, mask=mask)
    from_cube = cube_mobility_totals(sums, exact=exact, min_count=k, mask=rows)
    counts = [name for name in totals.index if name not in MEANS]
    assert totals[counts].astype(object).equals(from_cube[counts].astype(object))
    np.testing.assert_allclose(totals[MEANS].astype(float), from_cube[MEANS].astype(float), rtol=1e-9)


def some_capitals(rng) -> tuple[str, ...]:
    return tuple(str(c) for c in rng.choice(list(CAPITALS), size=int(rng.integers(1, 3)), replace=False))


def test_what_the_cube_cannot_answer_is_none(cube):
    assert not answers("h3") and not answers("district", 0.5) and answers("district")
    assert cube_mobility_table(cube, by="h3") is None
    assert cube_mobility_table(cube, by="district", change_threshold=0.5) is None
    assert cube_mobility_totals(cube, change_threshold=0.5) is None
    with pytest.raises(EngineInputError):
        cube_mobility_table(cube, by="district", mask=np.ones(3, dtype=bool))
    with pytest.raises(EngineInputError):
        build_pairs_cube(pd.DataFrame({"status": [0]}))


def test_the_cube_is_kept_while_the_pairs_live(pairs):
    first = pairs_cube_for(pairs)
    assert not first.deficit
    assert pairs_cube_for(pairs) is first
    other = pairs.copy()
    assert pairs_cube_for(other) is not first
    key = id(other)
    assert key in mobility_cube._CUBES
    del other
    gc.collect()  # (other tests' frames may go too: only this one is checked)
    assert key not in mobility_cube._CUBES and id(pairs) in mobility_cube._CUBES


@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize("view", [ViewState(by="district"), ViewState(by="subdistrict", levels=(1, 2)),
                                  ViewState(by="district", capitals_in_deficit=("financial",), pilots=("none",)),
                                  ViewState(by="district", capitals_in_deficit=("financial", "natural")),
                                  ViewState(by="province", change="change_social")])
def test_the_change_map_reads_the_cube_as_the_plain_path(view, exact, monkeypatch):
    from geo.views import change
    from tests.pages import tiny_world

    world_pairs = pair_rounds(tiny_world.two_rounds(), 2021, 2023)
    boundaries = tiny_world.boundaries()
    context = MapContext(min_count=3, exact=exact)
    cubed = change_map(world_pairs, boundaries, view, context=context).figure
    monkeypatch.setattr(change, "_cube", lambda *args: None)
    plain = change_map(world_pairs, boundaries, view, context=context).figure
    _same_table(pd.DataFrame(plain.table.drop(columns="geometry")), pd.DataFrame(cubed.table.drop(columns="geometry")))
    assert plain.headline == cubed.headline
    assert len(plain.table) > 0


def _mask_by_text(pairs: pd.DataFrame, view: ViewState) -> np.ndarray:
    """:func:`pairs_mask` the slow way, through each value's text."""
    from geo.data.areas import area_level
    from geo.engine.aggregate import DEFAULT_DEFICIT_CUTOFF

    def text(column):
        return pairs[column].astype("string")

    keep = pd.Series(True, index=pairs.index)
    if view.provinces:
        keep &= text("province_code").isin(view.provinces).fillna(False)
    if view.districts:
        keep &= text("district_code").isin(view.districts).fillna(False)
    if view.area:
        keep &= (text(f"{area_level(view.area)}_code") == view.area).fillna(False)
    if view.levels:
        keep &= pairs["level_from"].isin(view.levels).fillna(False)
    if view.capitals_in_deficit:
        keep &= np.logical_or.reduce([pairs[f"{c}_from"] < DEFAULT_DEFICIT_CUTOFF for c in view.capitals_in_deficit])
    if view.pilots:
        named = [p for p in view.pilots if p != "none"]
        hit = text("pilot_from").isin(named).fillna(False) | text("pilot_to").isin(named).fillna(False)
        if "none" in view.pilots:
            hit |= pairs["pilot_from"].isna() & pairs["pilot_to"].isna()
        keep &= hit
    return keep.to_numpy(dtype=bool)


@pytest.mark.parametrize("seed", range(8))
def test_the_filter_reads_categories_as_their_text(pairs, seed):
    view = _random_view(np.random.default_rng(100 + seed), pairs)
    mask = pairs_mask(pairs, view)
    expected = _mask_by_text(pairs, view)
    np.testing.assert_array_equal(np.ones(len(pairs), dtype=bool) if mask is None else mask, expected)
    plain = pairs.assign(**{c: pairs[c].astype("string") for c in ("province_code", "district_code",
                                                                    "subdistrict_code", "pilot_from", "pilot_to")})
    again = pairs_mask(plain, view)
    np.testing.assert_array_equal(np.ones(len(pairs), dtype=bool) if again is None else again, expected)


# ---------------------------------------------------------------------------------------------
# H3 cubes
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dense_pairs() -> pd.DataFrame:
    """The benchmark's synthetic rounds squeezed into a 0.6° box: many pairs per cell at res 5-7,
    and cells straddling provinces and districts (the benchmark's villages draw their areas at
    random)."""
    from bench.mobility import two_round_frame

    frame = two_round_frame(40_000, seed=5)
    frame["lat"] = 16.0 + (frame["lat"] - 6.0) * 0.6 / 14.0
    frame["lon"] = 102.0 + (frame["lon"] - 98.0) * 0.6 / 7.0
    return pair_rounds(frame, 2021, 2023, h3_resolutions=(5, 6, 7, 10))


@pytest.fixture(scope="module")
def sample_pairs(sample_households_path) -> pd.DataFrame:
    """The generated sample's two rounds, paired."""
    sample = pd.read_parquet(sample_households_path)
    years = sorted(sample["survey_year"].dropna().unique())
    return pair_rounds(sample, int(years[0]), int(years[-1]), h3_resolutions=(5, 7))


def _h3_views(pairs: pd.DataFrame) -> list[ViewState]:
    """No filter, a province, two districts, a level, a pilot, none of the pilots, a district's scope."""
    provinces = pairs["province_code"].value_counts().index.astype(str)
    districts = pairs["district_code"].value_counts().index.astype(str)
    pilots = pairs["pilot_to"].value_counts().index.astype(str)
    return [ViewState(), ViewState(provinces=(provinces[0],)), ViewState(districts=tuple(districts[:2])),
            ViewState(levels=(1,)), ViewState(pilots=(pilots[0],)), ViewState(pilots=("none",)),
            ViewState(levels=(3, 4), pilots=(pilots[0], "none")), ViewState(area=districts[0])]


def _same_h3_answers(pairs: pd.DataFrame, cube, res: int, view: ViewState, *, exact: bool, k: int) -> pd.DataFrame:
    mask = pairs_mask(pairs, view)
    plain = mobility_table(pairs, by="h3", res=res, exact=exact, min_count=k, mask=mask)
    rows = pairs_mask(cube.rows, view)
    cubed = cube_mobility_table(cube, by="h3", res=res, exact=exact, min_count=k, mask=rows)
    _same_table(plain, cubed)
    assert cube_released_cell_count(cube, exact=exact, min_count=k, mask=rows) == len(plain)
    assert released_cell_count(pairs, res=res, exact=exact, min_count=k, mask=mask) == len(plain)
    return plain


@pytest.mark.parametrize("res", [5, 6, 7])
@pytest.mark.parametrize("exact", [False, True])
def test_h3_tables_equal_the_plain_path_on_synthetic_pairs(dense_pairs, res, exact):
    cube = h3_cube_for(dense_pairs, res)
    assert isinstance(cube, PairsH3Cube) and cube.res == res
    assert len(cube.parent) < H3_CUBE_MAX_SHARE * len(dense_pairs)  # kept: worthwhile
    # Cells straddle districts: a filter on them must still be exact.
    straddling = cube.rows.assign(cell=cube.cell).groupby("cell", observed=True)["district_code"].nunique()
    assert (straddling > 1).any()
    shown = [len(_same_h3_answers(dense_pairs, cube, res, view, exact=exact, k=10)) for view in _h3_views(dense_pairs)]
    assert shown[0] > 0 and sum(n > 0 for n in shown) >= 5, shown


@pytest.mark.parametrize("seed", range(6))
def test_h3_tables_equal_the_plain_path_on_random_filters(dense_pairs, seed):
    rng = np.random.default_rng(200 + seed)
    view = replace(_random_view(rng, dense_pairs), capitals_in_deficit=())  # not kept by an H3 cube
    view = replace(view, area=view.area if len(view.area) <= 4 else "")  # the map's scope: province or district
    res, exact, k = int(rng.choice([5, 6, 7])), bool(rng.random() < 0.5), int(rng.choice([1, 5, 10]))
    _same_h3_answers(dense_pairs, h3_cube_for(dense_pairs, res), res, view, exact=exact, k=k)


@pytest.mark.parametrize("res", [5, 7])
def test_h3_tables_equal_the_plain_path_on_the_sample(sample_pairs, res):
    cube = build_pairs_cube(sample_pairs, res=res)
    for view in _h3_views(sample_pairs):
        for exact, k in ((False, 10), (True, 10), (False, 3)):
            _same_h3_answers(sample_pairs, cube, res, view, exact=exact, k=k)


def test_h3_cube_sums_every_placed_pair_once(dense_pairs):
    cube = build_pairs_cube(dense_pairs, res=6)
    placed = dense_pairs["cell_6"].notna().to_numpy()
    assert cube.pairs.sum() == placed.sum()
    assert cube.key.sum() == dense_pairs["record_key"].to_numpy()[placed].astype(np.int64).sum()
    # Each row's transition rows hold its pairs, and the capital counts never exceed them.
    per_row = np.bincount(cube.parent, weights=cube.pairs, minlength=len(cube.rows))
    assert (cube.counts[:, 0] <= per_row).all() and per_row.min() >= 1
    assert cube.counts.dtype == np.uint16 and cube.keys.dtype in (np.uint16, np.uint32, np.int64)  # narrow
    assert 0 < cube.nbytes < 200 * len(cube.rows) + 20 * len(cube.parent)


def test_an_h3_cube_is_not_kept_where_it_is_not_worthwhile(pairs, dense_pairs, monkeypatch):
    built = []
    real = mobility_cube._build_h3_cube
    monkeypatch.setattr(mobility_cube, "_build_h3_cube", lambda *a, **kw: built.append(a[1]) or real(*a, **kw))
    # Res 10: nearly a row per pair. The sample's few thousand pairs: too sparse at any resolution.
    assert h3_cube_for(dense_pairs, 10) is None and h3_cube_for(dense_pairs, 10) is None
    assert h3_cube_for(pairs, 5) is None
    assert built == [10, 5]  # "not worthwhile" is remembered too
    forced = build_pairs_cube(pairs, res=5)  # built when asked, answers all the same
    _same_h3_answers(pairs, forced, 5, ViewState(), exact=False, k=5)
    assert len(forced.parent) >= H3_CUBE_MAX_SHARE * len(pairs)


def test_h3_cubes_are_kept_while_the_pairs_live(dense_pairs):
    first = h3_cube_for(dense_pairs, 5)
    assert h3_cube_for(dense_pairs, 5) is first and h3_cube_for(dense_pairs, 6) is not first
    other = dense_pairs.copy()
    assert h3_cube_for(other, 5) is not first
    key = id(other)
    assert key in mobility_cube._H3_CUBES
    del other
    gc.collect()
    assert key not in mobility_cube._H3_CUBES and id(dense_pairs) in mobility_cube._H3_CUBES


def test_what_an_h3_cube_cannot_answer(dense_pairs, cube):
    h3 = h3_cube_for(dense_pairs, 5)
    assert cube_mobility_table(h3, by="district") is None
    assert cube_mobility_table(h3, by="h3", change_threshold=0.5) is None
    with pytest.raises(EngineInputError):
        cube_mobility_table(h3, by="h3", res=6)
    with pytest.raises(EngineInputError):
        cube_mobility_table(h3, by="h3", mask=np.ones(3, dtype=bool))
    with pytest.raises(EngineInputError):
        build_pairs_cube(dense_pairs, res=4)
    with pytest.raises(EngineInputError):
        build_pairs_cube(dense_pairs, res=5, deficit=True)
    assert "subdistrict_code" not in h3.rows and "financial_from" not in h3.rows


@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize("view", [ViewState(by="h3", res=7), ViewState(by="h3", res=8, levels=(1, 2)),
                                  ViewState(by="h3", res=6, area="46", pilots=("none",)),
                                  ViewState(by="h3", res=7, capitals_in_deficit=("financial",))])
def test_the_h3_change_map_reads_the_h3_cube_as_the_plain_path(view, exact, monkeypatch):
    from geo.views import change
    from tests.pages import tiny_world

    world_pairs = pair_rounds(tiny_world.two_rounds(), 2021, 2023)
    boundaries = tiny_world.boundaries()
    context = MapContext(min_count=3, exact=exact)
    monkeypatch.setattr(mobility_cube, "H3_CUBE_MAX_SHARE", 1.0)  # the tiny world's cells are sparse
    monkeypatch.setattr(change, "MAX_CELLS", 8)  # and step down resolutions by the cells counted
    asked = []
    real = change.cube_released_cell_count
    monkeypatch.setattr(change, "cube_released_cell_count", lambda *a, **kw: asked.append(a[0].res) or real(*a, **kw))
    cubed = change_map(world_pairs, boundaries, view, context=context).figure
    assert bool(asked) == (not view.capitals_in_deficit)  # a deficit filter takes the plain path
    monkeypatch.setattr(change, "_cube", lambda *args: None)
    plain = change_map(world_pairs, boundaries, view, context=context).figure
    assert (plain.res, plain.notices) == (cubed.res, cubed.notices)
    # Both step down as making every table would: the first resolution with at most 8 cells shown.
    res, scope = view.res, view.area
    while res > 5 and len(mobility_table(world_pairs, by="h3", res=res, exact=exact, min_count=3,
                                         mask=pairs_mask(world_pairs, view, area=scope))) > 8:
        res -= 1
    assert plain.res == res and len(plain.notices) == (res < view.res)
    _same_table(pd.DataFrame(plain.table.drop(columns="geometry")), pd.DataFrame(cubed.table.drop(columns="geometry")))
    assert plain.headline == cubed.headline
    assert len(plain.table) > 0


def test_the_change_map_reads_the_provinces_held_from_the_codes(pairs):
    from geo.views.change import _provinces_held

    column = pairs["province_code"]
    some = pairs[(column == column.cat.categories[-1]).to_numpy()]  # a categorical with categories no pair uses
    expected = set(some["province_code"].astype("string").dropna().tolist())
    assert len(expected) < len(some["province_code"].cat.categories)
    assert _provinces_held(some) == expected
    assert _provinces_held(some.assign(province_code=some["province_code"].astype("string"))) == expected
