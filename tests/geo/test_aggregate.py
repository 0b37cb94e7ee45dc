"""Tests for ``geo.engine.aggregate`` and ``geo.engine.filters``.

Every metric is checked against a plain pandas reference written from the definitions (one row
per household, ``h3.latlng_to_cell`` at the resolution per row, ``groupby``), for every
resolution and admin level, both summing strategies, filters and non-default cut-offs. Hypothesis
checks the invariants: households conserved across resolutions and levels, parents equal the sums
of their children, each household in exactly one cell and one district, row order irrelevant.
"""

from __future__ import annotations

import subprocess
import sys

import h3.api.basic_int as h3
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.engine.aggregate import (
    COUNT_COLUMNS,
    KEY_COLUMNS,
    METRIC_COLUMNS,
    ROLLUP_FLOOR_RES,
    _rollup_keys,
    aggregate,
    cells_to_polygons,
    haversine_km,
    index_households,
    pilot_reach,
)
from geo.synth.households import random_households
from geo.errors import EngineInputError
from geo.data.contract import ASSISTANCE_STATUSES, CAPITAL_COLUMNS, CAPITALS, DEPRIVATION_COLUMNS
from geo.engine.cellkey import MAX_NOISE
from geo.engine.filters import HouseholdFilter, filter_mask
from geo.engine.h3index import cells_resolution, cells_to_parent

# ---------------------------------------------------------------------------------------------
# Reference implementation, straight from the definitions
# ---------------------------------------------------------------------------------------------


def reference(frame: pd.DataFrame, by: str, res: int | None = None, cutoff: float = 1.75, k: int = 2) -> pd.DataFrame:
    df = frame.copy()
    if by == "h3":
        df = df[df["lat"].notna()]
        df["key"] = [h3.latlng_to_cell(a, b, res) for a, b in zip(df["lat"], df["lon"])]
    else:
        df["key"] = df[f"{by}_code"].astype(object)
        df = df[df["key"].notna()]
    deficit = np.column_stack([df[c].to_numpy(float) < cutoff for c in CAPITAL_COLUMNS])
    count = deficit.sum(axis=1)
    poor = count >= k
    cols = {"households": np.ones(len(df), int), "people": df["members"].to_numpy(int)}
    level = df["poverty_level"].to_numpy(int)
    for lv in range(1, 5):
        cols[f"households_level_{lv}"] = (level == lv).astype(int)
        cols[f"people_level_{lv}"] = np.where(level == lv, cols["people"], 0)
    cols["l12"] = (level <= 2).astype(int)
    cols["not_in_tpmap"] = (~df["in_tpmap"].to_numpy(bool)).astype(int)
    cols["in_tpmap"] = df["in_tpmap"].to_numpy(bool).astype(int)
    cols["verified"] = df["verified"].to_numpy(bool).astype(int)
    for j, c in enumerate(CAPITAL_COLUMNS):
        cols[c] = df[c].to_numpy(float)
        cols[f"def_{j}"] = deficit[:, j].astype(int)
        cols[f"cens_{j}"] = (deficit[:, j] & poor).astype(int)
    for c in DEPRIVATION_COLUMNS:  # TPMAP's deprivations count for households in TPMAP only
        cols[c] = (df[c].fillna(False).to_numpy(bool) & df["in_tpmap"].to_numpy(bool)).astype(int)
    cols["poor"] = poor.astype(int)
    cols["poor_sum"] = np.where(poor, count, 0)
    for s in ASSISTANCE_STATUSES:
        cols[f"as_{s}"] = (df["assistance_status"].to_numpy(object) == s).astype(int)
    sums = pd.DataFrame(cols, index=df.index).groupby(df["key"].to_numpy()).sum().sort_index()
    h = sums["households"]
    out = pd.DataFrame(index=sums.index)
    for name in ["households", "people"] + [f"households_level_{lv}" for lv in range(1, 5)] + [
        f"people_level_{lv}" for lv in range(1, 5)
    ]:
        out[name] = sums[name]
    out["share_level_1_2"] = sums["l12"] / h
    out["not_in_tpmap"] = sums["not_in_tpmap"]
    out["in_tpmap"] = sums["in_tpmap"]
    out["verified"] = sums["verified"]
    for c in CAPITAL_COLUMNS:
        out[f"mean_{c}"] = sums[c] / h
    for j, cap in enumerate(CAPITALS):
        out[f"deficit_share_{cap}"] = sums[f"def_{j}"] / h
    defs = sums[[f"def_{j}" for j in range(5)]].to_numpy()
    out["dominant_deficit"] = [CAPITALS[int(np.argmax(r))] if r.max() > 0 else None for r in defs]
    for c in DEPRIVATION_COLUMNS:
        out[c] = sums[c]
    out["af_h"] = sums["poor"] / h
    out["af_a"] = np.where(sums["poor"] > 0, sums["poor_sum"] / 5 / sums["poor"].replace(0, 1), np.nan)
    out["af_mpi"] = sums["poor_sum"] / 5 / h
    for j, cap in enumerate(CAPITALS):
        out[f"af_contribution_{cap}"] = np.where(
            sums["poor_sum"] > 0, sums[f"cens_{j}"] / sums["poor_sum"].replace(0, 1), np.nan
        )
    for s in ASSISTANCE_STATUSES:
        out[f"assistance_{s}_share"] = sums[f"as_{s}"] / h
    return out


