"""Precomputed sums by area × household profile × capital deficits: admin-area aggregates
without a pass over every household.

On national data (13 million households) one :func:`geo.engine.aggregate.aggregate` with a filter takes
1–2 s: the filter's mask is built over every household and every array the sums need is cut by
it. But the sidebar's filters — area (province, district, subdistrict), household level, TPMAP
status, field verification, assistance status, capitals in deficit and pilots — only ever pick
whole *leaves* (one province / district / subdistrict triple, res-5 hexagon and pilot), whole *profiles*
(the engine's packed level × assistance × TPMAP × verified code, 80 values) and whole *deficit
codes* (which of the five capitals score below the default cutoff, 32 values). So
:class:`ProfileCube` sums every household once by leaf × profile × deficit code, keeping only the
combinations that occur (about 2.4 million at 13 million households): households, members,
capital scores and deprivations; the deficit and Alkire-Foster counts follow from the code. An
aggregate for such a filter is then a few histograms over the kept combinations; when it selects
most of them (the whole country, "in no pilot"), the histograms of every combination, kept once
per level, minus those of the combinations left out.

District and province maps, top 10s and headlines are asked for most, so the cube also sums its
rows once more, at build time, by district × profile into a dense array (:attr:`ProfileCube.district_sums`,
80 profiles × 36 measures per district, 21 MB for Thailand's 928 districts whatever the number of
households), the deficit codes already turned into the counts they give. A district or province
answer for a filter on levels, assistance, TPMAP, verification, provinces or districts is then a
gather of the selected profiles and a sum: no pass over households or over the cube's rows.
Filters on capitals in deficit or pilots, and subdistrict and H3 answers, use the rows. Most of
a gather of rows is their 17 summed fields, so a whole-country answer filtered only on capitals in
deficit (province, district, H3), or only on profiles (H3), takes its fields from sums kept per
area and deficit code or profile (computed once per level, a few to 21 MB) and gathers only the
histograms.

:func:`cube_aggregate` keeps its few most recent answers per cube and returns copies: one Overview
rerun asks the same question twice (the H3 map's headline and its area table).

:func:`cube_aggregate` returns the same table as :func:`geo.engine.aggregate.aggregate` (same columns,
dtypes and attributes; floats equal to rounding) or ``None`` when the filter needs households the
cube does not keep apart (a non-default deficit cutoff), so callers fall back to the
engine. The cube of an index is built on first use and kept while the index lives (figures in
docs/SCALE.md). Pure numpy: no Streamlit.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.engine.aggregate import (
    DEFAULT_DEFICIT_CUTOFF,
    DEFAULT_K_DEPRIVATIONS,
    ROLLUP_FLOOR_RES,
    HouseholdIndex,
    _key_rows,  # the one mapping of cell-key sums to raw rows, shared with the engine
    exact_cells,
    metrics_from_sums,
)
from geo.engine.codes import BITS, N_ASSIST, N_LEVELS, N_PROFILES, POPCOUNT, PROFILE_TABLE
from geo.engine.h3index import cells_resolution
from geo.data.areas import AREA_LEVEL_BY_WIDTH, AREA_WIDTH_BY_LEVEL
from geo.data.contract import ASSISTANCE_STATUSES, CAPITALS
from geo.engine.filters import NO_PILOT, HouseholdFilter, deficit_codes_kept, profiles_kept
from geo.errors import EngineInputError

#: Levels the cube answers: the admin levels, and H3 at :data:`CUBE_H3_RES`.
CUBE_LEVELS: tuple[str, ...] = ("province", "district", "subdistrict", "h3")
#: The H3 resolution the cube keeps: the engine's roll-up floor, so cells there never merge and an
#: H3 aggregate at this resolution is a plain sum by cell (the whole country's automatic map).
CUBE_H3_RES = ROLLUP_FLOOR_RES
_N_CAPS = len(CAPITALS)
# Field columns of ProfileCube.sums: members, capital sums (5), deprivation bits (5), record keys
# (geo.engine.cellkey) and record keys x deprivation bits (5). The deficit counts (and the Alkire-Foster
# ones), and their cell keys, follow from the deficit code, a key of the cube.
_MEMBERS, _CAPS, _DEP, _KEY, _KEY_DEP = 0, 1, 6, 11, 12
_N_FIELDS = 17
#: Above this share of the cube's rows selected, an answer is the sums of every row (kept per cube
#: and grouping, :func:`_all_rows_sums`) minus the unselected rows' sums, instead of a gather of
#: the selected rows.
_DENSE_SHARE = 0.5
_POOR = (POPCOUNT >= DEFAULT_K_DEPRIVATIONS).astype(np.float64)
#: Per deficit code: the five deficit bits, the five censored bits (poor only), poor, poor x count
#: (the table ``geo.engine.aggregate`` builds per call, at the default ``k_deprivations``).
_DEFICIT_TABLE = np.column_stack([BITS, BITS * _POOR[:, None], _POOR, _POOR * POPCOUNT])
#: Per deficit code: the five deficit bits and poor, the counts whose record keys are summed
#: (as :func:`geo.engine.aggregate.key_sums_from_histograms` does).
_KEY_DEFICIT_TABLE = np.column_stack([BITS, _POOR])
# Measures of ProfileCube.district_sums, per district and profile: the 17 fields of ProfileCube.sums,
# households, the households' deficit codes through _DEFICIT_TABLE (12) and their record keys
# through _KEY_DEFICIT_TABLE (6).
_D_HOUSEHOLDS = _N_FIELDS
_D_DEFICITS = _D_HOUSEHOLDS + 1
_D_KEY_DEFICITS = _D_DEFICITS + _DEFICIT_TABLE.shape[1]
_N_DISTRICT_MEASURES = _D_KEY_DEFICITS + _KEY_DEFICIT_TABLE.shape[1]


@dataclass(frozen=True, eq=False)
class ProfileCube:
    """Every household summed once by leaf (province, district, subdistrict) × profile × deficit
    code, keeping only the combinations that hold households (about 2.4 million at 13 million
    households, 368 MB on disk with the district sums).

    Attributes
    ----------
    leaf_province, leaf_district, leaf_subdistrict : numpy.ndarray
        Per leaf, the index into the index's ``*_codes`` (subdistrict -1 when missing).
    leaf_cell : numpy.ndarray
        Per leaf, its H3 cell at :data:`CUBE_H3_RES` (uint64; 0 for households without a position):
        a leaf is an admin triple *and* a coarse hexagon, so whole-country H3 maps are answered too.
    leaf_pilot : numpy.ndarray
        Per leaf, the index into the index's ``pilot_ids`` of its households' pilot, -1 for none:
        the pilot filter picks whole leaves too.
    row_leaf, row_profile, row_deficit : numpy.ndarray
        Per row (combination): its leaf, profile (0-79) and deficit code (0-31, bit j = capital j
        below the default cutoff).
    households : numpy.ndarray
        Per row: households (int64).
    sums : numpy.ndarray
        (17, rows) float64, one contiguous array per field: members, the five capital scores,
        the five deprivation bits, the record keys (:mod:`geo.engine.cellkey`) and the record keys of the
        households with each deprivation.
    slot_province, slot_district : numpy.ndarray
        Per *slot* (a province and district pair that holds households, sorted), the index into
        the index's ``province_codes`` and ``district_codes``.
    district_sums : numpy.ndarray
        (80, 36, slots) float64: per profile, measure and slot, the sum over the slot's rows of
        that profile (every deficit code): the 17 fields of ``sums``, households, the households'
        deficit codes through the deficit table (deficit and censored per capital, poor, poor ×
        deprivations) and their record keys (deficit per capital, poor). A district or province
        answer that picks whole profiles and slots is a gather and a sum of this array.
    """

    leaf_province: np.ndarray
    leaf_district: np.ndarray
    leaf_subdistrict: np.ndarray
    leaf_cell: np.ndarray
    leaf_pilot: np.ndarray
    row_leaf: np.ndarray
    row_profile: np.ndarray
    row_deficit: np.ndarray
    households: np.ndarray
    sums: np.ndarray
    slot_province: np.ndarray
    slot_district: np.ndarray
    district_sums: np.ndarray

    @property
    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in (self.row_leaf, self.row_profile, self.row_deficit, self.households,
                                           self.sums, self.district_sums)))


def build_cube(index: HouseholdIndex) -> ProfileCube:
    """Sum every household of ``index`` into a :class:`ProfileCube` (a sort and one pass per field)."""
    triples = (index.province.astype(np.int64) * 65536 + index.district.astype(np.int64)) * 1_048_576 \
        + (index.subdistrict.astype(np.int64) + 1)
    coarse = exact_cells(index, CUBE_H3_RES)  # the cell containing each household (h3.latlng_to_cell)
    coarse_codes, coarse_of = np.unique(coarse, return_inverse=True)
    del coarse
    pairs = triples * np.int64(coarse_codes.size) + coarse_of.astype(np.int64)
    del triples, coarse_of
    place_keys, place_of = np.unique(pairs, return_inverse=True)
    del pairs
    # A leaf is a place (admin triple and coarse hexagon) and a pilot (0 = none, else 1 + the
    # index into pilot_ids): few households are in pilots, so few places split.
    n_pilots = np.int64(index.pilot_ids.size + 1)
    leaf_keys, leaf_of = np.unique(place_of.astype(np.int64) * n_pilots + (index.pilot.astype(np.int64) + 1),
                                   return_inverse=True)
    del place_of
    place_keys = place_keys[leaf_keys // n_pilots]
    leaves = place_keys // np.int64(coarse_codes.size)
    key = (leaf_of.astype(np.int64) * N_PROFILES + index.profile.astype(np.int64)) * 32 \
        + index.deficit_mask.astype(np.int64)
    del leaf_of
    combos, row_of = np.unique(key, return_inverse=True)
    del key
    size = combos.size

    def total(weights: np.ndarray) -> np.ndarray:
        return np.bincount(row_of, weights=weights, minlength=size)

    sums = np.empty((_N_FIELDS, size), dtype=np.float64)
    sums[_MEMBERS] = total(index.members.astype(np.float64))
    record_key = index.record_key.astype(np.float64)
    sums[_KEY] = total(record_key)
    for j in range(_N_CAPS):
        sums[_CAPS + j] = total(np.asarray(index.capitals[j], dtype=np.float64))
        dep = ((index.deprivation_mask >> j) & 1).astype(np.float64)
        sums[_DEP + j] = total(dep)
        sums[_KEY_DEP + j] = total(dep * record_key)
    rows = {
        "leaf_province": (leaves // (1_048_576 * 65536)).astype(np.int64),
        "leaf_district": ((leaves // 1_048_576) % 65536).astype(np.int64),
        "leaf_subdistrict": (leaves % 1_048_576 - 1).astype(np.int64),
        "leaf_cell": coarse_codes[place_keys % np.int64(coarse_codes.size)],
        "leaf_pilot": (leaf_keys % n_pilots - 1).astype(np.int32),
        "row_leaf": (combos // (N_PROFILES * 32)).astype(np.int32),
        "row_profile": ((combos // 32) % N_PROFILES).astype(np.int16),
        "row_deficit": (combos % 32).astype(np.int16),
        "households": np.bincount(row_of, minlength=size).astype(np.int64),
        "sums": sums,
    }
    return ProfileCube(**rows, **sum_districts(**rows))


def sum_districts(*, leaf_province: np.ndarray, leaf_district: np.ndarray, row_leaf: np.ndarray,
                  row_profile: np.ndarray, row_deficit: np.ndarray, households: np.ndarray, sums: np.ndarray,
                  **_other_rows: np.ndarray) -> dict[str, np.ndarray]:
    """The dense district arrays of a :class:`ProfileCube` (``slot_province``, ``slot_district``,
    ``district_sums``) from its rows: one pass over the rows, never over households."""
    slot_keys, slot_of_leaf = np.unique(leaf_province.astype(np.int64) * 65536 + leaf_district, return_inverse=True)
    n_slots = slot_keys.size
    cell = row_profile.astype(np.int64) * n_slots + slot_of_leaf.reshape(-1)[row_leaf]  # (profile, slot)
    n_cells = N_PROFILES * n_slots
    out = np.empty((N_PROFILES, _N_DISTRICT_MEASURES, n_slots), dtype=np.float64)

    def total(weights: np.ndarray) -> np.ndarray:
        return np.bincount(cell, weights=weights, minlength=n_cells).reshape(N_PROFILES, n_slots)

    def through(table: np.ndarray, weights: np.ndarray) -> np.ndarray:  # -> (profiles, table columns, slots)
        hist = np.bincount(cell * 32 + row_deficit, weights=weights, minlength=n_cells * 32).reshape(n_cells, 32)
        return (hist @ table).reshape(N_PROFILES, n_slots, table.shape[1]).transpose(0, 2, 1)  # also with no slot

    for j in range(_N_FIELDS):
        out[:, j] = total(sums[j])
    weights = households.astype(np.float64)
    out[:, _D_HOUSEHOLDS] = total(weights)
    out[:, _D_DEFICITS:_D_KEY_DEFICITS] = through(_DEFICIT_TABLE, weights)
    out[:, _D_KEY_DEFICITS:] = through(_KEY_DEFICIT_TABLE, np.asarray(sums[_KEY]))
    return {"slot_province": slot_keys // 65536, "slot_district": slot_keys % 65536, "district_sums": out}


#: Arrays of a :class:`ProfileCube`, saved as ``cube_<name>.npy`` beside a persisted index.
CUBE_ARRAYS: tuple[str, ...] = ("leaf_province", "leaf_district", "leaf_subdistrict", "leaf_cell", "leaf_pilot",
                                "row_leaf", "row_profile", "row_deficit", "households", "sums",
                                "slot_province", "slot_district", "district_sums")
#: Arrays of a cube saved before it kept district sums: the rest is computed from them on reading.
_ROW_ARRAYS = CUBE_ARRAYS[:10]


def write_cube(cube: ProfileCube, folder) -> None:
    """Save ``cube`` into ``folder`` (a persisted index's, :func:`geo.engine.persist.write_index`),
    with the sums of every row it keeps per level (:func:`keep_all_rows_sums`), if any."""
    import json
    from pathlib import Path

    for name in CUBE_ARRAYS:
        np.save(Path(folder) / f"cube_{name}.npy", getattr(cube, name), allow_pickle=False)
    with _LOCK:
        kept = dict(_ALL_ROWS.get(cube, {}))
    names = {}
    for number, (key, value) in enumerate(kept.items()):
        arrays = value if isinstance(value, tuple) else (value,)
        for j, array in enumerate(arrays):
            np.save(Path(folder) / f"cube_kept_{number}_{j}.npy", array, allow_pickle=False)
        names[str(number)] = {"key": list(key) if isinstance(key, tuple) else key, "arrays": len(arrays),
                              "tuple": isinstance(value, tuple)}
    (Path(folder) / "cube_kept.json").write_text(json.dumps(names), encoding="utf-8")


def _read_kept(folder, mmap: bool) -> dict:
    """The kept sums :func:`write_cube` saved (memory-mapped read-only), keyed as in ``_ALL_ROWS``."""
    import json
    from pathlib import Path

    try:
        names = json.loads((Path(folder) / "cube_kept.json").read_text(encoding="utf-8"))
        kept = {}
        for number, entry in names.items():
            arrays = tuple(np.load(Path(folder) / f"cube_kept_{number}_{j}.npy", mmap_mode="r" if mmap else None,
                                   allow_pickle=False) for j in range(entry["arrays"]))
            key = tuple(entry["key"]) if isinstance(entry["key"], list) else entry["key"]
            kept[key] = arrays if entry["tuple"] else arrays[0]
        return kept
    except (OSError, ValueError, KeyError):
        return {}  # none saved (an older index): computed on first use


def read_cube(folder, *, mmap: bool = True) -> ProfileCube | None:
    """The cube saved in ``folder`` (memory-mapped read-only), or None when there is none."""
    from pathlib import Path

    def load(names: tuple[str, ...]) -> dict[str, np.ndarray]:
        return {name: np.load(Path(folder) / f"cube_{name}.npy", mmap_mode="r" if mmap else None,
                              allow_pickle=False) for name in names}

    try:
        arrays = load(_ROW_ARRAYS)
    except (OSError, ValueError):
        return None
    if arrays["sums"].shape[0] != _N_FIELDS:  # written before the cube kept cell keys: rebuild
        return None
    try:
        arrays.update(load(CUBE_ARRAYS[len(_ROW_ARRAYS):]))
    except (OSError, ValueError):  # written before the cube kept district sums: sum its rows now
        arrays.update(sum_districts(**arrays))
    if arrays["district_sums"].shape[:2] != (N_PROFILES, _N_DISTRICT_MEASURES):
        arrays.update(sum_districts(**{name: arrays[name] for name in _ROW_ARRAYS}))
    cube = ProfileCube(**arrays)
    kept = _read_kept(folder, mmap)
    if kept:
        with _LOCK:
            _ALL_ROWS[cube] = kept
    return cube


_CUBES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.RLock()


def register_cube(index: HouseholdIndex, cube: ProfileCube) -> None:
    """Use ``cube`` (e.g. read from disk with the index) as the cube of ``index``."""
    with _LOCK:
        _CUBES[index] = cube


def cube_for(index: HouseholdIndex) -> ProfileCube:
    """The cube of ``index``, built on first use and kept while the index lives (thread-safe)."""
    with _LOCK:
        cube = _CUBES.get(index)
        if cube is None:
            cube = build_cube(index)
            _CUBES[index] = cube
        return cube


def _positions(codes: np.ndarray, wanted) -> np.ndarray:
    return np.flatnonzero(np.isin(codes.astype(str), np.array(list(wanted), dtype=str)))


def _place_mask(index: HouseholdIndex, flt: HouseholdFilter | None, area: str, province: np.ndarray,
                district: np.ndarray, subdistrict: np.ndarray | None = None) -> np.ndarray:
    """Which places (leaves or district slots, given by their province, district and subdistrict
    positions) the filter's provinces and districts and ``area`` keep."""
    keep = np.ones(province.size, dtype=bool)
    if flt is not None and flt.provinces is not None:
        keep &= np.isin(province, _positions(index.province_codes, flt.provinces))
    if flt is not None and flt.districts is not None:
        keep &= np.isin(district, _positions(index.district_codes, flt.districts))
    if area:
        place, codes = {"province": (province, index.province_codes),
                        "district": (district, index.district_codes),
                        "subdistrict": (subdistrict, index.subdistrict_codes)}[AREA_LEVEL_BY_WIDTH[len(area)]]
        keep &= np.isin(place, _positions(codes, (area,)))
    return keep


def _leaf_mask(index: HouseholdIndex, cube: ProfileCube, flt: HouseholdFilter | None, area: str) -> np.ndarray:
    keep = _place_mask(index, flt, area, cube.leaf_province, cube.leaf_district, cube.leaf_subdistrict)
    if flt is not None and flt.pilots is not None:
        pilot_keep = np.isin(cube.leaf_pilot, _positions(index.pilot_ids, [p for p in flt.pilots if p != NO_PILOT]))
        if NO_PILOT in flt.pilots:
            pilot_keep |= cube.leaf_pilot < 0
        keep &= pilot_keep
    return keep


def answers(flt: HouseholdFilter | None) -> bool:
    """True when the cube can answer ``flt`` (any filter at the default deficit cutoff, but not
    one on TPMAP deprivations, which the cube does not keep apart)."""
    return flt is None or (flt.deficit_cutoff == DEFAULT_DEFICIT_CUTOFF and flt.deprivations is None)


def _by_district(by: str, flt: HouseholdFilter | None, area: str) -> bool:
    """True when the district sums answer: a district or province table whose filter picks whole
    profiles and districts (no capitals in deficit, no pilots) in a province or district."""
    return by in ("province", "district") and AREA_LEVEL_BY_WIDTH.get(len(area)) != "subdistrict" and (
        flt is None or (flt.capitals_in_deficit is None and flt.pilots is None))


def cube_aggregate(index: HouseholdIndex, by: str, flt: HouseholdFilter | None = None, area: str = "",
                   *, res: int | None = None, rollup_min_count: int | None = None,
                   cube: ProfileCube | None = None) -> pd.DataFrame | None:
    """``aggregate(index, by, mask=filter_mask(flt) & area_mask(area))`` from the cube; None if it cannot.

    Parameters
    ----------
    index : HouseholdIndex
    by : {"province", "district", "subdistrict", "h3"}
    flt : HouseholdFilter, optional
    area : str, default ""
        A 2-, 4- or 6-digit code the households must be in (``""``: everywhere).
    res, rollup_min_count : int, optional
        For ``by="h3"``, as :func:`geo.engine.aggregate.aggregate`; only ``res=CUBE_H3_RES`` is answered
        (there the roll-up merges nothing).
    cube : ProfileCube, optional
        Default: :func:`cube_for` ``(index)``.

    Returns
    -------
    pandas.DataFrame or None
        The engine's table (unprotected: pass it through :func:`geo.engine.protect.protect`), or None
        when ``flt`` filters on something the cube does not keep apart (:func:`answers`) or an
        H3 resolution other than :data:`CUBE_H3_RES` is asked for.
    """
    if by not in CUBE_LEVELS:
        raise EngineInputError(f"by must be one of {CUBE_LEVELS}, got {by!r}")
    if area and len(area) not in AREA_WIDTH_BY_LEVEL.values():
        raise EngineInputError(f"area must be a 2-, 4- or 6-digit code or '', got {area!r}")
    if not answers(flt) or (by == "h3" and res != CUBE_H3_RES):
        return None
    cube = cube or cube_for(index)
    key = (id(index), by, flt, area, res, rollup_min_count)
    table = _recall(cube, index, key)
    if table is None:
        table = _answer(index, cube, by, flt, area, res, rollup_min_count)
        _remember(cube, index, key, table)
    return table


def _answer(index: HouseholdIndex, cube: ProfileCube, by: str, flt: HouseholdFilter | None, area: str,
            res: int | None, rollup_min_count: int | None) -> pd.DataFrame:
    """The table of :func:`cube_aggregate`, computed (no memo)."""
    if _by_district(by, flt, area):
        groups, raw, selected_total = _district_raw(index, cube, by, flt, area)
    else:
        groups, raw, selected_total = _rows_raw(index, cube, by, flt, area)
    if by == "h3":
        columns: dict[str, object] = {"h3_cell": groups, "res": cells_resolution(groups)}
    else:
        codes = {"province": index.province_codes, "district": index.district_codes,
                 "subdistrict": index.subdistrict_codes}[by]
        columns = {"code": pd.array(codes[groups], dtype="string")}
    columns.update(metrics_from_sums(raw))
    table = pd.DataFrame(columns, copy=False)
    table.attrs.update({"by": by, "res": res, "rollup_min_count": rollup_min_count,
                        "households_without_key": selected_total - int(table["households"].sum())})
    return table


#: Recent answers kept per cube (:func:`cube_aggregate`): one Overview rerun asks the same question
#: more than once (the headline and the area table both ask for the province table), and a person
#: going back to a filter asks again. A few entries, each at most :data:`_MEMO_MAX_BYTES`: a cube
#: table has one row per area or res-5 hexagon (under 10,000 rows), so the memo stays a few MB.
_MEMO_ENTRIES = 6
_MEMO_MAX_BYTES = 8_000_000
_MEMO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _recall(cube: ProfileCube, index: HouseholdIndex, key: tuple) -> pd.DataFrame | None:
    """A copy of the kept answer to ``key`` (so a caller changing it changes no later answer), or None."""
    with _LOCK:
        memo = _MEMO.get(cube)
        entry = None if memo is None else memo.get(key)
        if entry is None or entry[0]() is not index:  # the key holds id(index): check it is the same index
            return None
        memo.move_to_end(key)
        table = entry[1]
    return table.copy(deep=True)


def _remember(cube: ProfileCube, index: HouseholdIndex, key: tuple, table: pd.DataFrame) -> None:
    """Keep a copy of ``table`` as the answer to ``key`` (the oldest of :data:`_MEMO_ENTRIES` goes)."""
    if int(table.memory_usage(index=True, deep=False).sum()) > _MEMO_MAX_BYTES:
        return
    kept = table.copy(deep=True)
    with _LOCK:
        memo = _MEMO.setdefault(cube, OrderedDict())
        memo[key] = (weakref.ref(index), kept)
        memo.move_to_end(key)
        while len(memo) > _MEMO_ENTRIES:
            memo.popitem(last=False)


def _counts_raw(households: np.ndarray, profile: np.ndarray, people: np.ndarray, key_profile: np.ndarray,
                deficits: np.ndarray, key_deficits: np.ndarray, fields: np.ndarray) -> dict[str, np.ndarray]:
    """The ``raw`` sums of :func:`geo.engine.aggregate.metrics_from_sums` (cell keys included), per group.

    The one place the cube turns its sums into counts, for both ways of answering (rows and
    district sums). Every argument is one row per indicator, one column per group:
    ``households``; ``profile`` the households through ``PROFILE_TABLE`` (levels, statuses, not in
    TPMAP, verified) and ``key_profile`` their record keys; ``people`` the members through its
    level columns; ``deficits`` the households through the deficit table and ``key_deficits`` their
    record keys through the key deficit table; ``fields`` the 17 fields of :attr:`ProfileCube.sums`.
    """
    def as_int(values: np.ndarray) -> np.ndarray:
        return np.rint(values).astype(np.int64)

    raw = {
        "level": as_int(profile[:N_LEVELS]),
        "people_level": as_int(people),
        "assist": as_int(profile[N_LEVELS:N_LEVELS + N_ASSIST]),
        "not_tpmap": as_int(profile[-2]),
        "verified": as_int(profile[-1]),
        "capital_sum": np.ascontiguousarray(fields[_CAPS:_CAPS + _N_CAPS]),
        "deficit": as_int(deficits[0:5]),
        "censored": as_int(deficits[5:10]),
        "poor": as_int(deficits[10]),
        "poor_sum": as_int(deficits[11]),
        "dep": as_int(fields[_DEP:_DEP + 5]),
        "households": as_int(households),
    }
    raw.update(_key_rows(key_profile, key_deficits, fields[_KEY_DEP:_KEY_DEP + 5], fields[_KEY]))
    return raw


def _district_raw(index: HouseholdIndex, cube: ProfileCube, by: str, flt: HouseholdFilter | None,
                  area: str) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
    """Groups (indices into the level's codes), raw sums and selected households from the district
    sums: the selected profiles' blocks summed once per slot, then the slots per district or province."""
    kept = profiles_kept(flt)
    profiles = np.arange(N_PROFILES) if kept is None else np.flatnonzero(kept)
    slots = np.flatnonzero(_place_mask(index, flt, area, cube.slot_province, cube.slot_district))
    group = (cube.slot_district if by == "district" else cube.slot_province)[slots]
    whole = slots.size == cube.slot_province.size
    if np.any(group[1:] < group[:-1]):  # slots are sorted by province, then district
        order = np.argsort(group, kind="stable")
        slots, group, whole = slots[order], group[order], False
    part = cube.district_sums if kept is None else cube.district_sums[profiles]  # (profiles, measures, slots)
    if not whole:
        part = part[:, :, slots]
    table = PROFILE_TABLE[profiles].T  # (indicators, profiles)
    n_table = table.shape[0]
    # Per slot: every measure over the selected profiles, then the profile counts through the table.
    sums = np.concatenate([part.sum(axis=0), table @ part[:, _D_HOUSEHOLDS], table[:N_LEVELS] @ part[:, _MEMBERS],
                           table @ part[:, _KEY]])
    if group.size and np.any(group[1:] == group[:-1]):  # a province's districts (or a code in two provinces)
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        sums, group = np.add.reduceat(sums, starts, axis=1), group[starts]
    selected_total = int(np.rint(sums[_D_HOUSEHOLDS].sum()))
    keep = np.flatnonzero(sums[_D_HOUSEHOLDS] > 0)
    sums = sums[:, keep]
    profile, people, key_profile = np.split(sums[_N_DISTRICT_MEASURES:], [n_table, n_table + N_LEVELS])
    raw = _counts_raw(sums[_D_HOUSEHOLDS], profile, people, key_profile, sums[_D_DEFICITS:_D_KEY_DEFICITS],
                      sums[_D_KEY_DEFICITS:_N_DISTRICT_MEASURES], sums[:_N_FIELDS])
    return group[keep], raw, selected_total


def _level_groups(index: HouseholdIndex, cube: ProfileCube, by: str) -> tuple[np.ndarray, np.ndarray]:
    """The groups of level ``by`` (H3 cells at :data:`CUBE_H3_RES`, or the level's codes) and each
    leaf's group (-1: none)."""
    if by == "h3":
        codes, leaf_group = np.unique(cube.leaf_cell, return_inverse=True)
        leaf_group = leaf_group.astype(np.int64)
        if codes.size and codes[0] == 0:  # households without a position: no hexagon
            codes, leaf_group = codes[1:], leaf_group - 1
        return codes, leaf_group
    codes = {"province": index.province_codes, "district": index.district_codes,
             "subdistrict": index.subdistrict_codes}[by]
    leaf_group = {"province": cube.leaf_province, "district": cube.leaf_district,
                  "subdistrict": cube.leaf_subdistrict}[by]
    return codes, leaf_group


def keep_all_rows_sums(index: HouseholdIndex, cube: ProfileCube) -> None:
    """Compute now the sums :func:`_all_rows_sums`, :func:`_kept_fields_by` and :func:`_coarse_rows`
    otherwise compute on the first answer that needs them (every level; per deficit code and the
    rows summed by group at the levels of :data:`_BY_CODE_LEVELS`, per profile for H3), so that
    :func:`write_cube` saves them with the cube and the first filter change after a start pays no
    pass over the cube's rows."""
    for by in CUBE_LEVELS:
        codes, leaf_group = _level_groups(index, cube, by)
        _all_rows_sums(cube, by, leaf_group, codes.size)
        if by in _BY_CODE_LEVELS:
            _coarse_rows(cube, by, leaf_group)
        if by == "h3":
            _kept_fields_by(cube, by, leaf_group, codes.size, "profile")


def _rows_raw(index: HouseholdIndex, cube: ProfileCube, by: str, flt: HouseholdFilter | None,
              area: str) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
    """Groups (H3 cells, or indices into the level's codes), raw sums and selected households from
    the cube's rows: the selected rows' histograms per group."""
    codes, leaf_group = _level_groups(index, cube, by)
    leaf_ok = _leaf_mask(index, cube, flt, area)
    codes_kept, profiles = deficit_codes_kept(flt), profiles_kept(flt)
    n = codes.size
    # The 17 fields, the costly part of a pass over rows, are kept per group and deficit code (per
    # profile for H3): when only capitals in deficit (only profiles) restrict the rows of the
    # whole country's map ("natural capital in deficit"; "not in TPMAP", levels), they are the
    # kept sums of the codes selected. With capitals in deficit the histograms come from the rows
    # summed by group (:func:`_coarse_rows`), with profiles from the cube's rows.
    kept_fields = None
    if by in _BY_CODE_LEVELS and codes_kept is not None and profiles is None and leaf_ok.all():
        codes_picked = np.flatnonzero(codes_kept)
        kept_fields = _kept_fields_by(cube, by, leaf_group, n, "deficit")[:, :, codes_picked].sum(axis=2)
        *coarse, households_by_code = _coarse_rows(cube, by, leaf_group)
        pick = np.flatnonzero(codes_kept[coarse[3]])
        sums = _histograms(*(array[pick] for array in coarse), n)
        selected_total = int(households_by_code[codes_picked].sum())
    else:
        ok = leaf_ok[cube.row_leaf]
        for kept, row_code in ((profiles, cube.row_profile), (codes_kept, cube.row_deficit)):
            if kept is not None:
                ok &= kept[row_code]
        selected_total = int(cube.households[ok].sum())
        group = leaf_group[cube.row_leaf]
        ok &= group >= 0  # households with no code at this level (or no position) count only in the total
        if by == "h3" and codes_kept is None and profiles is not None and leaf_ok.all():
            by_profile = _kept_fields_by(cube, by, leaf_group, n, "profile")  # (17, n, 80)
            kept_fields = by_profile[:, :, np.flatnonzero(profiles)].sum(axis=2)
        if np.count_nonzero(ok) > _DENSE_SHARE * ok.size:
            # Most rows selected (a whole-country map, "in no pilot"): every row's sums, kept, minus the
            # unselected rows', so the work is proportional to the rows left out, not to the cube.
            left_out = np.flatnonzero(~ok & (group >= 0))
            sums = _all_rows_sums(cube, by, leaf_group, n)[:7]
            if left_out.size:
                less = _group_sums(cube, group[left_out], left_out, n, fields=kept_fields is None)
                sums = tuple(a if b is None else a - b for a, b in zip(sums, less))
        else:
            rows = np.flatnonzero(ok)
            sums = _group_sums(cube, group[rows], rows, n, fields=kept_fields is None)
    if kept_fields is not None:
        sums = sums[:6] + (kept_fields,)
    counts, hist_households, hist_members, hist_keys, deficit_households, deficit_keys, fields = sums[:7]
    keep = np.flatnonzero(np.rint(counts) > 0)

    def through(table: np.ndarray, hist: np.ndarray) -> np.ndarray:
        return (hist @ table)[keep].T  # (indicators, kept groups)

    raw = _counts_raw(
        counts[keep], through(PROFILE_TABLE, hist_households), through(PROFILE_TABLE[:, :N_LEVELS], hist_members),
        through(PROFILE_TABLE, hist_keys), through(_DEFICIT_TABLE, deficit_households),
        through(_KEY_DEFICIT_TABLE, deficit_keys), np.ascontiguousarray(fields[:, keep]))
    return (codes[keep] if by == "h3" else keep), raw, selected_total


def _histograms(group: np.ndarray, households: np.ndarray, profile: np.ndarray, deficit: np.ndarray,
                members: np.ndarray, key: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """Per group (``group``: one of ``n`` per row): households (n,), households, members and record
    keys by profile (n, 80), households and record keys by deficit code (n, 32)."""
    group = group.astype(np.int64)
    households = households.astype(np.float64)
    by_profile = group * N_PROFILES + profile.astype(np.int64)
    by_deficit = group * 32 + deficit.astype(np.int64)

    def hist(code: np.ndarray, n_codes: int, weights: np.ndarray) -> np.ndarray:  # -> (groups, n_codes)
        return np.bincount(code, weights=weights, minlength=n * n_codes).reshape(n, n_codes)

    return (np.bincount(group, weights=households, minlength=n),
            hist(by_profile, N_PROFILES, households), hist(by_profile, N_PROFILES, members),
            hist(by_profile, N_PROFILES, key), hist(by_deficit, 32, households), hist(by_deficit, 32, key))


def _group_sums(cube: ProfileCube, group: np.ndarray, rows: np.ndarray | None, n: int, *,
                fields: bool = True) -> tuple[np.ndarray, ...]:
    """Per group (``group``: one of ``n`` per row of ``rows``, every row when None): the
    :func:`_histograms` of those rows and the 17 fields of :attr:`ProfileCube.sums` (17, n; None
    when not ``fields``)."""
    def take(values: np.ndarray) -> np.ndarray:
        return values if rows is None else values[rows]

    return _histograms(group, take(cube.households), take(cube.row_profile), take(cube.row_deficit),
                       take(cube.sums[_MEMBERS]), take(cube.sums[_KEY]), n) + (
        np.stack([np.bincount(group, weights=take(cube.sums[j]), minlength=n) for j in range(_N_FIELDS)])
        if fields else None,)


_ALL_ROWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


#: Levels whose whole-country answers filtered only on capitals in deficit take their 17 fields
#: from the fields kept per deficit code (:func:`_kept_fields_by`; 17 × 32 floats per area, under
#: 10 MB): province, district and res-5 hexagon maps.
_BY_CODE_LEVELS = ("province", "district", "h3")


def _kept(cube: ProfileCube, key: object, make: Callable[[], object]):
    """``make()``'s arrays (one, or a tuple), computed once per cube and ``key`` and kept with the
    cube (read-only; :func:`write_cube` saves them, :func:`read_cube` maps them back)."""
    with _LOCK:  # re-entrant: one kept sum may be made of another
        kept = _ALL_ROWS.setdefault(cube, {})
        if key not in kept:
            value = make()
            for array in value if isinstance(value, tuple) else (value,):
                array.flags.writeable = False
            kept[key] = value
        return kept[key]


def _grouped_rows(cube: ProfileCube, leaf_group: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The group (int64) of each of the cube's rows that has one at a level (``leaf_group``: each
    leaf's, -1 for none), and those rows (None: every row)."""
    group = leaf_group[cube.row_leaf].astype(np.int64)
    rows = np.flatnonzero(group >= 0)
    return (group, None) if rows.size == group.size else (group[rows], rows)


def _all_rows_sums(cube: ProfileCube, by: str, leaf_group: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """:func:`_group_sums` of every row of ``cube`` that has a group at level ``by``: computed on the
    first answer that selects most rows, then kept with the cube (a few MB per level; read-only).
    At the levels of :data:`_BY_CODE_LEVELS` the fields are those kept per deficit code, summed."""
    def make() -> tuple[np.ndarray, ...]:
        group, take = _grouped_rows(cube, leaf_group)
        if by in _BY_CODE_LEVELS:
            by_code = _kept_fields_by(cube, by, leaf_group, n, "deficit")
            return _group_sums(cube, group, take, n, fields=False)[:-1] + (by_code.sum(axis=2), by_code)
        return _group_sums(cube, group, take, n)

    return _kept(cube, by, make)


def _kept_fields_by(cube: ProfileCube, by: str, leaf_group: np.ndarray, n: int, code: str) -> np.ndarray:
    """The 17 fields of every row of ``cube`` per group at level ``by`` and deficit code
    (``code="deficit"``, (17, n, 32)) or profile (``"profile"``, (17, n, 80)): computed on the
    first answer that selects only whole codes or profiles everywhere (one pass over every row, as
    long as gathering half of them), then kept with the cube (read-only; for Thailand's 1,942
    res-5 hexagons 8 MB by deficit code, 21 MB by profile)."""
    def make() -> np.ndarray:
        group, take = _grouped_rows(cube, leaf_group)
        row_code, n_codes = (cube.row_deficit, 32) if code == "deficit" else (cube.row_profile, N_PROFILES)
        key = group * n_codes + (row_code if take is None else row_code[take])
        return np.stack([np.bincount(key, weights=cube.sums[j] if take is None else cube.sums[j][take],
                                     minlength=n * n_codes).reshape(n, n_codes) for j in range(_N_FIELDS)])

    return _kept(cube, (by, code), make)


def _coarse_rows(cube: ProfileCube, by: str, leaf_group: np.ndarray) -> tuple[np.ndarray, ...]:
    """The cube's rows summed by group at level ``by``, profile and deficit code: the combinations
    that hold households (at 13 million households 443,000 for districts, 68,000 for provinces,
    against the cube's 2.2 million rows), each with its group, households, profile, deficit code,
    members and record keys (the arguments of :func:`_histograms`), then the households of every
    row by deficit code (32, those without a group too: a selection's total). With the fields kept
    per deficit code (:func:`_kept_fields_by`), a whole-country answer filtered only on capitals
    in deficit takes its histograms from these instead of the cube's rows. Computed on first use
    (or by :func:`keep_all_rows_sums`, then saved with the cube) and kept with the cube, read-only."""
    def make() -> tuple[np.ndarray, ...]:
        group, take = _grouped_rows(cube, leaf_group)

        def of_rows(values: np.ndarray) -> np.ndarray:
            return values if take is None else values[take]

        combined = (group * N_PROFILES + of_rows(cube.row_profile)) * 32 + of_rows(cube.row_deficit)
        combos, which = np.unique(combined, return_inverse=True)

        def total(values: np.ndarray) -> np.ndarray:
            return np.bincount(which, weights=of_rows(values), minlength=combos.size)

        households = cube.households.astype(np.float64)
        return ((combos // (N_PROFILES * 32)).astype(np.int32), total(households),
                ((combos // 32) % N_PROFILES).astype(np.uint8), (combos % 32).astype(np.uint8),
                total(cube.sums[_MEMBERS]), total(cube.sums[_KEY]),
                np.bincount(cube.row_deficit, weights=households, minlength=32))

    return _kept(cube, (by, "coarse"), make)
