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
combinations that occur (about 1.8 million at 13 million households): households, members,
capital scores and deprivations; the deficit and Alkire-Foster counts follow from the code. An
aggregate for such a filter is then a few histograms over the kept combinations.

:func:`cube_aggregate` returns the same table as :func:`geo.engine.aggregate.aggregate` (same columns,
dtypes and attributes; floats equal to rounding) or ``None`` when the filter needs households the
cube does not keep apart (a non-default deficit cutoff), so callers fall back to the
engine. The cube of an index is built on first use and kept while the index lives (figures in
docs/SCALE.md). Pure numpy: no Streamlit.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.engine.aggregate import (
    DEFAULT_DEFICIT_CUTOFF,
    DEFAULT_K_DEPRIVATIONS,
    ROLLUP_FLOOR_RES,
    HouseholdIndex,
    exact_cells,
    key_sums_from_histograms,
    metrics_from_sums,
)
from geo.engine.codes import BITS, N_ASSIST, N_LEVELS, N_PROFILES, POPCOUNT, PROFILE_TABLE
from geo.engine.h3index import cells_resolution
from geo.data.areas import AREA_LEVEL_BY_WIDTH, AREA_WIDTH_BY_LEVEL
from geo.data.contract import ASSISTANCE_STATUSES, CAPITALS
from geo.engine.filters import NO_PILOT, HouseholdFilter
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
#: Above this share of the cube's rows selected, sums run over every row in place (no gather).
_DENSE_SHARE = 0.7
_POOR = (POPCOUNT >= DEFAULT_K_DEPRIVATIONS).astype(np.float64)
#: Per deficit code: the five deficit bits, the five censored bits (poor only), poor, poor x count
#: (the table ``geo.engine.aggregate`` builds per call, at the default ``k_deprivations``).
_DEFICIT_TABLE = np.column_stack([BITS, BITS * _POOR[:, None], _POOR, _POOR * POPCOUNT])


