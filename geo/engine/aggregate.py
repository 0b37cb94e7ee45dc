"""Aggregation of households by H3 cell (res 5-10), subdistrict, district or province.

How it is fast
--------------
:func:`index_households` runs once when households are loaded. It indexes every position to an
H3 cell at res 10 (:data:`geo.engine.h3index.INDEX_RES`), turns codes and categories into small integers,
packs the categorical columns into one "profile" byte, and **sorts every array by cell**. Because
H3 keeps a cell's descendants in one contiguous range of the integer order, the households of any
coarser cell are then one contiguous run as well: the parent at resolution ``r`` comes from bit
arithmetic (:func:`geo.engine.h3index.cells_to_parent`), groups are where the parent changes
(:func:`geo.engine.h3index.parent_run_starts`), and sums are ``numpy.add.reduceat`` over those runs,
several counts packed in each 64-bit word (:func:`_packed_run_sums`). A household counts in the cell
that *contains* it at the resolution (``h3.latlng_to_cell``), which for about 6 % of households is
not that parent: the index lists them per resolution (``moved_*``), the runs leave them out, and
:func:`_move_to_exact_cells` adds their sums to their own cells'. Admin areas group by their integer
codes with ``numpy.bincount``. Categorical metrics (levels, assistance, TPMAP status, verified,
capital deficits, TPMAP deprivations) are counted as a histogram of a few-bit code per area and
turned into metrics with one small matrix product, so a call makes about ten passes over the data
whatever the number of metrics. There is no Python loop over households or areas.

What it computes per area
-------------------------
See :data:`METRIC_COLUMNS`: households and people, per level, share at levels 1-2, households not
in TPMAP, in TPMAP (the denominator of a deprivation's share) and verified, mean score per capital, share in deficit per capital (score below
``deficit_cutoff``, default 1.75, the top of the lowest band), the dominant deficit (the capital
most often in deficit; ties go to the first in :data:`geo.data.contract.CAPITALS`), counts per TPMAP
deprivation (households in TPMAP only: one not in TPMAP has no TPMAP deprivations, whatever its
row says; an unknown deprivation is not counted as one), an Alkire-Foster index over the five capitals (deprived in a capital when its score
is below ``deficit_cutoff``; poor when deprived in at least ``k_deprivations`` of 5; equal weights
1/5; ``af_h`` = poor / households, ``af_a`` = mean share of capitals deprived among the poor,
``af_mpi`` = H x A, and ``af_contribution_<capital>`` = the capital's share of the MPI, summing to
1), and the share of households at each assistance status. :func:`pilot_reach` reports pilots.

The tables returned here are **not** protected: everything that leaves the engine must go through
:func:`geo.engine.protect.protect`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.checks import check_choice, check_columns, check_float, check_int, check_ints, check_resolution
from geo.errors import EngineInputError
from geo.data.contract import (
    ASSISTANCE_STATUSES,
    CAPITAL_COLUMNS,
    CAPITALS,
    DEPRIVATION_COLUMNS,
)
from geo.engine.cellkey import record_keys
from geo.engine.codes import BITS, N_ASSIST, N_LEVELS, N_PROFILES, POPCOUNT, PROFILE_TABLE
from geo.engine.h3index import (INDEX_RES, cells_resolution, cells_to_str, descendants_bound, parent_run_starts,
                                parents_unchecked, points_to_cells)

#: Ways to aggregate.
AGGREGATE_BY: tuple[str, ...] = ("h3", "subdistrict", "district", "province")
#: Default deficit cut-off: a capital scored below it is "in deficit" (top of the lowest band).
DEFAULT_DEFICIT_CUTOFF = 1.75
#: Default Alkire-Foster poverty cut-off: deprived in at least this many of the five capitals.
DEFAULT_K_DEPRIVATIONS = 2
#: Coarsest resolution H3 roll-up merges into.
ROLLUP_FLOOR_RES = 5
#: Resolutions coarser than the index's whose exact cells the index keeps (see :class:`HouseholdIndex`).
EXACT_RESOLUTIONS: tuple[int, ...] = tuple(range(ROLLUP_FLOOR_RES, INDEX_RES))

#: Columns the engine reads from a household frame (see :mod:`geo.data.contract`); ``household_id``
#: is optional (it gives each household its record key, :func:`geo.engine.cellkey.record_keys`).
INDEX_COLUMNS: tuple[str, ...] = (
    "province_code", "district_code", "subdistrict_code", "lat", "lon", "members", *CAPITAL_COLUMNS,
    "poverty_level", "in_tpmap", "verified", *DEPRIVATION_COLUMNS, "assistance_status", "pilot_id",
)
#: Optional columns the engine reads when present.
OPTIONAL_INDEX_COLUMNS: tuple[str, ...] = ("household_id",)



def _metric_columns() -> tuple[str, ...]:
    cols = ["households", "people"]
    cols += [f"households_level_{lv}" for lv in range(1, 5)]
    cols += [f"people_level_{lv}" for lv in range(1, 5)]
    cols += ["share_level_1_2", "not_in_tpmap", "in_tpmap", "verified"]
    cols += [f"mean_{c}" for c in CAPITAL_COLUMNS]
    cols += [f"deficit_share_{c}" for c in CAPITALS]
    cols += ["dominant_deficit"]
    cols += list(DEPRIVATION_COLUMNS)
    cols += ["af_h", "af_a", "af_mpi"] + [f"af_contribution_{c}" for c in CAPITALS]
    cols += [f"assistance_{s}_share" for s in ASSISTANCE_STATUSES]
    return tuple(cols)


#: Metric columns of every aggregate table, in order, after the area key.
METRIC_COLUMNS: tuple[str, ...] = _metric_columns()
#: Metric columns that count households or people (protected as counts, summable).
COUNT_COLUMNS: tuple[str, ...] = tuple(
    c for c in METRIC_COLUMNS
    if c.startswith(("households", "people")) or c in ("not_in_tpmap", "in_tpmap", "verified") or c in DEPRIVATION_COLUMNS
)


def _key_columns() -> tuple[str, ...]:
    cols = ["ckey_households"] + [f"ckey_households_level_{lv}" for lv in range(1, 5)]
    cols += ["ckey_not_in_tpmap", "ckey_in_tpmap", "ckey_verified"] + [f"ckey_{c}" for c in DEPRIVATION_COLUMNS]
    cols += [f"ckey_deficit_{c}" for c in CAPITALS] + ["ckey_af_poor"]
    cols += [f"ckey_assistance_{s}" for s in ASSISTANCE_STATUSES]
    return tuple(cols)


#: Cell-key columns (:mod:`geo.engine.cellkey`): per area, the sum of the record keys of the households
#: a published count is made of (``ckey_households`` for ``households``, ``ckey_deficit_<capital>``
#: for the numerator of ``deficit_share_<capital>``, ...). Summable like counts; never released
#: (:func:`geo.engine.protect.protect` drops them).
KEY_COLUMNS: tuple[str, ...] = _key_columns()


@dataclass(frozen=True, eq=False)
class HouseholdIndex:
    """Households indexed once for aggregation: flat numpy arrays sorted by H3 cell.

    Build it with :func:`index_households`. Every array has one entry per household, in the same
    order (by ``cell``; households without a position, cell 0, come first). ``order`` maps each
    entry back to its row in the frame it was built from.

    A household's hexagon at a resolution is the cell that contains it there
    (``h3.latlng_to_cell``, :func:`exact_cells`). H3 cells do not nest exactly, so for about 6 % of
    households that is not the parent of their res-10 ``cell``: ``moved_pos`` and ``moved_cell``
    list those households and their cell, per resolution of :data:`EXACT_RESOLUTIONS`
    (``moved_offsets``), about 4 bytes per household in all.
    """

    cell: np.ndarray  # uint64, res 10, 0 = no position
    order: np.ndarray  # int32, row in the source frame
    province: np.ndarray  # int16 index into province_codes
    district: np.ndarray  # int16 index into district_codes
    subdistrict: np.ndarray  # int32 index into subdistrict_codes, -1 = missing
    members: np.ndarray  # int16
    level: np.ndarray  # int8, 1-4
    capitals: np.ndarray  # float64, shape (5, n), in CAPITALS order
    profile: np.ndarray  # uint8: level, assistance, TPMAP and verified packed, see N_PROFILES
    deprivation_mask: np.ndarray  # uint8, bit j = TPMAP deprivation DEPRIVATIONS[j]
    deficit_mask: np.ndarray  # uint8, bit j = capital j below DEFAULT_DEFICIT_CUTOFF
    j2: np.ndarray  # uint16, ((level - 1) * 31 + members) * 32 + deprivation_mask
    pilot: np.ndarray  # int16 index into pilot_ids, -1 = none
    record_key: np.ndarray  # uint16, the household's record key (geo.engine.cellkey)
    moved_pos: np.ndarray  # int32, per res of EXACT_RESOLUTIONS in turn: positions whose cell there is not
    moved_cell: np.ndarray  # uint64  the parent of their res-10 cell, and that cell (h3.latlng_to_cell)
    moved_offsets: np.ndarray  # int64, len(EXACT_RESOLUTIONS) + 1: where each resolution's part starts
    lat: np.ndarray  # float32 (about 1 m), for distances to pilots; cells come from float64
    lon: np.ndarray  # float32
    province_codes: np.ndarray  # object (str), sorted
    district_codes: np.ndarray
    subdistrict_codes: np.ndarray
    pilot_ids: np.ndarray

    @property
    def n(self) -> int:
        """Number of households."""
        return int(self.cell.size)

    @property
    def nbytes(self) -> int:
        """Bytes held by the per-household arrays."""
        return sum(
            getattr(self, f).nbytes
            for f in ("cell", "order", "province", "district", "subdistrict", "members", "level", "capitals",
                      "profile", "deprivation_mask", "deficit_mask", "j2", "pilot", "lat", "lon", "moved_pos",
                      "moved_cell", "moved_offsets")
        )

    @property
    def assistance(self) -> np.ndarray:
        """Index into :data:`geo.data.contract.ASSISTANCE_STATUSES` per household (int8), from ``profile``."""
        return ((self.profile // N_LEVELS) % N_ASSIST).astype(np.int8)

    @property
    def in_tpmap(self) -> np.ndarray:
        """Household is in TPMAP (bool), from ``profile``."""
        return ((self.profile // (N_LEVELS * N_ASSIST)) % 2).astype(bool)

    @property
    def verified(self) -> np.ndarray:
        """Household was verified in the field (bool), from ``profile``."""
        return (self.profile // (N_LEVELS * N_ASSIST * 2)).astype(bool)


def _codes(values: pd.Series, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    cat = pd.Categorical(values.astype("string"))
    categories = np.asarray(cat.categories.astype(str), dtype=object)
    return np.asarray(cat.codes).astype(dtype), categories


def _required(frame: pd.DataFrame, column: str, dtype: str) -> np.ndarray:
    values = frame[column]
    if values.isna().any():
        bad = frame.index[values.isna()][:5].tolist()
        raise EngineInputError(f"households[{column!r}] must have no missing values, missing in rows {bad}")
    return values.to_numpy(dtype=dtype)


def _known_true(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A yes/no column as bool, unknown (NA) counted as no: an unknown deprivation is not a
    deprivation, an unknown ``verified`` is not verified (docs/ENGINE.md)."""
    return frame[column].fillna(False).to_numpy(dtype="bool")


