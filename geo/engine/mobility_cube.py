"""Precomputed sums of the pairs of two rounds: whole-country change tables without a pass over
every pair.

A view change on the Change page (by, filter, measure) is one :func:`geo.engine.mobility.mobility_table`
and one :func:`~geo.engine.mobility.mobility_totals`: a few passes over every selected pair (about
0.8-1.7 s for the whole country at 13 million households per round). But the page's filters only
ever pick whole *combinations* of

* the leaf area where a pair is counted (its province, district and subdistrict codes; the
  province / district / area filters and the ``by`` level);
* its level-transition code (``transition``: status, level in each round; the level filter is
  on the earlier level);
* its pilots in each round (the pilot filter: a pilot named in either round, or none);
* optionally its *deficit code*: which of the five capitals scored under the default cutoff in
  the earlier round (:data:`geo.engine.aggregate.DEFAULT_DEFICIT_CUTOFF`; the "capitals in
  deficit" filter). It multiplies the rows by up to 32 (about a third of the pairs with the
  benchmark's uniform scores: 1.1 GB at 13M), so the app's cube leaves it out of these rows and
  keeps it in sums by district × transition × deficit code instead (:attr:`PairsCube.by_deficit`,
  no subdistrict, no pilots): a filter on capitals in deficit is answered from them by province
  and district and for the totals; by subdistrict or H3, or with a pilot filter too, it takes
  the plain path.

So :class:`PairsCube` sums every pair once, on first use, by those combinations (keeping only
the ones that occur), and again by leaf × transition (:attr:`PairsCube.coarse`, at most some
hundred thousand rows for Thailand's subdistricts whatever the number of households): pairs and
their record keys (cell-key sums), and per capital the pairs whose change is known / improved /
worse at the default threshold (:data:`~geo.engine.mobility.CHANGE_THRESHOLD`, from
``capital_classes``) with their cell-key sums, and the sum of the change. A table by province,
district or subdistrict is then a few histograms over the cube's rows, and is released by the
same code as the plain path: the same table, columns, dtypes, ``attrs``, protection and cell
keys; a mean change equal up to float rounding (the changes are summed per combination first).

The cube answers by province, district and subdistrict at the default change threshold
(:func:`answers`); another threshold uses the plain path, and a filter on capitals in deficit
too where the sums by district cannot answer it (:func:`cube_for_filter`). Filters are applied to the
cube's :attr:`PairsCube.rows`, a small frame with the columns the Change page's filter reads
(:func:`geo.views.change.pairs_mask` works on it unchanged): one representative value per row,
equal for every pair of the row as far as any filter can tell.

The cube of a pairs frame is built on first use and kept while the frame lives
(:func:`pairs_cube_for`); the pairs must not be changed afterwards.

**H3 maps** have a cube per resolution, :class:`PairsH3Cube` (``build_pairs_cube(pairs,
res=r)``): every pair with a position counted in the cell containing its placed position at
``r`` (the pairs' ``cell_<r>``, the plain path's cells), by cell × province × district × earlier
level × pilots (a cell may straddle areas: the map's filters and scope, provinces and districts,
select whole rows exactly), in two layers to stay lean: those rows hold the capitals' counts and
record-key sums (as narrow as they fit: uint16, uint32) and change sums (float64); their split by
transition code holds only pairs and record-key sums. :func:`h3_cube_for` keeps it per pairs
frame and resolution when it has fewer transition rows than a quarter of the pairs
(:data:`H3_CUBE_MAX_SHARE`; a fine resolution has about a row per pair and takes the plain path),
:func:`cube_mobility_table` answers ``by="h3"`` from it (the same released table) and
:func:`cube_released_cell_count` counts the cells a table would show, which the Change map
needs to pick its resolution. Subdistricts and capitals in deficit are not kept: the plain path.

Figures: docs/ENGINE.md ("Mobility between rounds"). Pure numpy / pandas: no Streamlit.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.checks import check_columns, check_float, check_int, check_resolution
from geo.data.contract import CAPITALS
from geo.engine.aggregate import DEFAULT_DEFICIT_CUTOFF
from geo.engine.mobility import (_ALL_COUNTED, _INDICATORS, _N_CODES, CHANGE_THRESHOLD, CLASS_IMPROVED,
                                 CLASS_UNKNOWN, CLASS_WORSE, _cell_column, _combine, _released_table,
                                 _released_totals, withheld_groups)
from geo.errors import EngineInputError

#: The levels a cube answers.
CUBE_BY: tuple[str, ...] = ("province", "district", "subdistrict")
_PLACES = ("province", "district", "subdistrict")
# Per capital, the measures kept (after "pairs" and "key"), in this order.
_PER_CAPITAL = ("known", "key_known", "sum", "improved", "key_improved", "worse", "key_worse")
#: The measures of each cube row, in the columns of :attr:`PairsCube.measures`.
MEASURES: tuple[str, ...] = ("pairs", "key", *(f"{what}_{c}" for c in CAPITALS for what in _PER_CAPITAL))


@dataclass(frozen=True, eq=False)
class PairsCube:
    """The pairs of two rounds summed by leaf area × transition × pilots (× deficit code).

    Attributes
    ----------
    rows : pandas.DataFrame
        One row per combination that occurs: ``province_code``, ``district_code``,
        ``subdistrict_code`` (categorical, the pairs' own categories), ``level_from`` (``Int8``),
        ``<capital>_from`` (with ``deficit``; float32: ``cutoff - 1`` where the capital is in
        deficit, else NaN),
        ``pilot_from``, ``pilot_to`` (categorical): what the Change page's filter reads.
    place : dict
        Per level of :data:`CUBE_BY`, each row's code position in ``categories[level]`` (-1: none).
    categories : dict
        Per level, the area codes (text, object array), as the plain path's table keys.
    transition : numpy.ndarray
        Each row's transition code (uint8, :func:`geo.engine.mobility.pair_rounds`).
    measures : numpy.ndarray
        float64, rows × :data:`MEASURES` (Fortran order: a measure's column is contiguous): exact
        sums (whole numbers but the change sums).
    years : dict
        ``year_from`` and ``year_to`` of the pairs.
    deficit_cutoff : float
    """

    rows: pd.DataFrame
    place: dict
    categories: dict
    transition: np.ndarray
    measures: np.ndarray
    years: dict
    deficit_cutoff: float
    #: Whether the rows keep the deficit code (and ``<capital>_from``).
    deficit: bool = False
    #: The same sums by leaf × transition only (no ``<capital>_from``, ``pilot_from``,
    #: ``pilot_to`` in its rows; about 20 times fewer rows): for a filter on areas and levels.
    coarse: "PairsCube | None" = None
    #: The same sums by leaf × transition × pilots (no ``<capital>_from`` in its rows; the cube
    #: itself when it has no deficit code): for a filter on pilots but not on capitals in deficit.
    by_pilot: "PairsCube | None" = None
    #: The pairs summed by district × transition × deficit code (no subdistrict, no pilots: its
    #: rows' ``subdistrict_code`` is missing, they have no pilot columns; 45 MB for the national
    #: data's 13.7M pairs): for a filter on capitals in deficit (and areas and levels, not
    #: pilots), by province or district and for the totals (:func:`cube_for_filter`).
    by_deficit: "PairsCube | None" = None

    @property
    def nbytes(self) -> int:
        """Bytes held (the rows frames shallowly), with the coarser sums'."""
        others = sum(c.nbytes for c in (self.coarse, self.by_pilot, self.by_deficit) if c is not None and c is not self)
        return int(others + self.measures.nbytes + self.transition.nbytes + sum(p.nbytes for p in self.place.values())
                   + self.rows.memory_usage(index=False, deep=False).sum())


def _place_codes(pairs: pd.DataFrame, level: str) -> tuple[np.ndarray, pd.CategoricalDtype]:
    column = pairs[f"{level}_code"]
    if not isinstance(column.dtype, pd.CategoricalDtype):  # as mobility_table counts such a column
        column = column.astype("string").astype("category")
    return column.cat.codes.to_numpy().astype(np.int64), column.dtype


def _combined(codes: np.ndarray, n: int, extra: np.ndarray, n_extra: int) -> tuple[np.ndarray, int]:
    """Dense codes of the pairs (code, extra): factorized so that the next step cannot overflow."""
    joined, uniques = pd.factorize(codes * n_extra + extra, sort=False)
    return joined.astype(np.int64), len(uniques)


def build_pairs_cube(pairs: pd.DataFrame, *, res: int | None = None, deficit: bool = False,
                     deficit_cutoff: float = DEFAULT_DEFICIT_CUTOFF) -> PairsCube | PairsH3Cube:
    """Sum ``pairs`` (:func:`geo.engine.mobility.pair_rounds`) by leaf × transition × pilots (×
    deficit code with ``deficit``: up to 32 times the rows, about a third of the pairs in the
    benchmark's uniform scores, so the app does not keep it), with the coarser sums
    (:attr:`PairsCube.coarse`, :attr:`PairsCube.by_pilot`) and, without ``deficit``, the sums by
    district × transition × deficit code (:attr:`PairsCube.by_deficit`); with ``res``, by H3 cell
    at that resolution instead (:class:`PairsH3Cube`; ``deficit`` is not kept there).

    One factorization of the combination codes and one weighted histogram per measure
    (:data:`MEASURES`) over the pairs.

    Raises
    ------
    EngineInputError
        When a column of the pairs is missing (``capital_classes`` among them) or ``res`` is not
        an H3 resolution 5-10.

    Example
    -------
    >>> cube = build_pairs_cube(pairs, res=6)  # doctest: +SKIP
    >>> cube_mobility_table(cube, by="h3", res=6)  # doctest: +SKIP
    """
    if res is not None:
        if deficit:
            raise EngineInputError("deficit=True is not kept by an H3 cube (res given); leave one of them out")
        return _build_h3_cube(pairs, check_resolution(res), max_rows=None)
    check_columns(pairs, "pairs", ("status", "transition", "record_key", "capital_classes", "level_from",
                                   "pilot_from", "pilot_to", *(f"{p}_code" for p in _PLACES),
                                   *(f"{c}_from" for c in CAPITALS), *(f"{c}_change" for c in CAPITALS)))
    fine = _build(pairs, places=_PLACES, deficit=deficit, pilots=True, deficit_cutoff=deficit_cutoff)
    _with_coarse(fine)
    if not deficit:
        object.__setattr__(fine, "by_deficit", _build(pairs, places=_PLACES[:2], deficit=True, pilots=False,
                                                      deficit_cutoff=deficit_cutoff))
    return fine


def _build(pairs: pd.DataFrame, *, places: tuple[str, ...], deficit: bool, pilots: bool,
           deficit_cutoff: float) -> PairsCube:
    """:func:`build_pairs_cube`'s sums by the ``places`` of :data:`_PLACES` (the others left
    missing) × transition (× deficit code) (× pilots)."""
    n = len(pairs)
    dtypes, place_codes = {}, {}
    combo, n_combo = np.zeros(n, dtype=np.int64), 1
    for level in _PLACES:
        codes, dtypes[level] = _place_codes(pairs, level)
        if level not in places:
            codes = np.full(n, -1, dtype=np.int64)
        place_codes[level] = codes
        combo, n_combo = _combined(combo, n_combo, codes + 1, len(dtypes[level].categories) + 1)
    transition = pairs["transition"].to_numpy(dtype=np.uint8)
    combo, n_combo = _combined(combo, n_combo, transition.astype(np.int64), _N_CODES)
    code = np.zeros(n if deficit else 0, dtype=np.int64)
    if deficit:
        for i, capital in enumerate(CAPITALS):
            code |= (pairs[f"{capital}_from"].to_numpy(dtype="float64") < deficit_cutoff).astype(np.int64) << i
        combo, n_combo = _combined(combo, n_combo, code, 1 << len(CAPITALS))
    pilot_codes = {}
    for name in ("pilot_from", "pilot_to") if pilots else ():
        pilot_codes[name] = pairs[name].cat.codes.to_numpy().astype(np.int64)
        combo, n_combo = _combined(combo, n_combo, pilot_codes[name] + 1, len(pairs[name].cat.categories) + 1)
    # Each row's first pair: its representative for the filter's columns.
    first = np.empty(n_combo, dtype=np.int64)
    first[combo[::-1]] = np.arange(n - 1, -1, -1)
    measures = np.empty((n_combo, len(MEASURES)), order="F")
    measures[:, 0] = np.bincount(combo, minlength=n_combo)
    key = pairs["record_key"].to_numpy(dtype=np.uint16).astype(np.float64)
    measures[:, 1] = np.bincount(combo, weights=key, minlength=n_combo)
    classes = pairs["capital_classes"].to_numpy(dtype=np.uint16)
    column = 2
    for i, capital in enumerate(CAPITALS):
        mine = (classes >> (2 * i)) & 3
        known = mine != CLASS_UNKNOWN
        change = pairs[f"{capital}_change"].to_numpy(dtype=np.float32)
        for weights in (known.astype(np.float64), np.where(known, key, 0.0), np.where(known, change, 0.0),
                        (mine == CLASS_IMPROVED).astype(np.float64), np.where(mine == CLASS_IMPROVED, key, 0.0),
                        (mine == CLASS_WORSE).astype(np.float64), np.where(mine == CLASS_WORSE, key, 0.0)):
            measures[:, column] = np.bincount(combo, weights=weights, minlength=n_combo)
            column += 1
    level_from = pairs["level_from"].iloc[first].reset_index(drop=True)
    rows = pd.DataFrame({
        **{f"{level}_code": pd.Categorical.from_codes(place_codes[level][first], dtype=dtypes[level])
           for level in _PLACES},
        "level_from": level_from.astype("Int8"),
        **{f"{c}_from": np.where((code[first] >> i) & 1 == 1, np.float32(deficit_cutoff - 1), np.float32(np.nan))
           for i, c in enumerate(CAPITALS) if deficit},
        **{name: pd.Categorical.from_codes(codes[first], dtype=pairs[name].dtype)
           for name, codes in pilot_codes.items()},
    })
    return PairsCube(
        rows=rows, place={level: place_codes[level][first] for level in _PLACES},
        categories={level: np.asarray(dtypes[level].categories.astype(str), dtype=object) for level in _PLACES},
        transition=transition[first], measures=measures,
        years={"year_from": pairs.attrs.get("year_from"), "year_to": pairs.attrs.get("year_to")},
        deficit_cutoff=float(deficit_cutoff), deficit=bool(deficit))


def _summed(fine: PairsCube, *, pilots: bool) -> PairsCube:
    """``fine``'s rows summed by leaf × transition (× pilots when ``pilots``): no deficit code."""
    n = len(fine.rows)
    combo, n_combo = np.zeros(n, dtype=np.int64), 1
    for level in _PLACES:
        combo, n_combo = _combined(combo, n_combo, fine.place[level] + 1, fine.categories[level].size + 1)
    combo, n_combo = _combined(combo, n_combo, fine.transition.astype(np.int64), _N_CODES)
    kept = [f"{level}_code" for level in _PLACES] + ["level_from"]
    if pilots:
        for name in ("pilot_from", "pilot_to"):
            codes = fine.rows[name].cat.codes.to_numpy().astype(np.int64)
            combo, n_combo = _combined(combo, n_combo, codes + 1, len(fine.rows[name].cat.categories) + 1)
        kept += ["pilot_from", "pilot_to"]
    first = np.empty(n_combo, dtype=np.int64)
    first[combo[::-1]] = np.arange(n - 1, -1, -1)
    measures = np.asfortranarray(np.column_stack([np.bincount(combo, weights=fine.measures[:, j], minlength=n_combo)
                                                  for j in range(len(MEASURES))]))
    return PairsCube(rows=fine.rows[kept].iloc[first].reset_index(drop=True),
                     place={level: codes[first] for level, codes in fine.place.items()},
                     categories=fine.categories, transition=fine.transition[first], measures=measures,
                     years=fine.years, deficit_cutoff=fine.deficit_cutoff, deficit=False)


def _with_coarse(fine: PairsCube) -> PairsCube:
    """``fine`` holding its rows summed by leaf × transition (:attr:`PairsCube.coarse`) and by
    leaf × transition × pilots (:attr:`PairsCube.by_pilot`)."""
    object.__setattr__(fine, "coarse", _summed(fine, pilots=False))
    object.__setattr__(fine, "by_pilot", _summed(fine, pilots=True) if fine.deficit else fine)
    return fine


def cube_for_filter(cube: PairsCube, *, deficit: bool, pilots: bool, by: str | None = None) -> PairsCube | None:
    """The smallest of ``cube``'s sums whose rows a filter on capitals in deficit (``deficit``)
    and on pilots (``pilots``) can select, for tables ``by`` that level (None: the totals only):
    the full rows, by pilot, or by leaf × transition; for capitals in deficit, the full rows when
    they keep the deficit code, else the sums by district × deficit code
    (:attr:`PairsCube.by_deficit`) for province and district tables without a pilot filter;
    ``None`` (the plain path) otherwise."""
    if deficit:
        if cube.deficit:
            return cube
        if cube.by_deficit is not None and not pilots and by in (None, "province", "district"):
            return cube.by_deficit
        return None
    if cube.coarse is None:
        return cube
    return cube.by_pilot if pilots else cube.coarse


_CUBES: dict[int, tuple[weakref.ref, PairsCube]] = {}
_LOCK = threading.Lock()


def pairs_cube_for(pairs: pd.DataFrame) -> PairsCube:
    """The cube of ``pairs``, built on first use and kept while the frame lives (thread-safe)."""
    with _LOCK:
        held = _CUBES.get(id(pairs))
        if held is not None and held[0]() is pairs:
            return held[1]
        cube = build_pairs_cube(pairs)
        _CUBES[id(pairs)] = (weakref.ref(pairs), cube)
        weakref.finalize(pairs, _CUBES.pop, id(pairs), None)
        return cube


def register_pairs_cube(pairs: pd.DataFrame, cube: PairsCube) -> None:
    """Make ``cube`` the cube :func:`pairs_cube_for` returns for ``pairs`` (a persisted cube read
    back with its pairs, :func:`geo.engine.persist.read_pairs`)."""
    with _LOCK:
        _CUBES[id(pairs)] = (weakref.ref(pairs), cube)
        weakref.finalize(pairs, _CUBES.pop, id(pairs), None)


def answers(by: str, change_threshold: float = CHANGE_THRESHOLD) -> bool:
    """True when the area cube answers a table ``by`` this level at this threshold (admin levels,
    the default threshold; H3 maps: :func:`h3_cube_for`); otherwise use
    :func:`geo.engine.mobility.mobility_table`."""
    return by in CUBE_BY and float(change_threshold) == CHANGE_THRESHOLD


def _check_release_args(change_threshold: float, min_count: int) -> tuple[float, int]:
    return (check_float(change_threshold, "change_threshold", minimum=0.01, maximum=3.0),
            check_int(min_count, "min_count", minimum=1))


def _row_selection(cube: PairsCube, mask: object) -> np.ndarray | None:
    if mask is None:
        return None
    selected = np.asarray(mask)
    if selected.dtype != bool or selected.shape != (len(cube.rows),):
        raise EngineInputError(f"mask must be a boolean array of one value per cube row ({len(cube.rows)}), "
                               f"got {selected.dtype} of shape {selected.shape}")
    return selected


def _cube_sums(cube: PairsCube, rows: np.ndarray | None, group: np.ndarray, n_groups: int) -> dict[str, np.ndarray]:
    """:func:`geo.engine.mobility._sums`' figures per group from the cube's ``rows``."""
    def column(j: int) -> np.ndarray:  # measures are kept column by column (Fortran order)
        return cube.measures[:, j] if rows is None else cube.measures[:, j][rows]

    code = cube.transition if rows is None else cube.transition[rows]
    present = np.bincount(code, minlength=_N_CODES) > 0
    dense = (np.cumsum(present) - 1).astype(np.int64)
    n_codes = int(present.sum())
    flat = dense[code] * n_groups + group
    size = n_codes * n_groups
    counts = np.bincount(flat, weights=column(0), minlength=size).reshape(n_codes, n_groups)
    keys = np.bincount(flat, weights=column(1), minlength=size).reshape(n_codes, n_groups)
    by_count, by_key = _combine(counts, _INDICATORS[present]), _combine(keys, _INDICATORS[present])
    out: dict[str, np.ndarray] = {}
    for j, name in enumerate(_ALL_COUNTED):
        out[name], out[f"key_{name}"] = by_count[j], by_key[j]
    if n_groups == 1:  # totals: one sum per measure
        picked = cube.measures if rows is None else cube.measures[rows]
        per = dict(zip(MEASURES, picked.sum(axis=0)[:, None]))
    else:
        per = {name: np.bincount(group, weights=column(j), minlength=n_groups)
               for j, name in enumerate(MEASURES) if j >= 2}
    for capital in CAPITALS:
        known, key_known = per[f"known_{capital}"], per[f"key_known_{capital}"]
        out[f"sum_{capital}"] = per[f"sum_{capital}"]
        out[f"known_{capital}"], out[f"key_known_{capital}"] = known, key_known
        for what in ("improved", "worse"):
            out[f"{capital}_{what}"] = per[f"{what}_{capital}"]
            out[f"key_{capital}_{what}"] = per[f"key_{what}_{capital}"]
        out[f"{capital}_same"] = known - out[f"{capital}_improved"] - out[f"{capital}_worse"]
        out[f"key_{capital}_same"] = key_known - out[f"key_{capital}_improved"] - out[f"key_{capital}_worse"]
    return out


def cube_mobility_table(cube: PairsCube | PairsH3Cube, *, by: str, res: int | None = None,
                        change_threshold: float = CHANGE_THRESHOLD, exact: bool = False, min_count: int = 10,
                        mask: object = None) -> pd.DataFrame | None:
    """:func:`geo.engine.mobility.mobility_table` from the cube, or ``None`` when the cube cannot
    answer (:func:`answers`: another threshold; an area cube on H3, an H3 cube by area).

    ``mask`` selects the cube's rows (e.g. :func:`geo.views.change.pairs_mask` of
    :attr:`PairsCube.rows`), as the plain path's selects pairs. Same table, columns, dtypes and
    ``attrs`` as the plain path's for the pairs those rows hold; mean changes equal to float rounding.
    An H3 cube (:class:`PairsH3Cube`) answers ``by="h3"`` at its own resolution (``res`` may be
    left out; another one is an error).
    """
    if isinstance(cube, PairsH3Cube):
        if by != "h3" or float(change_threshold) != CHANGE_THRESHOLD:
            return None
        return _h3_table(cube, res=res, change_threshold=change_threshold, exact=exact, min_count=min_count,
                         mask=mask)
    if not answers(by if by in CUBE_BY else "h3", change_threshold):
        return None
    threshold, k = _check_release_args(change_threshold, min_count)
    selected = _row_selection(cube, mask)
    codes = cube.place[by]
    keep = codes >= 0 if selected is None else selected & (codes >= 0)
    rows = None if keep.all() else np.flatnonzero(keep)
    group = codes if rows is None else codes[rows]
    n_groups = cube.categories[by].size
    households = np.bincount(group, weights=cube.measures[:, 0] if rows is None else cube.measures[:, 0][rows],
                             minlength=n_groups)
    present = households > 0
    dense = (np.cumsum(present) - 1).astype(np.int64)
    sums = _cube_sums(cube, rows, dense[group], int(present.sum()))
    return _released_table(sums, "code", cube.categories[by][present], by=by, res=None, k=k, exact=exact,
                           threshold=threshold, years=cube.years)


def cube_mobility_totals(cube: PairsCube, *, change_threshold: float = CHANGE_THRESHOLD, exact: bool = False,
                         min_count: int = 10, mask: object = None) -> pd.Series | None:
    """:func:`geo.engine.mobility.mobility_totals` from the cube (``None`` at another threshold)."""
    if not answers("province", change_threshold):
        return None
    threshold, k = _check_release_args(change_threshold, min_count)
    selected = _row_selection(cube, mask)
    rows = None if selected is None else np.flatnonzero(selected)
    n = len(cube.rows) if rows is None else rows.size
    sums = _cube_sums(cube, rows, np.zeros(n, dtype=np.int64), 1)
    return _released_totals(sums, k=k, exact=exact, threshold=threshold, years=cube.years)


# ---------------------------------------------------------------------------------------------
# H3 cells
# ---------------------------------------------------------------------------------------------

#: An H3 cube is kept (:func:`h3_cube_for`) only when it has fewer transition rows than this
#: share of the pairs; at a finer resolution nearly every pair is a row of its own and the plain
#: path is as fast, holding nothing.
H3_CUBE_MAX_SHARE = 0.25
# The areas an H3 cube keeps (the Change map's filters and scope select provinces and districts).
_H3_PLACES = ("province", "district")
# Per capital, the counts and record-key sums an H3 cube keeps, in this order.
_H3_CLASSES = ("known", "improved", "worse")


@dataclass(frozen=True, eq=False)
class PairsH3Cube:
    """The pairs of two rounds summed by H3 cell at one resolution, in two layers.

    Each pair with a position is counted in the cell containing its placed position at ``res``
    (the pairs' ``cell_<res>``: exactly the plain path's cells). A cell may straddle areas, so the
    rows are by cell × province × district × earlier level × pilots (the combinations that
    occur): a filter on provinces, districts (and the map's scope, a province or a district),
    levels and pilots selects whole rows, exactly. Capitals in deficit and subdistricts are not
    kept (the plain path answers them).

    Attributes
    ----------
    rows : pandas.DataFrame
        ``province_code``, ``district_code``, ``level_from`` (``Int8``), ``pilot_from``,
        ``pilot_to``: what :func:`geo.views.change.pairs_mask` reads, one value per row.
    res : int
    cell : numpy.ndarray
        int32: each row's position in ``cells``.
    cells : numpy.ndarray
        uint64 H3 cells (the pairs' ``cell_<res>`` categories, the plain path's table keys).
    counts, keys : numpy.ndarray
        Per row and capital (Fortran order, column ``3 * i + j`` for capital ``i`` and ``j`` in
        known / improved / worse at the default threshold): pairs and their record-key sums, each
        array in the narrowest of uint16, uint32 and int64 that holds it.
    sums : numpy.ndarray
        float64, per row and capital: the sum of the known changes.
    parent, transition, pairs, key : numpy.ndarray
        The transition rows: each one's row in ``rows`` (int32), its transition code (uint8),
        pairs and record-key sum (uint16, uint32 or int64, as narrow as they fit).
    years : dict
    """

    rows: pd.DataFrame
    res: int
    cell: np.ndarray
    cells: np.ndarray
    counts: np.ndarray
    keys: np.ndarray
    sums: np.ndarray
    parent: np.ndarray
    transition: np.ndarray
    pairs: np.ndarray
    key: np.ndarray
    years: dict

    @property
    def nbytes(self) -> int:
        """Bytes held (the rows frame shallowly)."""
        arrays = (self.cell, self.cells, self.counts, self.keys, self.sums, self.parent, self.transition, self.pairs,
                  self.key)
        return int(sum(a.nbytes for a in arrays) + self.rows.memory_usage(index=False, deep=False).sum())


def _whole(sums: np.ndarray) -> np.ndarray:
    """Whole-number sums (non-negative, from a histogram) in the narrowest of uint16, uint32 and
    int64 that holds every one (Fortran order kept)."""
    top = sums.max() if sums.size else 0
    return sums.astype(np.uint16 if top < 2 ** 16 else np.uint32 if top < 2 ** 32 else np.int64, order="K")


def _first_of(combo: np.ndarray, n_combo: int) -> np.ndarray:
    """Each combination's first position in ``combo``."""
    first = np.empty(n_combo, dtype=np.int64)
    first[combo[::-1]] = np.arange(combo.size - 1, -1, -1)
    return first


def _build_h3_cube(pairs: pd.DataFrame, res: int, *, max_rows: int | None) -> PairsH3Cube | None:
    """:func:`build_pairs_cube` with ``res``; ``None`` as soon as it is known to have
    ``max_rows`` transition rows or more (when given)."""
    check_columns(pairs, "pairs", ("transition", "record_key", "capital_classes", "level_from", "pilot_from",
                                   "pilot_to", *(f"{p}_code" for p in _H3_PLACES),
                                   *(f"{c}_change" for c in CAPITALS)))
    column = _cell_column(pairs, res)
    cells = column.cat.categories.to_numpy(dtype=np.uint64)
    if max_rows is not None and len(cells) >= max_rows:  # at least a row per cell
        return None
    codes = column.cat.codes.to_numpy()
    placed = None if (codes >= 0).all() else np.flatnonzero(codes >= 0)  # pairs without a position: left out

    def take(values: np.ndarray) -> np.ndarray:
        return values if placed is None else values[placed]

    cell = take(codes).astype(np.int64)
    transition = take(pairs["transition"].to_numpy(dtype=np.uint8))
    if max_rows is not None and _combined(cell, len(cells), transition.astype(np.int64), _N_CODES)[1] >= max_rows:
        return None  # cell x transition alone has too many rows
    combo, n_combo = cell, len(cells)
    place_codes, dtypes = {}, {}
    for level in _H3_PLACES:
        place_codes[level], dtypes[level] = _place_codes(pairs, level)
        combo, n_combo = _combined(combo, n_combo, take(place_codes[level]) + 1, len(dtypes[level].categories) + 1)
    levels = pairs["level_from"].array
    level_codes, level_values = pd.factorize(levels if placed is None else levels[placed])
    combo, n_combo = _combined(combo, n_combo, level_codes.astype(np.int64) + 1, len(level_values) + 1)
    for name in ("pilot_from", "pilot_to"):
        combo, n_combo = _combined(combo, n_combo, take(pairs[name].cat.codes.to_numpy()).astype(np.int64) + 1,
                                   len(pairs[name].cat.categories) + 1)
    by_transition, n_transitions = _combined(combo, n_combo, transition.astype(np.int64), _N_CODES)
    if max_rows is not None and n_transitions >= max_rows:
        return None
    key = take(pairs["record_key"].to_numpy(dtype=np.uint16)).astype(np.float64)
    first_t = _first_of(by_transition, n_transitions)
    first = _first_of(combo, n_combo)
    parent, transition_rows = combo[first_t].astype(np.int32), transition[first_t]
    pairs_t = _whole(np.bincount(by_transition, minlength=n_transitions))
    key_t = _whole(np.bincount(by_transition, weights=key, minlength=n_transitions))
    del by_transition
    classes = take(pairs["capital_classes"].to_numpy(dtype=np.uint16))
    counts = np.empty((n_combo, 3 * len(CAPITALS)), dtype=np.int64, order="F")
    keys = np.empty((n_combo, 3 * len(CAPITALS)), order="F")
    sums = np.empty((n_combo, len(CAPITALS)), order="F")
    for i, capital in enumerate(CAPITALS):
        mine = (classes >> (2 * i)) & 3
        flat = combo * 4 + mine
        # One histogram of row x class per capital: unknown, worse, same, improved.
        by_class = np.bincount(flat, minlength=4 * n_combo).reshape(n_combo, 4)
        key_class = np.bincount(flat, weights=key, minlength=4 * n_combo).reshape(n_combo, 4)
        for j, picked in enumerate(((1, 2, 3), (CLASS_IMPROVED,), (CLASS_WORSE,))):
            counts[:, 3 * i + j] = by_class[:, list(picked)].sum(axis=1)
            keys[:, 3 * i + j] = key_class[:, list(picked)].sum(axis=1)
        change = take(pairs[f"{capital}_change"].to_numpy(dtype=np.float32))
        sums[:, i] = np.bincount(combo, weights=np.where(mine != CLASS_UNKNOWN, change, 0.0), minlength=n_combo)
    at = first if placed is None else placed[first]
    rows = pd.DataFrame({
        **{f"{level}_code": pd.Categorical.from_codes(place_codes[level][at], dtype=dtypes[level])
           for level in _H3_PLACES},
        "level_from": pairs["level_from"].iloc[at].reset_index(drop=True).astype("Int8"),
        **{name: pd.Categorical.from_codes(pairs[name].cat.codes.to_numpy()[at], dtype=pairs[name].dtype)
           for name in ("pilot_from", "pilot_to")},
    })
    return PairsH3Cube(rows=rows, res=res, cell=cell[first].astype(np.int32), cells=cells, counts=_whole(counts),
                       keys=_whole(keys), sums=sums, parent=parent, transition=transition_rows,
                       pairs=pairs_t, key=key_t,
                       years={"year_from": pairs.attrs.get("year_from"), "year_to": pairs.attrs.get("year_to")})


_H3_CUBES: dict[int, tuple[weakref.ref, dict[int, PairsH3Cube | None]]] = {}
_H3_LOCK = threading.Lock()


def h3_cube_for(pairs: pd.DataFrame, res: int) -> PairsH3Cube | None:
    """The H3 cube of ``pairs`` at ``res``, built on first use and kept while the frame lives
    (thread-safe); ``None`` (the plain path) when it would have as many transition rows as
    :data:`H3_CUBE_MAX_SHARE` of the pairs (a fine resolution: no faster, and memory held),
    which is remembered too."""
    res = check_resolution(res)
    with _H3_LOCK:
        held = _h3_held(pairs)
        if res not in held:
            held[res] = _build_h3_cube(pairs, res, max_rows=max(1, int(H3_CUBE_MAX_SHARE * len(pairs))))
        return held[res]


def _h3_held(pairs: pd.DataFrame) -> dict[int, PairsH3Cube | None]:
    """The H3 cubes kept for ``pairs`` by resolution (call with :data:`_H3_LOCK` held)."""
    held = _H3_CUBES.get(id(pairs))
    if held is None or held[0]() is not pairs:
        held = (weakref.ref(pairs), {})
        _H3_CUBES[id(pairs)] = held
        weakref.finalize(pairs, _H3_CUBES.pop, id(pairs), None)
    return held[1]


def register_h3_cube(pairs: pd.DataFrame, res: int, cube: PairsH3Cube | None) -> None:
    """Make ``cube`` what :func:`h3_cube_for` returns for ``pairs`` at ``res`` (``None``: the plain
    path, not tried again): a persisted H3 cube read back with its pairs
    (:func:`geo.engine.persist.read_pairs`)."""
    res = check_resolution(res)
    with _H3_LOCK:
        _h3_held(pairs)[res] = cube


def _h3_selected(cube: PairsH3Cube, mask: object) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The rows and the transition rows a mask over :attr:`PairsH3Cube.rows` selects (``None``: all)."""
    selected = _row_selection(cube, mask)
    if selected is None:
        return None, None
    return np.flatnonzero(selected), np.flatnonzero(selected[cube.parent])


def _h3_households(cube: PairsH3Cube, transitions: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(each selected transition row's cell, households and record-key sums per cell)."""
    parent = cube.parent if transitions is None else cube.parent[transitions]
    group = cube.cell[parent]
    n = cube.cells.size
    households = np.bincount(group, weights=cube.pairs if transitions is None else cube.pairs[transitions],
                             minlength=n)
    keys = np.bincount(group, weights=cube.key if transitions is None else cube.key[transitions], minlength=n)
    return group, households, keys


def _h3_shown(households: np.ndarray, keys: np.ndarray, *, exact: bool, k: int) -> tuple[np.ndarray, int]:
    """The cells a table holds, and how many the public release withholds (left out before
    counting, as the plain path does on a fine resolution: the same test on the same sums)."""
    present = households > 0
    if exact:
        return present, 0
    withheld = withheld_groups(households, keys, k)
    return present & ~withheld, int(withheld.sum())


def _h3_table(cube: PairsH3Cube, *, res: int | None, change_threshold: float, exact: bool, min_count: int,
              mask: object) -> pd.DataFrame:
    threshold, k = _check_release_args(change_threshold, min_count)
    if res is not None and check_resolution(res) != cube.res:
        raise EngineInputError(f"res must be the H3 cube's resolution {cube.res}, got {res}")
    rows, transitions = _h3_selected(cube, mask)
    group_t, households, keys = _h3_households(cube, transitions)
    shown, withheld_before = _h3_shown(households, keys, exact=exact, k=k)
    n_groups = int(shown.sum())
    # The rows of cells not shown are summed into one more group, dropped (cheaper than gathering
    # the rest of the rows' measures).
    slot = np.where(shown, np.cumsum(shown) - 1, n_groups).astype(np.int64)
    group = cube.cell if rows is None else cube.cell[rows]
    sums = _h3_sums(cube, transitions, slot[group_t], rows, slot[group], n_groups)
    return _released_table(sums, "h3_cell", cube.cells[shown], by="h3", res=cube.res, k=k, exact=exact,
                           threshold=threshold, years=cube.years, withheld_before=withheld_before)


def _h3_sums(cube: PairsH3Cube, transitions: np.ndarray | None, group_t: np.ndarray, rows: np.ndarray | None,
             group: np.ndarray, n_groups: int) -> dict[str, np.ndarray]:
    """:func:`geo.engine.mobility._sums`' figures per cell: the counts from the transition rows,
    the capitals' from the rows. A group ``n_groups`` (rows of cells not shown) is summed and dropped."""
    def pick(values: np.ndarray, which: np.ndarray | None) -> np.ndarray:
        return values if which is None else values[which]

    def summed(values: np.ndarray) -> np.ndarray:
        return np.bincount(group, weights=pick(values, rows), minlength=n_groups + 1)[:n_groups]

    code = pick(cube.transition, transitions)
    present = np.bincount(code, minlength=_N_CODES) > 0
    n_codes = int(present.sum())
    flat = (np.cumsum(present) - 1)[code] * (n_groups + 1) + group_t
    size = n_codes * (n_groups + 1)
    counts = np.bincount(flat, weights=pick(cube.pairs, transitions), minlength=size).reshape(n_codes, n_groups + 1)
    keys = np.bincount(flat, weights=pick(cube.key, transitions), minlength=size).reshape(n_codes, n_groups + 1)
    by_count = _combine(counts[:, :n_groups], _INDICATORS[present])
    by_key = _combine(keys[:, :n_groups], _INDICATORS[present])
    out: dict[str, np.ndarray] = {}
    for j, name in enumerate(_ALL_COUNTED):
        out[name], out[f"key_{name}"] = by_count[j], by_key[j]
    for i, capital in enumerate(CAPITALS):
        per = {}
        for j, what in enumerate(_H3_CLASSES):
            per[what], per[f"key_{what}"] = summed(cube.counts[:, 3 * i + j]), summed(cube.keys[:, 3 * i + j])
        out[f"sum_{capital}"] = summed(cube.sums[:, i])
        out[f"known_{capital}"], out[f"key_known_{capital}"] = per["known"], per["key_known"]
        for what in ("improved", "worse"):
            out[f"{capital}_{what}"], out[f"key_{capital}_{what}"] = per[what], per[f"key_{what}"]
        out[f"{capital}_same"] = per["known"] - per["improved"] - per["worse"]
        out[f"key_{capital}_same"] = per["key_known"] - per["key_improved"] - per["key_worse"]
    return out


def cube_released_cell_count(cube: PairsH3Cube, *, exact: bool = False, min_count: int = 10,
                             mask: object = None) -> int:
    """How many rows :func:`cube_mobility_table` of the H3 cube would give (the cells the release
    shows; every cell holding a pair in the exact release), from two histograms over the
    transition rows: the Change map picks its resolution with it (at most
    :data:`geo.views.mapview.MAX_CELLS` cells) before making one table.

    Raises
    ------
    EngineInputError
        For ``min_count`` below 1 or a mask of the wrong shape.
    """
    k = check_int(min_count, "min_count", minimum=1)
    _, transitions = _h3_selected(cube, mask)
    _, households, keys = _h3_households(cube, transitions)
    return int(_h3_shown(households, keys, exact=exact, k=k)[0].sum())