@dataclass(frozen=True, eq=False)
class ProfileCube:
    """Every household summed once by leaf (province, district, subdistrict) × profile × deficit
    code, keeping only the combinations that hold households (about 1.8 million at 13 million
    households, ~110 MB).

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

    @property
    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in (self.row_leaf, self.row_profile, self.row_deficit, self.households,
                                           self.sums)))


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
    return ProfileCube(
        leaf_province=(leaves // (1_048_576 * 65536)).astype(np.int64),
        leaf_district=((leaves // 1_048_576) % 65536).astype(np.int64),
        leaf_subdistrict=(leaves % 1_048_576 - 1).astype(np.int64),
        leaf_cell=coarse_codes[place_keys % np.int64(coarse_codes.size)],
        leaf_pilot=(leaf_keys % n_pilots - 1).astype(np.int32),
        row_leaf=(combos // (N_PROFILES * 32)).astype(np.int32),
        row_profile=((combos // 32) % N_PROFILES).astype(np.int16),
        row_deficit=(combos % 32).astype(np.int16),
        households=np.bincount(row_of, minlength=size).astype(np.int64),
        sums=sums,
    )


#: Arrays of a :class:`ProfileCube`, saved as ``cube_<name>.npy`` beside a persisted index.
CUBE_ARRAYS: tuple[str, ...] = ("leaf_province", "leaf_district", "leaf_subdistrict", "leaf_cell", "leaf_pilot",
                                "row_leaf", "row_profile", "row_deficit", "households", "sums")


def write_cube(cube: ProfileCube, folder) -> None:
    """Save ``cube`` into ``folder`` (a persisted index's, :func:`geo.engine.persist.write_index`)."""
    from pathlib import Path

    for name in CUBE_ARRAYS:
        np.save(Path(folder) / f"cube_{name}.npy", getattr(cube, name), allow_pickle=False)


def read_cube(folder, *, mmap: bool = True) -> ProfileCube | None:
    """The cube saved in ``folder`` (memory-mapped read-only), or None when there is none."""
    from pathlib import Path

    try:
        arrays = {name: np.load(Path(folder) / f"cube_{name}.npy", mmap_mode="r" if mmap else None,
                                allow_pickle=False) for name in CUBE_ARRAYS}
    except (OSError, ValueError):
        return None
    if arrays["sums"].shape[0] != _N_FIELDS:  # written before the cube kept cell keys: rebuild
        return None
    return ProfileCube(**arrays)


_CUBES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


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


def _profile_mask(flt: HouseholdFilter | None) -> np.ndarray:
    codes = np.arange(N_PROFILES)
    keep = np.ones(N_PROFILES, dtype=bool)
    if flt is None:
        return keep
    if flt.levels is not None:
        keep &= np.isin(codes % N_LEVELS + 1, flt.levels)
    if flt.assistance is not None:
        keep &= np.isin((codes // N_LEVELS) % N_ASSIST, [ASSISTANCE_STATUSES.index(s) for s in flt.assistance])
    if flt.in_tpmap is not None:
        keep &= ((codes // (N_LEVELS * N_ASSIST)) % 2).astype(bool) == flt.in_tpmap
    if flt.verified is not None:
        keep &= (codes // (N_LEVELS * N_ASSIST * 2)).astype(bool) == flt.verified
    return keep


def _positions(codes: np.ndarray, wanted) -> np.ndarray:
    return np.flatnonzero(np.isin(codes.astype(str), np.array(list(wanted), dtype=str)))


def _leaf_mask(index: HouseholdIndex, cube: ProfileCube, flt: HouseholdFilter | None, area: str) -> np.ndarray:
    keep = np.ones(cube.leaf_province.size, dtype=bool)
    if flt is not None and flt.provinces is not None:
        keep &= np.isin(cube.leaf_province, _positions(index.province_codes, flt.provinces))
    if flt is not None and flt.districts is not None:
        keep &= np.isin(cube.leaf_district, _positions(index.district_codes, flt.districts))
    if flt is not None and flt.pilots is not None:
        pilot_keep = np.isin(cube.leaf_pilot, _positions(index.pilot_ids, [p for p in flt.pilots if p != NO_PILOT]))
        if NO_PILOT in flt.pilots:
            pilot_keep |= cube.leaf_pilot < 0
        keep &= pilot_keep
    if area:
        leaf, codes = {"province": (cube.leaf_province, index.province_codes),
                       "district": (cube.leaf_district, index.district_codes),
                       "subdistrict": (cube.leaf_subdistrict, index.subdistrict_codes)}[AREA_LEVEL_BY_WIDTH[len(area)]]
        keep &= np.isin(leaf, _positions(codes, (area,)))
    return keep


def answers(flt: HouseholdFilter | None) -> bool:
    """True when the cube can answer ``flt`` (any filter at the default deficit cutoff, but not
    one on TPMAP deprivations, which the cube does not keep apart)."""
    return flt is None or (flt.deficit_cutoff == DEFAULT_DEFICIT_CUTOFF and flt.deprivations is None)


def _deficit_codes(flt: HouseholdFilter | None) -> np.ndarray:
    """Deficit codes the filter keeps: in deficit in at least one of its capitals."""
    if flt is None or flt.capitals_in_deficit is None:
        return np.ones(32, dtype=bool)
    wanted = sum(1 << CAPITALS.index(c) for c in flt.capitals_in_deficit)
    return (np.arange(32) & wanted) != 0


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
    if by == "h3":
        codes, leaf_group = np.unique(cube.leaf_cell, return_inverse=True)
        leaf_group = leaf_group.astype(np.int64)
        if codes.size and codes[0] == 0:  # households without a position: no hexagon
            codes, leaf_group = codes[1:], leaf_group - 1
    else:
        codes = {"province": index.province_codes, "district": index.district_codes,
                 "subdistrict": index.subdistrict_codes}[by]
        leaf_group = {"province": cube.leaf_province, "district": cube.leaf_district,
                      "subdistrict": cube.leaf_subdistrict}[by]
    ok = _leaf_mask(index, cube, flt, area)[cube.row_leaf] & _profile_mask(flt)[cube.row_profile] \
        & _deficit_codes(flt)[cube.row_deficit]
    selected_total = int(cube.households[ok].sum())
    group = leaf_group[cube.row_leaf]
    ok &= group >= 0  # households with no code at this level (or no position) count only in the total
    n = codes.size
    if np.count_nonzero(ok) > _DENSE_SHARE * ok.size:
        # Most rows selected (a whole-country map): sum every row in place, the others into a
        # spare group n, instead of gathering every field's selected rows out of the mapped file.
        group = np.where(ok, group, n)

        def take(values: np.ndarray) -> np.ndarray:
            return values
    else:
        rows = np.flatnonzero(ok)
        group = group[rows]

        def take(values: np.ndarray) -> np.ndarray:
            return values[rows]
    households = take(cube.households).astype(np.float64)

    def hist(code: np.ndarray, n_codes: int, weights: np.ndarray) -> np.ndarray:  # -> (groups, n_codes)
        flat = group.astype(np.int64) * n_codes + code
        return np.bincount(flat, weights=weights, minlength=(n + 1) * n_codes)[:n * n_codes].reshape(n, n_codes)

    def by_group(weights: np.ndarray) -> np.ndarray:
        return np.bincount(group, weights=weights, minlength=n + 1)[:n]

    def as_int(values: np.ndarray) -> np.ndarray:
        return np.rint(values).astype(np.int64)

    counts = by_group(households)
    keep = np.flatnonzero(counts > 0)
    profile = take(cube.row_profile).astype(np.int64)
    indicators = (hist(profile, N_PROFILES, households) @ PROFILE_TABLE)[keep].T  # levels, statuses, TPMAP, verified
    people = (hist(profile, N_PROFILES, take(cube.sums[_MEMBERS])) @ PROFILE_TABLE[:, :N_LEVELS])[keep].T
    deficits = (hist(take(cube.row_deficit).astype(np.int64), 32, households) @ _DEFICIT_TABLE)[keep].T
    fields = np.stack([by_group(take(cube.sums[j]))[keep] for j in range(_N_FIELDS)])
    raw = {
        "level": as_int(indicators[:N_LEVELS]),
        "people_level": as_int(people),
        "assist": as_int(indicators[N_LEVELS:N_LEVELS + N_ASSIST]),
        "not_tpmap": as_int(indicators[-2]),
        "verified": as_int(indicators[-1]),
        "capital_sum": np.ascontiguousarray(fields[_CAPS:_CAPS + _N_CAPS]),
        "deficit": as_int(deficits[0:5]),
        "censored": as_int(deficits[5:10]),
        "poor": as_int(deficits[10]),
        "poor_sum": as_int(deficits[11]),
        "dep": as_int(fields[_DEP:_DEP + 5]),
        "households": as_int(counts[keep]),
    }
    key = take(cube.sums[_KEY])
    raw.update(key_sums_from_histograms(
        hist(profile, N_PROFILES, key)[keep], hist(take(cube.row_deficit).astype(np.int64), 32, key)[keep],
        fields[_KEY_DEP:_KEY_DEP + 5], fields[_KEY]))
    if by == "h3":
        keys = codes[keep]
        columns: dict[str, object] = {"h3_cell": keys, "res": cells_resolution(keys)}
    else:
        columns = {"code": pd.array(codes[keep], dtype="string")}
    columns.update(metrics_from_sums(raw))
    table = pd.DataFrame(columns, copy=False)
    table.attrs.update({"by": by, "res": res, "rollup_min_count": rollup_min_count,
                        "households_without_key": selected_total - int(table["households"].sum())})
    return table