def index_households(households: pd.DataFrame) -> HouseholdIndex:
    """Index households once: H3 cell at res 10, integer codes, packed categories, sorted by cell.

    Parameters
    ----------
    households : pandas.DataFrame
        Households in the contract's columns (:func:`geo.data.contract.conform_households`); at least
        :data:`INDEX_COLUMNS`. ``lat``/``lon`` may be missing (cell 0); ``subdistrict_code`` and
        ``pilot_id`` may be missing. ``household_id`` gives each household its record key
        (:func:`geo.engine.cellkey.record_keys`); without it the key comes from the household's place,
        position and profile.

    Returns
    -------
    HouseholdIndex

    Raises
    ------
    EngineInputError
        When a column is missing, a required value is missing, a level is not 1-4 or an assistance
        status is unknown.

    Example
    -------
    >>> index = index_households(households)  # doctest: +SKIP
    >>> aggregate(index, by="h3", res=8)  # doctest: +SKIP
    """
    check_columns(households, "households", INDEX_COLUMNS)
    frame = households
    lat = frame["lat"].to_numpy(dtype="float64", na_value=np.nan)
    lon = frame["lon"].to_numpy(dtype="float64", na_value=np.nan)
    cell = points_to_cells(lat, lon, INDEX_RES)
    order = np.argsort(cell, kind="stable")

    level = _required(frame, "poverty_level", "int8")
    if level.size and (level.min() < 1 or level.max() > 4):
        bad = sorted(set(level[(level < 1) | (level > 4)].tolist()))[:5]
        raise EngineInputError(f"households['poverty_level'] must be 1-4, got {bad}")
    status = frame["assistance_status"].astype("string").fillna("none")  # unknown: no help recorded
    assistance = pd.Index(ASSISTANCE_STATUSES).get_indexer(status)
    if (assistance < 0).any():
        bad = sorted(set(status[assistance < 0].fillna("<NA>").tolist()))[:5]
        raise EngineInputError(f"households['assistance_status'] must be one of {list(ASSISTANCE_STATUSES)}, got {bad}")
    in_tpmap = _required(frame, "in_tpmap", "bool")
    verified = _known_true(frame, "verified")
    profile = (
        (level - 1).astype(np.uint8)
        + N_LEVELS * assistance.astype(np.uint8)
        + (N_LEVELS * N_ASSIST) * in_tpmap.astype(np.uint8)
        + (N_LEVELS * N_ASSIST * 2) * verified.astype(np.uint8)
    ).astype(np.uint8)
    dep_mask = np.zeros(len(frame), dtype=np.uint8)
    for bit, column in enumerate(DEPRIVATION_COLUMNS):
        dep_mask |= _known_true(frame, column).astype(np.uint8) << np.uint8(bit)
    dep_mask[~in_tpmap] = 0  # TPMAP's deprivations exist only for households in TPMAP
    capitals = np.empty((len(CAPITAL_COLUMNS), len(frame)), dtype=np.float64)
    for row, column in enumerate(CAPITAL_COLUMNS):
        capitals[row] = _required(frame, column, "float64")
    members = _required(frame, "members", "int32")
    if members.size and (members.min() < 0 or members.max() > 30):
        bad = sorted(set(members[(members < 0) | (members > 30)].tolist()))[:5]
        raise EngineInputError(f"households['members'] must be 0-30 (the contract allows 1-30), got {bad}")
    deficit_mask = _deficit_mask(capitals, DEFAULT_DEFICIT_CUTOFF)
    j2 = (((level.astype(np.uint16) - 1) * 31 + members.astype(np.uint16)) * 32 + dep_mask).astype(np.uint16)

    province, province_codes = _codes(frame["province_code"], "int16")
    district, district_codes = _codes(frame["district_code"], "int16")
    subdistrict, subdistrict_codes = _codes(frame["subdistrict_code"], "int32")
    pilot, pilot_ids = _codes(frame["pilot_id"], "int16")
    if "household_id" in frame.columns:
        ids = frame["household_id"]
    else:  # no id column (a test frame): a stable key from what the row says
        ids = pd.util.hash_pandas_object(frame[["district_code", "lat", "lon", "members", "poverty_level"]],
                                         index=False).astype("string")
    record_key = record_keys(ids)
    if (province < 0).any() or (district < 0).any():
        raise EngineInputError("households['province_code'] and ['district_code'] must have no missing values")
    moved_pos, moved_cell, moved_offsets = _moved_households(lat[order], lon[order], cell[order])

    return HouseholdIndex(
        cell=cell[order],
        order=order.astype(np.int32 if len(frame) < 2**31 else np.int64),
        province=province[order],
        district=district[order],
        subdistrict=subdistrict[order],
        members=members.astype(np.int16)[order],
        level=level[order],
        capitals=np.ascontiguousarray(capitals[:, order]),
        profile=profile[order],
        deprivation_mask=dep_mask[order],
        deficit_mask=deficit_mask[order],
        j2=j2[order],
        pilot=pilot[order],
        record_key=record_key[order],
        moved_pos=moved_pos,
        moved_cell=moved_cell,
        moved_offsets=moved_offsets,
        lat=lat.astype(np.float32)[order],
        lon=lon.astype(np.float32)[order],
        province_codes=province_codes,
        district_codes=district_codes,
        subdistrict_codes=subdistrict_codes,
        pilot_ids=pilot_ids,
    )


