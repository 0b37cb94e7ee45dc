"""Pilot impact: did a pilot's participants improve more than comparable neighbours?

For each pilot project and each capital, between two survey rounds (:func:`geo.engine.mobility.pair_rounds`):

* **participants**: followed households whose row in either round names the pilot (projects start
  between rounds, so the earlier row may not name it yet);
* **comparison**: followed households in no pilot in either round, in the district(s) where the
  participants live (the later round's district), **reweighted to the participants' mix of
  starting levels** (the earlier round's level): each level's comparison households weigh the
  participants' share at that level. Participants at a level with no comparison household are
  left out of both means (no one to compare them with); ``participants`` counts those compared;
* the **difference** of the mean capital change (later minus earlier score), participants minus
  the reweighted comparison, with a 95% confidence interval, and the share of each group that
  moved up a level (the comparison's share reweighted the same way).

The estimator is the post-stratified difference in means (strata: the starting level):
``d = mean_P - sum_l pi_l * mean_C,l`` with ``pi_l`` the participants' share at level ``l``. Its
variance is ``s_P^2 / n_P + sum_l pi_l^2 * s_C,l^2 / n_C,l`` (sample variances; the participants'
mix taken as fixed, as the comparison is weighted to it); the interval is ``d +- z * se`` with the
normal quantile ``z`` from :class:`statistics.NormalDist` (1.96). It is a comparison of like with
like on what the data holds, not proof that the pilot caused the difference: households chose or
were chosen to take part.

Released like every table (:mod:`geo.engine.protect`): values are shown only where both groups
hold at least ``k`` households; in the public release the two counts are perturbed by their cell
keys, the mean changes and shares carry their households' noise, and a share is withheld when
the count of households that moved up is.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd

from geo.checks import check_columns, check_float, check_int
from geo.data.contract import CAPITALS
from geo.engine.cellkey import KEY_MODULUS, STREAM_CHANGES, STREAM_HOUSEHOLDS, noise, perturb
from geo.engine.mobility import CHANGE_THRESHOLD

#: Columns of a pilot-impact table (the ``python -m geo pilot-impact`` contract), in order.
PILOT_IMPACT_COLUMNS: tuple[str, ...] = (
    "pilot_id", "capital", "participants", "comparison", "change_participants", "change_comparison",
    "difference", "ci_low", "ci_high", "share_up_participants", "share_up_comparison",
)
#: The interval's confidence level.
CONFIDENCE = 0.95
#: A stream of noise for the count of households that moved up (its own cell key already differs).
_STREAM_UP = STREAM_HOUSEHOLDS


def _pilot_ids(pairs: pd.DataFrame, pilots: pd.DataFrame | None) -> list[str]:
    """``pilots``' ids in their order, then any other pilot the pairs name (sorted)."""
    listed: list[str] = []
    if pilots is not None:
        check_columns(pilots, "pilots", ("pilot_id",))
        listed = [str(p) for p in pd.unique(pilots["pilot_id"].dropna().astype(str))]
    named = pd.concat([pairs["pilot_from"].astype("string"), pairs["pilot_to"].astype("string")]).dropna()
    return listed + sorted(set(pd.unique(named).tolist()) - set(listed))


def _codes_of(values: pd.Series, names: list[str]) -> np.ndarray:
    """Index of each value in ``names`` (int64), -1 for none."""
    column = pd.Series(values).astype("string").astype("category")
    lookup = pd.Index(names).get_indexer(column.cat.categories.astype(str))
    # a missing value has code -1, which picks the appended -1 (also when no value occurs at all)
    return np.append(lookup, -1).astype(np.int64)[column.cat.codes.to_numpy()]


def _stratified(change: np.ndarray, level: np.ndarray, pi: np.ndarray) -> tuple[float, float]:
    """The comparison's reweighted mean and its variance, over strata levels 1-4 with weights ``pi``."""
    mean, variance = 0.0, 0.0
    overall = float(np.var(change, ddof=1)) if change.size > 1 else 0.0
    for lv in range(1, 5):
        if pi[lv] == 0:
            continue
        values = change[level == lv]
        mean += pi[lv] * float(values.mean())
        s2 = float(np.var(values, ddof=1)) if values.size > 1 else overall
        variance += pi[lv] ** 2 * s2 / values.size
    return mean, variance


