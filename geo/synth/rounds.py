"""An earlier survey round for a synthetic one-round frame: for tests and the mobility benchmark.

:func:`with_earlier_round` takes households of one round (:func:`geo.synth.households.random_households`,
:func:`geo.synth.national.national_households`, ...) as the later round and adds an earlier one:
most households are followed (the same ``household_id``, scores a little lower before, so a
minority moved up and a few fell back), some are new in the later round, and some households of
the earlier round were not found again. Seeded and vectorised (13 million rows in seconds).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.checks import check_float, check_int
from geo.data.contract import CAPITAL_COLUMNS, conform_households, poverty_level_from_scores


def with_earlier_round(later: pd.DataFrame, *, year_from: int = 2021, year_to: int = 2023, seed: int = 0,
                       new_share: float = 0.3, not_found_share: float = 0.1, gain: float = 0.15,
                       spread: float = 0.35, moved_share: float = 0.01) -> pd.DataFrame:
    """Both rounds: ``later`` as round ``year_to`` and a made-up round ``year_from`` before it.

    Parameters
    ----------
    later : pandas.DataFrame
        Households of one round in the contract's columns, ids unique.
    year_from, year_to : int
        The rounds (CE).
    seed : int
    new_share : float
        Share of ``later``'s households not surveyed in the earlier round.
    not_found_share : float
        Households of the earlier round not found again, as a share of ``later``'s households
        (copies of random later rows under new ids, ``X`` + a number).
    gain, spread : float
        A followed household's capital scores were ``Normal(gain, spread)`` lower in the earlier
        round (clipped to 1.0-4.0); its level follows from the mean score.
    moved_share : float
        Share of followed households that lived in another of ``later``'s subdistricts before.

    Returns
    -------
    pandas.DataFrame
        Conformed (:func:`geo.data.contract.conform_households`): the earlier round's rows, then ``later``'s.
    """
    seed = check_int(seed, "seed", minimum=0)
    for name, value in (("new_share", new_share), ("not_found_share", not_found_share),
                        ("moved_share", moved_share)):
        check_float(value, name, minimum=0.0, maximum=1.0)
    rng = np.random.default_rng(seed)
    later = later.reset_index(drop=True).copy()
    later["survey_year"] = year_to
    n = len(later)
    followed = rng.random(n) >= new_share
    before = later.loc[followed].reset_index(drop=True).copy()
    m = len(before)
    for column in CAPITAL_COLUMNS:
        score = before[column].to_numpy(dtype="float64", na_value=np.nan)
        before[column] = np.round(np.clip(score - rng.normal(gain, spread, m), 1.0, 4.0), 2)
    moved = np.flatnonzero(rng.random(m) < moved_share)
    if moved.size and n:
        source = rng.integers(0, n, moved.size)
        for column in ("province_code", "district_code", "subdistrict_code", "lat", "lon"):
            before.loc[moved, column] = later[column].to_numpy()[source]
    if "pilot_id" in before.columns:  # projects start between rounds: half were not in it yet
        started = before["pilot_id"].notna().to_numpy() & (rng.random(m) < 0.5)
        before.loc[started, "pilot_id"] = pd.NA
    lost = later.iloc[rng.integers(0, max(n, 1), int(round(not_found_share * n)) if n else 0)].reset_index(drop=True)
    lost["household_id"] = pd.array([f"X{i:09d}" for i in range(len(lost))], dtype="string")
    earlier = pd.concat([before, lost], ignore_index=True)
    earlier["survey_year"] = year_from
    scores = np.column_stack([earlier[c].to_numpy(dtype="float64", na_value=np.nan) for c in CAPITAL_COLUMNS])
    earlier["poverty_level"] = poverty_level_from_scores(scores.mean(axis=1))
    return conform_households(pd.concat([earlier, later], ignore_index=True))