def assert_matches(table: pd.DataFrame, expected: pd.DataFrame, key: str) -> None:
    got = table.set_index(key)
    got.index = got.index.astype(expected.index.dtype) if key == "code" else got.index.astype(np.uint64)
    expected = expected.copy()
    expected.index = expected.index.astype(got.index.dtype)
    got = got.sort_index()
    expected = expected.sort_index()
    assert got.index.tolist() == expected.index.tolist()
    assert list(got[list(METRIC_COLUMNS)].columns) == list(METRIC_COLUMNS)
    for column in METRIC_COLUMNS:
        a, b = got[column], expected[column]
        if column == "dominant_deficit":
            as_text = lambda values: [v if isinstance(v, str) else None for v in values.astype(object)]  # noqa: E731
            assert as_text(a) == as_text(b)
        elif column in COUNT_COLUMNS:
            assert a.to_numpy(np.int64).tolist() == b.to_numpy(np.int64).tolist(), column
        else:
            np.testing.assert_allclose(a.to_numpy(float), b.to_numpy(float), rtol=1e-12, atol=1e-12, err_msg=column)


@pytest.fixture(scope="module")
def households() -> pd.DataFrame:
    return random_households(3000, seed=11, cluster_km=0.3, missing_position_share=0.02)


@pytest.fixture(scope="module")
def index(households):
    return index_households(households)


# ---------------------------------------------------------------------------------------------
# Metrics against the reference
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("res", [5, 6, 7, 8, 9, 10])
def test_h3_metrics_match_reference(households, index, res):
    assert_matches(aggregate(index, "h3", res=res), reference(households, "h3", res), "h3_cell")


@pytest.mark.parametrize("by", ["province", "district", "subdistrict"])
def test_admin_metrics_match_reference(households, index, by):
    table = aggregate(index, by)
    assert_matches(table, reference(households, by), "code")
    assert table["code"].is_monotonic_increasing


@pytest.mark.parametrize(("cutoff", "k"), [(2.0, 1), (2.5, 3), (1.75, 5), (3.9, 2)])
@pytest.mark.parametrize(("by", "res"), [("h3", 10), ("h3", 6), ("district", None)])
def test_cutoff_and_k_match_reference(households, index, by, res, cutoff, k):
    table = aggregate(index, by, res=res, deficit_cutoff=cutoff, k_deprivations=k)
    assert_matches(table, reference(households, by, res, cutoff, k), "h3_cell" if by == "h3" else "code")


