"""Colours, class breaks and legends for maps, readable on a projector and by colour-blind viewers.

Amounts use a sequential ColorBrewer scale (YlOrRd, light to dark: a lightness ramp that survives
colour-blindness and washed-out projectors). Categories (the dominant deficit) use the Okabe-Ito
palette, designed to be told apart with every common colour-vision deficiency. Withheld areas
(small-cell protection) are a mid grey, areas with no households a pale grey: neither is on a
colour scale, so neither can be read as a value.

Colours are RGB(A) tuples of 0-255 ints, the form pydeck takes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from geo.data.contract import CAPITALS
from geo.errors import EngineInputError

RGB = tuple[int, int, int]

#: ColorBrewer YlOrRd, 5 classes (Cynthia Brewer, colorbrewer2.org, Apache-2.0).
SEQUENTIAL_YLORRD: tuple[RGB, ...] = (
    (255, 255, 178), (254, 204, 92), (253, 141, 60), (240, 59, 32), (189, 0, 38),
)
#: Okabe & Ito (2008) colour-blind-safe categorical colours, one per capital.
CAPITAL_COLOURS: dict[str, RGB] = {
    "human": (0, 114, 178),       # blue
    "physical": (230, 159, 0),    # orange
    "natural": (0, 158, 115),     # bluish green
    "financial": (213, 94, 0),    # vermillion
    "social": (204, 121, 167),    # reddish purple
}
#: Pilot project kinds, Okabe-Ito again (their symbols also differ, so colour is never alone).
PILOT_KIND_COLOURS: dict[str, RGB] = {
    "mushroom": (86, 180, 233),
    "vegetables": (0, 158, 115),
    "rice": (240, 228, 66),
    "livestock": (213, 94, 0),
    "fishery": (0, 114, 178),
    "crafts": (204, 121, 167),
}
OTHER_COLOUR: RGB = (120, 120, 120)
WITHHELD_COLOUR: RGB = (150, 150, 150)
NO_DATA_COLOUR: RGB = (235, 235, 235)
OUTLINE_COLOUR: RGB = (80, 80, 80)

assert set(CAPITAL_COLOURS) == set(CAPITALS)


@dataclass(frozen=True)
class LegendItem:
    """One swatch of a legend."""

    colour: RGB
    label: str


@dataclass(frozen=True)
class Legend:
    """A legend as data: the app draws it in HTML, exports draw it on the image."""

    title: str
    items: tuple[LegendItem, ...]
    notes: tuple[LegendItem, ...] = field(default_factory=tuple)  # withheld, no data


def class_breaks(values: np.ndarray, *, n_classes: int = 5, method: str = "quantile",
                 domain: tuple[float, float] | None = None) -> np.ndarray:
    """Upper-inclusive class edges for a sequential scale.

    Parameters
    ----------
    values : array of float
        The values shown (NaN ignored: withheld or empty areas).
    n_classes : int, default 5
    method : {"quantile", "equal"}
        Quantiles (equal counts, for skewed counts of households) or equal intervals (for shares
        and indices, with ``domain`` such as ``(0, 1)``).
    domain : (float, float), optional
        Fixed range for ``"equal"``; default the values' range.

    Returns
    -------
    numpy.ndarray
        ``k + 1`` increasing edges (k <= n_classes; fewer when values repeat), rounded to two
        significant figures so legends read cleanly. Empty when there is no value.

    Example
    -------
    >>> class_breaks(np.array([0.0, 1.0]), method="equal", domain=(0, 1), n_classes=4).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    if n_classes < 1:
        raise EngineInputError(f"n_classes must be at least 1, got {n_classes}")
    if method not in ("quantile", "equal"):
        raise EngineInputError(f"method must be 'quantile' or 'equal', got {method!r}")
    finite = np.asarray(values, dtype="float64")
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return np.array([], dtype="float64")
    if method == "equal":
        low, high = domain if domain is not None else (float(finite.min()), float(finite.max()))
        edges = np.linspace(low, high, n_classes + 1)
        if domain is None:
            edges = np.array([_round_sig(e) for e in edges])
            edges[0] = min(edges[0], finite.min())
            edges[-1] = max(edges[-1], finite.max())
    else:
        edges = np.quantile(finite, np.linspace(0, 1, n_classes + 1))
        edges = np.array([_round_sig(e) for e in edges])
        edges[0] = min(edges[0], finite.min())
        edges[-1] = max(edges[-1], finite.max())
    return np.unique(edges)


#: How a map's colour classes are chosen (DHIS2 calls a fixed set a "legend set"):
#: ``national`` (quantiles of every area of the country at the map's level, in one reference
#: round, the latest: the same classes for every province and every round, so slides compare), ``quantile`` (of this map's areas), ``equal`` (equal
#: intervals over this map's range) or ``custom`` (cut points the user types).
CLASS_METHODS: tuple[str, ...] = ("national", "quantile", "equal", "custom")
#: Most cut points a user may type (``custom``): one more class than cut points, at most five.
MAX_CUSTOM_BREAKS = len(SEQUENTIAL_YLORRD) - 1


