"""Every metric the app maps, tabulates, prints and accepts in a URL — the one registry.

Adding a metric is a change here (and its label in :mod:`geo.views.text`): the Overview and meeting
menus, the maps and their legends, the top-10 table, the exports and ``python -m geo export`` read
:data:`METRICS`.

=====================  ==================================================  ==========  ===========
name                   engine column(s) of :data:`geo.engine.aggregate.METRIC_COLUMNS`  kind  colours
=====================  ==================================================  ==========  ===========
households             ``households``                                      count       sequential
poor_households        ``households_level_1_2`` (levels 1 + 2, one set)     count       sequential
share_levels_1_2       ``share_level_1_2``                                 share       sequential
not_in_tpmap           ``not_in_tpmap``                                    count       sequential
mpi                    ``af_mpi`` (Alkire-Foster H x A)                    index       sequential
assistance_coverage    ``assistance_helped_share`` (status "helped")       share       sequential
deficit_<capital>      ``deficit_share_<capital>`` (score below 1.75)      share       sequential
dominant_deficit       ``dominant_deficit`` (capital most often in deficit) category    categorical
density                ``households`` / ``area_km2`` (equal-area km²)       rate        sequential
dep_<dimension>        ``dep_<dimension>`` / ``in_tpmap`` (TPMAP)          share       sequential
mpi_h, mpi_a           ``af_h`` (headcount ratio), ``af_a`` (intensity)    share       sequential
mpi_contribution_<c>   ``af_contribution_<capital>`` (share of the MPI)     share       sequential
assistance_<status>    ``assistance_<status>_share`` (in progress, ...)    share       sequential
off_district           ``outside_declared`` / ``households`` (verify)      share       sequential
share_up               ``share_up`` (followed households that moved up)    share       sequential
share_escaped          ``share_escaped`` (levels 1-2 -> 3-4)                share       sequential
share_fell             ``share_fell`` (levels 3-4 -> 1-2)                   share       sequential
change_<capital>       ``<capital>_mean_change`` (mean score change)       change      sequential
=====================  ==================================================  ==========  ===========

The last four are the Change page's (:data:`CHANGE_METRIC_SPECS`, not in :data:`METRICS`): columns of
:func:`geo.engine.mobility.mobility_shares` between two survey rounds, not of the household index.

A ratio metric (``denominator`` set) divides the sum of its columns by another column of the same
table: ``dep_<dimension>`` is the share of households *in TPMAP* deprived in a TPMAP dimension
(``in_tpmap``, a count protected like the others, is the denominator: a household not in TPMAP
cannot have TPMAP's deprivations, and an unknown deprivation of one in TPMAP is not counted as one), ``density`` the households per km² of the area
(``area_km2``, which :func:`geo.views.mapview.build_map` adds from the boundaries in an
equal-area projection, or from the H3 cells' areas).

Names are stable (URLs, file names, the CLI); the old spelling ``share_level_1_2`` (the engine
column's name, used by early Overview links) is read as ``share_levels_1_2`` (:data:`METRIC_ALIASES`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from geo.data.contract import ASSISTANCE_STATUSES, CAPITALS, DEPRIVATIONS
from geo.views.text import assistance_label, capital_label, deprivation_label, format_number, format_percent, text

#: What a metric's values are: households, a 0-1 share, a 0-1 index, a capital's name, a rate
#: (households per km²), or a change in a capital's score between two rounds.
KINDS: tuple[str, ...] = ("count", "share", "index", "category", "rate", "change")


@dataclass(frozen=True)
class Metric:
    """A metric: its name, label, what it is computed from, and how it reads and is coloured.

    ``kind`` is ``"count"`` (households, summable), ``"share"`` (0-1, shown as a percentage),
    ``"index"`` (0-1, three decimals) or ``"category"`` (a capital's name). ``scale`` is the map's
    colour scale: ``"sequential"`` (quantile classes, :func:`geo.views.style.class_breaks`) or
    ``"categorical"`` (a colour per capital). ``direction`` says which way is worse for the
    households: ``"higher_worse"``, ``"higher_better"`` or ``"none"``; tables rank by the value, highest first.
    """

    name: str
    label_key: str | None
    kind: str
    columns: tuple[str, ...]
    scale: str = "sequential"
    direction: str = "higher_worse"
    denominator: str | None = None
    #: Only for exact releases (officers in their areas, administrators): ``off_district``.
    restricted: bool = False
    #: Drawn by admin area only (an H3 map of it is drawn by the area level instead).
    areas_only: bool = False

    def label(self, lang: str = "th") -> str:
        """What the metric is called in ``lang``."""
        if self.name.startswith("deficit_"):
            return text("share_in_deficit", lang, capital=capital_label(self.name.removeprefix("deficit_"), lang))
        if self.name.startswith("change_"):
            return text("metric_capital_change", lang, capital=capital_label(self.name.removeprefix("change_"), lang))
        if self.name.startswith("dep_"):
            return text("metric_dep", lang, dimension=deprivation_label(self.name.removeprefix("dep_"), lang))
        if self.name.startswith("mpi_contribution_"):
            return text("metric_mpi_contribution", lang,
                        capital=capital_label(self.name.removeprefix("mpi_contribution_"), lang))
        if self.name.startswith("assistance_") and self.name != "assistance_coverage":
            return text("metric_assistance", lang, status=assistance_label(self.name.removeprefix("assistance_"), lang))
        return text(self.label_key or self.name, lang)

    def format(self, value: object, lang: str = "th") -> str:
        """A value as people read it: ``1,234``, ``42.4%``, ``0.213`` or a capital's name; ``–`` if missing."""
        if self.kind == "category":
            return capital_label(str(value), lang) if isinstance(value, str) and value in CAPITALS else "–"
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return "–"
        if self.kind == "count":
            return format_number(float(value), lang)
        if self.kind == "share":
            return format_percent(float(value), lang)
        if self.kind == "change":
            return ("+" if float(value) > 0 else "") + format_number(float(value), lang, decimals=2)
        if self.kind == "rate":
            return format_number(float(value), lang, decimals=1)
        return format_number(float(value), lang, decimals=3)

    @property
    def display_scale(self) -> float:
        """What a value is multiplied by to read as people do (100 for a share read in percent)."""
        return 100.0 if self.kind == "share" else 1.0

    def legend_formatter(self, lang: str = "th", *, fine: bool = False) -> Callable[[float], str]:
        """How a legend's class edges read (shorter than :meth:`format`); ``fine`` gives shares
        one decimal (for classes within a few percent, which whole percents would merge)."""
        if self.kind == "share" and fine:
            return lambda v: format_percent(v, lang, decimals=1)
        if self.kind == "count":
            return lambda v: format_number(v, lang)
        if self.kind == "share":
            return lambda v: format_percent(v, lang, decimals=0)
        if self.kind == "rate":
            return lambda v: format_number(v, lang, decimals=0 if abs(v) >= 10 else 1)
        return lambda v: format_number(v, lang, decimals=2)


def _metrics() -> dict[str, Metric]:
    out = {
        "poor_households": Metric("poor_households", "metric_poor_households", "count", ("households_level_1_2",)),
        "share_levels_1_2": Metric("share_levels_1_2", "metric_share_levels_1_2", "share", ("share_level_1_2",)),
        "not_in_tpmap": Metric("not_in_tpmap", "metric_not_in_tpmap", "count", ("not_in_tpmap",)),
        "mpi": Metric("mpi", "metric_mpi", "index", ("af_mpi",)),
        "assistance_coverage": Metric("assistance_coverage", "metric_assistance_coverage", "share",
                                      ("assistance_helped_share",), direction="higher_better"),
        "households": Metric("households", "metric_households", "count", ("households",), direction="none"),
    }
    for capital in CAPITALS:
        out[f"deficit_{capital}"] = Metric(f"deficit_{capital}", None, "share", (f"deficit_share_{capital}",))
    out["dominant_deficit"] = Metric("dominant_deficit", "dominant_deficit", "category", ("dominant_deficit",),
                                     scale="categorical", direction="none")
    out["density"] = Metric("density", "metric_density", "rate", ("households",), direction="none",
                            denominator="area_km2")
    for dimension in DEPRIVATIONS:
        out[f"dep_{dimension}"] = Metric(f"dep_{dimension}", None, "share", (f"dep_{dimension}",),
                                         denominator="in_tpmap")
    out["mpi_h"] = Metric("mpi_h", "metric_mpi_h", "share", ("af_h",))
    out["mpi_a"] = Metric("mpi_a", "metric_mpi_a", "share", ("af_a",))
    for capital in CAPITALS:
        out[f"mpi_contribution_{capital}"] = Metric(f"mpi_contribution_{capital}", None, "share",
                                                    (f"af_contribution_{capital}",), direction="none")
    out["off_district"] = Metric("off_district", "metric_off_district", "share", ("outside_declared",),
                                 denominator="households", restricted=True, areas_only=True)
    for status in ASSISTANCE_STATUSES:
        if status != "helped":  # "helped" is assistance_coverage
            out[f"assistance_{status}"] = Metric(
                f"assistance_{status}", None, "share", (f"assistance_{status}_share",),
                direction="none" if status == "self_resolved" else "higher_worse")
    return out


def _change_metrics() -> dict[str, Metric]:
    out = {name: Metric(name, f"metric_{name}", "share", (name,), direction="higher_better")
           for name in ("share_up", "share_escaped")}
    out["share_fell"] = Metric("share_fell", "metric_share_fell", "share", ("share_fell",))
    for capital in CAPITALS:
        out[f"change_{capital}"] = Metric(f"change_{capital}", None, "change", (f"{capital}_mean_change",),
                                          direction="higher_better")
    return out


#: Every metric of one survey round by name (what the household index maps), in the order a menu offers them.
METRICS: dict[str, Metric] = _metrics()
#: The Change page's measures between two rounds (:func:`geo.engine.mobility.mobility_shares` columns).
CHANGE_METRIC_SPECS: dict[str, Metric] = _change_metrics()
#: Other spellings read as a metric's name (old Overview links: the engine column's name).
METRIC_ALIASES: dict[str, str] = {"share_level_1_2": "share_levels_1_2"}
#: The Change page's measures between two rounds, in menu order (not of one round's index).
CHANGE_METRICS: tuple[str, ...] = tuple(CHANGE_METRIC_SPECS)
#: The metrics the Overview and meeting mode offer, in menu order.
OVERVIEW_METRICS: tuple[str, ...] = (
    "poor_households", "share_levels_1_2", "not_in_tpmap", "mpi", "mpi_h", "mpi_a",
    *(f"mpi_contribution_{c}" for c in CAPITALS), "density", *(f"dep_{d}" for d in DEPRIVATIONS),
    "assistance_coverage", *(f"assistance_{s}" for s in ("in_progress", "referred", "none", "self_resolved")),
    "households", "off_district",
)


def allowed_metrics(*, exact: bool, metrics=OVERVIEW_METRICS) -> tuple[str, ...]:
    """The metrics a user may pick: restricted ones (``off_district``) only with exact counts."""
    return tuple(m for m in metrics if exact or not get_metric(m).restricted)


def metric_name(name: object) -> object:
    """The registry's name for ``name`` (an old spelling read as today's); anything else unchanged."""
    return METRIC_ALIASES.get(name, name) if isinstance(name, str) else name


def get_metric(name: str) -> Metric:
    """The :class:`Metric` called ``name`` (either spelling; a one-round metric or a Change page
    measure); ``KeyError`` for an unknown name."""
    name = metric_name(name)
    return CHANGE_METRIC_SPECS[name] if name in CHANGE_METRIC_SPECS else METRICS[name]


def metric_label(metric: str, lang: str = "th") -> str:
    """What a metric is called in ``lang``.

    Example
    -------
    >>> metric_label("deficit_natural", "en")
    'Share in deficit: Natural capital'
    """
    return get_metric(metric).label(lang)


def format_value(value: object, metric: str, lang: str = "th") -> str:
    """A metric value as people read it: ``1,234``, ``42.4%``, ``0.213`` or a capital's name; ``–`` if missing.

    Example
    -------
    >>> format_value(0.4235, "share_levels_1_2"), format_value("natural", "dominant_deficit", "en")
    ('42.4%', 'Natural capital')
    """
    return get_metric(metric).format(value, lang)


def metric_values(table: pd.DataFrame, metric: str) -> np.ndarray:
    """The metric per row of an aggregate (protected or not); NaN (or None for categories) where withheld.

    Returns
    -------
    numpy.ndarray
        float64 for numeric metrics; object (capital name or None) for ``dominant_deficit``.

    Example
    -------
    >>> t = pd.DataFrame({"households_level_1": [1, 2], "households_level_2": [3, pd.NA]})
    >>> metric_values(t, "poor_households").tolist()
    [4.0, nan]
    """
    spec = get_metric(metric)
    columns = spec.columns
    if spec.name == "poor_households" and "households_level_1_2" not in table.columns:
        columns = ("households_level_1", "households_level_2")  # an unprotected table
    if spec.kind == "category":
        values = table[columns[0]].astype("string")
        return np.array([v if isinstance(v, str) else None for v in values.tolist()], dtype=object)
    total = np.zeros(len(table), dtype="float64")
    for column in columns:
        total = total + pd.to_numeric(table[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if spec.denominator is not None:
        if spec.denominator not in table.columns:  # e.g. no area: a table without geometry
            return np.full(len(table), np.nan)
        below = pd.to_numeric(table[spec.denominator], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            total = np.where(below > 0, total / below, np.nan)
        if spec.kind == "share":  # two perturbed counts can cross (3 of 2): a share stays in 0-1
            total = np.clip(total, 0.0, 1.0)
    return total
