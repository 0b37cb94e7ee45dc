"""Disclosure control: the one gate every aggregate passes before it leaves the engine.

Maps, tables, tooltips, headlines, downloads and exports all call :func:`protect` on a table from
:func:`geo.engine.aggregate.aggregate` (or the profile cube, :func:`geo.engine.aggregate.pilot_reach`,
:func:`geo.engine.gaps.pilot_gaps`, :func:`geo.views.dashboard.totals_of`). Two releases:

* :func:`release_perturbed`, **the public release** (the default; the public, viewers and
  researchers): cell-key perturbation (:mod:`geo.engine.cellkey`, the ABS TableBuilder method). Every
  count is the true count plus a noise of at most :data:`geo.engine.cellkey.MAX_NOISE` households that
  depends only on *which* households it counts, so the same households give the same figure in
  every table and differencing tables yields noise, not a household. Counts under ``k`` are
  withheld (zero too), and areas under ``k`` are left out. It holds across every table a user can
  build: ``tests/geo/test_disclosure_attack.py`` attacks it by linear programming over every view.
* :func:`release_exact`, **the exact release** (officers in their areas, administrators): exact
  counts with small-area and complementary suppression. Guarantees, for one released table:

  1. **No small area.** No released row shows a household count ``n`` with ``0 < n < k``. Such a
     row is *suppressed*: ``households_shown`` reads ``"<k"`` (``"<10"``), ``households`` and
     every value computed from its households are withheld (``<NA>``/NaN).
  2. **No recovery by subtraction within the table.** For every area that contains released rows
     and whose total could be published — the row's parent areas up the hierarchy ((village ->)
     subdistrict -> district -> province -> the whole table; an H3 cell -> its parents at every coarser
     resolution -> the whole table) — the suppressed rows inside it hold either no households or
     at least ``k`` households between them (*complementary* suppression: ``"suppressed"``).
  3. **Rolled-up H3 tables** (``aggregate(..., rollup_min_count=k)``) are a non-overlapping set of
     cells, each with at least ``k`` households except res-5 cells, which (2) then protects.

  Across tables (other filters, resolutions or areas) the exact release *can* be differenced:
  only users allowed to see exact figures get it. ``k=1`` turns its suppression off
  (administrators only).

docs/ENGINE.md ("Small-cell protection") says what each guarantees and what it costs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.engine.cellkey import (MAX_NOISE, SCORE_NOISE_SCALE, STREAM_HOUSEHOLDS, STREAM_PEOPLE, STREAM_SCORES, noise,
                         perturb)
from geo.checks import check_columns, check_int
from geo.errors import EngineInputError
from geo.data.contract import ASSISTANCE_STATUSES, CAPITAL_COLUMNS, CAPITALS, DEPRIVATION_COLUMNS
from geo.engine.h3index import parents_unchecked

#: Default smallest count an area may show.
DEFAULT_MIN_COUNT = 10
#: Columns that describe the area rather than its households; never withheld.
AREA_COLUMNS: tuple[str, ...] = (
    "h3_cell", "res", "code", "name_th", "name_en", "geometry", "pilot_id", "households_target",
)
#: Prefix of the cell-key columns (:data:`geo.engine.aggregate.KEY_COLUMNS`): dropped from every release.
KEY_PREFIX = "ckey_"
#: Households at levels 1-2 ("poor households"), added to every release that has both level counts.
POOR_COLUMN = "households_level_1_2"
#: Values of the ``suppression`` column.
SUPPRESSION_REASONS: tuple[str, ...] = ("", "small", "complementary")


def _hierarchy(table: pd.DataFrame, by: str | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Enclosing-area keys per row for each level, fine to coarse: (key, row-is-in-scope)."""
    n = len(table)
    everywhere = np.ones(n, dtype=bool)
    root = (np.zeros(n, dtype=np.int64), everywhere)
    if by == "pilot":
        return []
    if by in ("province", "district", "subdistrict", "village"):  # a village: its subdistrict code + its number
        codes = table["code"].astype("string").fillna("")
        widths = {"province": [], "district": [2], "subdistrict": [4, 2], "village": [6, 4, 2]}[by]
        return [(codes.str[:w].to_numpy(dtype=object), everywhere) for w in widths] + [root]
    if by == "h3":
        check_columns(table, "table", ("h3_cell", "res"))
        cells = table["h3_cell"].to_numpy(dtype=np.uint64)
        res = table["res"].to_numpy(dtype=np.int64)
        levels = []
        for level in range(int(res.max(initial=0)) - 1, -1, -1):
            scope = res > level
            keys = np.zeros(n, dtype=np.uint64)
            keys[scope] = parents_unchecked(cells[scope], level)
            levels.append((keys, scope))
        return levels + [root]
    return [root]


