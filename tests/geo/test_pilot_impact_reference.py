"""The vectorised :func:`geo.engine.pilot_impact.pilot_impact` against the implementation before
it (one loop per pilot), kept here as ``_reference_pilot_impact``: equal tables (rows, columns,
dtypes; values to 1e-9) on the sample's pairs and on random pairs holding every edge case: pilots
under ``k``, NaN changes in some capitals, rows naming a pilot in one round only or two pilots,
households without a district or level, districts with no comparison and levels missing in it.

The reference differs from the code before in one clearly marked place: NaN changes (see the
comment in ``_reference_pilot_impact`` and ``test_an_unknown_change_no_longer_blanks_the_capital``).
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from geo.checks import check_columns, check_float, check_int
from geo.data.contract import CAPITALS
from geo.engine.cellkey import KEY_MODULUS, STREAM_CHANGES, STREAM_HOUSEHOLDS, noise, perturb
from geo.engine.mobility import CHANGE_THRESHOLD, pair_rounds
from geo.engine.pilot_impact import PILOT_IMPACT_COLUMNS, pilot_impact

CONFIDENCE = 0.95
_STREAM_UP = STREAM_HOUSEHOLDS


# ---------------------------------------------------------------------------------------------
# The reference: geo/engine/pilot_impact.py before vectorising (commit 7e179a8)
# ---------------------------------------------------------------------------------------------


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


def _reference_pilot_impact(pairs: pd.DataFrame, *, pilots: pd.DataFrame | None = None, min_count: int = 10,
                            change_threshold: float = CHANGE_THRESHOLD, exact: bool = False,
                            nan_aware: bool = True) -> pd.DataFrame:
    """The implementation before vectorising (one loop per pilot), kept as the slow reference."""
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
            # THE ONE CHANGE FROM THE CODE BEFORE VECTORISING (``nan_aware=True``, the default): a
            # household whose change in this capital is unknown does not count for this capital.
            # The code before took plain means over every participant and comparison household, so
            # one NaN change blanked the capital for the whole pilot (``nan_aware=False`` keeps
            # that, verbatim, for the test that shows it). Here the capital's groups, levels
            # compared, weights, cell keys and the "at least k" rule are those of the households
            # with a known change, exactly as the groups themselves are made above.
            part_j, comp_j, pi_j, n_pj, n_cj, key_pj, key_cj, hide_j = part, comp, pi, n_p, n_c, key_p, key_c, hide
            if nan_aware and not hide:
                known = ~np.isnan(changes[capital][near])
                n_part_lj = np.bincount(level_[part & known], minlength=5)[:5]
                n_comp_lj = np.bincount(level_[comp & known], minlength=5)[:5]
                support_j = (n_part_lj > 0) & (n_comp_lj > 0)
                support_j[0] = False
                part_j, comp_j = part & known & support_j[level_], comp & known & support_j[level_]
                n_pj, n_cj = int(part_j.sum()), int(comp_j.sum())
                pi_j = np.where(support_j, n_part_lj, 0) / max(n_pj, 1)
                key_pj, key_cj = int(key_[part_j].sum() % KEY_MODULUS), int(key_[comp_j].sum() % KEY_MODULUS)
                hide_j = n_pj < k or n_cj < k
                if not exact:
                    hide_j = hide_j or int(perturb(np.array([n_pj]), np.array([key_pj]))[0]) < k \
                        or int(perturb(np.array([n_cj]), np.array([key_cj]))[0]) < k
            if not hide_j:
                cp, cc = changes[capital][near][part_j], changes[capital][near][comp_j]
                mean_p = float(cp.mean())
                mean_c, var_c = _stratified(cc, level_[comp_j], pi_j)
                var_p = float(np.var(cp, ddof=1)) / n_pj if n_pj > 1 else 0.0
                if not exact:  # each group's sum of changes carries its households' noise
                    stream = STREAM_CHANGES + j
                    mean_p += float(noise(np.array([key_pj]), stream=stream)[0]) / n_pj
                    mean_c += float(noise(np.array([key_cj]), stream=stream)[0]) / n_cj
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


# ---------------------------------------------------------------------------------------------
# Pairs
# ---------------------------------------------------------------------------------------------

PILOTS = [f"P{i}" for i in range(7)]


def random_pairs(seed: int, n: int = 3000) -> pd.DataFrame:
    """The columns :func:`pilot_impact` reads, at random, with every edge case in some rows.

    Districts 4601-4606 (and some rows without one); pilots P0-P6 of very different sizes (P6 only
    a handful), named in the earlier round only, the later only, both, or two different pilots;
    district 4606 holds participants only (no comparison); in district 4605 the comparison starts
    at levels 2-3 only; levels 1-4 with some unknown; changes NaN for some households in some
    capitals (none in ``social``; every one of P5's in ``natural``)."""
    rng = np.random.default_rng(seed)
    district = rng.choice(["4601", "4602", "4603", "4604", "4605", "4606"], n, p=[.3, .25, .2, .1, .1, .05])
    district = np.where(rng.random(n) < 0.01, None, district)
    status = rng.choice(["followed", "new", "not_found"], n, p=[0.85, 0.1, 0.05])
    level_from = rng.integers(1, 5, n).astype(float)
    level_from[rng.random(n) < 0.03] = np.nan
    level_to = np.clip(level_from + rng.integers(-1, 2, n), 1, 4)
    level_to[rng.random(n) < 0.03] = np.nan
    weights = np.array([0.3, 0.25, 0.2, 0.1, 0.1, 0.05, 0.003])
    named = rng.choice(len(PILOTS), n, p=weights / weights.sum())
    which = rng.random(n)
    in_pilot = rng.random(n) < 0.35
    pilot_from = np.where(in_pilot & (which < 0.3), named, -1)  # earlier round only or both
    pilot_to = np.where(in_pilot & (which >= 0.15), named, -1)  # later round only or both
    other = in_pilot & (which > 0.95)  # a different pilot in each round
    pilot_from = np.where(other, (named + 1) % len(PILOTS), pilot_from)
    pilot_to = np.where(district == "4606", np.where(pilot_to < 0, named, pilot_to), pilot_to)
    comparison_4605 = (district == "4605") & (pilot_from < 0) & (pilot_to < 0)
    level_from = np.where(comparison_4605, rng.integers(2, 4, n), level_from)
    changes = {}
    for i, capital in enumerate(CAPITALS):
        change = (rng.normal(0.1 * i, 0.4, n) + 0.2 * (pilot_to >= 0)).astype(np.float32)
        share_unknown = (0.0, 0.02, 0.05, 0.01, 0.0)[i]
        change[rng.random(n) < share_unknown] = np.nan
        if capital == "natural":
            change[(pilot_from == 5) | (pilot_to == 5)] = np.nan
        change[status != "followed"] = np.nan
        changes[f"{capital}_change"] = change
    pairs = pd.DataFrame({
        "status": pd.Categorical(status, categories=["followed", "new", "not_found"]),
        "district_code": pd.Categorical(district),
        "level_from": pd.array(level_from, dtype="Int8"), "level_to": pd.array(level_to, dtype="Int8"),
        "pilot_from": pd.Categorical.from_codes(pilot_from, categories=PILOTS),
        "pilot_to": pd.Categorical.from_codes(pilot_to, categories=PILOTS),
        "record_key": rng.integers(0, 1 << 16, n).astype(np.uint16),
        **changes,
    })
    pairs.attrs = {"year_from": 2021, "year_to": 2023}
    return pairs


def assert_same(pairs: pd.DataFrame, **options) -> pd.DataFrame:
    new, reference = pilot_impact(pairs, **options), _reference_pilot_impact(pairs, **options)
    pd.testing.assert_frame_equal(new, reference, check_exact=False, rtol=1e-9)
    assert new.attrs == reference.attrs
    return new


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("exact", [True, False])
def test_equal_to_the_reference_on_random_pairs(seed, exact):
    pairs = random_pairs(seed)
    k = (1, 2, 5, 10)[seed % 4]
    table = assert_same(pairs, min_count=k, exact=exact)
    # The comparison is not vacuous: most pilots show values, some are withheld.
    shown = table["difference"].notna()
    assert shown.sum() >= 10 and (~shown).sum() >= 1
    assert table["share_up_comparison"].notna().any()


def test_equal_to_the_reference_with_listed_pilots_and_none_at_all():
    pairs = random_pairs(11)
    listed = pd.DataFrame({"pilot_id": ["P9", "P3", None, "P3"]})
    table = assert_same(pairs, pilots=listed, exact=True)
    assert table["pilot_id"].drop_duplicates().tolist()[:2] == ["P9", "P3"]
    nobody = pd.Categorical([None] * len(pairs))
    no_pilot = pairs.assign(pilot_from=nobody, pilot_to=nobody.copy())
    assert assert_same(no_pilot).empty
    assert len(assert_same(no_pilot, pilots=listed)) == 2 * len(CAPITALS)
    assert assert_same(pairs.iloc[:0], exact=True).empty


def test_equal_to_the_reference_at_the_edges_of_a_group():
    """One participant, one comparison household, k = 1: variances of one value fall back."""
    pairs = random_pairs(3, n=400)
    followed = pairs[pairs["status"] == "followed"]
    one = pd.concat([followed[followed["pilot_to"] == "P0"].head(1),
                     followed[(followed["pilot_from"].isna()) & (followed["pilot_to"].isna())].head(3)])
    one["district_code"] = pd.Categorical(["4601"] * len(one))
    one["level_from"] = pd.array([2, 2, 3, 2], dtype="Int8")
    for capital in CAPITALS:
        one[f"{capital}_change"] = np.float32(0.25)
    assert_same(one, min_count=1, exact=True)
    assert_same(one, min_count=1, exact=False)
    assert_same(one.iloc[:2], min_count=1, exact=True)  # a single comparison household


@pytest.fixture(scope="module")
def sample_pairs() -> pd.DataFrame:
    """The synthetic sample (20,000 households on square boundaries) and its earlier round."""
    from geo.synth.sample import generate_sample
    from tests.geo.test_sample import grid_boundaries

    households = generate_sample(households=20_000, boundaries=grid_boundaries(), seed=7).households
    return pair_rounds(households, 2021, 2023, h3_resolutions=())


@pytest.mark.parametrize("exact", [True, False])
def test_equal_to_the_reference_on_the_sample(sample_pairs, exact):
    table = assert_same(sample_pairs, exact=exact)
    assert table["difference"].notna().sum() >= 5 * len(CAPITALS)


def test_equal_to_the_reference_on_random_households_rounds():
    from tests.support.rounds import two_rounds

    pairs = pair_rounds(two_rounds(3000, seed=7), 2021, 2023, h3_resolutions=())
    for exact in (True, False):
        assert_same(pairs, exact=exact, min_count=5)


def test_an_unknown_change_no_longer_blanks_the_capital():
    """Fixed with the vectorising: before, one participant's unknown change in a capital made the
    mean of every participant unknown, so the capital was blank for the whole pilot. Now that
    household just does not count for that capital (and the others keep it)."""
    pairs = random_pairs(5)
    followed = (pairs["status"] == "followed").to_numpy()
    p0 = followed & (pairs["pilot_to"] == "P0").to_numpy()
    pairs.loc[np.flatnonzero(p0)[:1], "human_change"] = np.nan
    before = _reference_pilot_impact(pairs, exact=True, nan_aware=False)
    now = assert_same(pairs, exact=True)

    def human(table):
        return table[(table["pilot_id"] == "P0") & (table["capital"] == "human")].iloc[0]

    assert np.isnan(human(before)["difference"])  # the bug
    assert not np.isnan(human(now)["difference"])
    # Without the household the capital's values are the same (the groups' counts are the pilot's).
    without = pairs.drop(index=np.flatnonzero(p0)[:1])
    means = list(PILOT_IMPACT_COLUMNS[4:9])
    pd.testing.assert_series_equal(human(now)[means], human(pilot_impact(without, exact=True))[means],
                                   check_exact=False, rtol=1e-9)
    # On pairs without a NaN change the reference is the code before, verbatim.
    known = pairs.assign(**{f"{c}_change": pairs[f"{c}_change"].fillna(0.0) for c in CAPITALS})
    pd.testing.assert_frame_equal(_reference_pilot_impact(known, nan_aware=False), pilot_impact(known),
                                  check_exact=False, rtol=1e-9)


def test_bench_pilot_impact_times_both_and_finds_them_equal(capsys):
    """``python -m bench pilot-impact`` on a tiny N: both releases timed, the tables equal."""
    from bench.__main__ import main

    assert main(["pilot-impact", "--households", "3000", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "| 3,000 |" in out and "| public |" in out and "| exact |" in out and "| NO |" not in out


@pytest.mark.parametrize("dtype", ["string", object])
def test_equal_to_the_reference_with_pilots_as_text(dtype):
    """Pilot columns as text rather than categories (read from a file, say); one id as a number."""
    pairs = random_pairs(2)
    text = {name: pairs[name].astype(dtype) for name in ("pilot_from", "pilot_to")}
    as_text = pairs.assign(**text)
    assert_same(as_text, exact=True)
    assert_same(as_text, pilots=pd.DataFrame({"pilot_id": ["P4", 7]}))
    numbered = pairs.assign(pilot_to=pairs["pilot_to"].cat.rename_categories({"P1": 7}))
    assert_same(numbered, pilots=pd.DataFrame({"pilot_id": [7, "P4"]}), exact=True)
