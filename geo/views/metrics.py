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
=====================  ==================================================  ==========  ===========

Names are stable (URLs, file names, the CLI); the old spelling ``share_level_1_2`` (the engine
column's name, used by early Overview links) is read as ``share_levels_1_2`` (:data:`METRIC_ALIASES`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from geo.data.contract import CAPITALS
from geo.views.text import capital_label, format_number, format_percent, text

#: What a metric's values are: households, a 0-1 share, a 0-1 index, or a capital's name.
KINDS: tuple[str, ...] = ("count", "share", "index", "category")


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

    def label(self, lang: str = "th") -> str:
        """What the metric is called in ``lang``."""
        if self.name.startswith("deficit_"):
            return text("share_in_deficit", lang, capital=capital_label(self.name.removeprefix("deficit_"), lang))
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
        return format_number(float(value), lang, decimals=3)

    @property
    def display_scale(self) -> float:
        """What a value is multiplied by to read as people do (100 for a share read in percent)."""
        return 100.0 if self.kind == "share" else 1.0

    def legend_formatter(self, lang: str = "th") -> Callable[[float], str]:
        """How a legend's class edges read (shorter than :meth:`format`)."""
        if self.kind == "count":
            return lambda v: format_number(v, lang)
        if self.kind == "share":
            return lambda v: format_percent(v, lang, decimals=0)
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
    return out


#: Every metric by name, in the order a menu offers them.
METRICS: dict[str, Metric] = _metrics()
#: Other spellings read as a metric's name (old Overview links: the engine column's name).
METRIC_ALIASES: dict[str, str] = {"share_level_1_2": "share_levels_1_2"}
#: The metrics the Overview and meeting mode offer, in menu order.
OVERVIEW_METRICS: tuple[str, ...] = ("poor_households", "share_levels_1_2", "not_in_tpmap", "mpi", "assistance_coverage")


def metric_name(name: object) -> object:
    """The registry's name for ``name`` (an old spelling read as today's); anything else unchanged."""
    return METRIC_ALIASES.get(name, name) if isinstance(name, str) else name


def get_metric(name: str) -> Metric:
    """The :class:`Metric` called ``name`` (either spelling); ``KeyError`` for an unknown name."""
    return METRICS[metric_name(name)]


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
    return total