def _withhold(values, hide: np.ndarray):
    """A column's values (a pandas array, as :func:`_columns_of` gives them) with ``hide`` rows
    withheld: nullable ``Int64``/``boolean`` for integers and booleans (always, so dtypes do not
    depend on the data), NaN for floats, <NA> otherwise."""
    missing = np.asarray(pd.isna(values), dtype=bool)
    if pd.api.types.is_bool_dtype(values.dtype):
        return pd.arrays.BooleanArray(values.to_numpy(dtype=bool, na_value=False), hide | missing)
    if pd.api.types.is_integer_dtype(values.dtype):
        return pd.arrays.IntegerArray(values.to_numpy(dtype="int64", na_value=0), hide | missing)
    if pd.api.types.is_float_dtype(values.dtype):
        if isinstance(values, pd.arrays.NumpyExtensionArray):  # plain float64, NaN for missing
            return np.where(hide, np.nan, values.to_numpy(dtype="float64"))
        return pd.arrays.FloatingArray(values.to_numpy(dtype="float64", na_value=0.0), hide | missing)
    if isinstance(values.dtype, pd.CategoricalDtype):
        return pd.Categorical.from_codes(np.where(hide, -1, values.codes), dtype=values.dtype)
    return pd.Series(values, copy=False).mask(hide).array if hide.any() else values