def custom_edges(breaks) -> np.ndarray:
    """Class edges for typed cut points: ``-inf``, the cut points, ``inf`` (the outer classes are open).

    Raises
    ------
    EngineInputError
        When there are no cut points, more than :data:`MAX_CUSTOM_BREAKS`, or they are not finite
        and strictly increasing.

    Example
    -------
    >>> custom_edges((10, 20)).tolist()
    [-inf, 10.0, 20.0, inf]
    """
    cuts = np.asarray(tuple(breaks), dtype="float64")
    if cuts.size < 1 or cuts.size > MAX_CUSTOM_BREAKS:
        raise EngineInputError(f"breaks must hold 1 to {MAX_CUSTOM_BREAKS} numbers, got {cuts.size}")
    if not np.isfinite(cuts).all() or (cuts.size > 1 and not (np.diff(cuts) > 0).all()):
        raise EngineInputError(f"breaks must be finite and strictly increasing, got {cuts.tolist()}")
    return np.concatenate(([-np.inf], cuts, [np.inf]))


def distinct_edges(edges: np.ndarray, formatter) -> np.ndarray:
    """``edges`` without those that read the same as the one before in the legend.

    Edges 0.03, 0.06, 0.064, 0.07 read "3%", "6%", "6%", "7%": kept as they are they make a
    collapsed class ("3% – 6% · 6% · 6% – 7%"). An edge whose text repeats the last kept edge's
    is dropped; the last edge is always kept (it replaces a kept edge that reads the same), so
    the classes still cover every value. Open ends (``±inf``) are always kept.

    Example
    -------
    >>> distinct_edges(np.array([0.03, 0.06, 0.064, 0.07]), lambda v: f"{v:.0%}").tolist()
    [0.03, 0.06, 0.07]
    """
    edges = np.asarray(edges, dtype="float64")
    if edges.size < 2:
        return edges

    def label(v: float) -> str:
        return str(v) if not np.isfinite(v) else formatter(v)

    kept = [edges[0]]
    for edge in edges[1:]:
        if label(edge) == label(kept[-1]) and np.isfinite(edge):
            if edge == edges[-1] and len(kept) > 1:
                kept[-1] = edge
            elif edge == edges[-1]:
                kept.append(edge)
            continue
        kept.append(edge)
    return np.array(kept, dtype="float64")


def _round_sig(x: float, digits: int = 2) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


def classify(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Class index (0-based) of each value; -1 for NaN. Values equal to an edge go to the lower class."""
    values = np.asarray(values, dtype="float64")
    out = np.full(values.shape, -1, dtype="int64")
    if edges.size < 2:
        out[np.isfinite(values)] = 0
        return out
    finite = np.isfinite(values)
    out[finite] = np.clip(np.searchsorted(edges, values[finite], side="left") - 1, 0, edges.size - 2)
    return out


def sequential_palette(n: int) -> tuple[RGB, ...]:
    """``n`` colours of the sequential scale, light to dark (n <= 5 picks spread-out classes)."""
    if n <= 0:
        return ()
    idx = np.round(np.linspace(0, len(SEQUENTIAL_YLORRD) - 1, n)).astype(int)
    return tuple(SEQUENTIAL_YLORRD[i] for i in idx)


def fill_colours(values: np.ndarray, edges: np.ndarray, *, withheld: np.ndarray | None = None,
                 alpha: int = 210) -> np.ndarray:
    """RGBA fill for each value: the class colour, grey when withheld, pale when no value.

    Returns
    -------
    numpy.ndarray of uint8, shape (n, 4)
    """
    values = np.asarray(values, dtype="float64")
    classes = classify(values, edges)
    palette = np.array(sequential_palette(max(edges.size - 1, 1)) or [NO_DATA_COLOUR], dtype="uint8")
    out = np.empty((values.size, 4), dtype="uint8")
    out[:, 3] = alpha
    out[:, :3] = NO_DATA_COLOUR
    has = classes >= 0
    out[has, :3] = palette[classes[has]]
    if withheld is not None:
        out[np.asarray(withheld, dtype=bool), :3] = WITHHELD_COLOUR
    return out


def _class_label(low: float, high: float, formatter) -> str:
    if not np.isfinite(low):
        return f"≤ {formatter(high)}"
    if not np.isfinite(high):
        return f"> {formatter(low)}"
    return f"{formatter(low)} – {formatter(high)}"


def sequential_legend(title: str, edges: np.ndarray, formatter, *, withheld_label: str | None = None,
                      no_data_label: str | None = None) -> Legend:
    """Legend of a sequential scale: one swatch per class, labelled ``low – high`` (``≤ high`` and
    ``> low`` for the open classes of typed cut points)."""
    palette = sequential_palette(max(edges.size - 1, 1))
    items = tuple(
        LegendItem(palette[i], _class_label(edges[i], edges[i + 1], formatter)) for i in range(edges.size - 1)
    )
    if edges.size == 1:
        items = (LegendItem(palette[0], formatter(edges[0])),)
    notes = []
    if withheld_label:
        notes.append(LegendItem(WITHHELD_COLOUR, withheld_label))
    if no_data_label:
        notes.append(LegendItem(NO_DATA_COLOUR, no_data_label))
    return Legend(title, items, tuple(notes))


def categorical_legend(title: str, labels: dict[str, str], colours: dict[str, RGB], *,
                       withheld_label: str | None = None) -> Legend:
    """Legend of categories in the order of ``labels``."""
    items = tuple(LegendItem(colours[key], label) for key, label in labels.items())
    notes = (LegendItem(WITHHELD_COLOUR, withheld_label),) if withheld_label else ()
    return Legend(title, items, notes)


def hex_colour(rgb: RGB) -> str:
    """``(230, 159, 0) -> '#e69f00'``, for HTML legends."""
    return "#{:02x}{:02x}{:02x}".format(*rgb[:3])
