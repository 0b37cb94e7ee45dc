"""Mobility between two survey rounds: who was followed, who moved up or fell back, where.

A household keeps its ``household_id`` from round to round. :func:`pair_rounds` joins two rounds
of a households frame into one row per household:

* **followed**: in both rounds; **new**: only in the later round; **not_found**: only in the
  earlier round;
* each row is *placed* in one area and one H3 cell: the later round's for followed and new
  households (a followed household is counted where it lives now), the earlier round's for
  households not found again;
* levels, the five capital scores and their change, pilot and members of both rounds, the
  household's record key (:mod:`geo.engine.cellkey`), its res-10 H3 cell and each capital's
  class of change at the default threshold (``capital_classes``, so that a table counts it in
  one histogram).

:func:`mobility_table` counts pairs by area or H3 cell (one row per area, the columns of
:data:`MOBILITY_COLUMNS`, the ``python -m geo mobility`` contract); :func:`mobility_totals` counts
a whole selection as one row; :func:`mobility_shares` turns a table into shares for maps.

Every table is released as :func:`geo.engine.protect.protect` releases a round's tables:

* the **public release** (``exact=False``, the default): every count is perturbed by the cell key
  of the households it counts (the same households give the same figure in a round's map, the
  other round's map and any change table), withheld when its true or perturbed value is under
  ``k`` (zero too); an area whose households of both rounds are withheld is left out; a mean
  change carries its households' own noise and is shown only over at least ``k`` followed
  households;
* the **exact release** (``exact=True``; officers in their areas, administrators): exact counts,
  an area under ``k`` households withheld with complementary suppression
  (:func:`geo.engine.protect.release_exact`).

docs/ENGINE.md ("Mobility between rounds") says what is guaranteed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.checks import H3_RESOLUTIONS, check_choice, check_columns, check_float, check_int, check_resolution
from geo.data.contract import CAPITAL_COLUMNS, CAPITALS
from geo.data.rounds import BE_OFFSET, round_year, round_years
from geo.engine.cellkey import (SCORE_NOISE_SCALE, STREAM_CHANGES, STREAM_HOUSEHOLDS, noise, perturb,
                                record_keys)
from geo.engine.h3index import INDEX_RES, points_to_cells
from geo.errors import EngineInputError, RoundError
from geo.text import en_th

#: A capital score change of at least this much (either way) is "improved" or "worse".
CHANGE_THRESHOLD = 0.25
#: The statuses of a pair, in code order.
STATUSES: tuple[str, ...] = ("followed", "new", "not_found")
#: What a mobility table can be counted by.
MOBILITY_BY: tuple[str, ...] = ("province", "district", "subdistrict", "h3")
#: The level transitions, ``l1_to_l1`` ... ``l4_to_l4`` (earlier level first).
TRANSITION_COLUMNS: tuple[str, ...] = tuple(f"l{a}_to_l{b}" for a in range(1, 5) for b in range(1, 5))
#: Counts of households per area (the ``python -m geo mobility`` contract, in order).
COUNT_COLUMNS: tuple[str, ...] = (
    "households_from", "households_to", "followed", "new", "not_found", "up", "same", "down", "escaped", "fell",
    *TRANSITION_COLUMNS,
)
#: Per capital: improved / same / worse counts and the mean change, in the contract's order.
CAPITAL_CHANGE_COLUMNS: tuple[str, ...] = tuple(
    f"{c}_{what}" for c in CAPITALS for what in ("improved", "same", "worse", "mean_change"))
#: Followed households at levels 1-2 / 3-4 in the earlier round: the denominators of
#: ``share_escaped`` and ``share_fell`` (:func:`mobility_shares`), after the contract's columns.
DENOMINATOR_COLUMNS: tuple[str, ...] = ("followed_poor_from", "followed_nonpoor_from")
#: Every value column of a mobility table, in order (after ``code`` or ``h3_cell``).
MOBILITY_COLUMNS: tuple[str, ...] = COUNT_COLUMNS + CAPITAL_CHANGE_COLUMNS
#: Shares :func:`mobility_shares` adds.
SHARE_COLUMNS: tuple[str, ...] = ("share_up", "share_escaped", "share_fell",
                                  *(f"{c}_mean_change" for c in CAPITALS))

_PLACE_COLUMNS = ("province_code", "district_code", "subdistrict_code")
_NEEDED = ("household_id", "survey_year", "province_code", "district_code", "poverty_level", "members",
           "lat", "lon", *CAPITAL_COLUMNS)
# The transition code of a pair: status * 25 + level_from * 5 + level_to (a level 0 = unknown).
_N_CODES = 75
_ALL_COUNTED = ("households", *COUNT_COLUMNS, *DENOMINATOR_COLUMNS)


def _code_indicators() -> np.ndarray:
    """Which transition codes each count of :data:`_ALL_COUNTED` counts (bool, codes x counts)."""
    code = np.arange(_N_CODES)
    status, lf, lt = code // 25, (code // 5) % 5, code % 5
    followed, known = status == 0, (lf > 0) & (lt > 0)
    columns = {
        "households": np.ones(_N_CODES, dtype=bool),
        "households_from": status != 1, "households_to": status != 2,
        "followed": followed, "new": status == 1, "not_found": status == 2,
        "up": followed & known & (lt > lf), "same": followed & known & (lt == lf),
        "down": followed & known & (lt < lf),
        "escaped": followed & (lf >= 1) & (lf <= 2) & (lt >= 3),
        "fell": followed & (lf >= 3) & (lt >= 1) & (lt <= 2),
        **{f"l{a}_to_l{b}": followed & (lf == a) & (lt == b) for a in range(1, 5) for b in range(1, 5)},
        "followed_poor_from": followed & (lf >= 1) & (lf <= 2),
        "followed_nonpoor_from": followed & (lf >= 3),
    }
    return np.column_stack([columns[name] for name in _ALL_COUNTED])


_INDICATORS = _code_indicators().astype(np.float64)


#: A capital's class in a pair's ``capital_classes`` (:func:`pair_rounds`), at :data:`CHANGE_THRESHOLD`:
#: no change known (not followed, or a score missing), worse, the same, improved.
CLASS_UNKNOWN, CLASS_WORSE, CLASS_SAME, CLASS_IMPROVED = 0, 1, 2, 3
# ``capital_classes`` holds capital i's class (2 bits) at bits 2i..2i+1: 4**5 combinations.
_N_CLASS_CODES = 4 ** len(CAPITALS)
# The public release leaves out cells it withholds before counting when they hold more than this
# share of the pairs counted (fine H3 resolutions).
_LEAVE_OUT_SHARE = 0.25
# The capital classes are counted with one histogram of combination x group when it has at most
# this many bins per pair counted (and at most 2**24 bins), else with one histogram per capital.
_CLASS_CUBE_PER_PAIR = 2.0
_MAX_CLASS_CUBE = 1 << 24


def _change_classes(change: np.ndarray, threshold: float) -> np.ndarray:
    """Each change's class (uint8): improved / worse when it moved at least ``threshold`` either
    way (scores carry two decimals: 1e-6 of slack so that 0.25 is 0.25), else the same; unknown
    where the change is."""
    known = ~np.isnan(change)
    moved = known & (np.abs(change) >= threshold - 1e-6)
    return np.where(moved, np.where(change > 0, CLASS_IMPROVED, CLASS_WORSE),
                    np.where(known, CLASS_SAME, CLASS_UNKNOWN)).astype(np.uint8)


def _class_indicators() -> np.ndarray:
    """Which capital classes each ``capital_classes`` code holds (float, codes x (capital, class)),
    capitals in :data:`CAPITALS` order, classes worse / same / improved."""
    code = np.arange(_N_CLASS_CODES)
    return np.column_stack([((code >> (2 * i)) & 3) == what for i in range(len(CAPITALS))
                            for what in (CLASS_WORSE, CLASS_SAME, CLASS_IMPROVED)]).astype(np.float64)


_CLASS_INDICATORS = _class_indicators()


def _round_ids(households: pd.DataFrame, rows: np.ndarray, year: int):
    """The ``household_id`` of ``rows`` (one round) as a pyarrow string array; refused when one is missing."""
    import pyarrow as pa

    ids = pd.array(households["household_id"].iloc[rows], dtype="string").__arrow_array__()
    ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    if ids.null_count:
        raise EngineInputError(f"households of round {year} must all have a household_id")
    return ids


def _refuse_repeats(ids, repeated: bool, year: int) -> None:
    if repeated:
        text = pd.Series(pd.array(ids, dtype="string"))
        raise EngineInputError(
            f"household_id must be unique within a survey round; round {year} repeats "
            f"{sorted(set(text[text.duplicated()].tolist()))[:5]}")


def _shared_codes(column: pd.Series, rows_a: np.ndarray, rows_b: np.ndarray) -> tuple[np.ndarray, pd.CategoricalDtype]:
    """A column's values as codes of one categorical over the text of the values the two rounds
    hold (sorted; unused categories left out): (a lookup from the column's own codes, with a
    trailing -1 for "missing", to the shared codes; the shared dtype). Works on the column's few
    categories, not its rows."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        own, categories = column.cat.codes.to_numpy(), pd.Index(column.cat.categories)
    else:
        own, uniques = pd.factorize(column, use_na_sentinel=True)
        categories = pd.Index(uniques)
    own = np.append(own, -1)  # position -1 (a household not in the round) reads "missing"
    texts = []
    for rows in (rows_a, rows_b):
        used = np.bincount(own[rows] + 1, minlength=len(categories) + 1)[1:] > 0
        texts.append(categories[used].astype("string"))
    shared = pd.Index(pd.unique(pd.concat([pd.Series(t) for t in texts]).dropna())).sort_values()
    dtype = pd.CategoricalDtype(shared.astype(str))
    lookup = dtype.categories.get_indexer(categories.astype("string").astype(str)) if len(categories) else \
        np.empty(0, dtype=np.int64)
    return np.append(lookup, -1)[own], dtype


