"""Tests for :mod:`geo.engine.mobility`: pairing two rounds, counting change, the two releases."""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest

from geo.data.contract import CAPITALS
from geo.engine.aggregate import aggregate, index_households
from geo.engine.cellkey import MAX_NOISE
from geo.engine.mobility import (CHANGE_THRESHOLD, COUNT_COLUMNS, DENOMINATOR_COLUMNS, MOBILITY_COLUMNS,
                                 TRANSITION_COLUMNS, mobility_shares, mobility_table, mobility_table_and_totals,
                                 mobility_totals, pair_rounds)
from geo.engine.protect import protect
from geo.errors import EngineInputError, PPAPError, RoundError
from tests.support.rounds import naive_counts, rows, two_rounds

BY = ("province", "district", "subdistrict", "h3")


@pytest.fixture(scope="module")
def households() -> pd.DataFrame:
    return two_rounds(3000, seed=1)


@pytest.fixture(scope="module")
def pairs(households) -> pd.DataFrame:
    return pair_rounds(households, 2021, 2023)


@pytest.fixture
def tiny() -> pd.DataFrame:
    """A followed (moved from 460901 to 460201, level 2 -> 3), a new, a not-found, and a 2019 row."""
    return rows([
        {"id": "A", "year": 2021, "sub": "460901", "level": 2, "score": 2.0, "lat": 16.1, "lon": 103.1},
        {"id": "A", "year": 2023, "sub": "460201", "level": 3, "score": {"capital_human": 2.25, "capital_social": 1.8},
         "lat": 16.2, "lon": 103.2, "pilot": "P1", "members": 5},
        {"id": "B", "year": 2023, "sub": "460901", "level": 1, "score": 1.5},
        {"id": "C", "year": 2021, "sub": "460902", "level": 4, "score": 3.5, "lat": 16.3, "lon": 103.3},
        {"id": "D", "year": 2019, "sub": "460902", "level": 4, "score": 3.5},
    ])


def test_pair_rounds_joins_by_household_id_and_places_each_household(tiny):
    pairs = pair_rounds(tiny, 2021, 2023).set_index("household_id")
    assert sorted(pairs.index) == ["A", "B", "C"]  # the 2019 round is ignored
    assert pairs["status"].astype(str).to_dict() == {"A": "followed", "B": "new", "C": "not_found"}
    # Followed and new: the later round's place; not found: the earlier round's.
    assert pairs["subdistrict_code"].astype(str).to_dict() == {"A": "460201", "B": "460901", "C": "460902"}
    assert pairs.loc["A", ["lat", "lon"]].tolist() == [16.2, 103.2]
    assert pairs.loc["C", ["lat", "lon"]].tolist() == [16.3, 103.3]
    assert (pairs.loc["A", "level_from"], pairs.loc["A", "level_to"]) == (2, 3)
    assert pd.isna(pairs.loc["B", "level_from"]) and pd.isna(pairs.loc["C", "level_to"])
    assert pairs.loc["A", "human_change"] == pytest.approx(0.25)
    assert pairs.loc["A", "social_change"] == pytest.approx(-0.2)
    assert np.isnan(pairs.loc["B", "human_change"])
    assert pd.isna(pairs.loc["A", "pilot_from"]) and pairs.loc["A", "pilot_to"] == "P1"
    assert (pairs.loc["A", "people_from"], pairs.loc["A", "people_to"]) == (4, 5)
    cell = h3.str_to_int(h3.latlng_to_cell(16.2, 103.2, 10))
    assert int(pairs.loc["A", "cell"]) == cell
    assert pairs.attrs == {"year_from": 2021, "year_to": 2023}


def test_years_may_be_buddhist_or_common_era(households, pairs):
    for year_from, year_to in ((2564, 2566), ("2021", 2566), (2564, "2023")):
        again = pair_rounds(households, year_from, year_to)
        pd.testing.assert_frame_equal(again, pairs)


@pytest.mark.parametrize("years", [(2020, 2023), (2021, 2567), (2023, 2021), (2021, 2021)])
def test_a_round_not_in_the_data_or_not_in_order_is_a_round_error(households, years):
    with pytest.raises(RoundError) as caught:
        pair_rounds(households, *years)
    assert isinstance(caught.value, PPAPError) and caught.value.message("th")


def test_an_id_repeated_within_a_round_is_refused(tiny):
    twice = pd.concat([tiny, tiny.iloc[[0]]], ignore_index=True)
    with pytest.raises(EngineInputError, match="unique within a survey round"):
        pair_rounds(twice, 2021, 2023)