def pilot_impact(pairs: pd.DataFrame, *, pilots: pd.DataFrame | None = None, min_count: int = 10,
                 change_threshold: float = CHANGE_THRESHOLD, exact: bool = False) -> pd.DataFrame:
    """Participants against reweighted comparison households, per pilot and capital (see the module).

    Parameters
    ----------
    pairs : pandas.DataFrame
        From :func:`geo.engine.mobility.pair_rounds`.
    pilots : pandas.DataFrame, optional
        Pilot projects (``pilot_id``): one block of rows per pilot, in this order, even for a pilot
        with no followed participant (its values withheld), then any other pilot ``pairs`` name.
        Default: every pilot named in ``pairs``.
    min_count : int, default 10
        ``k``: both groups must hold at least ``k`` households for any value to be shown.
    change_threshold : float, default 0.25
        Kept for a common signature with :func:`geo.engine.mobility.mobility_table`; the mean change
        does not depend on it.
    exact : bool, default False
        False: the public release (counts perturbed by cell key, values carrying their households'
        noise). True: exact figures (officers in their areas, administrators).

    Returns
    -------
    pandas.DataFrame
        :data:`PILOT_IMPACT_COLUMNS`, one row per pilot and capital; counts ``Int64`` (<NA>
        withheld), the rest float (NaN withheld). ``attrs``: ``release``, ``min_count``,
        ``confidence``, ``estimator``, ``year_from``, ``year_to``.

    Raises
    ------
    EngineInputError
        When a column is missing or ``min_count`` is below 1.

    Example
    -------
    >>> pilot_impact(pair_rounds(households, 2021, 2023))  # doctest: +SKIP
    """
    check_columns(pairs, "pairs", ("status", "level_from", "level_to", "district_code", "pilot_from", "pilot_to",
                                   "record_key", *(f"{c}_change" for c in CAPITALS)))
    k = check_int(min_count, "min_count", minimum=1)
    check_float(change_threshold, "change_threshold", minimum=0.01, maximum=3.0)
    z = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)
    followed = np.flatnonzero((pairs["status"] == "followed").to_numpy())
    names = _pilot_ids(pairs, pilots)
    # Integer codes (index into names, -1 none) and district codes: a pilot is a few vector operations.
    pilot_from = _codes_of(pairs["pilot_from"], names)[followed]
    pilot_to = _codes_of(pairs["pilot_to"], names)[followed]
    in_no_pilot = (pilot_from < 0) & (pilot_to < 0)
    district = pd.Series(pairs["district_code"]).astype("category").cat.codes.to_numpy()[followed]
    level = pairs["level_from"].to_numpy(dtype="float64", na_value=0).astype(np.int64)[followed]
    up = (pairs["level_to"].to_numpy(dtype="float64", na_value=0).astype(np.int64)[followed] > level) & (level > 0)
    key = pairs["record_key"].to_numpy(dtype=np.int64)[followed]
    changes = {c: pairs[f"{c}_change"].to_numpy(dtype=np.float64)[followed] for c in CAPITALS}

    rows: list[dict[str, object]] = []
    n_districts = int(district.max(initial=-1)) + 2
    for number, pilot in enumerate(names):
        districts_of = np.zeros(n_districts, dtype=bool)
        districts_of[district[(pilot_from == number) | (pilot_to == number)] + 1] = True
        districts_of[0] = False
        # Everything else over the pilot's districts only (participants live there too).
        near = np.flatnonzero(districts_of[district + 1])
        level_, up_, key_ = level[near], up[near], key[near]
        part_all = (pilot_from[near] == number) | (pilot_to[near] == number)
        comp_all = in_no_pilot[near]
        n_part_l = np.bincount(level_[part_all], minlength=5)[:5]
        n_comp_l = np.bincount(level_[comp_all], minlength=5)[:5]
        support = (n_part_l > 0) & (n_comp_l > 0)
        support[0] = False  # an unknown starting level is compared with no one
        part = part_all & support[level_]
        comp = comp_all & support[level_]
        n_p, n_c = int(part.sum()), int(comp.sum())
        pi = np.where(support, n_part_l, 0) / max(n_p, 1)
        key_p, key_c = int(key_[part].sum() % KEY_MODULUS), int(key_[comp].sum() % KEY_MODULUS)
        if exact:
            shown_p, shown_c = n_p, n_c
            hide = n_p < k or n_c < k
            hide_p, hide_c = n_p < k, n_c < k
        else:
            shown_p, shown_c = int(perturb(np.array([n_p]), np.array([key_p]))[0]), \
                int(perturb(np.array([n_c]), np.array([key_c]))[0])
            hide_p, hide_c = n_p < k or shown_p < k, n_c < k or shown_c < k
            hide = hide_p or hide_c
        share_p = share_c = np.nan
        if not hide:
            up_p, up_c = int(up_[part].sum()), int(up_[comp].sum())
            share_p = up_p / n_p
            share_c = sum(pi[lv] * up_[comp & (level_ == lv)].mean() for lv in range(1, 5) if pi[lv] > 0)
            if not exact:
                key_up_p = np.array([key_[part & up_].sum() % KEY_MODULUS])
                key_up_c = np.array([key_[comp & up_].sum() % KEY_MODULUS])
                p_up_p = int(perturb(np.array([up_p]), key_up_p, stream=_STREAM_UP)[0])
                p_up_c = int(perturb(np.array([up_c]), key_up_c, stream=_STREAM_UP)[0])
                share_p = np.nan if up_p < k or p_up_p < k else min(p_up_p / shown_p, 1.0)
                share_c = np.nan if up_c < k or p_up_c < k else float(np.clip(
                    share_c + (p_up_c - up_c) / n_c, 0.0, 1.0))
        for j, capital in enumerate(CAPITALS):
            values = {"change_participants": np.nan, "change_comparison": np.nan, "difference": np.nan,
                      "ci_low": np.nan, "ci_high": np.nan}
            if not hide:
                cp, cc = changes[capital][near][part], changes[capital][near][comp]
                mean_p = float(cp.mean())
                mean_c, var_c = _stratified(cc, level_[comp], pi)
                var_p = float(np.var(cp, ddof=1)) / n_p if n_p > 1 else 0.0
                if not exact:  # each group's sum of changes carries its households' noise
                    stream = STREAM_CHANGES + j
                    mean_p += float(noise(np.array([key_p]), stream=stream)[0]) / n_p
                    mean_c += float(noise(np.array([key_c]), stream=stream)[0]) / n_c
                difference = mean_p - mean_c
                half = z * float(np.sqrt(var_p + var_c))
                values = {"change_participants": mean_p, "change_comparison": mean_c, "difference": difference,
                          "ci_low": difference - half, "ci_high": difference + half}
            rows.append({
                "pilot_id": pilot, "capital": capital,
                "participants": pd.NA if hide_p else shown_p, "comparison": pd.NA if hide_c else shown_c,
                **values, "share_up_participants": share_p, "share_up_comparison": share_c,
            })
    table = pd.DataFrame(rows, columns=list(PILOT_IMPACT_COLUMNS))
    table["pilot_id"] = table["pilot_id"].astype("string")
    table["capital"] = table["capital"].astype("string")
    for name in ("participants", "comparison"):
        table[name] = table[name].astype("Int64")
    for name in PILOT_IMPACT_COLUMNS[4:]:
        table[name] = table[name].astype("float64")
    table.attrs = {"release": "exact" if exact else "perturbed", "min_count": k, "confidence": CONFIDENCE,
                   "estimator": "post-stratified difference in mean change (strata: starting level), normal 95% CI",
                   "year_from": pairs.attrs.get("year_from"), "year_to": pairs.attrs.get("year_to")}
    return table