def _cells_categorical(lat: np.ndarray, lon: np.ndarray, res: int, cells: np.ndarray | None = None) -> pd.Categorical:
    """The H3 cell containing each position at ``res`` (exactly ``h3.latlng_to_cell``: not the parent
    of a finer cell, as H3 cells do not nest exactly), as a categorical of uint64 cells; missing
    without a position."""
    cells = points_to_cells(lat, lon, res) if cells is None else cells
    codes, uniques = pd.factorize(cells, sort=False)
    zero = np.flatnonzero(uniques == 0)
    if zero.size:  # "no position" is a missing value, not a category
        codes = np.where(codes == zero[0], -1, codes - (codes > zero[0]))
        uniques = np.delete(uniques, zero[0])
    return pd.Categorical.from_codes(codes.astype(np.int32), categories=pd.Index(uniques, dtype=np.uint64))


def pair_rounds(households: pd.DataFrame, year_from: int | str, year_to: int | str, *,
                h3_resolutions: tuple[int, ...] = H3_RESOLUTIONS) -> pd.DataFrame:
    """Join two survey rounds into one row per household: followed, new or not found again.

    Parameters
    ----------
    households : pandas.DataFrame
        Households in the contract (:func:`geo.data.contract.conform_households`) holding both
        rounds; rows of other rounds are ignored. ``household_id`` must be unique within a round.
    year_from, year_to : int or str
        The earlier and the later round, BE (2564) or CE (2021) (:func:`geo.data.rounds.round_year`).
    h3_resolutions : tuple of int, default 5-10
        Resolutions whose cells are computed once here (each costs about 0.3-1 s per million
        pairs, the bulk of the pairing; ``()`` for none).

    Returns
    -------
    pandas.DataFrame
        One row per ``household_id`` in either round, sorted by ``cell``:

        * ``household_id``; ``status`` (categorical, :data:`STATUSES`);
        * ``province_code``, ``district_code``, ``subdistrict_code`` (categorical), ``lat``,
          ``lon`` and ``cell`` (uint64 H3 cell at res 10, 0 without a position): where the
          household is counted, the later round's for followed and new households, the earlier
          round's for those not found again;
        * ``level_from``, ``level_to`` (``Int8``, <NA> where the household is not in the round);
        * ``<capital>_from``, ``<capital>_to``, ``<capital>_change`` (float32, NaN where unknown)
          for the five capitals (:data:`geo.data.contract.CAPITALS`);
        * ``pilot_from``, ``pilot_to`` (categorical pilot ids, <NA> for none);
          ``people_from``, ``people_to`` (``Int16``);
        * ``cell_<res>`` for each of ``h3_resolutions`` (categorical of uint64 H3 cells, missing
          without a position): the cell containing the position at that resolution, exactly
          ``h3.latlng_to_cell`` (:func:`mobility_table` counts H3 tables with it; another
          resolution is computed when asked, more slowly);
        * ``record_key`` (uint16, :func:`geo.engine.cellkey.record_keys` of the id: the same in
          every round, so the same households have the same cell key in any table);
        * ``transition`` (uint8): the code :func:`mobility_table` counts with
          (``status * 25 + level_from * 5 + level_to``, 0 for an unknown level);
        * ``capital_classes`` (uint16): each capital's change at :data:`CHANGE_THRESHOLD`, 2 bits
          per capital in :data:`~geo.data.contract.CAPITALS` order (bits ``2i``, ``2i + 1``):
          :data:`CLASS_UNKNOWN`, :data:`CLASS_WORSE`, :data:`CLASS_SAME` or
          :data:`CLASS_IMPROVED`. :func:`mobility_table` counts the default threshold with it
          (another threshold from the changes).

        The pairing is vectorised: one hash pass over both rounds' ids (pyarrow
        ``dictionary_encode``), then every column is gathered once by row position, already in
        the final order; categorical columns are matched over their few categories.

        ``attrs`` holds ``year_from`` and ``year_to`` (CE).

    Raises
    ------
    RoundError
        When a year is not a round of ``households`` or ``year_from`` is not before ``year_to``.
    EngineInputError
        When a needed column is missing or an id repeats within a round.

    Example
    -------
    >>> pairs = pair_rounds(households, 2564, 2023)  # doctest: +SKIP
    >>> pairs["status"].value_counts()  # doctest: +SKIP
    """
    check_columns(households, "households", _NEEDED)
    y_from, y_to = round_year(year_from), round_year(year_to)
    held = round_years(households)
    for year, given in ((y_from, year_from), (y_to, year_to)):
        if year not in held:
            shown = ", ".join(f"{y} (BE {y + BE_OFFSET})" for y in held) or "none"
            raise RoundError(*en_th("round.not_held", given=given, year=year, shown=shown))
    if y_from >= y_to:
        raise RoundError(*en_th("round.order", y_from=y_from, y_to=y_to, be_from=y_from + BE_OFFSET,
                                be_to=y_to + BE_OFFSET))
    import pyarrow as pa
    import pyarrow.compute as pc

    year = households["survey_year"].to_numpy(dtype="float64", na_value=np.nan)
    rows_a, rows_b = np.flatnonzero(year == y_from), np.flatnonzero(year == y_to)
    ids_a, ids_b = _round_ids(households, rows_a, y_from), _round_ids(households, rows_b, y_to)
    # One pair per id, in the order of first appearance in round a then round b: one hash pass.
    encoded = pc.dictionary_encode(pa.concat_arrays([ids_a, ids_b]))
    codes = encoded.indices.to_numpy().astype(np.int64)
    ids, n_a, n_b = encoded.dictionary, len(ids_a), len(ids_b)
    n = len(ids)
    _refuse_repeats(ids_a, bool((codes[:n_a] != np.arange(n_a)).any()), y_from)  # unique: a's ids come first
    _refuse_repeats(ids_b, bool(n_b and np.bincount(codes[n_a:], minlength=n).max() > 1), y_to)
    at_a = np.full(n, -1, dtype=np.int64)
    at_b = np.full(n, -1, dtype=np.int64)
    at_a[:n_a] = np.arange(n_a)
    at_b[codes[n_a:]] = np.arange(n_b)
    # Each pair's row in ``households`` in either round (-1: not in that round; every lookup below
    # has one more entry at its end, "missing", that -1 reads).
    row_a = np.append(rows_a, -1)[at_a]
    row_b = np.append(rows_b, -1)[at_b]
    use_b = row_b >= 0  # where a pair is counted: the later round's row when there is one
    row_placed = np.where(use_b, row_b, row_a)

    def placed(column: str) -> np.ndarray:
        return np.append(households[column].to_numpy(dtype="float64", na_value=np.nan), np.nan)[row_placed]

    lat_first, lon_first = placed("lat"), placed("lon")
    cell_first = points_to_cells(lat_first, lon_first, INDEX_RES)
    # Rows sorted by cell (stably, from the order above): every column is gathered once, in order.
    order = np.argsort(cell_first, kind="stable")
    row_a, row_b, use_b, row_placed = row_a[order], row_b[order], use_b[order], row_placed[order]
    lat, lon, cell = lat_first[order], lon_first[order], cell_first[order]
    status = np.where(row_a >= 0, np.where(use_b, 0, 2), 1).astype(np.int8)
    # The round's numbers of each pair: one gather of whole rows per round (7 values side by side)
    # costs less than a random gather per column.
    round_columns = ("poverty_level", "members", *CAPITAL_COLUMNS)
    table = np.empty((len(households) + 1, len(round_columns)))
    for j, column in enumerate(round_columns):
        table[:-1, j] = households[column].to_numpy(dtype="float64", na_value=np.nan)
    table[-1] = np.nan  # row -1: not in the round
    of_a, of_b = table[row_a], table[row_b]
    del table
    level_from, level_to = of_a[:, 0].copy(), of_b[:, 0].copy()
    lf = np.nan_to_num(level_from, nan=0.0).clip(0, 4).astype(np.uint8)
    lt = np.nan_to_num(level_to, nan=0.0).clip(0, 4).astype(np.uint8)
    household_id = pd.array(ids.take(pa.array(order)), dtype="string")
    columns: dict[str, object] = {
        "household_id": household_id,
        "status": pd.Categorical.from_codes(status, categories=list(STATUSES)),
    }
    for column in _PLACE_COLUMNS:
        if column in households.columns:
            codes, dtype = _shared_codes(households[column], rows_a, rows_b)
            columns[column] = pd.Categorical.from_codes(codes[row_placed], dtype=dtype)
    columns["lat"], columns["lon"] = lat, lon
    for name, level in (("level_from", level_from), ("level_to", level_to)):
        columns[name] = pd.arrays.IntegerArray(np.nan_to_num(level, nan=0).astype(np.int8), np.isnan(level))
    for j, capital in enumerate(CAPITALS, start=2):
        before, after = of_a[:, j].astype(np.float32), of_b[:, j].astype(np.float32)
        columns[f"{capital}_from"], columns[f"{capital}_to"] = before, after
        columns[f"{capital}_change"] = after - before
    if "pilot_id" in households.columns:
        codes, dtype = _shared_codes(households["pilot_id"], rows_a, rows_b)
        columns["pilot_from"] = pd.Categorical.from_codes(codes[row_a], dtype=dtype)
        columns["pilot_to"] = pd.Categorical.from_codes(codes[row_b], dtype=dtype)
    else:
        empty = pd.Categorical.from_codes(np.full(n, -1), categories=[])
        columns["pilot_from"], columns["pilot_to"] = empty, empty.copy()
    for name, of in (("people_from", of_a), ("people_to", of_b)):
        people = of[:, 1]
        columns[name] = pd.arrays.IntegerArray(np.nan_to_num(people, nan=0).astype(np.int16), np.isnan(people))
    columns["record_key"] = record_keys(pd.Series(household_id))
    columns["cell"] = cell
    for res in h3_resolutions:
        # Categories in the order of first appearance before sorting, as the pairs were once made.
        first = _cells_categorical(lat_first, lon_first, res, cell_first if res == INDEX_RES else None)
        columns[f"cell_{res}"] = pd.Categorical.from_codes(first.codes[order], dtype=first.dtype)
    columns["transition"] = (status.astype(np.uint8) * 25 + lf * 5 + lt).astype(np.uint8)
    classes = np.zeros(n, dtype=np.uint16)
    for i, capital in enumerate(CAPITALS):
        classes |= _change_classes(columns[f"{capital}_change"], CHANGE_THRESHOLD).astype(np.uint16) << (2 * i)
    columns["capital_classes"] = classes
    pairs = pd.DataFrame(columns)
    pairs.attrs = {"year_from": y_from, "year_to": y_to}
    return pairs


