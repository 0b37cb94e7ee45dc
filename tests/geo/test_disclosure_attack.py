"""The attack harness: a viewer's tables, differenced every way a linear programme can.

For three bounded regions of the real sample — the issue's cross-resolution case (district 3010,
res 5/6/7), its cross-area case (province 18 against its districts 1802 and 1803) and a pilot's
district (9309, where ``?level=1&pilot=none,P06-9309`` minus ``?level=1&pilot=none`` gave one
household) — :mod:`tests.geo.disclosure_attack` builds every view a viewer can open and tries to
pin down each withheld count of 1-9 households, with and without the districts' village tables
(the Households page's ``by=village``). The public release must leave none determined;
the exact release (today's complementary suppression, what officers see) must fall to the same
attacker, which shows the harness can fail.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.engine.aggregate import aggregate, index_households
from geo.engine.cellkey import MAX_NOISE, expected_abs_noise
from geo.views.headline import totals_of
from geo.engine.filters import HouseholdFilter, filter_mask
from geo.engine.protect import protect
from geo.views.villages import village_keys
from tests.geo.disclosure_attack import attack

REGIONS = {
    "district 3010 across H3 resolutions": ["3010"],
    "province 18 against districts 1802, 1803": ["18", "1802", "1803"],
    "pilot district 9309 across pilot filters": ["9309"],
}


@pytest.fixture(scope="module")
def sample(sample_households_path) -> pd.DataFrame:
    from geo.data.store import latest_round, latest_round_filter

    path = sample_households_path
    return pd.read_parquet(path, filters=latest_round_filter(latest_round(path)))  # the round the app shows


@pytest.fixture(scope="module")
def sample_index(sample):
    return index_households(sample)


@pytest.mark.parametrize("region", list(REGIONS))
def test_no_withheld_count_is_determined_in_the_public_release(sample, region, print_figure):
    areas = REGIONS[region]
    index = index_households(sample[sample["province_code"] == areas[0][:2]].reset_index(drop=True))
    public = attack(index, areas, k=10, exact=False)
    print_figure(f"disclosure attack, public release, {region}: {public.summary()}")
    assert public.withheld_small > 0, "the region must have small withheld counts to attack"
    assert public.determined == [], public.determined[:10]


@pytest.mark.parametrize("region", list(REGIONS))
def test_village_tables_leave_no_withheld_count_determined_in_the_public_release(sample, region, print_figure):
    """A viewer can open a district's villages (หมู่): each village is a new, smaller set of
    households, differenced against every other view of the region; none of the withheld counts is
    determined. The same views released exactly fall to the attacker through the village tables."""
    from geo.engine.aggregate import aggregate_by_key

    areas = REGIONS[region]
    frame = sample[sample["province_code"] == areas[0][:2]].reset_index(drop=True)
    index = index_households(frame)
    villages = village_keys(index, frame)
    district = next(a for a in areas if len(a) == 4)
    from geo.engine.filters import area_mask

    small = protect(aggregate_by_key(index, villages, by="village", mask=area_mask(index, district)), k=10)
    assert small.attrs["areas_withheld"] > 0, "the district must have villages under k to attack"
    public = attack(index, areas, k=10, exact=False, villages=villages)
    print_figure(f"disclosure attack with village tables, public release, {region}: {public.summary()}")
    assert public.withheld_small > 0 and public.determined == [], public.determined[:10]
    exact = attack(index, areas, k=10, exact=True, villages=villages)
    print_figure(f"disclosure attack with village tables, exact release, {region}: {exact.summary()}; "
                 f"{sum('by=village' in label for label, _ in exact.determined)} of them village counts")
    assert len(exact.determined) > 0


@pytest.mark.parametrize("region", list(REGIONS))
def test_the_same_attacker_recovers_counts_from_an_exact_release(sample, region, print_figure):
    """The harness can fail: against exact figures with complementary suppression (the release
    every viewer had before, and officers have now) it determines withheld counts."""
    areas = REGIONS[region]
    index = index_households(sample[sample["province_code"] == areas[0][:2]].reset_index(drop=True))
    exact = attack(index, areas, k=10, exact=True)
    print_figure(f"disclosure attack, exact release, {region}: {exact.summary()}")
    assert len(exact.determined) > 0


def test_withheld_areas_are_left_out_so_none_and_few_read_alike(sample):
    """The public release lists no area under k: an area or hexagon that is missing may hold no
    household or a few, so its presence tells nothing (an exact release lists it as "<10")."""
    index = index_households(sample[sample["district_code"] == "3010"].reset_index(drop=True))
    raw = aggregate(index, "h3", res=6, rollup_min_count=10)
    public = protect(raw, k=10)
    assert public.attrs["areas_withheld"] > 0 and len(public) == len(raw) - public.attrs["areas_withheld"]
    assert (public["households"].astype(float) >= 10).all() and not public["suppressed"].any()
    assert protect(raw, k=10, exact=True)["households_shown"].eq("<10").any()


def test_a_count_withheld_in_a_filtered_table_is_withheld_in_the_unfiltered_one(sample_index):
    """``/households?by=subdistrict&level=1`` withheld 1,147 subdistricts whose counts the
    unfiltered table's ``households_level_1`` column showed: the same households, the same rule."""
    level1 = protect(aggregate(sample_index, "subdistrict", mask=filter_mask(sample_index, HouseholdFilter(levels=[1]))))
    everyone = protect(aggregate(sample_index, "subdistrict"))
    shown_level1 = dict(zip(level1["code"].astype(str), level1["households"]))
    column = dict(zip(everyone["code"].astype(str), everyone["households_level_1"]))
    for code, value in column.items():
        if pd.isna(value):
            assert code not in shown_level1 or pd.isna(shown_level1[code])
        else:  # the same households: the same cell key, so the same published figure
            assert shown_level1[code] == value


