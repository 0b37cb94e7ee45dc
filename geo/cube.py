"""Precomputed sums by area × household profile: admin-area aggregates without a pass over every
household.

On national data (13 million households) one :func:`geo.aggregate.aggregate` with a filter takes
1–2 s: the filter's mask is built over every household and every array the sums need is cut by
it. But the sidebar's usual filters — area (province, district, subdistrict), household level,
TPMAP status, field verification and assistance status — only ever pick whole *leaves* (one
province / district / subdistrict triple) and whole *profiles* (the engine's packed level ×
assistance × TPMAP × verified code, 80 values). So :class:`ProfileCube` sums every household once
into a leaf × profile table of the additive quantities the metrics are made of (households,
members, capital scores, deficit and deprivation counts, the Alkire-Foster counts); an aggregate
for such a filter is then a sum over at most ~7,500 × 80 cells, in milliseconds.

:func:`cube_aggregate` returns the same table as :func:`geo.aggregate.aggregate` (same columns,
dtypes and attributes; floats equal to rounding) or ``None`` when the filter needs households the
cube does not keep apart (capitals in deficit, pilots, a non-default deficit cutoff), so callers
fall back to the engine. The cube of an index is built on first use (about 2 s per 13 million
households, ~110 MB) and kept while the index lives. Pure numpy: no Streamlit.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.aggregate import (
    _N_ASSIST,
    _N_LEVELS,
    _N_PROFILES,
    _PROFILE_TABLE,
    DEFAULT_DEFICIT_CUTOFF,
    DEFAULT_K_DEPRIVATIONS,
    HouseholdIndex,
    _metrics,
)
from geo.contract import ASSISTANCE_STATUSES, CAPITALS
from geo.filters import HouseholdFilter

#: Admin levels the cube answers.
CUBE_LEVELS: tuple[str, ...] = ("province", "district", "subdistrict")
_N_CAPS = len(CAPITALS)
# Field columns of ProfileCube.sums: members, capital sums (5), deficit bits (5), censored deficit
# bits (5), poor, poor x deficit count, deprivation bits (5).
_MEMBERS, _CAPS, _DEFICIT, _CENSORED, _POOR, _POOR_SUM, _DEP = 0, 1, 6, 11, 16, 17, 18
_N_FIELDS = 23


@dataclass(frozen=True, eq=False)
class ProfileCube:
    """Every household summed once by leaf (province, district, subdistrict) × profile.

    Attributes
    ----------
    leaf_province, leaf_district, leaf_subdistrict : numpy.ndarray
        Per leaf, the index into the index's ``*_codes`` (subdistrict -1 when missing).
    households : numpy.ndarray
        (leaves, 80) int64: households per leaf and profile.
    sums : numpy.ndarray
        (leaves, 80, 23) float64: the additive fields (see the module's field columns).
    """

    leaf_province: np.ndarray
    leaf_district: np.ndarray
    leaf_subdistrict: np.ndarray
    households: np.ndarray
    sums: np.ndarray

    @property
    def nbytes(self) -> int:
        return int(self.households.nbytes + self.sums.nbytes)


def build_cube(index: HouseholdIndex) -> ProfileCube:
    """Sum every household of ``index`` into a :class:`ProfileCube` (one pass per field)."""
    triples = (index.province.astype(np.int64) * 65536 + index.district.astype(np.int64)) * 1_048_576 \
        + (index.subdistrict.astype(np.int64) + 1)
    leaves, leaf_of = np.unique(triples, return_inverse=True)
    n_leaves = leaves.size
    key = leaf_of.astype(np.int64) * _N_PROFILES + index.profile.astype(np.int64)
    size = n_leaves * _N_PROFILES

    def total(weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(key, weights=weights, minlength=size)

    def by_code(codes: np.ndarray, table: np.ndarray) -> np.ndarray:
        """Sums of ``table[code]`` per cell: one histogram of the 32 codes, then a matrix product."""
        counts = np.bincount(key * 32 + codes.astype(np.int64), minlength=size * 32).reshape(size, 32)
        return counts @ table

    bits = np.array([[(code >> j) & 1 for j in range(_N_CAPS)] for code in range(32)], dtype=np.float64)
    count = bits.sum(axis=1)
    poor = (count >= DEFAULT_K_DEPRIVATIONS).astype(np.float64)
    sums = np.empty((size, _N_FIELDS), dtype=np.float64)
    sums[:, _MEMBERS] = total(index.members.astype(np.float64))
    for j in range(_N_CAPS):
        sums[:, _CAPS + j] = total(np.asarray(index.capitals[j], dtype=np.float64))
    deficit_table = np.column_stack([bits, bits * poor[:, None], poor, poor * count])  # (32, 12)
    sums[:, _DEFICIT:_POOR_SUM + 1] = by_code(index.deficit_mask, deficit_table)
    sums[:, _DEP:_DEP + 5] = by_code(index.deprivation_mask, bits)
    households = total().astype(np.int64).reshape(n_leaves, _N_PROFILES)
    district = (leaves // 1_048_576) % 65536
    return ProfileCube(
        leaf_province=(leaves // (1_048_576 * 65536)).astype(np.int64),
        leaf_district=district.astype(np.int64),
        leaf_subdistrict=(leaves % 1_048_576 - 1).astype(np.int64),
        households=households,
        sums=sums.reshape(n_leaves, _N_PROFILES, _N_FIELDS),
    )


_CUBES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def cube_for(index: HouseholdIndex) -> ProfileCube:
    """The cube of ``index``, built on first use and kept while the index lives (thread-safe)."""
    with _LOCK:
        cube = _CUBES.get(index)
        if cube is None:
            cube = build_cube(index)
            _CUBES[index] = cube
        return cube


def _profile_mask(flt: HouseholdFilter | None) -> np.ndarray:
    codes = np.arange(_N_PROFILES)
    keep = np.ones(_N_PROFILES, dtype=bool)
    if flt is None:
        return keep
    if flt.levels is not None:
        keep &= np.isin(codes % _N_LEVELS + 1, flt.levels)
    if flt.assistance is not None:
        keep &= np.isin((codes // _N_LEVELS) % _N_ASSIST, [ASSISTANCE_STATUSES.index(s) for s in flt.assistance])
    if flt.in_tpmap is not None:
        keep &= ((codes // (_N_LEVELS * _N_ASSIST)) % 2).astype(bool) == flt.in_tpmap
    if flt.verified is not None:
        keep &= (codes // (_N_LEVELS * _N_ASSIST * 2)).astype(bool) == flt.verified
    return keep


def _positions(codes: np.ndarray, wanted) -> np.ndarray:
    return np.flatnonzero(np.isin(codes.astype(str), np.array(list(wanted), dtype=str)))


def _leaf_mask(index: HouseholdIndex, cube: ProfileCube, flt: HouseholdFilter | None, area: str) -> np.ndarray:
    keep = np.ones(cube.leaf_province.size, dtype=bool)
    if flt is not None and flt.provinces is not None:
        keep &= np.isin(cube.leaf_province, _positions(index.province_codes, flt.provinces))
    if flt is not None and flt.districts is not None:
        keep &= np.isin(cube.leaf_district, _positions(index.district_codes, flt.districts))
    if area:
        leaf, codes = {2: (cube.leaf_province, index.province_codes), 4: (cube.leaf_district, index.district_codes),
                       6: (cube.leaf_subdistrict, index.subdistrict_codes)}[len(area)]
        keep &= np.isin(leaf, _positions(codes, (area,)))
    return keep


def answers(flt: HouseholdFilter | None) -> bool:
    """True when the cube can answer ``flt`` (no capital-deficit, pilot or cutoff filter)."""
    return flt is None or (flt.capitals_in_deficit is None and flt.pilots is None
                           and flt.deficit_cutoff == DEFAULT_DEFICIT_CUTOFF)


def cube_aggregate(index: HouseholdIndex, by: str, flt: HouseholdFilter | None = None, area: str = "",
                   *, cube: ProfileCube | None = None) -> pd.DataFrame | None:
    """``aggregate(index, by, mask=filter_mask(flt) & area_mask(area))`` from the cube; None if it cannot.

    Parameters
    ----------
    index : HouseholdIndex
    by : {"province", "district", "subdistrict"}
    flt : HouseholdFilter, optional
    area : str, default ""
        A 2-, 4- or 6-digit code the households must be in (``""``: everywhere).
    cube : ProfileCube, optional
        Default: :func:`cube_for` ``(index)``.

    Returns
    -------
    pandas.DataFrame or None
        The engine's table (unprotected: pass it through :func:`geo.protect.protect`), or None
        when ``flt`` filters on something the cube does not keep apart (:func:`answers`).
    """
    if by not in CUBE_LEVELS:
        raise ValueError(f"by must be one of {CUBE_LEVELS}, got {by!r}")
    if area and len(area) not in (2, 4, 6):
        raise ValueError(f"area must be a 2-, 4- or 6-digit code or '', got {area!r}")
    if not answers(flt):
        return None
    cube = cube or cube_for(index)
    leaves = np.flatnonzero(_leaf_mask(index, cube, flt, area))
    profiles = _profile_mask(flt).astype(np.float64)
    households = cube.households[leaves] * profiles.astype(np.int64)  # (L, 80)
    sums = np.einsum("lpf,p->lf", cube.sums[leaves], profiles)  # (L, 23)
    indicators = households.astype(np.float64) @ _PROFILE_TABLE  # (L, 11): levels, statuses, not TPMAP, verified
    people = (cube.sums[leaves, :, _MEMBERS] * profiles) @ _PROFILE_TABLE[:, :_N_LEVELS]  # (L, 4)
    group = {"province": cube.leaf_province, "district": cube.leaf_district,
             "subdistrict": cube.leaf_subdistrict}[by][leaves]
    codes = {"province": index.province_codes, "district": index.district_codes,
             "subdistrict": index.subdistrict_codes}[by]
    per_leaf = households.sum(axis=1)
    selected_total = int(per_leaf.sum())
    has_key = group >= 0
    group, per_leaf = group[has_key], per_leaf[has_key]
    n = codes.size

    def by_group(values: np.ndarray) -> np.ndarray:  # (L, m) -> (m, groups)
        values = values[has_key]
        return np.stack([np.bincount(group, weights=values[:, j], minlength=n) for j in range(values.shape[1])])

    def as_int(values: np.ndarray) -> np.ndarray:
        return np.rint(values).astype(np.int64)

    counts = np.bincount(group, weights=per_leaf, minlength=n)
    keep = np.flatnonzero(counts > 0)
    ind, fields, ppl = by_group(indicators)[:, keep], by_group(sums)[:, keep], by_group(people)[:, keep]
    raw = {
        "level": as_int(ind[:_N_LEVELS]),
        "people_level": as_int(ppl),
        "assist": as_int(ind[_N_LEVELS:_N_LEVELS + _N_ASSIST]),
        "not_tpmap": as_int(ind[-2]),
        "verified": as_int(ind[-1]),
        "capital_sum": np.ascontiguousarray(fields[_CAPS:_CAPS + _N_CAPS]),
        "deficit": as_int(fields[_DEFICIT:_DEFICIT + _N_CAPS]),
        "censored": as_int(fields[_CENSORED:_CENSORED + _N_CAPS]),
        "poor": as_int(fields[_POOR]),
        "poor_sum": as_int(fields[_POOR_SUM]),
        "dep": as_int(fields[_DEP:_DEP + 5]),
        "households": as_int(counts[keep]),
    }
    columns = {"code": pd.array(codes[keep], dtype="string")}
    columns.update(_metrics(raw))
    table = pd.DataFrame(columns, copy=False)
    table.attrs.update({"by": by, "res": None, "rollup_min_count": None,
                        "households_without_key": selected_total - int(table["households"].sum())})
    return table
