"""The headline of a selection: its households, people, poor, not in TPMAP, verified and helped,
and the selection's means and shares, as one protected row (:func:`selection_totals`), and the
figures people read from that row (:func:`headline`) — the one headline of the Overview, meeting
mode and every export (:attr:`geo.views.mapview.MapFigure.headline`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.engine.aggregate import COUNT_COLUMNS, KEY_COLUMNS, METRIC_COLUMNS, HouseholdIndex, aggregate
from geo.engine.protect import DEFAULT_MIN_COUNT, column_values, protect
from geo.views.text import format_number, text

#: The headline figures, in order: (stable key, label key in :mod:`geo.views.text`, column of the totals).
HEADLINE_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("households", "households", "households"),
    ("people", "people", "people"),
    ("poor_households", "headline_levels_1_2", "households_level_1_2"),  # one set (geo.engine.protect.POOR_COLUMN)
    ("not_in_tpmap", "not_in_tpmap", "not_in_tpmap"),
    ("verified", "verified", "verified"),
    ("helped", "headline_helped", "helped"),
)


@dataclass(frozen=True)
class Headline:
    """One headline figure: a stable ``key``, its ``label`` and ``text`` in the view's language,
    and the ``value`` (``None`` when withheld)."""

    key: str
    label: str
    text: str
    value: float | None


def headline(totals: pd.DataFrame, lang: str = "th") -> tuple[Headline, ...]:
    """The headline figures of a :func:`selection_totals` (or :func:`totals_of`) row, in ``lang``.

    A withheld selection shows its ``<10`` text for households and "–" elsewhere.
    """
    row = totals.iloc[0]
    withheld = bool(row["suppressed"])
    out = []
    for key, label_key, column in HEADLINE_FIGURES:
        value = row[column]
        value = None if withheld or pd.isna(value) else float(value)
        if withheld and key == "households":
            shown = str(row["households_shown"])
        else:
            shown = "–" if value is None else format_number(int(value), lang)
        out.append(Headline(key, text(label_key, lang), shown, value))
    return tuple(out)


def selection_totals(index: HouseholdIndex, mask: np.ndarray | None, *, k: int = DEFAULT_MIN_COUNT,
                     exact: bool = False) -> pd.DataFrame:
    """Headline figures of a whole selection as a protected one-row table.

    Counts are sums over the selection; means, shares and the Alkire-Foster H and MPI are
    household-weighted averages (all of them decompose that way); ``helped`` counts households
    whose assistance status is "helped". With fewer than ``k`` households the row is withheld.
    The row is released by :func:`geo.engine.protect.protect` (``exact`` as there): in the public
    release its counts carry the cell-key noise of the whole selection's households.

    Returns
    -------
    pandas.DataFrame
        One row: ``households_shown``, ``suppressed``, ``households``, ``people``, the count
        columns of :data:`geo.engine.aggregate.COUNT_COLUMNS`, ``share_level_1_2``, means, deficit
        shares, ``af_h``, ``af_mpi``, assistance shares, ``helped``.
    """
    return totals_of(aggregate(index, "province", mask=mask), k=k, exact=exact)


def totals_of(by_area: pd.DataFrame, *, k: int = DEFAULT_MIN_COUNT, exact: bool = False) -> pd.DataFrame:
    """:func:`selection_totals` from an unprotected :func:`geo.engine.aggregate.aggregate` of the whole
    selection by any admin level (every household of the selection in exactly one row), so a map
    that has aggregated its selection gets its headline without aggregating again."""
    source = column_values(by_area)

    def floats(name: str) -> np.ndarray:
        return source[name].to_numpy(dtype="float64", na_value=np.nan)

    households = floats("households")
    total = float(households.sum())
    row: dict[str, object] = {}
    for name in COUNT_COLUMNS:
        row[name] = int(source[name].sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        for name in METRIC_COLUMNS:
            if name in row or name == "dominant_deficit" or name.startswith("af_contribution") or name == "af_a":
                continue
            row[name] = float(np.nansum(floats(name) * households) / total) if total else np.nan
    row["helped"] = int(round(float(np.nansum(floats("assistance_helped_share") * households))))
    for name in KEY_COLUMNS:  # cell keys add up like counts: the selection's key is the sum of its areas'
        if name in source:
            row[name] = int(source[name].sum())
    table = pd.DataFrame([row])
    table["helped"] = table["helped"].astype("int64")
    table.attrs["by"] = "selection"
    return protect(table, k=k, exact=exact)
