"""Tests for :mod:`geo.engine.pilot_impact` against a hand-computed case."""

from __future__ import annotations

from statistics import variance

import numpy as np
import pandas as pd
import pytest

from geo.data.contract import CAPITALS
from geo.engine.cellkey import MAX_NOISE
from geo.engine.mobility import pair_rounds
from geo.engine.pilot_impact import PILOT_IMPACT_COLUMNS, pilot_impact
from tests.support.rounds import rows


def _household(records, hid, sub, level_from, level_to, change, *, pilot_from=None, pilot_to=None):
    records.append({"id": hid, "year": 2021, "sub": sub, "level": level_from, "score": 2.0, "pilot": pilot_from})
    records.append({"id": hid, "year": 2023, "sub": sub, "level": level_to, "score": 2.0 + change, "pilot": pilot_to})


@pytest.fixture(scope="module")
def case() -> pd.DataFrame:
    """District 4609. Participants of P1: 12 at level 1 (changes 0.4 / 0.6, six move up to level 2),
    8 at level 3 (0.2 / 0.4); half named P1 only in the later round, some only in the earlier.
    Comparison (no pilot, same district): 20 at level 1 (0.0 / 0.2, five move up), 10 at level 3
    (0.1 / 0.3), 15 at level 2 (1.0: no participant starts at level 2, so weight 0). Not compared:
    a household of pilot P2 and 30 households in district 4602."""
    r: list[dict] = []
    for i in range(12):
        _household(r, f"P1-a{i}", "460901", 1, 2 if i < 6 else 1, 0.4 if i % 2 else 0.6,
                   pilot_from="P1" if i < 3 else None, pilot_to=None if i < 3 else "P1")
    for i in range(8):
        _household(r, f"P1-b{i}", "460902", 3, 3, 0.2 if i % 2 else 0.4, pilot_to="P1")
    for i in range(20):
        _household(r, f"C1-{i}", "460901", 1, 2 if i < 5 else 1, 0.0 if i % 2 else 0.2)
    for i in range(10):
        _household(r, f"C3-{i}", "460902", 3, 3, 0.1 if i % 2 else 0.3)
    for i in range(15):
        _household(r, f"C2-{i}", "460901", 2, 2, 1.0)
    _household(r, "P2-0", "460901", 1, 1, 2.0, pilot_to="P2")
    for i in range(30):
        _household(r, f"X-{i}", "460201", 1, 1, 1.5)
    return pair_rounds(rows(r), 2021, 2023)


def test_difference_and_interval_match_a_hand_computation(case):
    table = pilot_impact(case, exact=True, min_count=10)
    p1 = table[(table["pilot_id"] == "P1") & (table["capital"] == "human")].iloc[0]
    part = [0.6, 0.4] * 6 + [0.4, 0.2] * 4
    comp1, comp3 = [0.2, 0.0] * 10, [0.3, 0.1] * 5
    mean_p = sum(part) / 20  # 0.42
    mean_c = 12 / 20 * 0.1 + 8 / 20 * 0.2  # 0.14: level 1 weighs 12/20, level 3 8/20, level 2 nothing
    se = (variance(part) / 20 + (12 / 20) ** 2 * variance(comp1) / 20 + (8 / 20) ** 2 * variance(comp3) / 10) ** 0.5
    assert (p1["participants"], p1["comparison"]) == (20, 30)
    assert p1["change_participants"] == pytest.approx(mean_p, abs=1e-6)
    assert p1["change_comparison"] == pytest.approx(mean_c, abs=1e-6)
    assert p1["difference"] == pytest.approx(0.28, abs=1e-6)
    assert p1["ci_low"] == pytest.approx(0.28 - 1.959964 * se, abs=1e-5)
    assert p1["ci_high"] == pytest.approx(0.28 + 1.959964 * se, abs=1e-5)
    assert p1["share_up_participants"] == pytest.approx(6 / 20)
    assert p1["share_up_comparison"] == pytest.approx(12 / 20 * 5 / 20)
    assert list(table.columns) == list(PILOT_IMPACT_COLUMNS)
    assert len(table) == 2 * len(CAPITALS)  # P1 and P2, one row per capital


def test_a_pilot_with_fewer_than_k_participants_is_withheld(case):
    table = pilot_impact(case, exact=True, min_count=10)
    p2 = table[table["pilot_id"] == "P2"]
    assert p2["participants"].isna().all() and p2["difference"].isna().all()
    assert (p2["comparison"] == 20).all()  # its district's comparison households at its one starting level (1)
    assert pilot_impact(case, exact=True, min_count=21)["difference"].isna().all()


def test_listed_pilots_come_first_and_keep_their_rows(case):
    table = pilot_impact(case, pilots=pd.DataFrame({"pilot_id": ["P9", "P1"]}), exact=True)
    assert table["pilot_id"].drop_duplicates().tolist() == ["P9", "P1", "P2"]
    assert table[table["pilot_id"] == "P9"]["difference"].isna().all()


def test_public_release_is_within_noise(case):
    exact = pilot_impact(case, exact=True)
    public = pilot_impact(case)
    assert public.attrs["release"] == "perturbed"
    row, truth = public.iloc[0], exact.iloc[0]
    assert abs(int(row["participants"]) - 20) <= MAX_NOISE and abs(int(row["comparison"]) - 30) <= MAX_NOISE
    assert abs(row["change_participants"] - truth["change_participants"]) <= MAX_NOISE / 20 + 1e-9
    assert abs(row["change_comparison"] - truth["change_comparison"]) <= MAX_NOISE / 30 + 1e-9
    assert row["ci_high"] - row["ci_low"] == pytest.approx(truth["ci_high"] - truth["ci_low"])
    # Six of 20 moved up: a count under k, so the public share is withheld.
    assert np.isnan(row["share_up_participants"])
    assert pilot_impact(case).equals(public)


def test_a_pilot_named_only_in_the_later_round_is_still_compared():
    """The sample's first round (BE 2564) names no pilot at all: one side of the pair is all empty."""
    r: list[dict] = []
    for i in range(12):
        _household(r, f"P-{i}", "460901", 1, 1, 0.5, pilot_to="P1")
    for i in range(12):
        _household(r, f"C-{i}", "460901", 1, 1, 0.1)
    table = pilot_impact(pair_rounds(rows(r), 2021, 2023), exact=True, min_count=10)
    human = table[(table["pilot_id"] == "P1") & (table["capital"] == "human")].iloc[0]
    assert (human["participants"], human["comparison"]) == (12, 12)
    assert human["difference"] == pytest.approx(0.4, abs=1e-6)
