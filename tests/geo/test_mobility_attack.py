"""The attack harness across survey rounds: both rounds' maps and the change tables, together.

District 3010 of the sample (the cross-resolution region of ``test_disclosure_attack``) is the
later round; :func:`geo.synth.rounds.with_earlier_round` adds an earlier one (most households
followed, some new, some not found again, a few moved). :func:`tests.geo.mobility_attack.attack_rounds`
builds every view of each round's maps and the change tables by subdistrict and H3 res 6/7
under two filters, and tries to pin down every withheld count of 1-9 households by linear
programming over all of them. The public release must leave none determined; the exact release
must fall to the same attacker (so the test can fail).
"""

from __future__ import annotations

import pandas as pd
import pytest

from geo.synth.rounds import with_earlier_round
from tests.geo.mobility_attack import attack_rounds

AREA = "3010"
#: Withheld counts attacked per release, spread evenly over all of them (each costs two linear
#: programmes of about a second over some 5,000 figures and 1,700 atoms; the first, 20 s).
MAX_TARGETS = 30


@pytest.fixture(scope="module")
def two_rounds_of_3010(sample_households_path) -> pd.DataFrame:
    sample = pd.read_parquet(sample_households_path)
    later = sample[(sample["district_code"] == AREA) & (sample["survey_year"] == sample["survey_year"].max())]
    return with_earlier_round(later.reset_index(drop=True), year_from=2021, year_to=2023, seed=3, moved_share=0.02)


def test_no_withheld_count_is_determined_across_rounds_in_the_public_release(two_rounds_of_3010, print_figure):
    public = attack_rounds(two_rounds_of_3010, AREA, year_from=2021, year_to=2023, exact=False,
                           max_targets=MAX_TARGETS)
    print_figure(f"disclosure attack across rounds, public release, district {AREA}: {public.summary()}")
    assert public.withheld_small > 0
    assert public.determined == [], public.determined[:10]


def test_the_same_attacker_recovers_counts_from_exact_releases_across_rounds(two_rounds_of_3010, print_figure):
    exact = attack_rounds(two_rounds_of_3010, AREA, year_from=2021, year_to=2023, exact=True,
                          max_targets=MAX_TARGETS)
    print_figure(f"disclosure attack across rounds, exact release, district {AREA}: {exact.summary()}")
    assert len(exact.determined) > 0