@pytest.mark.parametrize(("piece_max", "block"), [(255, 1 << 16), (3, 50), (1, 7)])
def test_both_summing_strategies_agree(monkeypatch, index, piece_max, block):
    """The packed run sums equal the histograms, with runs cut in pieces and summed a block at a time."""
    import geo.engine.aggregate as engine

    monkeypatch.setattr(engine, "_PIECE_MAX", piece_max)
    monkeypatch.setattr(engine, "_RUN_BLOCK", block)
    sel = engine._Selection(index, None, int(np.searchsorted(index.cell, 1)))
    for res in (7, 9, 10):
        groups, _ = engine._groups_for(index, sel, "h3", res, None)
        runs = engine._sums_by_runs(groups, sel, 2.2, 3)
        hist = engine._sums_by_histogram(groups, sel, 2.2, 3)
        for name in runs:
            np.testing.assert_allclose(runs[name], hist[name], err_msg=name)


@pytest.mark.parametrize("res", [6, 9])
@pytest.mark.parametrize(("piece_max", "block", "key_cells"), [(255, 1 << 16, 1 << 22), (2, 40, 1000)])
def test_dropped_households_are_left_out_of_every_sum(monkeypatch, index, res, piece_max, block, key_cells):
    """Households dropped from their groups (counted in their exact cell instead) are missing from
    the histogram sums, the run sums (in pieces, a block at a time) and the cell-key sums alike."""
    import dataclasses

    import geo.engine.aggregate as engine

    monkeypatch.setattr(engine, "_PIECE_MAX", piece_max)
    monkeypatch.setattr(engine, "_RUN_BLOCK", block)
    monkeypatch.setattr(engine, "_KEY_HISTOGRAM_CELLS", key_cells)
    sel = engine._Selection(index, None, int(np.searchsorted(index.cell, 1)))
    groups, _ = engine._groups_for(index, sel, "h3", res, None)
    dropped = np.sort(np.random.default_rng(res).choice(groups.n, groups.n // 7, replace=False))
    less = dataclasses.replace(groups, dropped=dropped)
    rows = engine._Rows(sel, dropped)
    dropped_sums, at = engine._sums_by_key(rows, groups.group_ids()[dropped].astype(np.int64), 2.2, 3, True)
    for strategy in (engine._sums_by_histogram, engine._sums_by_runs, engine._key_sums):
        whole, left = strategy(groups, sel, 2.2, 3), strategy(less, sel, 2.2, 3)
        assert strategy is engine._key_sums or "households" in whole
        for name in whole:
            expected = np.array(whole[name], dtype=np.float64)
            expected[..., at] -= dropped_sums[name]
            np.testing.assert_allclose(left[name], expected, atol=1e-6, err_msg=f"{strategy.__name__} {name}")


@pytest.mark.parametrize(("by", "res"), [("h3", 5), ("h3", 8), ("h3", 10), ("district", None), ("subdistrict", None)])
@pytest.mark.parametrize("filtered", [False, True])
@pytest.mark.parametrize("workers", [3, 64])
def test_summing_in_parts_over_threads_equals_one_pass(monkeypatch, index, by, res, filtered, workers):
    """H3 parts are cut at a parent's end (many workers: some parts empty, or cut at the same place)."""
    import geo.engine.aggregate as engine

    mask = filter_mask(index, HouseholdFilter(levels=[1, 2])) if filtered else None
    monkeypatch.setattr(engine, "_PARALLEL_MIN_HOUSEHOLDS", 10**12)
    one = aggregate(index, by, res=res, mask=mask)
    monkeypatch.setattr(engine, "_PARALLEL_MIN_HOUSEHOLDS", 0)
    monkeypatch.setattr(engine.os, "cpu_count", lambda: workers)
    parts = aggregate(index, by, res=res, mask=mask)
    pd.testing.assert_frame_equal(one, parts, check_exact=False, rtol=1e-12)


def test_af_decomposition_adds_up(index):
    table = aggregate(index, "district")
    contributions = table[[f"af_contribution_{c}" for c in CAPITALS]].sum(axis=1)
    poor = table["af_h"] > 0
    np.testing.assert_allclose(contributions[poor], 1.0)
    np.testing.assert_allclose(table["af_mpi"], table["af_h"] * table["af_a"].fillna(0))


def test_attrs_record_the_aggregation(index, households):
    table = aggregate(index, "h3", res=8)
    assert table.attrs["by"] == "h3" and table.attrs["res"] == 8
    assert table.attrs["households_without_key"] == int(households["lat"].isna().sum())
    sub = aggregate(index, "subdistrict")
    assert sub.attrs["households_without_key"] == int(households["subdistrict_code"].isna().sum())


# ---------------------------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------------------------


FILTER_CASES = [
    (HouseholdFilter(provinces=["46"]), lambda d: d["province_code"] == "46"),
    (HouseholdFilter(districts=["4609", "3401"]), lambda d: d["district_code"].isin(["4609", "3401"])),
    (HouseholdFilter(levels=[1, 2]), lambda d: d["poverty_level"].isin([1, 2])),
    (HouseholdFilter(capitals_in_deficit=["natural", "financial"]),
     lambda d: (d["capital_natural"] < 1.75) | (d["capital_financial"] < 1.75)),
    (HouseholdFilter(capitals_in_deficit=["human"], deficit_cutoff=2.5), lambda d: d["capital_human"] < 2.5),
    (HouseholdFilter(in_tpmap=False), lambda d: ~d["in_tpmap"]),
    (HouseholdFilter(verified=True), lambda d: d["verified"]),
    (HouseholdFilter(assistance=["helped", "in_progress"]),
     lambda d: d["assistance_status"].isin(["helped", "in_progress"])),
    (HouseholdFilter(pilots=["P01"]), lambda d: d["pilot_id"] == "P01"),
    (HouseholdFilter(pilots=["none"]), lambda d: d["pilot_id"].isna()),
    (HouseholdFilter(deprivations=["health", "access"]),
     lambda d: (d["dep_health"].fillna(False) | d["dep_access"].fillna(False)) & d["in_tpmap"]),  # TPMAP's only
    (HouseholdFilter(provinces=["46"], levels=[2], verified=False),
     lambda d: (d["province_code"] == "46") & (d["poverty_level"] == 2) & ~d["verified"]),
]


@pytest.mark.parametrize(("flt", "predicate"), FILTER_CASES)
def test_filters_match_reference(households, index, flt, predicate):
    keep = predicate(households).fillna(False).to_numpy(bool)
    mask = filter_mask(index, flt)
    assert mask.sum() == keep.sum()
    for by, res in (("h3", 9), ("district", None)):
        table = aggregate(index, by, res=res, mask=mask)
        assert_matches(table, reference(households[keep], by, res), "h3_cell" if by == "h3" else "code")


def test_empty_filter_keeps_everything(index):
    assert filter_mask(index, HouseholdFilter()) is None
    assert filter_mask(index, None) is None


def test_filter_selecting_nothing_gives_empty_table(index):
    mask = filter_mask(index, HouseholdFilter(provinces=["10"]))
    for by, res in (("h3", 8), ("h3", 10), ("district", None)):
        table = aggregate(index, by, res=res, mask=mask)
        assert len(table) == 0
        assert list(table.columns)[-len(METRIC_COLUMNS + KEY_COLUMNS):] == list(METRIC_COLUMNS + KEY_COLUMNS)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"provinces": ["4"]}, r"provinces must be 2-digit DOPA codes like '46', got \['4'\]"),
        ({"levels": [5]}, r"levels must hold integers from \[1, 2, 3, 4\], got \[5\]"),
        ({"capitals_in_deficit": ["money"]}, r"capitals_in_deficit must hold one of \['human'"),
        ({"assistance": ["done"]}, r"assistance must hold one of \['none'"),
        ({"in_tpmap": "yes"}, r"in_tpmap must be True, False or None, got 'yes'"),
        ({"deficit_cutoff": 5}, r"deficit_cutoff must be between 1 and 4, got 5"),
    ],
)
def test_filter_checks_name_the_argument(kwargs, message):
    with pytest.raises(EngineInputError, match=message):
        HouseholdFilter(**kwargs)


