"""The fast paths of :mod:`geo.engine.mobility` against plain references on small random input.

:func:`pair_rounds` joins ids with a pyarrow hash pass and gathers every column by row position;
here it is checked against a pandas outer merge. :func:`mobility_table` counts capitals from the
precomputed ``capital_classes`` and leaves withheld H3 cells out before counting; here each fast
path is checked against the plain one (same figures, cell for cell).
"""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest

from geo.data.contract import CAPITAL_COLUMNS, CAPITALS
from geo.engine import mobility
from geo.engine.cellkey import record_keys
from geo.engine.h3index import points_to_cells
from geo.engine.mobility import CHANGE_THRESHOLD, mobility_table, mobility_totals, pair_rounds
from tests.support.rounds import two_rounds

BY = (("province", None), ("district", None), ("subdistrict", None), ("h3", 6), ("h3", 8), ("h3", 10))


def _messy(seed: int) -> pd.DataFrame:
    """Two rounds with what real files hold: a third round, missing positions and scores, places
    as text in one column and categorical with unused categories in another, pilots in one round."""
    rng = np.random.default_rng(seed)
    frame = two_rounds(400, seed=seed)
    n = len(frame)
    gone = rng.random(n) < 0.05
    frame.loc[gone, ["lat", "lon"]] = np.nan
    for column in CAPITAL_COLUMNS:
        frame.loc[rng.random(n) < 0.05, column] = np.nan
    frame.loc[rng.random(n) < 0.03, "poverty_level"] = pd.NA
    frame["province_code"] = frame["province_code"].astype(object)
    frame["district_code"] = pd.Categorical(frame["district_code"].astype(str),
                                            categories=sorted({*frame["district_code"].astype(str), "9999"}))
    frame["pilot_id"] = frame["pilot_id"].where(frame["survey_year"] == 2023, None)
    frame.loc[(frame["survey_year"] == 2023) & (rng.random(n) < 0.1), "pilot_id"] = "P7"
    third = frame.loc[frame["survey_year"] == 2023].head(50).copy()
    third["survey_year"] = 2019
    return pd.concat([frame, third], ignore_index=True).sample(frac=1.0, random_state=seed).reset_index(drop=True)


def _reference(households: pd.DataFrame) -> pd.DataFrame:
    """One row per id, by an outer merge of the two rounds (the obvious way), indexed by id."""
    a = households.loc[households["survey_year"] == 2021].set_index("household_id")
    b = households.loc[households["survey_year"] == 2023].set_index("household_id")
    both = a.add_suffix("_a").join(b.add_suffix("_b"), how="outer")
    in_a, in_b = both.index.isin(a.index), both.index.isin(b.index)
    out = pd.DataFrame(index=both.index.astype(str))
    out["status"] = np.where(in_a & in_b, "followed", np.where(in_b, "new", "not_found"))
    for column in ("province_code", "district_code", "subdistrict_code", "lat", "lon"):
        placed = both[f"{column}_b"].where(pd.Series(in_b, index=both.index), both[f"{column}_a"])
        out[column] = placed.to_numpy(dtype=object)
    for name, side in (("from", "a"), ("to", "b")):
        out[f"level_{name}"] = both[f"poverty_level_{side}"].to_numpy(dtype="float64", na_value=np.nan)
        out[f"people_{name}"] = both[f"members_{side}"].to_numpy(dtype="float64", na_value=np.nan)
        out[f"pilot_{name}"] = both[f"pilot_id_{side}"].to_numpy(dtype=object)
        for capital, column in zip(CAPITALS, CAPITAL_COLUMNS):
            out[f"{capital}_{name}"] = both[f"{column}_{side}"].to_numpy(dtype="float64", na_value=np.nan).astype(
                np.float32)
    return out