def _moved_households(lat: np.ndarray, lon: np.ndarray, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per resolution of :data:`EXACT_RESOLUTIONS`, the households (positions in the sorted arrays
    given) whose cell there is not the parent of their res-10 ``cell``, and that cell."""
    start = int(np.searchsorted(cell, 1))
    lat, lon, fine = lat[start:], lon[start:], cell[start:]
    positions, cells, offsets = [], [], [0]
    for res in EXACT_RESOLUTIONS:
        exact = points_to_cells(lat, lon, res)
        moved = np.flatnonzero(exact != parents_unchecked(fine, res))
        positions.append(moved + start)
        cells.append(exact[moved])
        offsets.append(offsets[-1] + moved.size)
    position_type = np.int32 if cell.size + start < 2**31 else np.int64
    return (np.concatenate(positions).astype(position_type), np.concatenate(cells).astype(np.uint64),
            np.array(offsets, dtype=np.int64))


def moved_at(index: HouseholdIndex, res: int) -> tuple[np.ndarray, np.ndarray]:
    """The households whose cell at ``res`` is not the parent of their res-10 cell: positions in
    ``index`` order (sorted) and their cell at ``res``. Empty at res 10."""
    if res not in EXACT_RESOLUTIONS:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    i = EXACT_RESOLUTIONS.index(res)
    part = slice(int(index.moved_offsets[i]), int(index.moved_offsets[i + 1]))
    return np.asarray(index.moved_pos[part]), np.asarray(index.moved_cell[part])


def exact_cells(index: HouseholdIndex, res: int) -> np.ndarray:
    """Each household's H3 cell at ``res`` (5-10), in ``index`` order: the cell that contains it,
    ``h3.latlng_to_cell`` at that resolution (0 for households without a position).

    Example
    -------
    >>> exact_cells(index, 8)  # doctest: +SKIP
    """
    res = check_resolution(res)
    out = np.zeros(index.n, dtype=np.uint64)
    placed = int(np.searchsorted(index.cell, 1))
    out[placed:] = parents_unchecked(np.asarray(index.cell[placed:]), res)
    pos, cells = moved_at(index, res)
    out[pos] = cells
    return out


# ---------------------------------------------------------------------------------------------
# Grouping
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Groups:
    """Which group each selected household falls in: contiguous runs (``starts``) or ``ids``.

    ``dropped`` households (sorted positions) fall in none: they are counted in another table
    (:func:`_move_to_exact_cells`). Sums by ``ids`` give them an extra group, last, and cut it off
    (:attr:`bins`); sums by runs leave them out of their run.
    """

    n: int
    n_groups: int
    starts: np.ndarray | None = None  # start of each group's run, when groups are runs
    ids: np.ndarray | None = None  # int32 group of each household, when groups are not runs
    dropped: np.ndarray | None = None  # positions of households in no group, sorted; None for none

    @property
    def bins(self) -> int:
        """Groups, and one more for the dropped households when there are any."""
        return self.n_groups + (self.dropped is not None)

    def group_ids(self) -> np.ndarray:
        if self.ids is not None:
            ids = self.ids if self.dropped is None else self.ids.copy()
        else:
            assert self.starts is not None
            flags = np.zeros(self.n, dtype=np.int32)
            flags[self.starts[1:]] = 1
            ids = np.cumsum(flags, dtype=np.int32)
        if self.dropped is not None:
            ids[self.dropped] = self.n_groups
        return ids


def _runs(keys: np.ndarray) -> np.ndarray:
    """Start of each run of equal consecutive keys."""
    if keys.size == 0:
        return np.zeros(0, dtype=np.int64)
    change = np.empty(keys.size, dtype=bool)
    change[0] = True
    np.not_equal(keys[1:], keys[:-1], out=change[1:])
    return np.flatnonzero(change)




def _deficit_mask(capitals: np.ndarray, cutoff: float) -> np.ndarray:
    """Bit j set when capital j scores below ``cutoff`` (uint8 per household)."""
    mask = np.zeros(capitals.shape[1], dtype=np.uint8)
    for j in range(capitals.shape[0]):
        mask |= (capitals[j] < cutoff).view(np.uint8) << np.uint8(j)
    return mask


def _sums_by_histogram(g: _Groups, sel: dict[str, np.ndarray], cutoff: float, k_dep: int) -> dict[str, np.ndarray]:
    """Raw sums for few groups: a histogram of each packed code per group, then matrix products.

    Like :func:`_sums_by_runs`, returns per-indicator rows: arrays of shape (indicators, groups).
    """
    ids = g.group_ids().astype(np.int64)
    n_groups, bins = g.n_groups, g.bins

    def hist(codes: np.ndarray, n_codes: int, weights: np.ndarray | None = None) -> np.ndarray:
        flat = ids * n_codes + codes
        return np.bincount(flat, weights=weights, minlength=bins * n_codes).reshape(bins, n_codes)[:n_groups]

    def as_int(values: np.ndarray) -> np.ndarray:
        return np.rint(values).astype(np.int64)

    profile = hist(sel["profile"], N_PROFILES) @ PROFILE_TABLE
    people = hist(sel["profile"], N_PROFILES, sel["members"].astype(np.float64)) @ PROFILE_TABLE[:, :N_LEVELS]
    deficit_mask = sel["deficit_mask"] if cutoff == DEFAULT_DEFICIT_CUTOFF else _deficit_mask(sel["capitals"], cutoff)
    poor = (POPCOUNT >= k_dep).astype(np.float64)
    deficit_table = np.column_stack([BITS, BITS * poor[:, None], poor, poor * POPCOUNT])
    deficits = hist(deficit_mask, 32) @ deficit_table
    deprivations = hist(sel["deprivation_mask"], 32) @ BITS
    if g.starts is not None and g.dropped is None:
        capital_sums = np.column_stack([np.add.reduceat(c, g.starts) for c in sel["capitals"]]) if g.n else np.zeros(
            (0, len(CAPITALS)))
    else:
        capital_sums = _capital_group_sums(sel["capitals"], ids, g).T
    rows = lambda a: np.ascontiguousarray(np.asarray(a).T)  # noqa: E731 - (groups, m) -> (m, groups)
    return {
        "level": rows(as_int(profile[:, :N_LEVELS])),
        "people_level": rows(as_int(people)),
        "assist": rows(as_int(profile[:, N_LEVELS:N_LEVELS + N_ASSIST])),
        "not_tpmap": as_int(profile[:, -2]),
        "verified": as_int(profile[:, -1]),
        "capital_sum": rows(capital_sums.reshape(n_groups, len(CAPITALS))),
        "deficit": rows(as_int(deficits[:, 0:5])),
        "censored": rows(as_int(deficits[:, 5:10])),
        "poor": as_int(deficits[:, 10]),
        "poor_sum": as_int(deficits[:, 11]),
        "dep": rows(as_int(deprivations)),
        "households": as_int(profile[:, :N_LEVELS].sum(axis=1)),  # every household has one level
    }


@functools.lru_cache(maxsize=8)
def _indicator_tables(k_dep: int) -> tuple[np.ndarray, list[str], np.ndarray, list[str]]:
    """Indicator values for every value of the two joint codes (see :func:`_sums_by_runs`).

    ``j1 = profile * 32 + deficit_mask`` (2,560 values) and
    ``j2 = ((level - 1) * 31 + members) * 32 + deprivation_mask`` (3,968 values). Made once per
    ``k_dep``.
    """
    j1 = np.arange(N_PROFILES * 32)
    profile, deficit = j1 // 32, j1 % 32
    level = profile % N_LEVELS
    assist = (profile // N_LEVELS) % N_ASSIST
    tpmap = (profile // (N_LEVELS * N_ASSIST)) % 2
    verified = profile // (N_LEVELS * N_ASSIST * 2)
    bits = BITS.astype(np.int64)[deficit]
    count = bits.sum(axis=1)
    poor = (count >= k_dep).astype(np.int64)
    cols1 = [level == lv for lv in range(N_LEVELS)] + [assist == s for s in range(N_ASSIST)]
    cols1 += [tpmap == 0, verified == 1] + [bits[:, j] for j in range(5)] + [bits[:, j] * poor for j in range(5)]
    cols1 += [poor, poor * count]
    names1 = ([f"level{lv}" for lv in range(N_LEVELS)] + [f"assist{s}" for s in range(N_ASSIST)]
              + ["not_tpmap", "verified"] + [f"deficit{j}" for j in range(5)] + [f"censored{j}" for j in range(5)]
              + ["poor", "poor_sum"])
    j2 = np.arange(N_LEVELS * 31 * 32)
    lm, dep = j2 // 32, j2 % 32
    level2, members = lm // 31, lm % 31
    cols2 = [np.where(level2 == lv, members, 0) for lv in range(N_LEVELS)]
    cols2 += [BITS.astype(np.int64)[dep][:, j] for j in range(5)]
    names2 = [f"people_level{lv}" for lv in range(N_LEVELS)] + [f"dep{j}" for j in range(5)]
    table1, table2 = np.column_stack(cols1).astype(np.int64), np.column_stack(cols2).astype(np.int64)
    table1.flags.writeable = table2.flags.writeable = False  # kept per k_dep and shared: read-only
    return table1, names1, table2, names2


#: Households summed per block by :func:`_packed_run_sums` (a block's words fit in the caches).
_RUN_BLOCK = 1 << 16
#: Runs longer than this are summed in pieces (:func:`_packed_run_sums`): fields for 0/1
#: indicators then fit in 8 bits, eight to a word.
_PIECE_MAX = 255


def _pieces(starts: np.ndarray, n: int, longest: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``starts`` of runs with every run longer than ``longest`` cut into pieces of at most
    ``longest``: the pieces' starts, and where each run's first piece is (None when none is cut)."""
    lengths = np.diff(np.append(starts, n))
    per_run = (lengths - 1) // longest + 1
    if starts.size == 0 or int(per_run.max()) == 1:
        return starts, None
    first = np.cumsum(per_run) - per_run
    within = np.arange(int(per_run.sum()), dtype=np.int64) - np.repeat(first, per_run)
    return np.repeat(starts, per_run) + within * longest, first


def _blocks(starts: np.ndarray, n: int, dropped: np.ndarray | None):
    """The runs at ``starts`` (of ``n`` households) in blocks of about :data:`_RUN_BLOCK`
    households, cut at run starts: ``(first run, past the last run, first household, past the
    last household, the block's ``dropped`` households counted from its first)`` per block."""
    edges = np.append(np.searchsorted(starts, np.arange(0, n, _RUN_BLOCK)), starts.size)
    bounds = np.append(starts, n)[edges]  # where each block starts, and the end
    cuts = None if dropped is None else np.searchsorted(dropped, bounds.astype(dropped.dtype)).tolist()
    none = np.zeros(0, dtype=np.intp)
    for b, (first, stop) in enumerate(zip(edges[:-1].tolist(), edges[1:].tolist())):
        if first < stop:
            lo, hi = int(bounds[b]), int(bounds[b + 1])
            yield first, stop, lo, hi, none if cuts is None else dropped[cuts[b]:cuts[b + 1]] - lo


def _capital_group_sums(capitals: np.ndarray, ids: np.ndarray, g: _Groups) -> np.ndarray:
    """Per-group sums of each row of ``capitals`` (rows, households) by the households' group
    ``ids`` (:meth:`_Groups.group_ids`; dropped households in the extra bin, cut off): shape
    (rows, groups)."""
    return np.stack([np.bincount(ids, weights=row, minlength=g.bins)[:g.n_groups] for row in capitals])


def _capital_run_sums(capitals: np.ndarray, g: _Groups) -> np.ndarray:
    """Per-run sums of each row of ``capitals`` (rows, households): shape (rows, runs). Dropped
    households are left out a block at a time (copied, their scores zeroed), not gathered from
    the whole rows, whose reads would miss the caches."""
    assert g.starts is not None
    if g.dropped is None:
        return np.stack([np.add.reduceat(row, g.starts) for row in capitals])
    out = np.empty((capitals.shape[0], g.n_groups))
    buffer = np.empty(min(g.n, _RUN_BLOCK + int(np.diff(np.append(g.starts, g.n)).max(initial=1))))
    for first, stop, lo, hi, dropped in _blocks(g.starts, g.n, g.dropped):
        block, local = buffer[:hi - lo], g.starts[first:stop] - lo
        for j, row in enumerate(capitals):
            block[:] = row[lo:hi]
            block[dropped] = 0.0
            out[j, first:stop] = np.add.reduceat(block, local)
    return out


def _packed_run_sums(codes: np.ndarray, values: np.ndarray, g: _Groups) -> np.ndarray:
    """Per-run sums of ``values[codes]`` for every column of ``values``: shape (columns, runs).

    Several indicators share one 64-bit word: each gets a field wide enough for the largest sum
    a piece of a run can reach (runs longer than :data:`_PIECE_MAX` are summed in pieces, then the
    pieces added up). The words are looked up from a table by code into one reused buffer and
    summed per piece (``numpy.add.reduceat``): a lookup and one pass per word replace one pass per
    indicator. The dropped households of ``g`` look up a word of zeros.
    """
    assert g.starts is not None
    starts, first_piece = _pieces(g.starts, g.n, _PIECE_MAX)
    longest = int(np.diff(np.append(starts, g.n)).max(initial=1))
    widths = [max(1, int(longest * int(top)).bit_length()) for top in values.max(axis=0)]
    words: list[list[tuple[int, int, int]]] = [[]]
    used = 0
    for column, width in enumerate(widths):
        if used + width > 64:
            words.append([])
            used = 0
        words[-1].append((column, used, width))
        used += width
    tables = []
    for word in words:
        table = np.zeros(values.shape[0] + 1, dtype=np.uint64)  # the last code, all zero: dropped households
        for column, offset, _ in word:
            table[:-1] += values[:, column].astype(np.uint64) << np.uint64(offset)
        tables.append(table)
    sums = np.empty((len(words), starts.size), dtype=np.uint64)
    # A block of households at a time, every word in turn, so the looked-up words stay in the caches.
    wide = np.empty(min(g.n, _RUN_BLOCK + _PIECE_MAX), dtype=np.intp)
    packed = np.empty(wide.size, dtype=np.uint64)
    for first, stop, lo, hi, dropped in _blocks(starts, g.n, g.dropped):
        block = wide[:hi - lo]
        np.copyto(block, codes[lo:hi], casting="unsafe")  # codes widened once per block, not per word
        block[dropped] = values.shape[0]
        local = starts[first:stop] - lo
        for w, table in enumerate(tables):
            table.take(block, out=packed[:hi - lo], mode="clip")  # every code indexes the table
            sums[w, first:stop] = np.add.reduceat(packed[:hi - lo], local)
    out = np.empty((values.shape[1], starts.size), dtype=np.int64)
    for w, word in enumerate(words):
        for column, offset, width in word:
            out[column] = (sums[w] >> np.uint64(offset)) & np.uint64((1 << width) - 1)
    if first_piece is None:
        return out
    # Each run's pieces added up; only the few runs cut in pieces need more than their first.
    by_run = out.take(first_piece, axis=1)
    per_run = np.diff(np.append(first_piece, starts.size))
    cut = np.flatnonzero(per_run > 1)
    counts = per_run[cut]
    local_first = np.cumsum(counts) - counts
    pieces = np.repeat(first_piece[cut] - local_first, counts) + np.arange(int(counts.sum()))
    by_run[:, cut] = np.add.reduceat(out.take(pieces, axis=1), local_first, axis=1)
    return by_run


def _sums_by_runs(g: _Groups, sel: dict[str, np.ndarray], cutoff: float, k_dep: int) -> dict[str, np.ndarray]:
    """Raw sums for many groups that are contiguous runs, by packed sums (:func:`_packed_run_sums`)."""
    assert g.starts is not None
    table1, names1, table2, names2 = _indicator_tables(k_dep)
    deficit_mask = sel["deficit_mask"] if cutoff == DEFAULT_DEFICIT_CUTOFF else _deficit_mask(sel["capitals"], cutoff)
    j1 = sel["profile"].astype(np.uint16) * np.uint16(32) + deficit_mask
    sums1 = _packed_run_sums(j1, table1, g)
    sums2 = _packed_run_sums(sel["j2"], table2, g)
    by_name = dict(zip(names1, sums1)) | dict(zip(names2, sums2))
    if g.n_groups * 8 <= g.n:
        capital_sum = _capital_run_sums(sel["capitals"], g)
    else:
        capital_sum = _capital_group_sums(sel["capitals"], g.group_ids(), g)
    return {
        "level": sums1[0:4],
        "assist": sums1[4:9],
        "not_tpmap": by_name["not_tpmap"],
        "verified": by_name["verified"],
        "deficit": sums1[11:16],
        "censored": sums1[16:21],
        "poor": by_name["poor"],
        "poor_sum": by_name["poor_sum"],
        "people_level": sums2[0:4],
        "dep": sums2[4:9],
        "capital_sum": capital_sum,
        "households": sums1[0:4].sum(axis=0),  # every household has one level; none dropped is counted
    }


#: Largest histogram (groups x codes) the cell-key sums build; past it, one pass per indicator.
_KEY_HISTOGRAM_CELLS = 1 << 22
#: From this many households, groups in runs are summed by runs (:func:`_sums_by_runs`) however few
#: they are; below it, by histogram when it has at most two bins per household. 13M households
#: (runs/histogram): res 5 100/254 ms, res 7 123/461, res 8 184/820; 1M: 10/16 to 14/30; 200k:
#: 3-6 ms either way.
_RUNS_MIN_HOUSEHOLDS = 1 << 18


def key_sums_from_histograms(profile: np.ndarray, deficit: np.ndarray, dep: np.ndarray, total: np.ndarray,
                             k_dep: int = DEFAULT_K_DEPRIVATIONS) -> dict[str, np.ndarray]:
    """Cell-key sums from record-key histograms: ``profile`` (groups, 80), ``deficit`` (groups, 32)
    by deficit code, ``dep`` (5, groups) and ``total`` (groups,). Returns ``raw``-style rows."""
    poor = (POPCOUNT >= k_dep).astype(np.float64)
    return _key_rows((profile @ PROFILE_TABLE).T, (deficit @ np.column_stack([BITS, poor])).T, dep, total)


def _key_rows(by_profile: np.ndarray, by_deficit: np.ndarray, dep: np.ndarray, total: np.ndarray) -> dict:
    """``raw``-style key rows from per-indicator sums: ``by_profile`` (11, groups) in
    ``PROFILE_TABLE``'s columns, ``by_deficit`` (6, groups: five capitals, then poor)."""
    return {
        "key_households": total,
        "key_level": by_profile[:N_LEVELS],
        "key_assist": by_profile[N_LEVELS:N_LEVELS + N_ASSIST],
        "key_not_tpmap": by_profile[-2],
        "key_verified": by_profile[-1],
        "key_deficit": by_deficit[:5],
        "key_poor": by_deficit[5],
        "key_dep": dep,
    }


def _key_sums(g: _Groups, sel: Mapping[str, np.ndarray], cutoff: float, k_dep: int) -> dict[str, np.ndarray]:
    """Per group, the sum of record keys of the households behind every published count
    (:mod:`geo.engine.cellkey`): a histogram of each packed code weighted by the record key, turned into
    indicators by the same tables as the counts."""
    ids = g.group_ids().astype(np.int64)
    n_groups, bins = g.n_groups, g.bins
    rk = sel["record_key"].astype(np.float64)
    deficit_mask = sel["deficit_mask"] if cutoff == DEFAULT_DEFICIT_CUTOFF else _deficit_mask(sel["capitals"], cutoff)
    dep_mask = sel["deprivation_mask"]
    total = np.bincount(ids, weights=rk, minlength=bins)[:n_groups]

    def histograms(lo: int, hi: int, first: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Histograms of the households ``lo:hi``, whose groups are ``first .. first + n - 1`` (and
        dropped households, whose id is past every group's: put in one more, cut off)."""
        local, weights = np.minimum(ids[lo:hi] - first, n), rk[lo:hi]

        def hist(codes: np.ndarray, n_codes: int) -> np.ndarray:
            flat = local * n_codes + codes[lo:hi]
            return np.bincount(flat, weights=weights, minlength=(n + 1) * n_codes).reshape(n + 1, n_codes)[:n]

        return (hist(sel["profile"].astype(np.int64), N_PROFILES), hist(deficit_mask.astype(np.int64), 32),
                (hist(dep_mask.astype(np.int64), 32) @ BITS).T)

    if n_groups * N_PROFILES <= _KEY_HISTOGRAM_CELLS:
        profile, deficit, dep = histograms(0, ids.size, 0, n_groups)
        return key_sums_from_histograms(profile, deficit, dep, total, k_dep)
    if g.starts is not None:
        # Very many groups in runs (fine hexagons of a whole country): the same histograms, a
        # slice of groups at a time, so none is larger than the limit.
        step = max(_KEY_HISTOGRAM_CELLS // N_PROFILES, 1)
        ends = np.append(g.starts, g.n)
        parts = [histograms(int(ends[first]), int(ends[min(first + step, n_groups)]), first,
                            min(step, n_groups - first)) for first in range(0, n_groups, step)]
        profile, deficit = (np.concatenate([p[j] for p in parts]) for j in (0, 1))
        return key_sums_from_histograms(profile, deficit, np.concatenate([p[2] for p in parts], axis=1), total, k_dep)
    # Very many groups, not in runs: one weighted pass per indicator.
    def by_group(indicator: np.ndarray) -> np.ndarray:
        return np.bincount(ids, weights=rk * indicator, minlength=bins)[:n_groups]

    table = PROFILE_TABLE[sel["profile"]]
    bits = BITS[deficit_mask]
    poor = (POPCOUNT[deficit_mask] >= k_dep).astype(np.float64)
    dep_bits = BITS[dep_mask]
    by_profile = np.stack([by_group(table[:, j]) for j in range(table.shape[1])])
    by_deficit = np.stack([by_group(bits[:, j]) for j in range(5)] + [by_group(poor)])
    return _key_rows(by_profile, by_deficit, np.stack([by_group(dep_bits[:, j]) for j in range(5)]), total)


def _raw_sums(g: _Groups, sel: dict[str, np.ndarray], cutoff: float, k_dep: int,
              cell_keys: bool = True) -> dict[str, np.ndarray]:
    """Per-group sums every metric is computed from (``households`` included), and the cell-key
    sums when ``cell_keys``."""
    if g.n == 0 or g.starts is None or (g.n < _RUNS_MIN_HOUSEHOLDS and g.n_groups * N_PROFILES <= 2 * g.n):
        raw = _sums_by_histogram(g, sel, cutoff, k_dep)
    else:
        raw = _sums_by_runs(g, sel, cutoff, k_dep)
    if cell_keys:
        raw.update(_key_sums(g, sel, cutoff, k_dep))
    return raw


# ---------------------------------------------------------------------------------------------
# Aggregation
# ---------------------------------------------------------------------------------------------


class _Selection(Mapping):
    """The arrays of the selected households, each cut by the mask only when first used.

    An aggregation by province reads five or six of the index's twelve arrays; copying all of
    them through the mask would double its time on national data. The mask becomes positions once
    (``numpy.flatnonzero``) and every array is gathered with ``take``, row by row for the capitals:
    on a million households that is 10-40 times faster than cutting each array with the boolean mask.
    """

    _NAMES = ("cell", "province", "district", "subdistrict", "members", "level", "profile", "deprivation_mask",
              "deficit_mask", "j2", "pilot", "capitals", "record_key")

    def __init__(self, index: HouseholdIndex, mask: np.ndarray | None, start: int, stop: int | None = None):
        stop = index.n if stop is None else stop
        self._index, self._part, self._cache = index, slice(start, stop), {}
        self._positions = None if mask is None else np.flatnonzero(mask[start:stop]) + start

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._cache:
            if name not in self._NAMES:
                raise KeyError(name)
            values = getattr(self._index, name)
            if self._positions is None:
                self._cache[name] = values[self._part] if values.ndim == 1 else values[:, self._part]
            elif values.ndim == 1:
                self._cache[name] = values.take(self._positions)
            else:  # capitals: (5, n), the households on the last axis; a row at a time is fastest
                self._cache[name] = np.stack([row.take(self._positions) for row in values])
        return self._cache[name]

    def local(self, positions: np.ndarray) -> np.ndarray:
        """Where selected households (``positions`` in the index, sorted, all in this part and
        selected) are among the selection's arrays."""
        if self._positions is None:
            return positions - self._part.start
        return np.searchsorted(self._positions, positions)

    def __iter__(self):
        return iter(self._NAMES)

    def __len__(self) -> int:
        return len(self._NAMES)


class _Rows(Mapping):
    """The arrays of the households at ``positions`` of ``source`` (an index, or another mapping of
    its arrays, such as a :class:`_Rows`), each gathered when first used."""

    def __init__(self, source: HouseholdIndex | Mapping[str, np.ndarray], positions: np.ndarray):
        self._source, self._positions, self._cache = source, positions, {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._cache:
            if name not in _Selection._NAMES:
                raise KeyError(name)
            source = self._source
            values = source[name] if isinstance(source, Mapping) else getattr(source, name)
            self._cache[name] = values.take(self._positions, axis=values.ndim - 1)
        return self._cache[name]

    def __iter__(self):
        return iter(_Selection._NAMES)

    def __len__(self) -> int:
        return len(_Selection._NAMES)


def _sums_by_key(rows: Mapping[str, np.ndarray], keys: np.ndarray, cutoff: float, k_dep: int,
                 cell_keys: bool) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Raw sums of ``rows`` (the arrays of some households, e.g. a :class:`_Rows`) grouped by
    ``keys`` (one per household, any order): sums, sorted keys."""
    if keys.size > 1 and not bool(np.all(keys[1:] >= keys[:-1])):
        order = np.argsort(keys, kind="stable")
        keys, rows = keys[order], _Rows(rows, order)
    starts = _runs(keys)
    groups = _Groups(n=keys.size, n_groups=int(starts.size), starts=starts)
    return _raw_sums(groups, rows, cutoff, k_dep, cell_keys), keys[starts]


def _selected_moved(index: HouseholdIndex, mask: np.ndarray | None, res: int | None
                    ) -> tuple[np.ndarray, np.ndarray] | None:
    """The selected households :func:`moved_at` lists at ``res`` (positions, sorted, and their
    exact cells), or None when none of them moves (or at res 10)."""
    if res is None or res >= INDEX_RES:
        return None
    pos, exact = moved_at(index, res)
    if mask is not None and pos.size:
        keep = mask[pos]
        pos, exact = pos[keep], exact[keep]
    return (pos, exact) if pos.size else None


def _move_to_exact_cells(parts: list[tuple[dict[str, np.ndarray], np.ndarray]],
                         moved_in: tuple[dict[str, np.ndarray], np.ndarray] | None,
                         mapper: Callable = map) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Sums by parent-of-res-10 cell, without the households that moved, and the moved
    households' sums by their exact cell (``moved_in``, None when none moved), as one table by
    exact cell.

    ``parts`` are ``(raw, keys)`` pairs (keys sorted, the parts in key order, their sums this
    call's own), each summed without the households :func:`moved_at` lists (dropped from their
    groups, :class:`_Groups`). Every sum is additive, so the moved households (about 6 %) are added
    to their cells' sums, each sum (``mapper``: e.g. a thread pool's ``map``) apart; a cell all
    of whose households moved out is left out, one that only moved households fill is added."""
    keys = parts[0][1] if len(parts) == 1 else np.concatenate([k for _, k in parts])
    names = list(parts[0][0])
    if moved_in is None:
        if len(parts) == 1:
            return parts[0]
        return dict(zip(names, mapper(lambda name: np.concatenate([r[name] for r, _ in parts], axis=-1), names))), keys
    in_raw, in_keys = moved_in
    ends = np.cumsum([k.size for _, k in parts]).tolist()
    # Both are sorted: only the cells that held none of the parents' households need a place.
    at = np.minimum(np.searchsorted(keys, in_keys), max(keys.size - 1, 0))
    fresh = in_keys if keys.size == 0 else in_keys[keys[at] != in_keys]
    all_keys = np.sort(np.concatenate([keys, fresh])) if fresh.size else keys
    at_in = np.searchsorted(all_keys, in_keys)
    at_keys = None if all_keys is keys else np.searchsorted(all_keys, keys)
    households = np.zeros(all_keys.size, dtype=np.int64)
    households[slice(None) if at_keys is None else at_keys] = np.concatenate([r["households"] for r, _ in parts])
    households[at_in] += in_raw["households"]
    keep = np.flatnonzero(households > 0)  # a cell all of whose households moved out is left out
    same = at_keys is None and keep.size == all_keys.size  # the table's cells are the parents'
    if not same:
        # Where each cell's sums go: its row in the result, or past the last (cut off) when left out.
        slot = np.full(all_keys.size, keep.size, dtype=np.intp)
        slot[keep] = np.arange(keep.size)
        at_keys = slot if at_keys is None else slot[at_keys]
        at_in = slot[at_in]

    def exact_sums(name: str) -> np.ndarray:
        """One sum by exact cell, a row at a time: numpy scatters along a 2-D array's last axis an
        element of every row at a time."""
        own = [r[name] for r, _ in parts]
        dtype = np.result_type(own[0].dtype, in_raw[name].dtype)
        if same:
            total = own[0] if len(own) == 1 and own[0].dtype == dtype else np.concatenate(own, axis=-1).astype(dtype)
        else:
            total = np.zeros(own[0].shape[:-1] + (keep.size + 1,), dtype=dtype)
            for values, lo, hi in zip(own, [0] + ends[:-1], ends):
                if hi > lo:
                    for row, part_row in zip(total.reshape(-1, keep.size + 1), values.reshape(-1, hi - lo)):
                        row[at_keys[lo:hi]] = part_row
        for row, added in zip(total.reshape(-1, total.shape[-1]), in_raw[name].reshape(-1, in_keys.size)):
            row[at_in] += added
        return total if same else total[..., :-1]

    others = [name for name in names if name != "households"]
    raw = dict(zip(others, mapper(exact_sums, others)))
    raw["households"] = households if same else households[keep]
    return raw, (all_keys if same else all_keys[keep])


#: Below this many households one thread sums them; above, each core sums a part (see :func:`_sums`).
_PARALLEL_MIN_HOUSEHOLDS = 200_000


def _sums(index: HouseholdIndex, mask: np.ndarray | None, by: str, res: int | None, rollup_min_count: int | None,
          cutoff: float, k_dep: int, cell_keys: bool) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Raw sums per group and the groups' keys, the households split over the machine's cores.

    Every sum is additive, so each thread sums one contiguous part of the index (numpy's ``take``
    and ``bincount`` release the GIL). Admin parts have one column per area whatever the part and
    are added element-wise. H3 parts (without roll-up) are cut where the parent cell at ``res``
    changes (:func:`_h3_edges`), so no cell spans two parts and their columns are concatenated.
    H3 sums below res 10 without roll-up come out by exact cell: each part leaves out the
    households whose cell is not their parent's (:func:`moved_at`), a task beside the parts sums
    those by their cell, and :func:`_move_to_exact_cells` adds them in.
    """
    start = int(np.searchsorted(index.cell, 1)) if by == "h3" else 0
    workers = os.cpu_count() or 1
    rollup = by == "h3" and rollup_min_count is not None and rollup_min_count > 1
    moved = _selected_moved(index, mask, res) if by == "h3" and not rollup else None

    def part(bounds: tuple[int, int], rollup_min_count: int | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
        sel = _Selection(index, mask, *bounds)
        groups, keys = _groups_for(index, sel, by, res, rollup_min_count, mask)
        if moved is not None:
            pos = moved[0]
            here = pos[np.searchsorted(pos, bounds[0]):np.searchsorted(pos, bounds[1])]
            if here.size:
                groups = dataclasses.replace(groups, dropped=sel.local(here))
        return _raw_sums(groups, sel, cutoff, k_dep, cell_keys), keys

    def moved_in() -> tuple[dict[str, np.ndarray], np.ndarray] | None:
        return None if moved is None else _sums_by_key(_Rows(index, moved[0]), moved[1], cutoff, k_dep, cell_keys)

    if rollup or workers <= 1 or index.n - start < _PARALLEL_MIN_HOUSEHOLDS:
        one = part((start, index.n), rollup_min_count)
        return _move_to_exact_cells([one], moved_in()) if by == "h3" else one
    # With the moved households' sums beside them, twice as many parts as cores keep every core busy.
    n_parts = workers if moved is None else 2 * workers
    edges = np.linspace(start, index.n, n_parts + 1).astype(np.int64).tolist()
    if by == "h3":
        assert res is not None
        edges = _h3_edges(index.cell, edges, res)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # The moved households' sums run beside the parts: no core waits for the last step.
        added = pool.submit(moved_in)
        parts = list(pool.map(part, zip(edges[:-1], edges[1:])))
        if by == "h3":
            return _move_to_exact_cells(parts, added.result(), pool.map)
    return {name: sum(p[0][name] for p in parts) for name in parts[0][0]}, parts[0][1]


def _h3_edges(cells: np.ndarray, edges: list[int], res: int) -> list[int]:
    """``edges`` (positions in the sorted res-10 ``cells``, all past the households without a
    position) moved forward to where the parent at ``res`` changes, so each parent's run lies in one part.

    A parent's run ends below :func:`~geo.engine.h3index.descendants_bound` of it.
    """
    moved = [edges[0]]
    for edge in edges[1:-1]:
        if edge >= cells.size:
            moved.append(int(cells.size))
            continue
        bound = descendants_bound(parents_unchecked(np.asarray(cells[edge:edge + 1]), res), INDEX_RES)
        moved.append(max(moved[-1], int(np.searchsorted(cells, bound[0], side="right"))))
    moved.append(edges[-1])
    return moved


def _cells_of_selection(index: HouseholdIndex, cells: np.ndarray, mask: np.ndarray | None, start: int,
                        rank: np.ndarray | None, res: int) -> np.ndarray:
    """Per selected household (``cells``: their res-10 cells, selection order), its cell at ``res``
    (:func:`exact_cells`). ``rank`` maps a position past ``start`` to its place in the selection."""
    keys = cells.copy() if res == INDEX_RES else parents_unchecked(cells, res)
    pos, exact = moved_at(index, res)
    if pos.size:
        if mask is None:
            keys[pos - start] = exact
        else:
            assert rank is not None
            keep = mask[pos]
            keys[rank[pos[keep] - start]] = exact[keep]
    return keys


def _rollup_keys(index: HouseholdIndex, cells: np.ndarray, mask: np.ndarray | None, start: int, res: int,
                 min_count: int, floor: int) -> np.ndarray:
    """Per selected household, the cell it is reported in after rolling small cells up (see :func:`aggregate`).

    Going from ``res`` towards ``floor``, a *family* is the cells of the current table sharing their
    parent one resolution coarser. A family holding a cell with fewer than ``min_count`` households
    is merged: each of its households moves to the cell that contains it one resolution coarser
    (its exact cell, not the family's parent, which need not contain it). A family whose parent
    then holds merged households merges too (repeated until none does), so no cell of the result
    has an ancestor in it.
    """
    rank = None if mask is None else np.cumsum(mask[start:], dtype=np.int64) - 1
    keys = _cells_of_selection(index, cells, mask, start, rank, res)
    for level in range(res, floor, -1):
        # Keys are nearly sorted (parents of sorted cells, a few moved): sort the runs, not the households.
        run_starts = _runs(keys)
        if run_starts.size == 0:
            break
        run_lengths = np.diff(np.append(run_starts, keys.size))
        rows, run_row = np.unique(keys[run_starts], return_inverse=True)
        counts = np.bincount(run_row, weights=run_lengths, minlength=rows.size)
        # Every current key is at resolution >= level here, so its parent at level - 1 exists.
        families, family_of = np.unique(parents_unchecked(rows, level - 1), return_inverse=True)
        merged = np.bincount(family_of, weights=counts < min_count, minlength=families.size) > 0
        if not merged.any():
            break
        coarse = _cells_of_selection(index, cells, mask, start, rank, level - 1)
        while True:
            moving = np.repeat(merged[family_of][run_row], run_lengths)
            landed = coarse[moving]
            occupied = np.unique(landed[_runs(landed)])
            more = ~merged & np.isin(families, occupied)
            if not more.any():
                break
            merged |= more
        keys = np.where(moving, coarse, keys)
    return keys


def _merge_equal_keys(raw: dict[str, np.ndarray], keys: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Sums of groups that share a key added together: one group per key, keys sorted."""
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    starts = _runs(keys)
    if starts.size == keys.size:
        return {name: values[..., order] for name, values in raw.items()}, keys
    return {name: np.add.reduceat(values[..., order], starts, axis=-1) for name, values in raw.items()}, keys[starts]


def _groups_for(index: HouseholdIndex, sel: dict[str, np.ndarray], by: str, res: int | None,
                rollup_min_count: int | None, mask: np.ndarray | None = None) -> tuple[_Groups, np.ndarray]:
    """Groups and their keys: uint64 cells for h3, indices into the code arrays otherwise.

    H3 groups are runs of equal keys in index order. Without roll-up the key is the parent of the
    res-10 cell (:func:`_move_to_exact_cells` then moves the households it does not hold); with
    roll-up it is the household's exact reported cell, so two runs can share a key
    (:func:`_merge_equal_keys` adds them up).
    """
    n = sel["cell"].size
    if by == "h3":
        assert res is not None
        if rollup_min_count is not None and rollup_min_count > 1:
            start = int(np.searchsorted(index.cell, 1))
            keys = _rollup_keys(index, sel["cell"], mask, start, res, rollup_min_count, ROLLUP_FLOOR_RES)
            starts = _runs(keys)
            return _Groups(n=n, n_groups=int(starts.size), starts=starts), keys[starts]
        starts = parent_run_starts(sel["cell"], res)
        return _Groups(n=n, n_groups=int(starts.size), starts=starts), parents_unchecked(sel["cell"][starts], res)
    codes = {"province": sel["province"], "district": sel["district"], "subdistrict": sel["subdistrict"]}[by]
    n_codes = {"province": index.province_codes, "district": index.district_codes,
               "subdistrict": index.subdistrict_codes}[by].size
    ids = codes.astype(np.int32)
    if by == "subdistrict":
        ids = np.where(ids < 0, n_codes, ids)  # households without a subdistrict: dropped below
    return _Groups(n=n, n_groups=n_codes + (by == "subdistrict"), ids=ids), np.arange(n_codes)


def _dominant(counts: np.ndarray) -> np.ndarray:
    """Row of the largest count per group (first on ties), -1 where every count is 0."""
    best = counts[0].copy()
    which = np.zeros(best.size, dtype=np.int8)
    for j in range(1, counts.shape[0]):
        better = counts[j] > best
        which[better] = j
        np.maximum(best, counts[j], out=best)
    which[best <= 0] = -1
    return which


def metrics_from_sums(raw: dict[str, np.ndarray]) -> dict[str, object]:
    """Metric columns from raw per-group sums; every group has at least one household.

    ``raw`` holds one array per indicator of shape (groups,) or (indicators, groups).
    """
    households = raw["households"]
    n_caps = float(len(CAPITALS))
    with np.errstate(divide="ignore", invalid="ignore"):
        per_household = 1.0 / households
        level, people_level = raw["level"], raw["people_level"]
        out: dict[str, object] = {"households": households, "people": people_level.sum(axis=0)}
        for lv in range(N_LEVELS):
            out[f"households_level_{lv + 1}"] = level[lv]
        for lv in range(N_LEVELS):
            out[f"people_level_{lv + 1}"] = people_level[lv]
        out["share_level_1_2"] = (level[0] + level[1]) * per_household
        out["not_in_tpmap"] = raw["not_tpmap"]
        out["in_tpmap"] = households - raw["not_tpmap"]  # the denominator of the dep_* shares
        out["verified"] = raw["verified"]
        for j, column in enumerate(CAPITAL_COLUMNS):
            out[f"mean_{column}"] = raw["capital_sum"][j] * per_household
        for j, capital in enumerate(CAPITALS):
            out[f"deficit_share_{capital}"] = raw["deficit"][j] * per_household
        out["dominant_deficit"] = pd.Categorical.from_codes(_dominant(raw["deficit"]), categories=list(CAPITALS))
        for j, column in enumerate(DEPRIVATION_COLUMNS):
            out[column] = raw["dep"][j]
        poor, poor_sum = raw["poor"], raw["poor_sum"]
        out["af_h"] = poor * per_household
        out["af_a"] = np.where(poor > 0, poor_sum / (n_caps * poor), np.nan)
        out["af_mpi"] = poor_sum * (per_household / n_caps)
        per_deprivation = np.where(poor_sum > 0, 1.0 / poor_sum, np.nan)
        for j, capital in enumerate(CAPITALS):
            out[f"af_contribution_{capital}"] = raw["censored"][j] * per_deprivation
        for s, status in enumerate(ASSISTANCE_STATUSES):
            out[f"assistance_{status}_share"] = raw["assist"][s] * per_household
    if "key_households" in raw:
        out.update(_key_columns_of(raw))
    return out


def _key_columns_of(raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The :data:`KEY_COLUMNS` (int64) from the ``key_*`` rows of ``raw``."""
    def as_int(values: np.ndarray) -> np.ndarray:
        return np.rint(values).astype(np.int64)

    out = {"ckey_households": as_int(raw["key_households"])}
    for lv in range(N_LEVELS):
        out[f"ckey_households_level_{lv + 1}"] = as_int(raw["key_level"][lv])
    out["ckey_not_in_tpmap"] = as_int(raw["key_not_tpmap"])
    out["ckey_in_tpmap"] = as_int(raw["key_households"]) - out["ckey_not_in_tpmap"]
    out["ckey_verified"] = as_int(raw["key_verified"])
    for j, column in enumerate(DEPRIVATION_COLUMNS):
        out[f"ckey_{column}"] = as_int(raw["key_dep"][j])
    for j, capital in enumerate(CAPITALS):
        out[f"ckey_deficit_{capital}"] = as_int(raw["key_deficit"][j])
    out["ckey_af_poor"] = as_int(raw["key_poor"])
    for s, status in enumerate(ASSISTANCE_STATUSES):
        out[f"ckey_assistance_{status}"] = as_int(raw["key_assist"][s])
    return out


def aggregate(
    index: HouseholdIndex,
    by: str = "district",
    *,
    res: int | None = None,
    mask: np.ndarray | None = None,
    deficit_cutoff: float = DEFAULT_DEFICIT_CUTOFF,
    k_deprivations: int = DEFAULT_K_DEPRIVATIONS,
    rollup_min_count: int | None = None,
    cell_keys: bool = True,
) -> pd.DataFrame:
    """Aggregate indexed households by H3 cell, subdistrict, district or province (unprotected).

    Parameters
    ----------
    index : HouseholdIndex
        From :func:`index_households`.
    by : {"h3", "subdistrict", "district", "province"}, default "district"
    res : int, optional
        H3 resolution 5-10; required when ``by="h3"``, not allowed otherwise.
    mask : numpy.ndarray of bool, optional
        Households to include, in the index's order (see :func:`geo.engine.filters.filter_mask`).
    deficit_cutoff : float, default 1.75
        A capital scored below this is in deficit (and counts as deprived for the Alkire-Foster
        index). 1.0-4.0.
    k_deprivations : int, default 2
        Alkire-Foster poverty cut-off: poor when deprived in at least this many capitals, 1-5.
    rollup_min_count : int, optional
        H3 only. When set (k > 1), cells are rolled up: going from ``res`` towards res 5, a cell
        whose family (the cells sharing its parent) holds any cell with fewer than k households
        is replaced, with its whole family, by the parent. The result is a set of non-overlapping
        cells of mixed resolution; only res-5 cells can still hold fewer than k households.
    cell_keys : bool, default True
        Add the :data:`KEY_COLUMNS` the public release perturbs with (:mod:`geo.engine.cellkey`);
        ``False`` only for tables that are never released (benchmarks).

    Returns
    -------
    pandas.DataFrame
        One row per area with at least one selected household, sorted by key. Key columns:
        ``h3_cell`` (uint64) and ``res`` for H3, else ``code`` (DOPA code); then
        :data:`METRIC_COLUMNS`, then :data:`KEY_COLUMNS` (with ``cell_keys``). ``attrs`` records ``by``, ``res``, ``rollup_min_count`` and
        ``households_without_key`` (selected households with no position, or no subdistrict
        code, which no row counts).

    Raises
    ------
    EngineInputError
        When an argument is out of range.

    Example
    -------
    >>> table = aggregate(index, by="h3", res=8)  # doctest: +SKIP
    >>> table[["h3_cell", "households", "af_mpi"]].head()  # doctest: +SKIP
    """
    if not isinstance(index, HouseholdIndex):
        raise EngineInputError(f"index must be a HouseholdIndex from index_households(), got {type(index).__name__}")
    by = check_choice(by, "by", AGGREGATE_BY)
    if by == "h3":
        if res is None:
            raise EngineInputError("res is required when by='h3': one of [5, 6, 7, 8, 9, 10]")
        res = check_resolution(res)
    elif res is not None:
        raise EngineInputError(f"res is only for by='h3', got res={res!r} with by={by!r}")
    mask, cutoff, k_dep = _checked_options(index, mask, deficit_cutoff, k_deprivations)
    if rollup_min_count is not None:
        if by != "h3":
            raise EngineInputError(f"rollup_min_count is only for by='h3', got by={by!r}")
        rollup_min_count = check_int(rollup_min_count, "rollup_min_count", minimum=1)

    raw, keys = _sums(index, mask, by, res, rollup_min_count, cutoff, k_dep, cell_keys)
    if by == "h3" and rollup_min_count is not None and rollup_min_count > 1:
        raw, keys = _merge_equal_keys(raw, keys)
    selected_total = int(mask.sum()) if mask is not None else index.n

    if by == "h3":
        columns: dict[str, object] = {"h3_cell": keys, "res": cells_resolution(keys)}
        columns.update(metrics_from_sums(raw))
        table = pd.DataFrame(columns, copy=False)
        if rollup_min_count is not None and rollup_min_count > 1:
            table = table.sort_values("h3_cell", ignore_index=True)
    else:
        codes = {"province": index.province_codes, "district": index.district_codes,
                 "subdistrict": index.subdistrict_codes}[by]
        keep = np.flatnonzero(raw["households"][: codes.size] > 0)
        columns = {"code": pd.array(codes[keep], dtype="string")}
        columns.update(metrics_from_sums({name: values[..., keep] for name, values in raw.items()}))
        table = pd.DataFrame(columns, copy=False)
    counted = int(table["households"].sum())
    table.attrs.update(
        {"by": by, "res": res, "rollup_min_count": rollup_min_count, "households_without_key": selected_total - counted}
    )
    return table


def _checked_options(index: HouseholdIndex, mask: object, deficit_cutoff: object,
                     k_deprivations: object) -> tuple[np.ndarray | None, float, int]:
    """The mask (a bool array, one entry per household, or None), deficit cut-off and k of the
    aggregations, checked; :class:`EngineInputError` names a bad one."""
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != bool or mask.shape != (index.n,):
            raise EngineInputError(f"mask must be a bool array of length {index.n}, got {mask.dtype} {mask.shape}")
    cutoff = check_float(deficit_cutoff, "deficit_cutoff", minimum=1.0, maximum=4.0)
    k_dep = check_int(k_deprivations, "k_deprivations", minimum=1, maximum=len(CAPITALS))
    return mask, cutoff, k_dep


def aggregate_by_h3(index: HouseholdIndex, res: int = 8, **options: object) -> pd.DataFrame:
    """:func:`aggregate` with ``by="h3"``."""
    return aggregate(index, "h3", res=res, **options)  # type: ignore[arg-type]


def aggregate_by_district(index: HouseholdIndex, **options: object) -> pd.DataFrame:
    """:func:`aggregate` with ``by="district"``."""
    return aggregate(index, "district", **options)  # type: ignore[arg-type]


def aggregate_by_key(index: HouseholdIndex, keys: object, *, by: str, mask: np.ndarray | None = None,
                     deficit_cutoff: float = DEFAULT_DEFICIT_CUTOFF,
                     k_deprivations: int = DEFAULT_K_DEPRIVATIONS) -> pd.DataFrame:
    """Aggregate indexed households by a key the index does not hold (unprotected), with the same
    metric and cell-key columns as :func:`aggregate`: a village (``by="village"``, the key its
    subdistrict code and village number, ``geo.views.villages``).

    Parameters
    ----------
    keys : array-like of str
        One key per household, in the index's order; ``""`` or missing keys are counted by no row.
    by : str
        What the keys are (``table.attrs["by"]``, which tells :func:`geo.engine.protect.protect`
        the areas that enclose a row).
    mask : numpy.ndarray of bool, optional
        Households to include, as for :func:`aggregate`.

    Returns
    -------
    pandas.DataFrame
        One row per key with at least one selected household, sorted by ``code`` (the key), then
        :data:`METRIC_COLUMNS` and :data:`KEY_COLUMNS`.

    Raises
    ------
    EngineInputError
        When ``keys`` or ``mask`` does not have one entry per household.
    """
    if not isinstance(index, HouseholdIndex):
        raise EngineInputError(f"index must be a HouseholdIndex from index_households(), got {type(index).__name__}")
    keys = pd.array(np.asarray(keys, dtype=object), dtype="string").fillna("")
    if len(keys) != index.n:
        raise EngineInputError(f"keys must have one entry per household ({index.n}), got {len(keys)}")
    mask, cutoff, k_dep = _checked_options(index, mask, deficit_cutoff, k_deprivations)
    keys = keys.to_numpy(dtype=object)
    selected = (keys != "") if mask is None else (mask & (keys != ""))
    positions = np.flatnonzero(selected)
    if positions.size == 0:
        table = aggregate(index, "province", mask=np.zeros(index.n, dtype=bool))
    else:
        codes, ids = np.unique(keys[positions].astype(str), return_inverse=True)
        raw, groups = _sums_by_key(_Rows(index, positions), ids.astype(np.int64), cutoff, k_dep, True)
        table = pd.DataFrame({"code": pd.array(codes[groups], dtype="string"), **metrics_from_sums(raw)}, copy=False)
    total = int(mask.sum()) if mask is not None else index.n
    table.attrs.update({"by": by, "res": None, "rollup_min_count": None,
                        "households_without_key": total - int(table["households"].sum())})
    return table


# ---------------------------------------------------------------------------------------------
# Geometry for output
# ---------------------------------------------------------------------------------------------


def attach_boundaries(table: pd.DataFrame, boundaries: pd.DataFrame):
    """Join admin-area boundaries (``code``, ``name_th``, ``name_en``, ``geometry``) to a table.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`aggregate` (or :func:`geo.engine.protect.protect`) with ``by`` an admin level.
    boundaries : geopandas.GeoDataFrame
        ``geo.data.boundaries.load_boundaries(level)`` for the same level.

    Returns
    -------
    geopandas.GeoDataFrame
        The table's rows and columns with ``name_th``, ``name_en`` after ``code`` and the
        boundary geometry (EPSG:4326); rows whose code has no boundary get an empty geometry.
    """
    import geopandas as gpd

    check_columns(table, "table", ("code",))
    check_columns(boundaries, "boundaries", ("code", "name_th", "name_en", "geometry"))
    lookup = boundaries.drop_duplicates("code").set_index("code")
    joined = table.copy()
    position = joined.columns.get_loc("code") + 1
    for offset, name in enumerate(("name_th", "name_en")):
        joined.insert(position + offset, name, lookup[name].reindex(joined["code"]).to_numpy())
    geometry = gpd.GeoSeries(lookup.geometry.reindex(joined["code"]).to_numpy(), crs=boundaries.crs or "EPSG:4326")
    return gpd.GeoDataFrame(joined, geometry=geometry.values, crs=geometry.crs)


def cells_to_polygons(cells: object):
    """Hexagon (or pentagon) polygons of H3 cells, (lon, lat) order as shapely expects; None for 0.

    Built in one vectorised call (h3ronpy writes WKB, shapely reads it), several times faster
    than ``h3.cell_to_boundary`` cell by cell.
    """
    import pyarrow as pa
    import shapely
    from h3ronpy.vector import cells_to_wkb_polygons

    arr = np.asarray(cells, dtype=np.uint64)
    out = np.full(arr.shape, None, dtype=object)
    valid = arr != 0
    if valid.any():
        wkb = cells_to_wkb_polygons(pa.array(arr[valid]))
        out[valid] = shapely.from_wkb(np.asarray(pa.array(wkb).to_pylist(), dtype=object))
    return out


def attach_cell_geometry(table: pd.DataFrame):
    """Add H3 hexagon geometry to an H3 table and give ``h3_cell`` its string form.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326.
    """
    import geopandas as gpd

    check_columns(table, "table", ("h3_cell",))
    cells = table["h3_cell"].to_numpy(dtype=np.uint64)
    out = table.copy()
    out["h3_cell"] = cells_to_str(cells)
    return gpd.GeoDataFrame(out, geometry=list(cells_to_polygons(cells)), crs="EPSG:4326")


# ---------------------------------------------------------------------------------------------
# Pilot reach
# ---------------------------------------------------------------------------------------------

_EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)


def haversine_km(lat1: object, lon1: object, lat2: object, lon2: object) -> np.ndarray:
    """Great-circle distance in km on a sphere of the Earth's mean radius, vectorised.

    Example
    -------
    >>> round(float(haversine_km(16.0, 103.0, 17.0, 103.0)), 1)
    111.2
    """
    p1, p2 = np.radians(np.asarray(lat1, dtype=float)), np.radians(np.asarray(lat2, dtype=float))
    dlat = p2 - p1
    dlon = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def pilot_reach(
    index: HouseholdIndex,
    pilots: pd.DataFrame,
    *,
    radius_km: float = 5.0,
    need_levels: Sequence[int] = (1, 2),
    mask: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per pilot project: households enrolled against the target, and households in need nearby.

    Parameters
    ----------
    index : HouseholdIndex
    pilots : pandas.DataFrame
        Pilot projects in the contract's pilot columns (``pilot_id``, ``lat``, ``lon``,
        ``households_target``; names are kept when present).
    radius_km : float, default 5.0
        Distance from the pilot's site (great circle), 0-500 km.
    need_levels : sequence of int, default (1, 2)
        Levels counted as "in need".
    mask : numpy.ndarray of bool, optional
        Households to include, as for :func:`aggregate`.

    Returns
    -------
    pandas.DataFrame
        One row per pilot: ``pilot_id`` (and names), ``households_target``, ``households``
        (enrolled), ``people``, ``enrolled_share_of_target``, ``in_need_within`` (households at
        ``need_levels`` within ``radius_km``) and ``in_need_within_not_enrolled``, and the cell keys
        of the three counts (``ckey_*``, :mod:`geo.engine.cellkey`). ``attrs["by"]`` is ``"pilot"``.
    """
    if not isinstance(index, HouseholdIndex):
        raise EngineInputError(f"index must be a HouseholdIndex, got {type(index).__name__}")
    check_columns(pilots, "pilots", ("pilot_id", "lat", "lon", "households_target"))
    radius = check_float(radius_km, "radius_km", minimum=0.0, maximum=500.0)
    levels = check_ints(need_levels, "need_levels", allowed=(1, 2, 3, 4)) or ()
    keep = np.ones(index.n, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if keep.shape != (index.n,):
        raise EngineInputError(f"mask must be a bool array of length {index.n}, got shape {keep.shape}")

    pilot_ids = pilots["pilot_id"].astype("string").to_numpy(dtype=object, na_value="")
    position_of = {pid: i for i, pid in enumerate(index.pilot_ids.tolist())}
    enrolled_codes = np.where(keep, index.pilot.astype(np.int32), -1)
    enrolled = np.bincount(enrolled_codes + 1, minlength=index.pilot_ids.size + 1)[1:]
    people = np.bincount(enrolled_codes + 1, weights=index.members, minlength=index.pilot_ids.size + 1)[1:]
    enrolled_key = np.bincount(enrolled_codes + 1, weights=index.record_key.astype(np.float64),
                               minlength=index.pilot_ids.size + 1)[1:]
    in_need = keep & np.isin(index.level, levels) & np.isfinite(index.lat)
    need_lat, need_lon, need_pilot = index.lat[in_need], index.lon[in_need], index.pilot[in_need]
    need_key = index.record_key[in_need].astype(np.int64)

    rows = []
    for pid, lat, lon in zip(pilot_ids, pilots["lat"].to_numpy(float, na_value=np.nan),
                             pilots["lon"].to_numpy(float, na_value=np.nan)):
        code = position_of.get(pid, -1)
        within = np.zeros(0, dtype=bool)
        if np.isfinite(lat) and np.isfinite(lon):
            dlat = np.degrees(radius / _EARTH_RADIUS_KM)
            dlon = dlat / max(np.cos(np.radians(abs(lat) + dlat)), 1e-6)
            box = (np.abs(need_lat - lat) <= dlat) & (np.abs(need_lon - lon) <= dlon)
            candidates = np.flatnonzero(box)
            within = candidates[haversine_km(lat, lon, need_lat[candidates], need_lon[candidates]) <= radius]
        outside = within[need_pilot[within] != code] if code >= 0 else within
        rows.append({
            "households": int(enrolled[code]) if code >= 0 else 0,
            "people": int(people[code]) if code >= 0 else 0,
            "in_need_within": int(within.size),
            "in_need_within_not_enrolled": int(outside.size),
            "ckey_households": int(round(enrolled_key[code])) if code >= 0 else 0,
            "ckey_in_need_within": int(need_key[within].sum()),
            "ckey_in_need_within_not_enrolled": int(need_key[outside].sum()),
        })
    table = pd.DataFrame({"pilot_id": pd.array(pilot_ids, dtype="string")})
    for name in ("name_th", "name_en"):
        if name in pilots.columns:
            table[name] = pilots[name].astype("string").to_numpy()
    table["households_target"] = pilots["households_target"].to_numpy(dtype="float64", na_value=np.nan)
    reach = pd.DataFrame(rows, columns=["households", "people", "in_need_within", "in_need_within_not_enrolled",
                                        "ckey_households", "ckey_in_need_within", "ckey_in_need_within_not_enrolled"])
    table = pd.concat([table, reach], axis=1)
    target = table["households_target"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(target > 0, table["households"].to_numpy(float) / target, np.nan)
    table.insert(table.columns.get_loc("households") + 2, "enrolled_share_of_target", share)
    table.attrs.update({"by": "pilot", "res": None, "radius_km": radius, "need_levels": tuple(levels)})
    return table

