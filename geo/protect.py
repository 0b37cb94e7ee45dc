"""Small-cell protection: the one gate every aggregate passes before it leaves the engine.

Maps, tables, tooltips, downloads and exports all call :func:`protect` on a table from
:func:`geo.aggregate.aggregate` or :func:`geo.aggregate.pilot_reach`. ``k`` (default 10) is the
smallest number of households an area may show; ``k=1`` turns protection off (for an authorised
operator, never for the public).

What :func:`protect` guarantees, for one released table
--------------------------------------------------------
1. **No small area.** No released row shows a household count ``n`` with ``0 < n < k``. Such a
   row is *suppressed*: ``households_shown`` reads ``"<k"`` (``"<10"``), ``households`` and every
   other value computed from its households (people, counts by level, means, shares, deficits,
   TPMAP counts, H/A/MPI, assistance shares) are withheld (``<NA>``/NaN).
2. **No recovery by subtraction.** For every area that contains released rows and whose total
   could be published — the row's parent areas up the hierarchy (subdistrict -> district ->
   province -> the whole table; an H3 cell -> its parents at every coarser resolution -> the whole
   table) — the suppressed rows inside it hold either no households or at least ``k`` households
   between them. So "published total minus the visible parts" yields either 0 or a group of at
   least ``k`` households spread over at least two suppressed rows, never one small area. Where
   needed this is reached by *complementary* suppression: the smallest visible row of the area is
   withheld too (``households_shown`` reads ``"suppressed"``). It holds at every coarser level at
   once, because a level's condition is kept when finer levels add suppressed rows of at least
   ``k`` households (bottom-up, one pass per level).
3. **Rolled-up H3 tables** (``aggregate(..., rollup_min_count=k)``) are a non-overlapping set of
   cells, each with at least ``k`` households except res-5 cells, which (2) then protects against
   the table total.

What it does not cover (documented limits)
------------------------------------------
* Differencing **two tables with different filters** (e.g. all households minus verified ones)
  or a table with a **different hierarchy** (H3 cells against district totals: cells do not nest
  in districts, which blurs but does not rule out such subtraction). Only authorised operators
  should get unprotected (``k=1``) output; the dashboard should release filtered tables from the
  same gate and not offer arbitrary filter differences to the public.
* Counts *within* a released area (e.g. 3 households at level 1 in an area of 40) are shown:
  protection is by area size, as in the usual k-threshold rule for area statistics.
* Pilot tables (circles around pilot sites overlap, so no hierarchy): (1) only, applied to the
  enrolled households, and ``in_need_within`` is withheld when it is below ``k``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.checks import check_columns, check_int
from geo.h3index import parents_unchecked

#: Default smallest count an area may show.
DEFAULT_MIN_COUNT = 10
#: Columns that describe the area rather than its households; never withheld.
AREA_COLUMNS: tuple[str, ...] = (
    "h3_cell", "res", "code", "name_th", "name_en", "geometry", "pilot_id", "households_target",
)
#: Values of the ``suppression`` column.
SUPPRESSION_REASONS: tuple[str, ...] = ("", "small", "complementary")


def _hierarchy(table: pd.DataFrame, by: str | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Enclosing-area keys per row for each level, fine to coarse: (key, row-is-in-scope)."""
    n = len(table)
    everywhere = np.ones(n, dtype=bool)
    root = (np.zeros(n, dtype=np.int64), everywhere)
    if by == "pilot":
        return []
    if by in ("province", "district", "subdistrict"):
        codes = table["code"].astype("string").fillna("")
        widths = {"province": [], "district": [2], "subdistrict": [4, 2]}[by]
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


def _withhold(values: pd.Series, hide: np.ndarray):
    """The column with ``hide`` rows withheld: nullable ``Int64``/``boolean`` for integers and
    booleans (always, so dtypes do not depend on the data), NaN for floats, <NA> otherwise."""
    missing = values.isna().to_numpy()
    if pd.api.types.is_bool_dtype(values.dtype):
        return pd.arrays.BooleanArray(values.to_numpy(dtype=bool, na_value=False), hide | missing)
    if pd.api.types.is_integer_dtype(values.dtype):
        return pd.arrays.IntegerArray(values.to_numpy(dtype="int64", na_value=0), hide | missing)
    if pd.api.types.is_float_dtype(values.dtype):
        if isinstance(values.dtype, np.dtype):
            return np.where(hide, np.nan, values.to_numpy())
        return pd.arrays.FloatingArray(values.to_numpy(dtype="float64", na_value=0.0), hide | missing)
    if isinstance(values.dtype, pd.CategoricalDtype):
        return pd.Categorical.from_codes(np.where(hide, -1, values.cat.codes.to_numpy()), dtype=values.dtype)
    return values.mask(hide).array if hide.any() else values.array


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