# ---------------------------------------------------------------------------------------------
# Counting
# ---------------------------------------------------------------------------------------------


def _selection(pairs: pd.DataFrame, mask: object) -> np.ndarray | None:
    if mask is None:
        return None
    selected = np.asarray(mask)
    if selected.dtype != bool or selected.shape != (len(pairs),):
        raise EngineInputError(f"mask must be a boolean array of one value per pair ({len(pairs)}), "
                               f"got {selected.dtype} of shape {selected.shape}")
    return selected


def _cell_column(pairs: pd.DataFrame, res: int) -> pd.Series:
    """Each pair's H3 cell at ``res`` (categorical of uint64 cells, missing without a position): its
    ``cell_<res>`` column, or computed from ``lat`` / ``lon`` (shared with the pairs cube)."""
    if f"cell_{res}" in pairs.columns:
        return pairs[f"cell_{res}"]
    return pd.Series(_cells_categorical(pairs["lat"].to_numpy(dtype="float64"),
                                        pairs["lon"].to_numpy(dtype="float64"), res))


def _groups(pairs: pd.DataFrame, by: str, res: int | None, mask: np.ndarray | None):
    """(rows counted, group of each, number of groups, the key column of each group)."""
    if by == "h3":
        column = _cell_column(pairs, res)
        codes = column.cat.codes.to_numpy()
        keep = codes >= 0 if mask is None else mask & (codes >= 0)
        rows = np.flatnonzero(keep) if mask is not None or not keep.all() else None
        return rows, _take(codes, rows).astype(np.int64), len(column.cat.categories), (
            "h3_cell", column.cat.categories.to_numpy(dtype=np.uint64))
    column = pairs[f"{by}_code"]
    if not isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype("string").astype("category")
    codes = column.cat.codes.to_numpy()
    keep = codes >= 0 if mask is None else mask & (codes >= 0)
    rows = np.flatnonzero(keep) if mask is not None or not (codes >= 0).all() else None
    group = codes if rows is None else codes[rows]
    categories = np.asarray(column.cat.categories.astype(str), dtype=object)
    return rows, group.astype(np.int64), categories.size, ("code", categories)