# ---------------------------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"by": "village"}, r"by must be one of \['h3', 'subdistrict', 'district', 'province'\], got 'village'"),
        ({"by": "h3"}, r"res is required when by='h3'"),
        ({"by": "h3", "res": 4}, r"res must be one of \[5, 6, 7, 8, 9, 10\], got 4"),
        ({"by": "district", "res": 8}, r"res is only for by='h3', got res=8 with by='district'"),
        ({"by": "district", "deficit_cutoff": 0.5}, r"deficit_cutoff must be between 1 and 4, got 0.5"),
        ({"by": "district", "k_deprivations": 6}, r"k_deprivations must be between 1 and 5, got 6"),
        ({"by": "district", "rollup_min_count": 10}, r"rollup_min_count is only for by='h3'"),
        ({"by": "district", "mask": np.ones(3, bool)}, r"mask must be a bool array of length"),
    ],
)
def test_aggregate_checks_name_the_argument(index, kwargs, message):
    with pytest.raises(EngineInputError, match=message):
        aggregate(index, **kwargs)


def test_index_checks(households):
    with pytest.raises(EngineInputError, match=r"households is missing columns \['members'\]"):
        index_households(households.drop(columns="members"))
    bad = households.copy()
    bad.loc[0, "poverty_level"] = 7
    with pytest.raises(EngineInputError, match=r"households\['poverty_level'\] must be 1-4, got \[7\]"):
        index_households(bad)
    bad = households.copy()
    bad["assistance_status"] = bad["assistance_status"].astype(object)
    bad.loc[0, "assistance_status"] = "done"
    with pytest.raises(EngineInputError, match=r"assistance_status'\] must be one of"):
        index_households(bad)
    with pytest.raises(EngineInputError, match="index must be a HouseholdIndex"):
        aggregate(households, "district")