def _complementary(households: np.ndarray, suppressed: np.ndarray, k: int,
                   levels: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Rows to suppress in addition so every enclosing area hides 0 or >= k households."""
    extra = np.zeros(households.size, dtype=bool)
    for keys, scope in levels:
        rows = np.flatnonzero(scope)
        if rows.size == 0:
            continue
        gid, uniques = pd.factorize(keys[rows])
        hidden_rows = suppressed[rows] | extra[rows]
        h = households[rows].astype(np.float64)
        hidden = np.bincount(gid, weights=h * hidden_rows, minlength=len(uniques))
        total = np.bincount(gid, weights=h, minlength=len(uniques))
        # A group under k in total is itself suppressed wherever its total is released.
        need = (hidden > 0) & (hidden < k) & (total >= k)
        if not need.any():
            continue
        candidates = np.flatnonzero(need[gid] & ~hidden_rows & (h > 0))
        order = candidates[np.lexsort((households[rows][candidates], gid[candidates]))]
        first = np.r_[True, gid[order][1:] != gid[order][:-1]]
        extra[rows[order[first]]] = True
    return extra


def column_values(table: pd.DataFrame) -> dict[str, object]:
    """Each column's values (``Series.array``) by name, read once from a shallow copy without
    ``attrs``: pandas copies a frame's attrs deeply into every column it hands out, which costs
    more than the sums of a wide table of a few thousand rows."""
    bare = pd.DataFrame(table, copy=False)
    bare.attrs = {}
    return {name: values.array for name, values in bare.items()}


def _columns_of(table: pd.DataFrame) -> tuple[dict[str, object], str | None]:
    """:func:`column_values` and the geometry column's name."""
    return column_values(table), getattr(table, "_geometry_column_name", None)


def _floats(values, na_value: float = 0.0) -> np.ndarray:
    """A column's values (from :func:`_columns_of`) as float64, missing as ``na_value``."""
    return values.to_numpy(dtype="float64", na_value=na_value)


def _ints(values) -> np.ndarray:
    """A count column's values (from :func:`_columns_of`) rounded to int64, missing as 0."""
    return np.rint(_floats(values)).astype(np.int64)


def _frame(table: pd.DataFrame, columns: dict[str, object], geometry_name: str | None, attrs: dict) -> pd.DataFrame:
    out = pd.DataFrame(columns, index=table.index, copy=False)
    if geometry_name is not None:
        import geopandas as gpd

        out = gpd.GeoDataFrame(out, geometry=geometry_name, crs=table.crs)  # type: ignore[attr-defined]
    out.attrs = attrs
    return out


def _with_status(columns: dict[str, object], households_shown: np.ndarray, suppressed: np.ndarray,
                 reason: np.ndarray) -> dict[str, object]:
    """``columns`` with ``households_shown``, ``suppressed`` and ``suppression`` before ``households``."""
    ordered: dict[str, object] = {}
    for name, values in columns.items():
        if name == "households":
            ordered["households_shown"] = pd.array(households_shown, dtype="string")
            ordered["suppressed"] = suppressed
            ordered["suppression"] = pd.Categorical.from_codes(reason, categories=list(SUPPRESSION_REASONS))
        ordered[name] = values
    return ordered


def protect(table: pd.DataFrame, *, k: int = DEFAULT_MIN_COUNT, exact: bool = False) -> pd.DataFrame:
    """Release an aggregate table: the public release (perturbed) or the exact one.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`geo.engine.aggregate.aggregate` (or :func:`geo.engine.aggregate.attach_boundaries` of one),
        :func:`geo.engine.aggregate.pilot_reach` or :func:`geo.views.dashboard.totals_of`;
        ``table.attrs["by"]`` tells the area hierarchy. The public release needs the table's
        cell-key columns (``ckey_*``, :data:`geo.engine.aggregate.KEY_COLUMNS`).
    k : int, default 10
        Smallest household count a figure may show; with ``exact``, 1 turns protection off.
    exact : bool, default False
        ``False`` (the default, for the public, viewers and researchers): the **public release**
        of :func:`release_perturbed` — every count perturbed by its cell key, every count below
        ``k`` withheld, areas below ``k`` left out. ``True`` (officers in their scope,
        administrators): exact counts with small-area and complementary suppression
        (:func:`release_exact`).

    Returns
    -------
    pandas.DataFrame
        A copy with three new columns after the key: ``households_shown`` (the count as text, or
        ``"<k"`` / ``"suppressed"``), ``suppressed`` (bool) and ``suppression`` (``""``,
        ``"small"`` or ``"complementary"``). Withheld values are ``<NA>`` (nullable ``Int64``)
        or NaN. The ``ckey_*`` columns are dropped. ``attrs`` gains ``min_count`` and
        ``release`` (``"perturbed"`` or ``"exact"``).

    Raises
    ------
    EngineInputError
        When ``k`` is below 1, the table has no ``households`` column, or a public release is
        asked of a table without cell keys.

    Example
    -------
    >>> released = protect(aggregate(index, by="district"), k=10)  # doctest: +SKIP
    >>> released.attrs["release"]  # doctest: +SKIP
    'perturbed'
    """
    k = check_int(k, "k", minimum=1)
    check_columns(table, "table", ("households",))
    if exact:
        return release_exact(table, k=k)
    return release_perturbed(table, k=k)


def release_exact(table: pd.DataFrame, *, k: int = DEFAULT_MIN_COUNT) -> pd.DataFrame:
    """Exact counts; areas under ``k`` households withheld, with complementary suppression (see
    the module's guarantees 1-3). For officers in their scope and administrators only: across
    tables (other filters, resolutions or areas) it can be differenced."""
    k = check_int(k, "k", minimum=1)
    check_columns(table, "table", ("households",))
    by = table.attrs.get("by")
    source, geometry_name = _columns_of(table)
    households = _floats(source["households"]).astype(np.int64)
    small = (households > 0) & (households < k)
    complementary = _complementary(households, small, k, _hierarchy(table, by)) if small.any() else np.zeros_like(small)
    suppressed = small | complementary

    columns: dict[str, object] = {}
    for name in table.columns:
        if name.startswith(KEY_PREFIX):
            continue
        if name in AREA_COLUMNS or name == geometry_name:
            columns[name] = source[name]
        else:
            columns[name] = _withhold(source[name], suppressed)
        if name == "households_level_2" and "households_level_1" in table.columns:
            poor = pd.array(source["households_level_1"], dtype="Int64") + pd.array(source["households_level_2"],
                                                                                 dtype="Int64")
            columns[POOR_COLUMN] = _withhold(poor, suppressed)
    if by == "pilot" and "in_need_within" in table.columns:
        need = _floats(source["in_need_within"])
        for name in ("in_need_within", "in_need_within_not_enrolled"):
            if name in table.columns:
                columns[name] = _withhold(source[name], (need > 0) & (need < k))
    shown = households.astype(str).astype(object)
    shown[small] = f"<{k}"
    shown[complementary & ~small] = "suppressed"
    reason = np.where(small, 1, np.where(complementary, 2, 0)).astype(np.int8)
    return _frame(table, _with_status(columns, shown, suppressed, reason), geometry_name,
                  {**table.attrs, "min_count": k, "release": "exact"})


#: Count columns of released tables and the cell-key column each is perturbed by, with its stream
#: (:mod:`geo.engine.cellkey`): a count of people shares its households' cell key, not their noise.
COUNT_KEYS: dict[str, tuple[str, int]] = {
    "households": ("ckey_households", STREAM_HOUSEHOLDS),
    "people": ("ckey_households", STREAM_PEOPLE),
    **{f"households_level_{lv}": (f"ckey_households_level_{lv}", STREAM_HOUSEHOLDS) for lv in range(1, 5)},
    **{f"people_level_{lv}": (f"ckey_households_level_{lv}", STREAM_PEOPLE) for lv in range(1, 5)},
    "not_in_tpmap": ("ckey_not_in_tpmap", STREAM_HOUSEHOLDS),
    "in_tpmap": ("ckey_in_tpmap", STREAM_HOUSEHOLDS),
    "verified": ("ckey_verified", STREAM_HOUSEHOLDS),
    **{c: (f"ckey_{c}", STREAM_HOUSEHOLDS) for c in DEPRIVATION_COLUMNS},
    "helped": ("ckey_assistance_helped", STREAM_HOUSEHOLDS),
    "in_need_within": ("ckey_in_need_within", STREAM_HOUSEHOLDS),
    "in_need_within_not_enrolled": ("ckey_in_need_within_not_enrolled", STREAM_HOUSEHOLDS),
}
#: Shares of households released as (perturbed numerator) / (perturbed households), with the
#: cell-key column of the numerator's households.
SHARE_KEYS: dict[str, str] = {
    **{f"deficit_share_{c}": f"ckey_deficit_{c}" for c in CAPITALS},
    "af_h": "ckey_af_poor",
    **{f"assistance_{s}_share": f"ckey_assistance_{s}" for s in ASSISTANCE_STATUSES},
}
#: Mean capital scores and the noise stream of their sums.
_MEAN_STREAMS: dict[str, int] = {f"mean_{c}": STREAM_SCORES + j for j, c in enumerate(CAPITAL_COLUMNS)}
#: Values that describe the Alkire-Foster poor only: withheld with their count.
_POOR_ONLY: tuple[str, ...] = ("af_a",) + tuple(f"af_contribution_{c}" for c in CAPITALS)
#: Rows are areas whose very presence says "some households": in the public release withheld
#: areas are left out. Pilot and selection tables keep their rows (the list of pilots is public).
_KEEP_ROWS_BY = ("pilot", "selection")


def _int_array(values: np.ndarray, hide: np.ndarray) -> pd.arrays.IntegerArray:
    return pd.arrays.IntegerArray(np.asarray(values, dtype=np.int64), np.asarray(hide, dtype=bool))


def release_perturbed(table: pd.DataFrame, *, k: int = DEFAULT_MIN_COUNT) -> pd.DataFrame:
    """The public release: cell-key perturbation (:mod:`geo.engine.cellkey`) plus a small-count rule.

    * Every count (households, people, per level, not in TPMAP, in TPMAP, verified, TPMAP deprivations,
      pilot reach) is published as ``true + noise(cell key)``, the noise at most
      :data:`geo.engine.cellkey.MAX_NOISE` households either way and the same whenever the same
      households are counted, in any table.
    * A count whose true value or perturbed value is below ``k`` is withheld (``<NA>``); zero is
      withheld too, so a withheld figure never tells "none" from "a few".
    * Shares of households (levels 1-2, deficit per capital, the Alkire-Foster H, assistance) are
      a perturbed numerator over the perturbed households, withheld when the numerator is;
      ``af_mpi`` is the released H times A. A mean capital score is its sum plus the households'
      own noise (:data:`geo.engine.cellkey.SCORE_NOISE_SCALE` points per unit) over the true count.
    * An area whose households are withheld is left out of the table (pilot and whole-selection
      tables keep the row, withheld).
    """
    k = check_int(k, "k", minimum=1)
    check_columns(table, "table", ("households",))
    if "ckey_households" not in table.columns:
        raise EngineInputError(
            "table has no cell keys (ckey_households): the public release needs a table from "
            "geo.engine.aggregate.aggregate(..., cell_keys=True); only exact=True may release a table without them")
    by = table.attrs.get("by")

    source, geometry_name = _columns_of(table)

    def ints(name: str) -> np.ndarray:
        return _ints(source[name])

    def keys(name: str) -> np.ndarray:
        return _floats(source[name])

    n = ints("households")
    key_n = keys("ckey_households")
    p_n = perturb(n, key_n)
    row_hidden = (n < k) | (p_n < k)
    columns: dict[str, object] = {}
    hidden_poor = row_hidden
    with np.errstate(divide="ignore", invalid="ignore"):
        per_household = np.where(row_hidden, np.nan, 1.0 / np.where(p_n > 0, p_n, 1))
        for name in table.columns:
            if name.startswith(KEY_PREFIX):
                continue
            if name in AREA_COLUMNS or name == geometry_name:
                columns[name] = source[name]
            elif name in COUNT_KEYS:
                key_name, stream = COUNT_KEYS[name]
                t = ints(name)
                if key_name not in table.columns:  # no key for this count: never published
                    columns[name] = _int_array(np.zeros_like(t), np.ones(t.size, dtype=bool))
                    continue
                households_key = key_name.replace("ckey_", "")
                t_households = ints(households_key) if stream == STREAM_PEOPLE and households_key in table.columns \
                    else t
                p = perturb(t, keys(key_name), stream=stream)
                p_households = p if stream != STREAM_PEOPLE else perturb(
                    t_households, keys(key_name))
                hide = row_hidden | (t_households < k) | (p_households < k) | (t < k) | (p < k)
                if name == "households":
                    hide = row_hidden
                columns[name] = _int_array(np.where(hide, 0, p), hide)
                if name == "households_level_2" and "ckey_households_level_1" in table.columns:
                    # Levels 1-2 ("poor households") are one set with its own cell key (the sum).
                    t12 = ints("households_level_1") + t
                    p12 = perturb(t12, keys("ckey_households_level_1") + keys(key_name))
                    hide12 = row_hidden | (t12 < k) | (p12 < k)
                    columns[POOR_COLUMN] = _int_array(np.where(hide12, 0, p12), hide12)
            elif name == "share_level_1_2" and {"ckey_households_level_1", "ckey_households_level_2"} <= set(
                    table.columns):
                t12 = ints("households_level_1") + ints("households_level_2")
                p12 = perturb(t12, keys("ckey_households_level_1") + keys("ckey_households_level_2"))
                hide = row_hidden | (t12 < k) | (p12 < k)
                columns[name] = np.where(hide, np.nan, p12 * per_household)
            elif name in SHARE_KEYS and SHARE_KEYS[name] in table.columns:
                share = _floats(source[name], np.nan)
                t = np.rint(np.nan_to_num(share) * n).astype(np.int64)
                p = perturb(t, keys(SHARE_KEYS[name]))
                hide = row_hidden | (t < k) | (p < k) | np.isnan(share)
                columns[name] = np.where(hide, np.nan, p * per_household)
                if name == "af_h":
                    hidden_poor = hide
            elif name in SHARE_KEYS or name == "share_level_1_2":  # a share without its key: withheld
                columns[name] = np.full(len(table), np.nan)
            elif name in _MEAN_STREAMS:
                # The sum of scores gets its own noise from the households' cell key (one score point
                # per unit): a mean differenced against nearly the same households tells nothing.
                mean = _floats(source[name], np.nan)
                noisy = mean * n + SCORE_NOISE_SCALE * noise(key_n, stream=_MEAN_STREAMS[name])
                columns[name] = np.where(row_hidden, np.nan, np.clip(noisy / np.where(n > 0, n, 1), 1.0, 4.0))
            else:
                columns[name] = _withhold(source[name], row_hidden)
        if "af_mpi" in columns and "af_h" in columns and "af_a" in table.columns:
            columns["af_mpi"] = np.asarray(columns["af_h"], dtype=np.float64) \
                * np.where(hidden_poor, np.nan, _floats(source["af_a"], np.nan))
        for name in _POOR_ONLY:
            if name in columns:
                columns[name] = _withhold(source[name], hidden_poor)
        if "enrolled_share_of_target" in columns and "households_target" in table.columns:
            target = _floats(source["households_target"], np.nan)
            columns["enrolled_share_of_target"] = np.where(row_hidden | ~(target > 0), np.nan, p_n / target)
    shown = np.where(row_hidden, f"<{k}", p_n.astype(str)).astype(object)
    reason = np.where(row_hidden, 1, 0).astype(np.int8)
    out = _frame(table, _with_status(columns, shown, row_hidden.copy(), reason), geometry_name,
                 {**table.attrs, "min_count": k, "release": "perturbed", "max_noise": MAX_NOISE})
    if by not in _KEEP_ROWS_BY and row_hidden.any():
        attrs = out.attrs
        out = out.loc[~row_hidden]
        out.attrs = {**attrs, "areas_withheld": int(row_hidden.sum())}
    return out


def released_values_ok(released: pd.DataFrame, k: int) -> bool:
    """True when no visible row of a protected table shows ``0 < households < k``; never raises."""
    try:
        visible = released.loc[~released["suppressed"].to_numpy(bool), "households"]
        values = visible.to_numpy(dtype="float64", na_value=np.nan)
        return bool(not ((values > 0) & (values < k)).any())
    except (KeyError, TypeError, ValueError):
        return False