def _take(values: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    return values if rows is None else values[rows]


def _combine(histogram: np.ndarray, indicators: np.ndarray) -> np.ndarray:
    """Figures x groups from a histogram of codes x groups: figure ``j`` sums the rows of the
    codes ``indicators[:, j]`` marks (whole numbers: exact; no BLAS, whose threads crawl on a
    loaded machine)."""
    out = np.zeros((indicators.shape[1], histogram.shape[1]))
    for j in range(indicators.shape[1]):
        codes = np.flatnonzero(indicators[:, j])
        if codes.size:
            out[j] = histogram[codes].sum(axis=0)
    return out


def _sums(pairs: pd.DataFrame, rows: np.ndarray | None, group: np.ndarray, n_groups: int,
          threshold: float) -> dict[str, np.ndarray]:
    """Exact counts, cell-key sums (``key_*``) and change sums (``sum_*``) per group."""
    code = _take(pairs["transition"].to_numpy(dtype=np.uint8), rows)
    key = _take(pairs["record_key"].to_numpy(dtype=np.uint16), rows)
    # Only the transition codes that occur (about 24 of 75): a histogram of codes x groups.
    present = np.bincount(code, minlength=_N_CODES) > 0
    dense = (np.cumsum(present) - 1).astype(np.int64)
    n_codes = int(present.sum())
    flat = dense[code] * n_groups + group
    size = n_groups * n_codes
    key_f = key.astype(np.float64)
    counts = np.bincount(flat, minlength=size).reshape(n_codes, n_groups)
    keys = np.bincount(flat, weights=key_f, minlength=size).reshape(n_codes, n_groups)
    by_count, by_key = _combine(counts, _INDICATORS[present]), _combine(keys, _INDICATORS[present])
    out: dict[str, np.ndarray] = {}
    for j, name in enumerate(_ALL_COUNTED):
        out[name] = by_count[j]
        out[f"key_{name}"] = by_key[j]
    if threshold == CHANGE_THRESHOLD and "capital_classes" in pairs.columns:
        _capital_sums_from_classes(pairs, rows, group, n_groups, key_f, out)
        return out
    followed = code < 25
    f_rows = np.flatnonzero(followed)
    f_group, f_key = group[f_rows], key[f_rows]
    for capital in CAPITALS:
        change = _take(pairs[f"{capital}_change"].to_numpy(dtype=np.float32), rows)[f_rows]
        known = ~np.isnan(change)
        out[f"sum_{capital}"] = np.bincount(f_group, weights=np.where(known, change, 0.0), minlength=n_groups)
        out[f"known_{capital}"] = np.bincount(f_group[known], minlength=n_groups).astype(np.float64)
        out[f"key_known_{capital}"] = np.bincount(f_group[known], weights=f_key[known], minlength=n_groups)
        # improved (2) / worse (0); "same" is the known followed minus both, for counts and keys alike.
        moved = known & (np.abs(change) >= threshold - 1e-6)
        m_rows = np.flatnonzero(moved)
        m_index = f_group[m_rows] * 2 + (change[m_rows] > 0)
        m_counts = np.bincount(m_index, minlength=2 * n_groups).reshape(n_groups, 2).astype(np.float64)
        m_keys = np.bincount(m_index, weights=f_key[m_rows], minlength=2 * n_groups).reshape(n_groups, 2)
        out[f"{capital}_worse"], out[f"{capital}_improved"] = m_counts[:, 0], m_counts[:, 1]
        out[f"key_{capital}_worse"], out[f"key_{capital}_improved"] = m_keys[:, 0], m_keys[:, 1]
        out[f"{capital}_same"] = out[f"known_{capital}"] - m_counts[:, 0] - m_counts[:, 1]
        out[f"key_{capital}_same"] = out[f"key_known_{capital}"] - m_keys[:, 0] - m_keys[:, 1]
    return out


def _capital_sums_from_classes(pairs: pd.DataFrame, rows: np.ndarray | None, group: np.ndarray, n_groups: int,
                               key: np.ndarray, out: dict[str, np.ndarray]) -> None:
    """:func:`_sums`' per-capital figures at the default threshold, from the ``capital_classes``
    :func:`pair_rounds` made: the same figures as counting the changes, in fewer passes. Counts
    and keys of every capital's classes come from one histogram of group x class combination
    (when it is small against the pairs: by area), else from one per capital; sums of change one
    pass per capital.
    ``key`` is the record keys as float."""
    classes = _take(pairs["capital_classes"].to_numpy(dtype=np.uint16), rows)
    present = np.bincount(classes, minlength=_N_CLASS_CODES) > 0
    n_codes = int(present.sum())
    if n_groups * n_codes <= min(_CLASS_CUBE_PER_PAIR * classes.size, _MAX_CLASS_CUBE):
        flat = (np.cumsum(present) - 1)[classes] * n_groups + group
        size = n_groups * n_codes
        counts = np.bincount(flat, minlength=size).reshape(n_codes, n_groups)
        keys = np.bincount(flat, weights=key, minlength=size).reshape(n_codes, n_groups)
        by_count, by_key = _combine(counts, _CLASS_INDICATORS[present]), _combine(keys, _CLASS_INDICATORS[present])
    else:  # (capital, class) x group, one histogram of class x group per capital
        by_count, by_key = np.empty((3 * len(CAPITALS), n_groups)), np.empty((3 * len(CAPITALS), n_groups))
        for i in range(len(CAPITALS)):
            index = ((classes >> (2 * i)) & 3).astype(np.int64) * n_groups + group
            counts = np.bincount(index, minlength=4 * n_groups).reshape(4, n_groups)
            keys = np.bincount(index, weights=key, minlength=4 * n_groups).reshape(4, n_groups)
            by_count[3 * i:3 * i + 3], by_key[3 * i:3 * i + 3] = counts[1:], keys[1:]
    for i, capital in enumerate(CAPITALS):
        change = _take(pairs[f"{capital}_change"].to_numpy(dtype=np.float32), rows)
        # A change is known exactly where its class is; unknown ones add 0.
        known = (classes & np.uint16(3 << (2 * i))) != 0
        out[f"sum_{capital}"] = np.bincount(group, weights=np.where(known, change, 0.0), minlength=n_groups)
        for j, what in enumerate(("worse", "same", "improved")):
            out[f"{capital}_{what}"], out[f"key_{capital}_{what}"] = by_count[3 * i + j], by_key[3 * i + j]
        out[f"known_{capital}"] = by_count[3 * i] + by_count[3 * i + 1] + by_count[3 * i + 2]
        out[f"key_known_{capital}"] = by_key[3 * i] + by_key[3 * i + 1] + by_key[3 * i + 2]

def _release(sums: dict[str, np.ndarray], *, k: int, exact: bool,
             drop_withheld: bool = False) -> tuple[dict[str, object], np.ndarray]:
    """The released columns (:data:`MOBILITY_COLUMNS` and :data:`DENOMINATOR_COLUMNS`) and which
    rows' households are withheld. Exact: exact values (rows under ``k`` handled by the caller).
    Public with ``drop_withheld``: the columns of the rows not withheld only (a fine H3
    resolution withholds most cells: they are not perturbed for nothing)."""
    n = sums["households"].astype(np.int64)
    columns: dict[str, object] = {}
    counted = (*COUNT_COLUMNS, *(f"{c}_{w}" for c in CAPITALS for w in ("improved", "same", "worse")),
               *DENOMINATOR_COLUMNS)
    if exact:
        row_hidden = (n > 0) & (n < k)
        for name in counted:
            t = np.rint(sums[name]).astype(np.int64)
            columns[name] = pd.arrays.IntegerArray(t, row_hidden.copy())
        for capital in CAPITALS:
            known = sums[f"known_{capital}"]
            with np.errstate(divide="ignore", invalid="ignore"):
                mean = sums[f"sum_{capital}"] / known
            columns[f"{capital}_mean_change"] = np.where(row_hidden | (known < k), np.nan, mean)
        return columns, row_hidden
    p_n = perturb(n, sums["key_households"])
    withheld = (n < k) | (p_n < k)
    row_hidden = withheld
    if drop_withheld:
        shown = np.flatnonzero(~withheld)
        sums = {name: values[shown] for name, values in sums.items()}
        row_hidden = np.zeros(shown.size, dtype=bool)
    for name in counted:
        t = np.rint(sums[name]).astype(np.int64)
        p = perturb(t, sums[f"key_{name}"], stream=STREAM_HOUSEHOLDS)
        hide = row_hidden | (t < k) | (p < k)
        columns[name] = pd.arrays.IntegerArray(np.where(hide, 0, p), hide)
    for j, capital in enumerate(CAPITALS):
        known = sums[f"known_{capital}"]
        t = np.rint(known).astype(np.int64)
        key = sums[f"key_known_{capital}"]
        hide = row_hidden | (t < k) | (perturb(t, key) < k)
        # The sum of changes carries its households' own noise (one score point per unit), so two
        # means of nearly the same households differ by noise, not by one household's change.
        noisy = sums[f"sum_{capital}"] + SCORE_NOISE_SCALE * noise(key, stream=STREAM_CHANGES + j)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.clip(noisy / np.where(t > 0, t, 1), -3.0, 3.0)
        columns[f"{capital}_mean_change"] = np.where(hide, np.nan, mean)
    return columns, withheld


def _check_table_args(pairs, by, res, change_threshold, min_count) -> tuple[str, int | None, float, int]:
    check_columns(pairs, "pairs", ("status", "transition", "record_key", "cell",
                                   *(f"{c}_change" for c in CAPITALS)))
    by = check_choice(by, "by", MOBILITY_BY)
    if by == "h3":
        res = check_resolution(8 if res is None else res)
    else:
        res = None
    threshold = check_float(change_threshold, "change_threshold", minimum=0.01, maximum=3.0)
    k = check_int(min_count, "min_count", minimum=1)
    return by, res, threshold, k


def mobility_table(pairs: pd.DataFrame, *, by: str, res: int | None = None,
                   change_threshold: float = CHANGE_THRESHOLD, exact: bool = False, min_count: int = 10,
                   mask: object = None) -> pd.DataFrame:
    """Mobility between two rounds by area or H3 cell, released (public by default).

    Parameters
    ----------
    pairs : pandas.DataFrame
        From :func:`pair_rounds`.
    by : {"province", "district", "subdistrict", "h3"}
        Each pair is counted in its placed area (the later round's for followed and new
        households, the earlier's for those not found again) or in the H3 cell at ``res``
        containing that position (``h3.latlng_to_cell`` semantics; pairs without a position are
        left out of H3 tables).
    res : int, optional
        H3 resolution 5-10 for ``by="h3"`` (default 8); ignored otherwise.
    change_threshold : float, default 0.25
        A capital score change of at least this much either way counts as improved or worse.
    exact : bool, default False
        False: the public release (cell-key perturbation, counts under ``min_count`` withheld,
        withheld areas left out). True: exact counts, areas under ``min_count`` withheld with
        complementary suppression (officers in their areas, administrators).
    min_count : int, default 10
        ``k``: smallest count shown; a mean change is shown only over at least ``k`` followed households.
    mask : numpy.ndarray of bool, optional
        One value per pair: which pairs to count (filters).

    Returns
    -------
    pandas.DataFrame
        One row per area (``code``) or cell (``h3_cell``, uint64) with households, then
        :data:`MOBILITY_COLUMNS` (counts as nullable ``Int64``, <NA> where withheld; mean
        changes float, NaN where withheld) and :data:`DENOMINATOR_COLUMNS`. ``attrs``: ``by``,
        ``res``, ``release``, ``min_count``, ``change_threshold``, ``year_from``, ``year_to``,
        ``areas_withheld`` (public release).

    Raises
    ------
    EngineInputError
        For an unknown ``by``, a resolution outside 5-10, a threshold outside 0.01-3, ``min_count``
        below 1 or a mask of the wrong shape.

    Example
    -------
    >>> mobility_table(pair_rounds(households, 2021, 2023), by="district")  # doctest: +SKIP
    """
    return mobility_table_and_totals(pairs, by=by, res=res, change_threshold=change_threshold, exact=exact,
                                     min_count=min_count, mask=mask, totals=False)[0]


def mobility_table_and_totals(pairs: pd.DataFrame, *, by: str, res: int | None = None,
                              change_threshold: float = CHANGE_THRESHOLD, exact: bool = False, min_count: int = 10,
                              mask: object = None, totals: bool = True) -> tuple[pd.DataFrame, pd.Series | None]:
    """:func:`mobility_table` and :func:`mobility_totals` of one selection (the Change map and
    its headline), from one pass over the pairs when the table counts every selected pair (an
    area table: every pair has its areas): the totals' exact sums are then the table's summed.
    Otherwise (pairs without a position in an H3 table, cells left out before counting) the totals
    take a pass of their own. Same arguments and answers as the two; ``totals=False`` gives None
    for them.
    """
    by, res, threshold, k = _check_table_args(pairs, by, res, change_threshold, min_count)
    selected = _selection(pairs, mask)
    rows, group, n_groups, (key_name, keys) = _groups(pairs, by, res, selected)
    # Count only the groups that hold a pair (an H3 resolution has many cells, a filter few).
    households = np.bincount(group, minlength=n_groups)
    present = households > 0
    withheld_before = 0
    if not exact:
        # A fine H3 resolution withholds most cells (under k households): when they hold many of
        # the pairs, leave them out before counting. The same test as the release's, on the same
        # sums, so the table is the same.
        withheld = withheld_groups(households, _group_key_sums(pairs, rows, group, n_groups), k)
        if households[withheld].sum() > _LEAVE_OUT_SHARE * group.size:
            kept = ~withheld[group]
            rows = np.flatnonzero(kept) if rows is None else rows[kept]
            group = group[kept]
            withheld_before = int(withheld.sum())
            present &= ~withheld
    dense = (np.cumsum(present) - 1).astype(np.int64)
    sums = _sums(pairs, rows, dense[group], int(present.sum()), threshold)
    table = _released_table(sums, key_name, keys[present], by=by, res=res, k=k, exact=exact, threshold=threshold,
                            years=pairs.attrs, withheld_before=withheld_before)
    if not totals:
        return table, None
    if group.size == (len(pairs) if selected is None else int(np.count_nonzero(selected))):
        whole = {name: np.array([values.sum()]) for name, values in sums.items()}
        return table, _released_totals(whole, k=k, exact=exact, threshold=threshold, years=pairs.attrs)
    return table, mobility_totals(pairs, change_threshold=threshold, exact=exact, min_count=k, mask=selected)


def released_cell_count(pairs: pd.DataFrame, *, res: int, exact: bool = False, min_count: int = 10,
                        mask: object = None) -> int:
    """How many rows :func:`mobility_table` ``(pairs, by="h3", res=res, ...)`` would give: the cells
    the public release shows (not withheld), every cell holding a pair in the exact release. Two
    histograms over the selected pairs (households and record keys per cell), not the table's
    passes: the Change map picks its resolution with it (at most
    :data:`geo.views.mapview.MAX_CELLS` cells) before making one table.

    Raises
    ------
    EngineInputError
        As :func:`mobility_table` for a resolution outside 5-10, ``min_count`` below 1 or a mask
        of the wrong shape.

    Example
    -------
    >>> released_cell_count(pairs, res=7)  # doctest: +SKIP
    """
    _, res, _, k = _check_table_args(pairs, "h3", res, CHANGE_THRESHOLD, min_count)
    rows, group, n_groups, _ = _groups(pairs, "h3", res, _selection(pairs, mask))
    households = np.bincount(group, minlength=n_groups)
    present = households > 0
    if exact:
        return int(present.sum())
    return int((present & ~withheld_groups(households, _group_key_sums(pairs, rows, group, n_groups), k)).sum())


def _group_key_sums(pairs: pd.DataFrame, rows: np.ndarray | None, group: np.ndarray, n_groups: int) -> np.ndarray:
    """The record-key sum of the counted pairs (``rows``, ``None``: all) per group."""
    return np.bincount(group, weights=_take(pairs["record_key"].to_numpy(dtype=np.uint16), rows), minlength=n_groups)


def withheld_groups(households: np.ndarray, key_sums: np.ndarray, k: int) -> np.ndarray:
    """The groups (cells) holding pairs that the public release withholds: fewer than ``k``
    households, exactly or once perturbed with their record keys (the release's own test, so a
    table may leave them out before counting, and a count of the cells shown agrees with it)."""
    return (households > 0) & ((households < k) | (perturb(households, key_sums) < k))


def _released_table(sums: dict[str, np.ndarray], key_name: str, keys: np.ndarray, *, by: str, res: int | None,
                    k: int, exact: bool, threshold: float, years: dict, withheld_before: int = 0) -> pd.DataFrame:
    """:func:`mobility_table`'s answer from the exact sums of the groups that hold a pair (``keys``
    in order): released, and ``attrs`` set. Shared with :mod:`geo.engine.mobility_cube`."""
    columns, row_hidden = _release(sums, k=k, exact=exact, drop_withheld=not exact)
    if not exact:
        keys = keys[~row_hidden]
    table = pd.DataFrame({key_name: keys, **{name: columns[name] for name in (*MOBILITY_COLUMNS, *DENOMINATOR_COLUMNS)}})
    attrs = {"by": by, "res": res, "min_count": k, "change_threshold": threshold,
             "year_from": years.get("year_from"), "year_to": years.get("year_to")}
    if exact:
        table = _complementary(table, sums["households"], by, res, k)
        table.attrs = {**attrs, "release": "exact"}
        return table
    table.attrs = {**attrs, "release": "perturbed", "areas_withheld": withheld_before + int(row_hidden.sum())}
    return table


def _complementary(table: pd.DataFrame, households: np.ndarray, by: str, res: int | None, k: int) -> pd.DataFrame:
    """The exact release's suppression (:func:`geo.engine.protect.release_exact`): areas under
    ``k`` households of both rounds withheld, and where one would be given away by its enclosing
    area's total, the next smallest too."""
    from geo.engine.protect import release_exact

    frame = pd.DataFrame({table.columns[0]: table.iloc[:, 0], "households": households.astype(np.int64)})
    if by == "h3":
        frame["res"] = res
    frame.attrs = {"by": by}
    released = release_exact(frame, k=k)
    hidden = released["suppressed"].to_numpy(dtype=bool)
    out = table.copy()
    for name in out.columns[1:]:
        values = out[name]
        if isinstance(values.dtype, pd.Int64Dtype) or pd.api.types.is_integer_dtype(values.dtype):
            out[name] = pd.arrays.IntegerArray(values.to_numpy(dtype="int64", na_value=0),
                                               values.isna().to_numpy() | hidden)
        else:
            out[name] = np.where(hidden, np.nan, values.to_numpy(dtype="float64", na_value=np.nan))
    return out


def mobility_totals(pairs: pd.DataFrame, *, change_threshold: float = CHANGE_THRESHOLD, exact: bool = False,
                    min_count: int = 10, mask: object = None) -> pd.Series:
    """The whole selection as one row of :func:`mobility_table`'s columns (for headlines).

    Released as a table row is (public by default); nothing is left out: withheld values are
    <NA> / NaN. ``attrs`` as :func:`mobility_table`'s.
    """
    _, _, threshold, k = _check_table_args(pairs, "province", None, change_threshold, min_count)
    selected = _selection(pairs, mask)
    rows = None if selected is None else np.flatnonzero(selected)
    n = len(pairs) if rows is None else rows.size
    sums = _sums(pairs, rows, np.zeros(n, dtype=np.int64), 1, threshold)
    return _released_totals(sums, k=k, exact=exact, threshold=threshold, years=pairs.attrs)


def _released_totals(sums: dict[str, np.ndarray], *, k: int, exact: bool, threshold: float,
                     years: dict) -> pd.Series:
    """:func:`mobility_totals`' answer from the exact sums of one group (shared with the cube)."""
    columns, _ = _release(sums, k=k, exact=exact)
    out = pd.Series({name: columns[name][0] for name in (*MOBILITY_COLUMNS, *DENOMINATOR_COLUMNS)}, dtype=object)
    out.attrs = {"release": "exact" if exact else "perturbed", "min_count": k, "change_threshold": threshold,
                 "year_from": years.get("year_from"), "year_to": years.get("year_to")}
    return out


def mobility_shares(table: pd.DataFrame | pd.Series) -> pd.DataFrame:
    """Shares for maps, per row of a mobility table (or a :func:`mobility_totals` row).

    * ``share_up``: followed households that moved up a level, of the followed;
    * ``share_escaped``: moved from levels 1-2 to 3-4, of the followed at levels 1-2 in the earlier round;
    * ``share_fell``: moved from levels 3-4 to 1-2, of the followed at levels 3-4 in the earlier round;
    * ``<capital>_mean_change`` as released.

    In the public release the numerators and denominators are the released (perturbed) counts; a
    share is NaN where either is withheld.
    """
    frame = table.to_frame().T if isinstance(table, pd.Series) else table
    check_columns(frame, "table", ("up", "followed", "escaped", "fell", *DENOMINATOR_COLUMNS))

    def ratio(numerator: str, denominator: str) -> np.ndarray:
        top = pd.to_numeric(frame[numerator], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        bottom = pd.to_numeric(frame[denominator], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(bottom > 0, np.minimum(top / bottom, 1.0), np.nan)

    out = pd.DataFrame({
        "share_up": ratio("up", "followed"),
        "share_escaped": ratio("escaped", "followed_poor_from"),
        "share_fell": ratio("fell", "followed_nonpoor_from"),
        **{f"{c}_mean_change": pd.to_numeric(frame[f"{c}_mean_change"], errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan) for c in CAPITALS},
    }, index=frame.index)
    return out