def test_empty_frame(households):
    index = index_households(households.iloc[:0])
    for by, res in (("h3", 8), ("district", None), ("province", None)):
        assert len(aggregate(index, by, res=res)) == 0


# ---------------------------------------------------------------------------------------------
# Invariants (hypothesis)
# ---------------------------------------------------------------------------------------------

SUMMABLE = [c for c in COUNT_COLUMNS]


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 400), seed=st.integers(0, 10_000), cluster=st.sampled_from([None, 0.2, 2.0]))
def test_households_conserved_and_parents_equal_sum_of_children(n, seed, cluster):
    frame = random_households(n, seed=seed, cluster_km=cluster, missing_position_share=0.05)
    index = index_households(frame)
    with_position = int(frame["lat"].notna().sum())
    tables = {res: aggregate(index, "h3", res=res) for res in range(5, 11)}
    placed = frame[frame["lat"].notna()]
    totals = tables[10][SUMMABLE].sum()
    for res, table in tables.items():
        assert int(table["households"].sum()) == with_position
        assert table["h3_cell"].is_unique
        assert (cells_resolution(table["h3_cell"].to_numpy(np.uint64)) == res).all()
        # every household in the cell that contains it at this resolution (cells do not nest exactly)
        own = pd.Series([h3.latlng_to_cell(a, b, res) for a, b in zip(placed["lat"], placed["lon"])],
                        dtype=np.uint64).value_counts().sort_index()
        assert table["h3_cell"].tolist() == own.index.tolist()
        assert table["households"].tolist() == own.tolist()
        assert (table[SUMMABLE].sum() == totals).all()
    province = aggregate(index, "province")
    district = aggregate(index, "district")
    assert int(province["households"].sum()) == int(district["households"].sum()) == n
    by_province = district.groupby(district["code"].str[:2])[SUMMABLE].sum().sort_index()
    assert (by_province.to_numpy() == province.set_index("code")[SUMMABLE].sort_index().to_numpy()).all()
    subdistrict = aggregate(index, "subdistrict")
    assert int(subdistrict["households"].sum()) == int(frame["subdistrict_code"].notna().sum())


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 300), seed=st.integers(0, 10_000))
def test_each_household_in_exactly_one_cell_and_district(n, seed):
    frame = random_households(n, seed=seed, cluster_km=0.5)
    index = index_households(frame)
    # one cell: the index cell is the household's own res-10 cell
    own = np.array([h3.latlng_to_cell(a, b, 10) for a, b in zip(frame["lat"], frame["lon"])], dtype=np.uint64)
    assert np.array_equal(index.cell, own[index.order])
    assert sorted(index.order.tolist()) == list(range(n))
    # one district: every district row's households are exactly those declaring it
    district = aggregate(index, "district").set_index("code")["households"]
    assert district.to_dict() == frame["district_code"].value_counts().to_dict()


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 300), seed=st.integers(0, 10_000), shuffle_seed=st.integers(0, 10_000))
def test_results_do_not_depend_on_row_order(n, seed, shuffle_seed):
    frame = random_households(n, seed=seed, cluster_km=0.3)
    shuffled = frame.sample(frac=1.0, random_state=shuffle_seed).reset_index(drop=True)
    for by, res in (("h3", 7), ("h3", 10), ("district", None), ("subdistrict", None)):
        a = aggregate(index_households(frame), by, res=res)
        b = aggregate(index_households(shuffled), by, res=res)
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# H3 roll-up
# ---------------------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 500), seed=st.integers(0, 10_000), res=st.integers(6, 10), k=st.integers(2, 30))
def test_rollup_cells_do_not_overlap_and_reach_k(n, seed, res, k):
    frame = random_households(n, seed=seed, cluster_km=0.5)
    index = index_households(frame)
    table = aggregate(index, "h3", res=res, rollup_min_count=k)
    cells = table["h3_cell"].to_numpy(np.uint64)
    levels = cells_resolution(cells)
    assert int(table["households"].sum()) == n
    assert ((table["households"] >= k) | (levels == ROLLUP_FLOOR_RES)).all()
    assert ((levels >= ROLLUP_FLOOR_RES) & (levels <= res)).all()
    # no released cell is an ancestor of another
    present = set(cells.tolist())
    for cell, level in zip(cells.tolist(), levels.tolist()):
        for coarser in range(ROLLUP_FLOOR_RES, level):
            assert h3.cell_to_parent(cell, coarser) not in present
    # each household is reported in one cell, the one containing it at that cell's resolution
    start = int(np.searchsorted(index.cell, 1))
    keys = _rollup_keys(index, index.cell[start:], None, start, res, k, ROLLUP_FLOOR_RES)
    lat, lon = frame["lat"].to_numpy()[index.order[start:]], frame["lon"].to_numpy()[index.order[start:]]
    key_res = cells_resolution(keys)
    assert all(h3.latlng_to_cell(a, b, int(r)) == key for a, b, r, key in zip(lat, lon, key_res, keys.tolist()))
    counted = pd.Series(keys).value_counts().sort_index()
    assert counted.index.tolist() == cells.tolist()
    assert counted.tolist() == table["households"].tolist()


