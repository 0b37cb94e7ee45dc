"""A district's villages (geo.views.villages, geo.engine.aggregate.aggregate_by_key) on the tiny world."""

from __future__ import annotations

import numpy as np
import pytest

from geo.engine.aggregate import aggregate, aggregate_by_key, index_households
from geo.engine.filters import area_mask
from geo.errors import EngineInputError
from geo.views.villages import chosen_district, village_code, village_keys, village_reading_table, village_table
from geo.views.viewstate import ViewState
from tests.pages.tiny_world import households


@pytest.fixture
def world():
    frame = households()
    index = index_households(frame)
    return frame, index, village_keys(index, frame)


def test_keys_are_subdistrict_and_number_per_household(world):
    frame, index, keys = world
    rows = np.asarray(index.order)
    expected = [village_code(s, n) for s, n in zip(frame["subdistrict_code"].iloc[rows], frame["village_no"].iloc[rows])]
    assert keys.tolist() == expected and village_code("460901", 12) == "46090112"


def test_households_are_conserved_from_villages_to_subdistricts(world):
    _, index, keys = world
    villages = aggregate_by_key(index, keys, by="village")
    subdistricts = aggregate(index, "subdistrict").set_index("code")
    rolled = villages.groupby(villages["code"].str[:6])[["households", "people", "households_level_1"]].sum()
    for column in rolled.columns:
        assert rolled[column].to_dict() == subdistricts.loc[rolled.index, column].to_dict()
    assert villages.attrs["households_without_key"] == 0 and villages.attrs["by"] == "village"


def test_rows_without_a_village_number_and_empty_selections(world):
    frame, index, _ = world
    frame = frame.copy()
    frame.loc[:4, "village_no"] = None
    keys = village_keys(index, frame)
    assert (keys == "").sum() == 5
    assert aggregate_by_key(index, keys, by="village").attrs["households_without_key"] == 5
    empty = aggregate_by_key(index, keys, by="village", mask=np.zeros(index.n, dtype=bool))
    assert empty.empty and "households" in empty.columns
    with pytest.raises(EngineInputError):
        aggregate_by_key(index, keys[:3], by="village")
    with pytest.raises(EngineInputError):
        village_keys(index, frame.drop(columns="village_no"))


def test_the_exact_release_hides_a_small_village_within_its_subdistrict(world):
    """Complementary suppression reads the enclosing subdistrict from the key: in 460901 (9, 8, 8
    households), no single village under k=9 can be read off the subdistrict's total."""
    _, index, keys = world
    table = village_table(index, keys, area_mask(index, "4609"), k=9, exact=True)
    in_460901 = table[table["subdistrict_code"] == "460901"]
    hidden = in_460901.loc[in_460901["suppressed"], "households_shown"].tolist()
    assert "<9" in hidden and len(hidden) >= 2
    assert table["name_th"].iloc[0] and table["village_no"].notna().all()


def test_the_public_release_leaves_small_villages_out(world):
    _, index, keys = world
    table = village_table(index, keys, area_mask(index, "4609"))
    assert table.empty and table.attrs["areas_withheld"] == 6
    shown = village_reading_table(village_table(index, keys, area_mask(index, "4601")), "en")
    assert list(shown.columns[:3]) == ["Code", "Subdistrict", "Village"]
    counts = shown[[c for c in shown.columns if c[:2] in ("1 ", "2 ", "3 ", "4 ")] + ["People"]]
    assert counts.shape[1] == 5 and counts.map(lambda v: isinstance(v, str) and v != "").all().all()


@pytest.mark.parametrize(("view", "district"), [
    (ViewState(area="4609"), "4609"), (ViewState(area="460901"), "4609"), (ViewState(area="46"), ""),
    (ViewState(provinces=("46",), districts=("4609",)), "4609"),
    (ViewState(provinces=("46",), districts=("4601", "4609")), ""), (ViewState(), ""),
])
def test_the_chosen_district(view, district):
    assert chosen_district(view) == district
