"""Tests for ``geo.engine.protect``: the guarantees written in its module docstring.

1. No released row shows 0 < households < k, and a suppressed row shows no derived value.
2. In every enclosing area whose total is at least k, the suppressed rows hold 0 or >= k
   households, so a published total minus the visible parts never isolates a small area.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from geo.engine.aggregate import METRIC_COLUMNS, aggregate, attach_boundaries, index_households, pilot_reach
from geo.synth.households import random_households
from geo.errors import EngineInputError
from geo.engine.h3index import cells_resolution, cells_to_parent
from geo.engine.protect import protect, released_values_ok


def admin_table(codes: list[str], households: list[int], by: str) -> pd.DataFrame:
    table = pd.DataFrame({
        "code": pd.array(codes, dtype="string"),
        "households": np.array(households, dtype=np.int64),
        "people": np.array(households, dtype=np.int64) * 4,
        "share_level_1_2": np.linspace(0.1, 0.9, len(codes)),
        "dominant_deficit": pd.Categorical(["natural"] * len(codes), categories=["human", "natural"]),
    })
    table.attrs["by"] = by
    return table


def hidden_sums_ok(released: pd.DataFrame, groups: list[np.ndarray], k: int) -> bool:
    """Guarantee 2 for each grouping of the rows (arrays of enclosing-area keys)."""
    h = released["households"].to_numpy(dtype="float64", na_value=np.nan)
    original = released.attrs["_original"]
    hidden = released["suppressed"].to_numpy(bool)
    for keys in groups:
        frame = pd.DataFrame({"key": keys, "total": original, "hidden": np.where(hidden, original, 0)})
        sums = frame.groupby("key")[["total", "hidden"]].sum()
        sums = sums[sums["total"] >= k]
        if ((sums["hidden"] > 0) & (sums["hidden"] < k)).any():
            return False
    return not np.isnan(h[~hidden]).any()


def test_small_rows_are_suppressed_and_derived_values_withheld():
    table = admin_table(["4601", "4602", "4603", "4604"], [3, 40, 55, 0], "district")
    released = protect(table, k=10, exact=True)
    row = released.iloc[0]
    assert row["households_shown"] == "<10"
    assert bool(row["suppressed"]) and row["suppression"] == "small"
    assert pd.isna(row["households"]) and pd.isna(row["people"]) and np.isnan(row["share_level_1_2"])
    assert pd.isna(row["dominant_deficit"])
    # an area with no households shows 0: nothing to protect
    assert released.iloc[3]["households_shown"] == "0" and not released.iloc[3]["suppressed"]
    assert released.attrs["min_count"] == 10
    assert list(released.columns[:4]) == ["code", "households_shown", "suppressed", "suppression"]


def test_complementary_suppression_within_the_province():
    # one small district in province 46: the smallest visible district of 46 goes too,
    # so "province 46 total minus its visible districts" is >= 10 households
    table = admin_table(["4601", "4602", "4603", "3401", "3402"], [4, 40, 25, 12, 30], "district")
    released = protect(table, k=10, exact=True)
    assert released["households_shown"].tolist() == ["<10", "40", "suppressed", "12", "30"]
    assert released["suppression"].tolist() == ["small", "", "complementary", "", ""]


def test_complementary_suppression_against_the_table_total():
    # the only small province would be revealed by "national total minus visible provinces"
    table = admin_table(["46", "34", "10"], [3, 50, 20], "province")
    released = protect(table, k=10, exact=True)
    assert released["households_shown"].tolist() == ["<10", "50", "suppressed"]


def test_two_small_rows_that_reach_k_together_need_nothing_more():
    table = admin_table(["4601", "4602", "4603"], [6, 7, 30], "district")
    assert protect(table, k=10, exact=True)["households_shown"].tolist() == ["<10", "<10", "30"]


def test_k1_turns_protection_off():
    table = admin_table(["4601", "4602"], [1, 2], "district")
    released = protect(table, k=1, exact=True)
    assert not released["suppressed"].any()
    assert released["households"].tolist() == [1, 2]


def test_checks():
    table = admin_table(["4601"], [3], "district")
    with pytest.raises(EngineInputError, match="k must be between 1 and inf, got 0"):
        protect(table, k=0)
    with pytest.raises(EngineInputError, match="k must be an integer, got 2.5"):
        protect(table, k=2.5)
    with pytest.raises(EngineInputError, match=r"table is missing columns \['households'\]"):
        protect(table.drop(columns="households"), exact=True)


@settings(max_examples=80, deadline=None)
@given(
    counts=st.lists(st.integers(0, 40), min_size=1, max_size=40),
    shape=st.lists(st.integers(0, 3), min_size=40, max_size=40),
    k=st.integers(2, 15),
)
def test_admin_guarantees_hold_for_any_table(counts, shape, k):
    codes = [f"{40 + s}{10 + s * 2 + i % 3:02d}{i:02d}" for i, s in zip(range(len(counts)), shape)]
    table = admin_table(codes, counts, "subdistrict")
    released = protect(table, k=k, exact=True)
    released.attrs["_original"] = np.array(counts)
    assert released_values_ok(released, k)
    code = table["code"].astype(str)
    groups = [code.str[:4].to_numpy(), code.str[:2].to_numpy(), np.zeros(len(code))]
    assert hidden_sums_ok(released, groups, k)
    # suppression is minimal in the sense that no row is hidden without a reason
    assert set(released["suppression"].astype(str)) <= {"", "small", "complementary"}


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 600), seed=st.integers(0, 10_000), res=st.integers(5, 10), k=st.integers(2, 20),
       rollup=st.booleans())
def test_h3_guarantees_hold_at_every_coarser_resolution(n, seed, res, k, rollup):
    index = index_households(random_households(n, seed=seed, cluster_km=0.4))
    table = aggregate(index, "h3", res=res, rollup_min_count=k if rollup else None)
    released = protect(table, k=k, exact=True)
    released.attrs["_original"] = table["households"].to_numpy()
    assert released_values_ok(released, k)
    cells = table["h3_cell"].to_numpy(np.uint64)
    levels = cells_resolution(cells)
    groups = [np.zeros(len(cells))]
    for level in range(0, int(levels.max(initial=0))):
        scope = levels > level
        keys = np.where(scope, 0, np.arange(len(cells)) + 1).astype(np.uint64)
        keys[scope] = cells_to_parent(cells[scope], level) if scope.any() else keys[scope]
        groups.append(keys)
    assert hidden_sums_ok(released, groups, k)
    visible = ~released["suppressed"].to_numpy(bool)
    for column in METRIC_COLUMNS:
        values = released[column]
        assert values[~visible].isna().all(), column


def test_protected_table_keeps_geometry_and_names():
    table = admin_table(["4601", "4602"], [3, 40], "district")
    boundaries = gpd.GeoDataFrame(
        {"code": ["4601", "4602"], "name_th": ["ก", "ข"], "name_en": ["a", "b"]},
        geometry=[box(103.0, 16.0, 103.5, 16.5), box(103.5, 16.0, 104.0, 16.5)], crs="EPSG:4326",
    )
    released = protect(attach_boundaries(table, boundaries), k=10, exact=True)
    assert isinstance(released, gpd.GeoDataFrame)
    assert released["name_en"].tolist() == ["a", "b"]
    assert released.geometry.notna().all()


def test_pilot_tables_hide_small_counts():
    households = random_households(400, seed=3)
    index = index_households(households)
    pilots = pd.DataFrame({"pilot_id": ["P01", "P03"], "lat": [16.4, 16.4], "lon": [103.5, 103.5],
                           "households_target": [100, 50]})
    table = pilot_reach(index, pilots, radius_km=0.5)
    released = protect(table, k=10, exact=True)
    assert released.loc[0, "households_shown"] == str(table.loc[0, "households"])
    assert released.loc[1, "households_shown"] == "0"  # P03 enrols nobody
    assert released.loc[0, "households_target"] == 100  # a public target, not household data
    small = (table["in_need_within"] > 0) & (table["in_need_within"] < 10)
    assert released.loc[small, "in_need_within"].isna().all()