def test_rollup_k1_is_plain_aggregation(index):
    plain = aggregate(index, "h3", res=9)
    rolled = aggregate(index, "h3", res=9, rollup_min_count=1)
    pd.testing.assert_frame_equal(plain, rolled)


# ---------------------------------------------------------------------------------------------
# Pilot reach and geometry
# ---------------------------------------------------------------------------------------------


def test_pilot_reach(households, index):
    pilots = pd.DataFrame({
        "pilot_id": ["P01", "P02", "P99"], "name_en": ["a", "b", "c"],
        "lat": [16.45, 16.3, np.nan], "lon": [103.5, 103.7, np.nan], "households_target": [500, 0, 10],
    })
    table = pilot_reach(index, pilots, radius_km=10.0)
    assert table.attrs["by"] == "pilot"
    enrolled = households["pilot_id"].value_counts()
    assert table["households"].tolist() == [enrolled["P01"], enrolled["P02"], 0]
    assert table.loc[0, "enrolled_share_of_target"] == pytest.approx(enrolled["P01"] / 500)
    assert np.isnan(table.loc[1, "enrolled_share_of_target"])
    near = households[households["poverty_level"].isin([1, 2]) & households["lat"].notna()]
    dist = haversine_km(16.45, 103.5, near["lat"], near["lon"])
    assert table.loc[0, "in_need_within"] == int((dist <= 10.0).sum())
    not_enrolled = (near["pilot_id"] != "P01").fillna(True)
    assert table.loc[0, "in_need_within_not_enrolled"] == int(((dist <= 10.0) & not_enrolled).sum())
    assert table.loc[2, "in_need_within"] == 0
    with pytest.raises(EngineInputError, match="radius_km must be between 0 and 500, got -1"):
        pilot_reach(index, pilots, radius_km=-1)