def test_the_same_households_get_the_same_figure_through_any_table(sample_index):
    """Cell keys: a district's level-1 households read the same from the district map, the
    filtered headline and the level-1 map; asking again cannot average the noise away."""
    flt = filter_mask(sample_index, HouseholdFilter(levels=[1], districts=["4609"]))
    headline = totals_of(aggregate(sample_index, "province", mask=flt), k=10)["households"].iloc[0]
    by_district = protect(aggregate(sample_index, "district")).set_index("code").loc["4609", "households_level_1"]
    filtered_map = protect(aggregate(sample_index, "district", mask=filter_mask(
        sample_index, HouseholdFilter(levels=[1])))).set_index("code").loc["4609", "households"]
    assert headline == by_district == filtered_map


def test_accuracy_cost_of_the_public_release(sample_index, print_figure):
    """Typical error of a published count and of a total, measured on the sample (docs/ENGINE.md)."""
    exact = aggregate(sample_index, "district")
    public = protect(exact).set_index("code")
    truth = exact.set_index("code").loc[public.index]
    error = public["households"].astype(float) - truth["households"]
    total_true = int(exact["households"].sum())
    total_published = int(totals_of(exact, k=10)["households"].iloc[0])
    parts_sum = int(public["households"].sum())
    share_error = (public["share_level_1_2"] - truth["share_level_1_2"]).abs() * 100
    print_figure(
        f"public release accuracy, {len(public)} districts: households mean |error| {error.abs().mean():.2f} "
        f"(max {error.abs().max():.0f}, theory {expected_abs_noise():.2f}); levels 1-2 share mean |error| "
        f"{share_error.mean():.3f} points; total {total_true:,} published as {total_published:,}, "
        f"districts add up to {parts_sum:,} ({parts_sum - total_true:+,})")
    assert error.abs().max() <= MAX_NOISE and abs(total_published - total_true) <= MAX_NOISE
    assert 0.3 < error.abs().mean() < 1.6
    assert abs(parts_sum - total_true) < 4 * MAX_NOISE * np.sqrt(len(public))


def test_mean_scores_carry_their_households_noise(sample_index):
    """A mean capital score is (sum + noise) / n: within 3/n points of the truth, the same for the
    same households, and two means of nearly the same households do not give one household's score."""
    exact = aggregate(sample_index, "subdistrict")
    public = protect(exact).set_index("code")
    truth = exact.set_index("code").loc[public.index]
    n = truth["households"].to_numpy(float)
    error = (public["mean_capital_human"] - truth["mean_capital_human"]).abs().to_numpy()
    assert (error <= MAX_NOISE / n + 1e-9).all() and (error > 0).mean() > 0.4
    again = protect(aggregate(sample_index, "subdistrict")).set_index("code")
    assert again["mean_capital_human"].equals(public["mean_capital_human"])


def test_public_candidate_sites_are_hexagon_centres(sample_index):
    """A gap's site is a mean of positions: the public release snaps it to its res-7 hexagon's
    centre, so differencing two filters' sites cannot place a household."""
    import h3

    from geo.engine.gaps import SITE_SNAP_RES, pilot_gaps
    from geo.data.paths import samples_dir

    pilots = pd.read_csv(samples_dir() / "pilots.csv")
    gaps = pilot_gaps(sample_index, pilots, radius_km=5)
    for lat, lon in zip(gaps["lat"], gaps["lon"]):
        centre = h3.cell_to_latlng(h3.latlng_to_cell(lat, lon, SITE_SNAP_RES))
        assert np.allclose(centre, (lat, lon), atol=1e-9)
    exact = pilot_gaps(sample_index, pilots, radius_km=5, exact=True)
    assert not np.allclose(exact["lat"].to_numpy()[:3], gaps["lat"].to_numpy()[:3])
