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
  moved up a level (the comparison's share reweighted the same way);
* a household whose change in a capital is unknown (a score missing in a round) does not count
  for that capital: the capital's means, levels compared, weights and interval are those of the
  households whose change is known (the groups' counts and shares stay the pilot's).

The estimator is the post-stratified difference in means (strata: the starting level):
``d = mean_P - sum_l pi_l * mean_C,l`` with ``pi_l`` the participants' share at level ``l``. Its
variance is ``s_P^2 / n_P + sum_l pi_l^2 * s_C,l^2 / n_C,l`` (sample variances; the participants'
mix taken as fixed, as the comparison is weighted to it; a level with one comparison household
takes the comparison's variance over all its levels); the interval is ``d +- z * se`` with the
normal quantile ``z`` from :class:`statistics.NormalDist` (1.96). It is a comparison of like with
like on what the data holds, not proof that the pilot caused the difference: households chose or
were chosen to take part.

Released like every table (:mod:`geo.engine.protect`): values are shown only where both groups
hold at least ``k`` households (a capital's values, where both hold ``k`` with a known change);
in the public release the two counts are perturbed by their cell keys, the mean changes and
shares carry their households' noise, and a share is withheld when the count of households that
moved up is.
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


def _categorical(values: pd.Series) -> pd.Categorical:
    """``values`` as a categorical (a categorical column as it is: no pass through text per row)."""
    column = pd.Series(values)
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.array
    return column.astype("string").astype("category").array


def _pilot_ids(pairs: pd.DataFrame, pilots: pd.DataFrame | None) -> list[str]:
    """``pilots``' ids in their order, then any other pilot the pairs name (sorted)."""
    listed: list[str] = []
    if pilots is not None:
        check_columns(pilots, "pilots", ("pilot_id",))
        listed = [str(p) for p in pd.unique(pilots["pilot_id"].dropna().astype(str))]
    named: set[str] = set()
    for name in ("pilot_from", "pilot_to"):
        column = _categorical(pairs[name])
        used = np.unique(column.codes[column.codes >= 0])
        named.update(column.categories[used].astype("string").astype(str).tolist())
    return listed + sorted(named - set(listed))


def _codes_of(values: pd.Series, names: list[str]) -> np.ndarray:
    """Index of each value in ``names`` (int64), -1 for none."""
    column = _categorical(values)
    lookup = pd.Index(names).get_indexer(column.categories.astype("string").astype(str))
    # a missing value has code -1, which picks the appended -1 (also when no value occurs at all)
    return np.append(lookup, -1).astype(np.int64)[column.codes]


#: Starting levels as strata: 1-4, and 0 for an unknown level (compared with no one).
_N_LEVELS = 5


def _moments(stratum: np.ndarray, n_strata: int, values: np.ndarray) -> np.ndarray:
    """Per stratum: the count, sum and sum of squared deviations from the stratum's mean of the
    known (not NaN) ``values``; float64 ``(3, n_strata)``. Two passes, as ``numpy.var``, so a
    stratum's spread is not lost against its mean."""
    known = ~np.isnan(values)
    s, x = stratum[known], values[known]
    n = np.bincount(s, minlength=n_strata).astype(np.float64)
    total = np.bincount(s, weights=x, minlength=n_strata)
    mean = total / np.maximum(n, 1.0)
    return np.stack([n, total, np.bincount(s, weights=(x - mean[s]) ** 2, minlength=n_strata)])


def _pooled(moments: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """:func:`_moments` of entries pooled by ``group`` (one group per entry): counts and sums add,
    squared deviations add with each entry's ``n * (its mean - the group's mean)^2``."""
    n, total, m2 = moments
    n_g = np.bincount(group, weights=n, minlength=n_groups)
    total_g = np.bincount(group, weights=total, minlength=n_groups)
    mean, mean_g = total / np.maximum(n, 1.0), total_g / np.maximum(n_g, 1.0)
    m2_g = np.bincount(group, weights=m2 + n * (mean - mean_g[group]) ** 2, minlength=n_groups)
    return np.stack([n_g, total_g, m2_g])


def _over_levels(moments: np.ndarray, use: np.ndarray) -> np.ndarray:
    """:func:`_moments` per pilot ``(3, pilots)`` pooled over the levels ``use`` marks, from
    moments per pilot and level ``(3, pilots, levels)``."""
    n, total, m2 = np.where(use, moments, 0.0)
    n_g, total_g = n.sum(axis=1), total.sum(axis=1)
    mean, mean_g = total / np.maximum(n, 1.0), total_g / np.maximum(n_g, 1.0)
    return np.stack([n_g, total_g, (m2 + n * (mean - mean_g[:, None]) ** 2).sum(axis=1)])


def _key_sum(keys: np.ndarray, use: np.ndarray) -> np.ndarray:
    """Cell keys (int64, modulo :data:`KEY_MODULUS`) of the levels ``use`` marks, per pilot."""
    return np.rint(np.where(use, keys, 0.0).sum(axis=1)).astype(np.int64) % KEY_MODULUS


def pilot_impact(pairs: pd.DataFrame, *, pilots: pd.DataFrame | None = None, min_count: int = 10,
                 change_threshold: float = CHANGE_THRESHOLD, exact: bool = False) -> pd.DataFrame:
    """Participants against reweighted comparison households, per pilot and capital (see the module).

    Vectorised by stratum: one pass of ``numpy.bincount`` over the participants by (pilot,
    starting level) and one over the comparison households by (district, starting level) give
    each stratum's households, cell keys, households that moved up and, per capital, the count,
    sum and squared deviations of the known changes; each pilot's comparison is the sum of its
    districts' strata (squared deviations pooled with their means), so no loop runs over pilots,
    districts or households. A household whose change in a capital is unknown (NaN) does not count
    for that capital: its means, weights and interval are over the households whose change is
    known, and the capital's values are withheld where fewer than ``k`` are.

    Parameters
    ----------
    pairs : pandas.DataFrame
        From :func:`geo.engine.mobility.pair_rounds`.
    pilots : pandas.DataFrame, optional
        Pilot projects (``pilot_id``): one block of rows per pilot, in this order, even for a pilot
        with no followed participant (its values withheld), then any other pilot ``pairs`` name.
        Default: every pilot named in ``pairs``.
    min_count : int, default 10
        ``k``: both groups must hold at least ``k`` households for any value to be shown (and at
        least ``k`` with a known change in a capital for that capital's values).
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
    n_pilots, n_capitals, n_levels = len(names), len(CAPITALS), _N_LEVELS
    # Integer codes (index into names, -1 none) and district codes (-1 none).
    pilot_from = _codes_of(pairs["pilot_from"], names)[followed]
    pilot_to = _codes_of(pairs["pilot_to"], names)[followed]
    district = pd.Series(pairs["district_code"]).astype("category").cat.codes.to_numpy().astype(np.int64)[followed]
    level = pairs["level_from"].to_numpy(dtype="float64", na_value=0).astype(np.int64)[followed]
    up = (pairs["level_to"].to_numpy(dtype="float64", na_value=0).astype(np.int64)[followed] > level) & (level > 0)
    level = np.where((level >= 1) & (level < n_levels), level, 0)
    key = pairs["record_key"].to_numpy(dtype=np.int64)[followed].astype(np.float64)  # sums stay exact below 2**53
    n_districts = int(district.max(initial=-1)) + 1
    placed = district >= 0  # a household without a district is compared with no one

    # Participations: (pilot, household) once per pilot either round's row names.
    rows_from = np.flatnonzero(placed & (pilot_from >= 0))
    rows_to = np.flatnonzero(placed & (pilot_to >= 0) & (pilot_to != pilot_from))
    part_rows = np.concatenate([rows_from, rows_to])
    part_pilot = np.concatenate([pilot_from[rows_from], pilot_to[rows_to]])
    part_stratum = part_pilot * n_levels + level[part_rows]
    comp_rows = np.flatnonzero(placed & (pilot_from < 0) & (pilot_to < 0))
    comp_stratum = district[comp_rows] * n_levels + level[comp_rows]
    # Each pilot's districts (where its participants live): the comparison strata it sums.
    pilot_district = np.unique(part_pilot * max(n_districts, 1) + district[part_rows])
    near_pilot, near_district = pilot_district // max(n_districts, 1), pilot_district % max(n_districts, 1)
    source = (near_district[:, None] * n_levels + np.arange(n_levels)).ravel()
    target = (near_pilot[:, None] * n_levels + np.arange(n_levels)).ravel()
    size_p, size_d = n_pilots * n_levels, n_districts * n_levels

    def per_pilot(values: np.ndarray) -> np.ndarray:
        return values.reshape(n_pilots, n_levels)

    def part_sum(weights: np.ndarray | None) -> np.ndarray:
        return per_pilot(np.bincount(part_stratum, weights=weights, minlength=size_p).astype(np.float64))

    def comp_sum(weights: np.ndarray | None) -> np.ndarray:
        by_district = np.bincount(comp_stratum, weights=weights, minlength=size_d).astype(np.float64)
        return per_pilot(np.bincount(target, weights=by_district[source], minlength=size_p))

    n_part_l, n_comp_l = part_sum(None), comp_sum(None)
    support = (n_part_l > 0) & (n_comp_l > 0)
    support[:, 0] = False  # an unknown starting level is compared with no one
    n_p = np.where(support, n_part_l, 0.0).sum(axis=1).astype(np.int64)
    n_c = np.where(support, n_comp_l, 0.0).sum(axis=1).astype(np.int64)
    pi = np.where(support, n_part_l, 0.0) / np.maximum(n_p, 1)[:, None]
    key_p, key_c = _key_sum(part_sum(key[part_rows]), support), _key_sum(comp_sum(key[comp_rows]), support)
    up_p_l, up_c_l = part_sum(up[part_rows].astype(np.float64)), comp_sum(up[comp_rows].astype(np.float64))
    up_p = np.where(support, up_p_l, 0.0).sum(axis=1).astype(np.int64)
    up_c = np.where(support, up_c_l, 0.0).sum(axis=1).astype(np.int64)
    if exact:
        shown_p, shown_c = n_p, n_c
        hide_p, hide_c = n_p < k, n_c < k
    else:
        shown_p, shown_c = perturb(n_p, key_p), perturb(n_c, key_c)
        hide_p, hide_c = (n_p < k) | (shown_p < k), (n_c < k) | (shown_c < k)
    hide = hide_p | hide_c
    with np.errstate(divide="ignore", invalid="ignore"):
        share_p = up_p / n_p
        share_c = np.where(support, pi * up_c_l / n_comp_l, 0.0).sum(axis=1)
        if not exact:
            key_up_p = _key_sum(part_sum(np.where(up, key, 0.0)[part_rows]), support)
            key_up_c = _key_sum(comp_sum(np.where(up, key, 0.0)[comp_rows]), support)
            p_up_p = perturb(up_p, key_up_p, stream=_STREAM_UP)
            p_up_c = perturb(up_c, key_up_c, stream=_STREAM_UP)
            share_p = np.where((up_p < k) | (p_up_p < k), np.nan, np.minimum(p_up_p / shown_p, 1.0))
            share_c = np.where((up_c < k) | (p_up_c < k), np.nan,
                               np.clip(share_c + (p_up_c - up_c) / n_c, 0.0, 1.0))
    share_p, share_c = np.where(hide, np.nan, share_p), np.where(hide, np.nan, share_c)

    values = {name: np.full((n_pilots, n_capitals), np.nan) for name in PILOT_IMPACT_COLUMNS[4:9]}
    for j, capital in enumerate(CAPITALS):
        change = pairs[f"{capital}_change"].to_numpy(dtype=np.float64)[followed]
        known = ~np.isnan(change)
        part_m = _moments(part_stratum, size_p, change[part_rows]).reshape(3, n_pilots, n_levels)
        comp_d = _moments(comp_stratum, size_d, change[comp_rows])
        comp_m = _pooled(comp_d[:, source], target, size_p).reshape(3, n_pilots, n_levels)
        # Per capital, only households whose change is known count: a level is compared where
        # both groups have one.
        use = support & (part_m[0] > 0) & (comp_m[0] > 0)
        part_all, comp_all = _over_levels(part_m, use), _over_levels(comp_m, use)
        n_pj, n_cj = part_all[0].astype(np.int64), comp_all[0].astype(np.int64)
        key_pj = _key_sum(part_sum(np.where(known, key, 0.0)[part_rows]), use)
        key_cj = _key_sum(comp_sum(np.where(known, key, 0.0)[comp_rows]), use)
        hide_j = hide | (n_pj < k) | (n_cj < k)
        if not exact:
            hide_j |= (perturb(n_pj, key_pj) < k) | (perturb(n_cj, key_cj) < k)
        with np.errstate(divide="ignore", invalid="ignore"):
            pi_j = np.where(use, part_m[0], 0.0) / np.maximum(n_pj, 1)[:, None]
            mean_p = part_all[1] / n_pj
            var_p = np.where(n_pj > 1, part_all[2] / (n_pj - 1), 0.0) / n_pj
            overall = np.where(n_cj > 1, comp_all[2] / (n_cj - 1), 0.0)
            s2 = np.where(comp_m[0] > 1, comp_m[2] / (comp_m[0] - 1), overall[:, None])
            mean_c = np.where(use, pi_j * comp_m[1] / comp_m[0], 0.0).sum(axis=1)
            var_c = np.where(use, pi_j ** 2 * s2 / comp_m[0], 0.0).sum(axis=1)
            if not exact:  # each group's sum of changes carries its households' noise
                stream = STREAM_CHANGES + j
                mean_p = mean_p + noise(key_pj, stream=stream) / n_pj
                mean_c = mean_c + noise(key_cj, stream=stream) / n_cj
        difference = mean_p - mean_c
        half = z * np.sqrt(var_p + var_c)
        for name, column in zip(PILOT_IMPACT_COLUMNS[4:9],
                                (mean_p, mean_c, difference, difference - half, difference + half)):
            values[name][:, j] = np.where(hide_j, np.nan, column)

    table = pd.DataFrame({
        "pilot_id": pd.array(np.repeat(np.array(names, dtype=object), n_capitals), dtype="string"),
        "capital": pd.array(np.tile(np.array(CAPITALS, dtype=object), n_pilots), dtype="string"),
        "participants": pd.arrays.IntegerArray(np.repeat(np.where(hide_p, 0, shown_p), n_capitals),
                                               np.repeat(hide_p, n_capitals)),
        "comparison": pd.arrays.IntegerArray(np.repeat(np.where(hide_c, 0, shown_c), n_capitals),
                                             np.repeat(hide_c, n_capitals)),
        **{name: column.ravel() for name, column in values.items()},
        "share_up_participants": np.repeat(share_p.astype(np.float64), n_capitals),
        "share_up_comparison": np.repeat(share_c.astype(np.float64), n_capitals),
    }, columns=list(PILOT_IMPACT_COLUMNS))
    table.attrs = {"release": "exact" if exact else "perturbed", "min_count": k, "confidence": CONFIDENCE,
                   "estimator": "post-stratified difference in mean change (strata: starting level), normal 95% CI",
                   "year_from": pairs.attrs.get("year_from"), "year_to": pairs.attrs.get("year_to")}
    return table