def test_cell_polygons_are_lon_lat():
    cell = h3.latlng_to_cell(16.433, 103.507, 7)
    polygon = cells_to_polygons(np.array([cell], dtype=np.uint64))[0]
    assert polygon.contains(__import__("shapely").Point(103.507, 16.433))


def test_engine_does_not_import_streamlit():
    code = ("import sys, geo.engine.aggregate, geo.engine.verify, geo.engine.protect, geo.engine.filters, geo.engine.h3index, bench.engine, "
            "geo.cli.engine; assert 'streamlit' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_optional_values_count_as_no(households):
    """An unknown deprivation is not a deprivation, an unknown verified is not verified and an
    unknown assistance status counts as none (docs/ENGINE.md "Unknown values")."""
    known = households.copy()
    unknown = households.copy()
    rows = known.index[::3]
    for column in ("verified", *DEPRIVATION_COLUMNS):
        known.loc[rows, column] = False
        unknown[column] = unknown[column].astype("boolean")
        unknown.loc[rows, column] = pd.NA
    known.loc[rows, "assistance_status"] = "none"
    unknown["assistance_status"] = unknown["assistance_status"].astype("string")
    unknown.loc[rows, "assistance_status"] = pd.NA
    for by in ("district", "province"):
        expected = aggregate(index_households(known), by)
        got = aggregate(index_households(unknown), by)
        pd.testing.assert_frame_equal(got, expected)
    mask = filter_mask(index_households(unknown), HouseholdFilter(verified=True))
    assert mask.sum() == int(known["verified"].sum())


def test_deprivation_shares_are_of_households_in_tpmap(households, index):
    from geo.engine.protect import protect
    from geo.views.metrics import get_metric, metric_values

    table = aggregate(index, "district")
    assert (table["in_tpmap"] == table["households"] - table["not_in_tpmap"]).all()
    assert (table[list(DEPRIVATION_COLUMNS)].le(table["in_tpmap"], axis=0)).all().all()
    # a household not in TPMAP counts in no deprivation, whatever its row says
    outside = households[~households["in_tpmap"]]
    assert outside[list(DEPRIVATION_COLUMNS)].any(axis=None)
    assert aggregate(index_households(outside), "province")[list(DEPRIVATION_COLUMNS)].eq(0).all().all()
    assert get_metric("dep_health").denominator == "in_tpmap"
    np.testing.assert_allclose(metric_values(table, "dep_health"), table["dep_health"] / table["in_tpmap"])
    # released like every other count: perturbed by its own cell key, withheld under k
    released = protect(table, k=10)
    assert str(released["in_tpmap"].dtype) == "Int64" and "ckey_in_tpmap" not in released.columns
    shown = released["in_tpmap"].dropna().astype(int)
    exact = table.set_index("code").loc[released.loc[shown.index, "code"], "in_tpmap"].to_numpy()
    assert (shown.to_numpy() >= 10).all() and (np.abs(shown.to_numpy() - exact) <= MAX_NOISE).all()
    share = metric_values(released, "dep_health")
    assert np.nanmax(share) <= 1.0


@pytest.mark.parametrize(("res", "rollup"), [(10, None), (8, None), (9, 10)])
def test_cell_key_sums_a_slice_of_groups_at_a_time_equal_one_histogram(monkeypatch, index, res, rollup):
    """Past the histogram limit, fine hexagons' key sums are histograms of a slice of groups at a time."""
    import geo.engine.aggregate as engine

    monkeypatch.setattr(engine, "_PARALLEL_MIN_HOUSEHOLDS", 10**12)
    monkeypatch.setattr(engine, "_KEY_HISTOGRAM_CELLS", 1 << 40)
    one = aggregate(index, "h3", res=res, rollup_min_count=rollup)
    monkeypatch.setattr(engine, "_KEY_HISTOGRAM_CELLS", engine.N_PROFILES * 3)  # 3 groups a slice
    sliced = aggregate(index, "h3", res=res, rollup_min_count=rollup)
    assert len(one) > 3 * 4
    pd.testing.assert_frame_equal(one, sliced, check_exact=False, rtol=1e-12)
    key_columns = [c for c in one.columns if c.startswith("ckey_")]
    assert key_columns and one[key_columns].to_numpy().any()
