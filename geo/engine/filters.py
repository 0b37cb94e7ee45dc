"""Household filters for every aggregation: one frozen description, one vectorised mask.

A :class:`HouseholdFilter` says which households to keep; :func:`filter_mask` turns it into a
boolean array in a :class:`~geo.engine.aggregate.HouseholdIndex`'s order, which :func:`geo.engine.aggregate.aggregate`
and :func:`geo.engine.aggregate.pilot_reach` take as ``mask``. Every field left at ``None`` means "no
restriction"; fields combine with AND; values within one field combine with OR.
:func:`select_rows` turns the same mask into household rows (:func:`filter_rows` for a filter), so
rows and aggregates never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geo.engine.aggregate import DEFAULT_DEFICIT_CUTOFF, HouseholdIndex, index_households
from geo.engine.codes import N_ASSIST, N_LEVELS, N_PROFILES
from geo.checks import check_bool_or_none, check_choices, check_codes, check_float, check_ints
from geo.errors import EngineInputError
from geo.data.areas import area_level
from geo.data.contract import ASSISTANCE_STATUSES, CAPITALS, DEPRIVATIONS

#: Value of ``pilots`` meaning "households in no pilot".
NO_PILOT = "none"


@dataclass(frozen=True)
class HouseholdFilter:
    """Which households to aggregate.

    Parameters
    ----------
    provinces : sequence of str, optional
        2-digit DOPA province codes.
    districts : sequence of str, optional
        4-digit DOPA district codes.
    levels : sequence of int, optional
        Household levels 1-4.
    capitals_in_deficit : sequence of str, optional
        Keep households in deficit (score below ``deficit_cutoff``) in at least one of these
        capitals (names from :data:`geo.data.contract.CAPITALS`).
    deficit_cutoff : float, default 1.75
    in_tpmap : bool, optional
        True: only households in TPMAP; False: only households missing from TPMAP.
    verified : bool, optional
    assistance : sequence of str, optional
        Statuses from :data:`geo.data.contract.ASSISTANCE_STATUSES`.
    pilots : sequence of str, optional
        Pilot ids; ``"none"`` selects households in no pilot.
    deprivations : sequence of str, optional
        Keep households deprived in at least one of these TPMAP dimensions (names from
        :data:`geo.data.contract.DEPRIVATIONS`); an unknown deprivation is not one.

    Raises
    ------
    EngineInputError
        When a value is not allowed; the message names the field.

    Example
    -------
    >>> HouseholdFilter(provinces=["46"], levels=[1, 2]).is_empty
    False
    """

    provinces: tuple[str, ...] | None = None
    districts: tuple[str, ...] | None = None
    levels: tuple[int, ...] | None = None
    capitals_in_deficit: tuple[str, ...] | None = None
    deficit_cutoff: float = DEFAULT_DEFICIT_CUTOFF
    in_tpmap: bool | None = None
    verified: bool | None = None
    assistance: tuple[str, ...] | None = None
    pilots: tuple[str, ...] | None = field(default=None)
    deprivations: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        setter = object.__setattr__
        setter(self, "provinces", check_codes(self.provinces, "provinces", 2))
        setter(self, "districts", check_codes(self.districts, "districts", 4))
        setter(self, "levels", check_ints(self.levels, "levels", allowed=(1, 2, 3, 4)))
        setter(self, "capitals_in_deficit", check_choices(self.capitals_in_deficit, "capitals_in_deficit", CAPITALS))
        setter(self, "deficit_cutoff", check_float(self.deficit_cutoff, "deficit_cutoff", minimum=1.0, maximum=4.0))
        setter(self, "in_tpmap", check_bool_or_none(self.in_tpmap, "in_tpmap"))
        setter(self, "verified", check_bool_or_none(self.verified, "verified"))
        setter(self, "assistance", check_choices(self.assistance, "assistance", ASSISTANCE_STATUSES))
        setter(self, "pilots", check_choices(self.pilots, "pilots"))
        setter(self, "deprivations", check_choices(self.deprivations, "deprivations", DEPRIVATIONS))

    @property
    def is_empty(self) -> bool:
        """True when the filter keeps every household."""
        return all(
            getattr(self, name) is None
            for name in ("provinces", "districts", "levels", "capitals_in_deficit", "in_tpmap", "verified",
                         "assistance", "pilots", "deprivations")
        )


def _isin_codes(values: np.ndarray, categories: np.ndarray, wanted: tuple[str, ...]) -> np.ndarray:
    positions = np.flatnonzero(np.isin(categories.astype(str), np.array(wanted, dtype=str)))
    return np.isin(values, positions)


def profiles_kept(flt: HouseholdFilter | None) -> np.ndarray | None:
    """Which of the :data:`geo.engine.codes.N_PROFILES` packed profiles (level, assistance, TPMAP,
    verified) ``flt`` keeps, a bool per profile; None when it restricts none of them.

    The one profile table of the filters: :func:`filter_mask` looks households' profiles up in it,
    :mod:`geo.engine.cube` picks its rows and district sums with it.

    Example
    -------
    >>> int(profiles_kept(HouseholdFilter(levels=[1, 2], in_tpmap=False)).sum())
    20
    """
    if flt is None or (flt.levels is None and flt.in_tpmap is None and flt.verified is None
                       and flt.assistance is None):
        return None
    code = np.arange(N_PROFILES)
    keep = np.ones(N_PROFILES, dtype=bool)
    if flt.levels is not None:
        keep &= np.isin(code % N_LEVELS + 1, flt.levels)
    if flt.assistance is not None:
        keep &= np.isin((code // N_LEVELS) % N_ASSIST, [ASSISTANCE_STATUSES.index(s) for s in flt.assistance])
    if flt.in_tpmap is not None:
        keep &= ((code // (N_LEVELS * N_ASSIST)) % 2).astype(bool) == flt.in_tpmap
    if flt.verified is not None:
        keep &= (code // (N_LEVELS * N_ASSIST * 2)).astype(bool) == flt.verified
    return keep


def deficit_codes_kept(flt: HouseholdFilter | None) -> np.ndarray | None:
    """Which of the 32 deficit codes (bit j: capital j below the default cut-off) ``flt`` keeps:
    in deficit in at least one of its ``capitals_in_deficit``; None when it restricts none.

    Example
    -------
    >>> int(deficit_codes_kept(HouseholdFilter(capitals_in_deficit=["natural"])).sum())
    16
    """
    if flt is None or flt.capitals_in_deficit is None:
        return None
    wanted = sum(1 << CAPITALS.index(c) for c in flt.capitals_in_deficit)
    return (np.arange(32) & wanted) != 0


def filter_mask(index: HouseholdIndex, flt: HouseholdFilter | None) -> np.ndarray | None:
    """Boolean mask of the households ``flt`` keeps, in ``index`` order; ``None`` keeps all.

    Parameters
    ----------
    index : HouseholdIndex
    flt : HouseholdFilter or None

    Returns
    -------
    numpy.ndarray of bool, or None
        ``None`` when the filter keeps every household (so aggregation can skip copying).

    Example
    -------
    >>> mask = filter_mask(index, HouseholdFilter(levels=[1]))  # doctest: +SKIP
    """
    if not isinstance(index, HouseholdIndex):
        raise EngineInputError(f"index must be a HouseholdIndex, got {type(index).__name__}")
    if flt is None or flt.is_empty:
        return None
    if not isinstance(flt, HouseholdFilter):
        raise EngineInputError(f"flt must be a HouseholdFilter or None, got {type(flt).__name__}")
    mask = np.ones(index.n, dtype=bool)
    if flt.provinces is not None:
        mask &= _isin_codes(index.province, index.province_codes, flt.provinces)
    if flt.districts is not None:
        mask &= _isin_codes(index.district, index.district_codes, flt.districts)
    if flt.capitals_in_deficit is not None:
        if flt.deficit_cutoff == DEFAULT_DEFICIT_CUTOFF:  # the index's deficit code answers: one lookup
            mask &= deficit_codes_kept(flt).take(index.deficit_mask)
        else:
            any_deficit = np.zeros(index.n, dtype=bool)
            for capital in flt.capitals_in_deficit:
                any_deficit |= index.capitals[CAPITALS.index(capital)] < flt.deficit_cutoff
            mask &= any_deficit
    profiles = profiles_kept(flt)
    if profiles is not None:  # level, TPMAP, verified and assistance: one lookup of the packed profile
        mask &= profiles.take(index.profile)
    if flt.pilots is not None:
        keep = _isin_codes(index.pilot, index.pilot_ids, tuple(p for p in flt.pilots if p != NO_PILOT))
        if NO_PILOT in flt.pilots:
            keep |= index.pilot < 0
        mask &= keep
    if flt.deprivations is not None:
        wanted = sum(1 << DEPRIVATIONS.index(d) for d in flt.deprivations)
        mask &= (index.deprivation_mask & wanted) != 0
    return mask


def select_rows(frame: pd.DataFrame, index: HouseholdIndex, mask: np.ndarray | None) -> pd.DataFrame:
    """The rows of ``frame`` that ``mask`` keeps: the very mask the aggregates use, as rows.

    ``index`` must have been built from ``frame`` (``index_households(frame)``); ``mask`` is in
    ``index`` order (:func:`filter_mask`, or any mask passed to ``aggregate(..., mask=)``), and
    ``index.order`` maps it back to ``frame``'s rows. So a table of rows and an aggregate drawn
    with the same mask always count the same households: there is one filter implementation.

    Parameters
    ----------
    frame : pandas.DataFrame
        The households ``index`` was built from, in the same row order.
    index : HouseholdIndex
    mask : numpy.ndarray of bool or None
        ``None`` keeps every row.

    Returns
    -------
    pandas.DataFrame
        The kept rows in ``frame``'s order (a copy), original index labels kept.

    Raises
    ------
    EngineInputError
        When ``frame`` is not ``index``'s frame (lengths differ) or ``mask`` has the wrong shape.

    Example
    -------
    >>> select_rows(households, index, filter_mask(index, HouseholdFilter(levels=[1])))  # doctest: +SKIP
    """
    if not isinstance(frame, pd.DataFrame):
        raise EngineInputError(f"frame must be a DataFrame, got {type(frame).__name__}")
    if not isinstance(index, HouseholdIndex):
        raise EngineInputError(f"index must be a HouseholdIndex, got {type(index).__name__}")
    if len(frame) != index.n:
        raise EngineInputError(
            f"frame must be the households index was built from: it has {len(frame)} rows, the index {index.n}")
    if mask is None:
        return frame.copy()
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.shape != (index.n,):
        raise EngineInputError(f"mask must be a bool array of length {index.n}, got {mask.dtype} {mask.shape}")
    return frame.iloc[np.sort(index.order[mask])].copy()


def filter_rows(frame: pd.DataFrame, flt: HouseholdFilter | None, *, index: HouseholdIndex | None = None
                ) -> pd.DataFrame:
    """The rows of ``frame`` that ``flt`` keeps, with exactly :func:`filter_mask`'s semantics.

    Parameters
    ----------
    frame : pandas.DataFrame
        Households in the contract's columns.
    flt : HouseholdFilter or None
    index : HouseholdIndex, optional
        ``index_households(frame)`` when already built (it is built here otherwise).

    Example
    -------
    >>> len(filter_rows(households, HouseholdFilter(in_tpmap=False)))  # doctest: +SKIP
    18
    """
    if index is None:
        index = index_households(frame)
    return select_rows(frame, index, filter_mask(index, flt))


def area_mask(index: HouseholdIndex, area: str) -> np.ndarray | None:
    """Households in ``area`` (a 2-, 4- or 6-digit code; ``""`` is everything -> None).

    Example
    -------
    >>> area_mask(index, "4609").sum()  # doctest: +SKIP
    9000
    """
    level = area_level(area)
    if level == "all":
        return None
    codes = {"province": index.province_codes, "district": index.district_codes,
             "subdistrict": index.subdistrict_codes}[level]
    arrays = {"province": index.province, "district": index.district, "subdistrict": index.subdistrict}[level]
    position = np.flatnonzero(codes.astype(str) == area)
    if position.size == 0:
        return np.zeros(index.n, dtype=bool)
    return arrays == position[0]


def combine_masks(*masks: np.ndarray | None) -> np.ndarray | None:
    """AND of the given masks; ``None`` (everything) when all are None."""
    out = None
    for mask in masks:
        if mask is None:
            continue
        out = mask.copy() if out is None else out & mask
    return out