def protect(table: pd.DataFrame, *, k: int = DEFAULT_MIN_COUNT) -> pd.DataFrame:
    """Withhold small areas (and what would reveal them) from an aggregate table.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`geo.aggregate.aggregate` (or :func:`geo.aggregate.attach_boundaries` of one)
        or :func:`geo.aggregate.pilot_reach`; ``table.attrs["by"]`` tells the area hierarchy.
    k : int, default 10
        Smallest household count an area may show; 1 turns protection off.

    Returns
    -------
    pandas.DataFrame
        A copy with three new columns after the key: ``households_shown`` (the count as text, or
        ``"<k"`` / ``"suppressed"``), ``suppressed`` (bool) and ``suppression`` (``""``,
        ``"small"`` or ``"complementary"``). In suppressed rows every household-derived column
        is withheld: integer columns become nullable ``Int64`` with ``<NA>``, float columns
        NaN, categorical columns ``<NA>``. ``attrs`` gains ``min_count``.

    Raises
    ------
    EngineInputError
        When ``k`` is below 1 or the table has no ``households`` column.

    Example
    -------
    >>> released = protect(aggregate(index, by="district"), k=10)  # doctest: +SKIP
    >>> released.loc[released.suppressed, "households_shown"].unique()  # doctest: +SKIP
    array(['<10', 'suppressed'], dtype=object)
    """
    k = check_int(k, "k", minimum=1)
    check_columns(table, "table", ("households",))
    by = table.attrs.get("by")
    households = table["households"].to_numpy(dtype="float64", na_value=0.0).astype(np.int64)
    small = (households > 0) & (households < k)
    complementary = _complementary(households, small, k, _hierarchy(table, by)) if small.any() else np.zeros_like(small)
    suppressed = small | complementary

    geometry_name = getattr(table, "_geometry_column_name", None)
    columns: dict[str, object] = {}
    for name in table.columns:
        if name in AREA_COLUMNS or name == geometry_name:
            columns[name] = table[name].array
        else:
            columns[name] = _withhold(table[name], suppressed)
    if by == "pilot" and "in_need_within" in table.columns:
        need = table["in_need_within"].to_numpy(dtype="float64", na_value=0.0)
        for name in ("in_need_within", "in_need_within_not_enrolled"):
            if name in table.columns:
                columns[name] = _withhold(table[name], (need > 0) & (need < k))
    shown = households.astype(str).astype(object)
    shown[small] = f"<{k}"
    shown[complementary & ~small] = "suppressed"
    reason = np.where(small, 1, np.where(complementary, 2, 0)).astype(np.int8)
    ordered: dict[str, object] = {}
    for name, values in columns.items():
        if name == "households":
            ordered["households_shown"] = pd.array(shown, dtype="string")
            ordered["suppressed"] = suppressed
            ordered["suppression"] = pd.Categorical.from_codes(reason, categories=list(SUPPRESSION_REASONS))
        ordered[name] = values
    out = pd.DataFrame(ordered, index=table.index, copy=False)
    if geometry_name is not None:
        import geopandas as gpd

        out = gpd.GeoDataFrame(out, geometry=geometry_name, crs=table.crs)  # type: ignore[attr-defined]
    out.attrs = {**table.attrs, "min_count": k}
    return out


def released_values_ok(released: pd.DataFrame, k: int) -> bool:
    """True when no visible row of a protected table shows ``0 < households < k``; never raises."""
    try:
        visible = released.loc[~released["suppressed"].to_numpy(bool), "households"]
        values = visible.to_numpy(dtype="float64", na_value=np.nan)
        return bool(not ((values > 0) & (values < k)).any())
    except (KeyError, TypeError, ValueError):
        return False