def test_a_change_of_exactly_the_threshold_counts_and_the_threshold_is_an_option(tiny):
    pairs = pair_rounds(tiny, 2021, 2023)
    exact = mobility_totals(pairs, exact=True, min_count=1)
    assert (exact["human_improved"], exact["human_same"], exact["human_worse"]) == (1, 0, 0)  # +0.25
    assert (exact["social_improved"], exact["social_same"], exact["social_worse"]) == (0, 1, 0)  # -0.20
    wider = mobility_totals(pairs, exact=True, min_count=1, change_threshold=0.3)
    assert (wider["human_improved"], wider["human_same"]) == (0, 1)
    narrower = mobility_totals(pairs, exact=True, min_count=1, change_threshold=0.2)
    assert narrower["social_worse"] == 1
    assert (exact["up"], exact["escaped"], exact["l2_to_l3"], exact["followed"], exact["new"],
            exact["not_found"]) == (1, 1, 1, 1, 1, 1)
    assert exact["human_mean_change"] == pytest.approx(0.25)


def _conserved(table: pd.DataFrame) -> None:
    t = {c: table[c].to_numpy(dtype="int64") for c in (*COUNT_COLUMNS, *DENOMINATOR_COLUMNS)}
    assert (t["followed"] + t["new"] == t["households_to"]).all()
    assert (t["followed"] + t["not_found"] == t["households_from"]).all()
    assert (sum(t[c] for c in TRANSITION_COLUMNS) == t["followed"]).all()
    assert (t["up"] + t["same"] + t["down"] == t["followed"]).all()
    assert (t["followed_poor_from"] + t["followed_nonpoor_from"] == t["followed"]).all()
    for capital in CAPITALS:
        parts = sum(table[f"{capital}_{w}"].to_numpy(dtype="int64") for w in ("improved", "same", "worse"))
        assert (parts == t["followed"]).all()


@pytest.mark.parametrize("by", BY)
def test_households_are_conserved_over_any_selection_in_the_exact_release(pairs, by):
    rng = np.random.default_rng(3)
    selections = [None, rng.random(len(pairs)) < 0.3,
                  (pairs["level_from"] == 1).fillna(False).to_numpy(),
                  (pairs["district_code"] == "4609").to_numpy()]
    for mask in selections:
        table = mobility_table(pairs, by=by, res=7, exact=True, min_count=1, mask=mask)
        _conserved(table)
        totals = mobility_totals(pairs, exact=True, min_count=1, mask=mask)
        _conserved(totals.to_frame().T)
        # Every pair with a place at this level is in exactly one row (no subdistrict or no
        # position: in no row of that level).
        has_place = (pairs["cell"] != 0).to_numpy() if by == "h3" else pairs[f"{by}_code"].notna().to_numpy()
        placed = int((has_place if mask is None else mask & has_place).sum())
        areas = table[["households_from", "households_to", "followed", "new", "not_found"]].sum()
        assert areas["followed"] + areas["new"] + areas["not_found"] == placed
        if by in ("province", "district"):  # every pair is in one area: areas add up to the selection
            for column in ("households_from", "households_to", "up", "escaped", "human_improved"):
                assert areas.get(column, table[column].sum()) == totals[column]


@pytest.mark.parametrize("by", BY)
def test_counts_equal_a_naive_count(pairs, by):
    table = mobility_table(pairs, by=by, res=6, exact=True, min_count=1)
    if by == "h3":
        key = np.array([h3.str_to_int(h3.latlng_to_cell(a, b, 6)) if np.isfinite(a) else 0
                        for a, b in zip(pairs["lat"], pairs["lon"])], dtype=np.uint64)
        table_key = table["h3_cell"].to_numpy(dtype=np.uint64)
        keep = key != 0
    else:
        key = pairs[f"{by}_code"].astype(str).to_numpy()
        table_key = table["code"].astype(str).to_numpy()
        keep = np.ones(len(pairs), dtype=bool)
    expected = naive_counts(pairs.loc[keep].reset_index(drop=True), key[keep], CHANGE_THRESHOLD)
    got = table.set_index(pd.Index(table_key, name="key"))
    assert sorted(got.index) == sorted(expected.index)
    got = got.loc[expected.index]
    for column in MOBILITY_COLUMNS:
        if column.endswith("_mean_change"):
            np.testing.assert_allclose(got[column].to_numpy(float), expected[column].to_numpy(float), atol=1e-5)
        else:
            assert (got[column].to_numpy("int64") == expected[column].to_numpy("int64")).all(), column


def test_the_table_has_the_contract_columns_in_order(pairs):
    table = mobility_table(pairs, by="district")
    assert list(table.columns) == ["code", *MOBILITY_COLUMNS, *DENOMINATOR_COLUMNS]
    cells = mobility_table(pairs, by="h3", res=7)
    assert cells.columns[0] == "h3_cell" and cells.attrs["res"] == 7