def _text(values: pd.Series) -> list:
    return [None if pd.isna(v) else str(v) for v in values.to_numpy(dtype=object)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pair_rounds_equals_an_outer_merge(seed):
    households = _messy(seed)
    pairs = pair_rounds(households, 2021, 2023, h3_resolutions=(6, 10))
    expected = _reference(households)
    got = pairs.set_index(pairs["household_id"].astype(str))
    assert sorted(got.index) == sorted(expected.index) and got.index.is_unique
    got = got.loc[expected.index]
    assert (got["status"].astype(str).to_numpy() == expected["status"].to_numpy()).all()
    for column in ("province_code", "district_code", "subdistrict_code", "pilot_from", "pilot_to"):
        assert _text(got[column]) == _text(expected[column]), column
    for column in ("lat", "lon"):
        np.testing.assert_array_equal(got[column].to_numpy(dtype="float64"),
                                      expected[column].to_numpy(dtype="float64", na_value=np.nan))
    for name in ("level_from", "level_to", "people_from", "people_to"):
        np.testing.assert_array_equal(got[name].to_numpy(dtype="float64", na_value=np.nan), expected[name].to_numpy())
    for capital in CAPITALS:
        before, after = expected[f"{capital}_from"].to_numpy(), expected[f"{capital}_to"].to_numpy()
        np.testing.assert_array_equal(got[f"{capital}_from"].to_numpy(), before)
        np.testing.assert_array_equal(got[f"{capital}_to"].to_numpy(), after)
        np.testing.assert_array_equal(got[f"{capital}_change"].to_numpy(), after - before)
    # Keys, cells, codes and order.
    np.testing.assert_array_equal(pairs["record_key"].to_numpy(), record_keys(pairs["household_id"]))
    lat, lon = pairs["lat"].to_numpy(), pairs["lon"].to_numpy()
    np.testing.assert_array_equal(pairs["cell"].to_numpy(), points_to_cells(lat, lon, 10))
    assert (np.diff(pairs["cell"].to_numpy().astype(np.float64)) >= 0).all()
    for i in np.flatnonzero(np.isfinite(lat))[:200]:
        assert int(pairs["cell_6"].iloc[i]) == h3.str_to_int(h3.latlng_to_cell(lat[i], lon[i], 6))
        assert int(pairs["cell_10"].iloc[i]) == int(pairs["cell"].iloc[i])
    assert pairs.loc[~np.isfinite(lat), "cell_6"].isna().all()
    lf = pairs["level_from"].fillna(0).to_numpy(dtype=int).clip(0, 4)
    lt = pairs["level_to"].fillna(0).to_numpy(dtype=int).clip(0, 4)
    np.testing.assert_array_equal(pairs["transition"].to_numpy(), pairs["status"].cat.codes * 25 + lf * 5 + lt)
    classes = pairs["capital_classes"].to_numpy()
    for i, capital in enumerate(CAPITALS):
        change = pairs[f"{capital}_change"].to_numpy(dtype="float64")
        expected_class = np.select([np.isnan(change), change >= CHANGE_THRESHOLD - 1e-6,
                                    change <= -CHANGE_THRESHOLD + 1e-6], [0, 3, 1], 2)
        np.testing.assert_array_equal((classes >> (2 * i)) & 3, expected_class, err_msg=capital)


@pytest.fixture(scope="module")
def messy_pairs() -> pd.DataFrame:
    return pair_rounds(_messy(4), 2021, 2023)


@pytest.mark.parametrize("by,res", BY)
@pytest.mark.parametrize("exact", [False, True])
def test_counting_from_classes_equals_counting_the_changes(messy_pairs, by, res, exact, monkeypatch):
    plain = messy_pairs.drop(columns="capital_classes")  # the path any threshold takes
    mask = np.random.default_rng(0).random(len(messy_pairs)) < 0.5
    for options in ({}, {"mask": mask}, {"min_count": 3}):
        expected = mobility_table(plain, by=by, res=res, exact=exact, **options)
        pd.testing.assert_frame_equal(mobility_table(messy_pairs, by=by, res=res, exact=exact, **options), expected,
                                      check_exact=True)
        with monkeypatch.context() as patch:  # one histogram per capital, as for many H3 cells
            patch.setattr(mobility, "_MAX_CLASS_CUBE", 0)
            pd.testing.assert_frame_equal(mobility_table(messy_pairs, by=by, res=res, exact=exact, **options),
                                          expected, check_exact=True)
    pd.testing.assert_series_equal(mobility_totals(messy_pairs, exact=exact), mobility_totals(plain, exact=exact),
                                   check_exact=True)


@pytest.mark.parametrize("res", [8, 10])
def test_leaving_withheld_cells_out_first_changes_nothing(messy_pairs, res, monkeypatch):
    fast = mobility_table(messy_pairs, by="h3", res=res, min_count=3)
    monkeypatch.setattr(mobility, "_LEAVE_OUT_SHARE", 2.0)  # never
    plain = mobility_table(messy_pairs, by="h3", res=res, min_count=3)
    pd.testing.assert_frame_equal(fast, plain, check_exact=True)
    assert fast.attrs == plain.attrs and fast.attrs["areas_withheld"] > 0