@pytest.mark.parametrize("by", BY)
def test_public_release_is_within_noise_and_never_shows_a_small_count(pairs, by):
    exact = mobility_table(pairs, by=by, res=7, exact=True, min_count=1)
    public = mobility_table(pairs, by=by, res=7)
    assert public.attrs["release"] == "perturbed"
    key = exact.columns[0]
    truth = exact.set_index(key).loc[public[key]]
    for column in (*COUNT_COLUMNS, *DENOMINATOR_COLUMNS):
        shown = public[column].to_numpy(dtype="float64", na_value=np.nan)
        visible = ~np.isnan(shown)
        assert (shown[visible] >= 10).all(), column
        error = shown[visible] - truth[column].to_numpy(dtype="float64")[visible]
        assert (np.abs(error) <= MAX_NOISE).all(), column
        assert (truth[column].to_numpy(dtype="float64")[~visible] < 10 + MAX_NOISE).all(), column
    # Conservation within noise: each side perturbed on its own.
    visible = public[["followed", "new", "households_to"]].notna().all(axis=1)
    gap = (public["followed"] + public["new"] - public["households_to"])[visible].astype(float)
    assert (gap.abs() <= 3 * MAX_NOISE).all()
    for capital in CAPITALS:  # a mean change moves by at most 3 points over its households
        mean = public[f"{capital}_mean_change"].to_numpy(float)
        shown = ~np.isnan(mean)
        n = truth["followed"].to_numpy(float)[shown]
        assert (np.abs(mean[shown] - truth[f"{capital}_mean_change"].to_numpy(float)[shown]) <= MAX_NOISE / n + 1e-6).all()
    if by == "h3":
        assert public.attrs["areas_withheld"] > 0 and len(public) < len(exact)


def test_public_release_is_reproducible(pairs):
    a = mobility_table(pairs, by="subdistrict")
    b = mobility_table(pairs, by="subdistrict")
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("by", BY)
@pytest.mark.parametrize("exact", [False, True])
def test_table_and_totals_in_one_pass_equal_each_alone(pairs, by, exact):
    """The Change map's table and headline from one pass over the pairs are the two answers made
    apart, for every selection (an H3 table leaves pairs without a position out: its totals take
    their own pass)."""
    rng = np.random.default_rng(3)
    for mask in (None, rng.random(len(pairs)) < 0.3, (pairs["transition"].to_numpy() % 3) == 0):
        table, totals = mobility_table_and_totals(pairs, by=by, res=7, exact=exact, mask=mask)
        pd.testing.assert_frame_equal(table, mobility_table(pairs, by=by, res=7, exact=exact, mask=mask))
        alone = mobility_totals(pairs, exact=exact, mask=mask)
        pd.testing.assert_series_equal(totals, alone, check_exact=False, rtol=1e-9)
        assert totals.attrs == alone.attrs


def test_the_same_households_get_the_same_figure_in_a_round_map_and_the_change_map():
    """The households of a district in the later round are its followed and new households: one set,
    one cell key, one published figure, in the round's map and in the change table. With nobody
    moving, the same holds for the earlier round."""
    households = two_rounds(3000, seed=4, moved_share=0.0)
    pairs = pair_rounds(households, 2021, 2023)
    change = mobility_table(pairs, by="subdistrict").set_index("code")
    for year, column in ((2023, "households_to"), (2021, "households_from")):
        one_round = households[households["survey_year"] == year].reset_index(drop=True)
        released = protect(aggregate(index_households(one_round), "subdistrict")).set_index("code")
        common = change.index.intersection(released.index)
        assert len(common) > 0
        assert (change.loc[common, column].astype("Int64") == released.loc[common, "households"].astype("Int64")).all()


def test_exact_release_withholds_small_areas_with_complementary_suppression(pairs):
    table = mobility_table(pairs, by="h3", res=8, exact=True)
    exact_all = mobility_table(pairs, by="h3", res=8, exact=True, min_count=1).set_index("h3_cell")
    hidden = table["followed"].isna() & table["households_to"].isna()
    union = exact_all.loc[table["h3_cell"], ["followed", "new", "not_found"]].sum(axis=1).to_numpy()
    assert hidden.any() and not hidden.all()
    assert (union[~hidden.to_numpy()] >= 10).all()
    assert ((union[hidden.to_numpy()] < 10) | hidden.to_numpy()[hidden.to_numpy()]).all()


def test_shares_come_from_the_released_counts(pairs):
    table = mobility_table(pairs, by="district")
    shares = mobility_shares(table)
    np.testing.assert_allclose(shares["share_up"], table["up"].astype(float) / table["followed"].astype(float))
    np.testing.assert_allclose(shares["share_escaped"],
                               table["escaped"].astype(float) / table["followed_poor_from"].astype(float))
    total = mobility_shares(mobility_totals(pairs))
    assert len(total) == 1 and 0 < total["share_up"].iloc[0] < 1
    few = mobility_shares(mobility_table(pairs, by="h3", res=9))
    assert few.isna().any().any() or len(few) == 0


def test_a_mask_of_the_wrong_shape_or_a_bad_option_is_refused(pairs):
    with pytest.raises(EngineInputError, match="mask"):
        mobility_table(pairs, by="district", mask=np.ones(3, dtype=bool))
    with pytest.raises(EngineInputError, match="by"):
        mobility_table(pairs, by="village")
    with pytest.raises(EngineInputError, match="change_threshold"):
        mobility_table(pairs, by="district", change_threshold=-1)
    with pytest.raises(EngineInputError, match="res"):
        mobility_table(pairs, by="h3", res=3)
