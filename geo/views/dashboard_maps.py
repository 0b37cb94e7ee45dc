"""The dashboard's maps: the pages' views turned into :class:`geo.views.mapview.MapFigure` s, so what a
page draws is exactly what its export buttons print.

* :func:`metric_map` — the Overview: a metric as a province / district / subdistrict choropleth
  or as H3 hexagons, for the view's filters and selected area (drill-down);
* :func:`capital_map` — the Capitals page: the share in deficit of one capital, or the dominant
  deficit in categorical colours;
* :func:`pilot_map` — the Pilots page: poverty concentration (households at levels 1-2) under
  pilot sites (a colour and a letter per kind), reach rings and candidate sites for the gaps;
* :func:`pilot_layers` and :func:`without_names` — the layer control: the pilot layers over any of
  them, the map without its area names.

Each returns a :class:`DashboardMap`: the figure (:func:`geo.views.mapview.build_map`: aggregated,
protected by :func:`geo.engine.protect.protect`, classified, labelled) and its offline deck sized for the
page. Layer ids are fixed (``context``, ``areas`` or ``cells``, ``outline``, ``selected``,
``labels``, ``rings``, ``pilots``, ``pilot_letters``, ``gaps``) so Streamlit can keep a selection across
reruns; clicking a feature of the ``areas`` layer gives its ``code`` for the drill-down.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pydeck as pdk

from geo.views import style as mapstyle
from geo.engine.aggregate import HouseholdIndex
from geo.data.boundaries import ATTRIBUTION
from geo.views.mapview import DEFAULT_SIZE, MapFigure, MapView, build_map
from geo.views.pilot_overlay import with_pilots
from geo.engine.protect import DEFAULT_MIN_COUNT
from geo.views.viewstate import MAP_RESOLUTIONS, ViewState

Size = tuple[int, int]


@dataclass(frozen=True, eq=False)
class DashboardMap:
    """A page's map: the protected ``figure`` (also what its exports print) and its ``deck``,
    ``size`` pixels, with the area names drawn as ``labels`` says (:meth:`MapFigure.deck`).

    The deck is built when first asked for and kept: a map recoloured before it is shown (the
    Change page's before and after, :func:`geo.views.change.shared_legend`) never builds the
    deck it replaces.
    """

    figure: MapFigure
    size: Size = DEFAULT_SIZE
    labels: str | None = "gpu"

    @property
    def deck(self) -> pdk.Deck:
        built = self.__dict__.get("_deck")
        if built is None:  # two sessions asking at once may both build it: the same deck
            built = self.figure.deck(width_px=self.size[0], height_px=self.size[1], labels=self.labels)
            object.__setattr__(self, "_deck", built)
        return built

    @property
    def table(self) -> pd.DataFrame:
        """The protected aggregate drawn (one row per area or H3 cell with households)."""
        return self.figure.table

    @property
    def legend(self) -> mapstyle.Legend:
        return self.figure.legends[0]

    @property
    def extra_legends(self) -> tuple[mapstyle.Legend, ...]:
        return self.figure.legends[1:]

    @property
    def title(self) -> str:
        return self.figure.title

    @property
    def level(self) -> str:
        return self.figure.level

    @property
    def res(self) -> int | None:
        return self.figure.res

    @property
    def auto_res(self) -> int | None:
        return self.figure.auto_res

    @property
    def notices(self) -> tuple[str, ...]:
        return self.figure.notices


@dataclass(frozen=True)
class MapContext:
    """What every page map shares beyond the view: the date printed, whether the data are the
    synthetic sample, the boundary credit, the user's scope as a household mask
    (``geo.access.roles.scoped_mask``), the role's finest H3 resolution (``geo.access.roles.cap_resolution``) and
    the small-cell threshold (``geo.access.roles.check_min_count``).

    ``reference`` is the households national classes come from (:func:`geo.views.mapview.build_map`):
    the latest survey round of the user's data, whatever round the page shows, so a 2021 map and
    a 2023 map of one province share one legend. It is not part of the context's identity (a
    cache key): ``reference_round`` names it."""

    now: dt.date | None = None
    synthetic: bool = False
    attribution: str = ATTRIBUTION
    mask: np.ndarray | None = None
    max_res: int = MAP_RESOLUTIONS[-1]
    min_count: int = DEFAULT_MIN_COUNT
    exact: bool = False  # exact counts (geo.access.roles.Capabilities.exact_counts); False: the public release
    #: Which survey round (or pair of rounds) the map shows, in words: the subtitle's first part.
    round_text: str = ""
    classes: str = "quantile"  # the page's legend set when the view names none (meeting mode: "national")
    reference: HouseholdIndex | None = field(default=None, compare=False, repr=False)
    reference_round: int | None = None  # the survey round (CE) of ``reference``


def _draw(index: HouseholdIndex, boundaries: dict, view: ViewState, context: MapContext | None, *,
          metric: str | None = None) -> MapFigure:
    context = context or MapContext()
    map_view = MapView.from_viewstate(view, min_count=context.min_count, max_res=context.max_res, metric=metric,
                                      exact=context.exact, classes=context.classes)
    return build_map(index, boundaries, map_view, now=context.now or dt.date.today(),
                     synthetic=bool(context.synthetic), attribution=context.attribution, mask=context.mask,
                     round_text=context.round_text, reference=context.reference)


def _screen(figure: MapFigure, size: Size) -> DashboardMap:
    return DashboardMap(figure, size)


def metric_map(index: HouseholdIndex, boundaries: dict, view: ViewState, *, size: Size = DEFAULT_SIZE,
               context: MapContext | None = None) -> DashboardMap:
    """The Overview map: ``view.metric`` by ``view.by`` (areas below the selected one, or hexagons).

    Parameters
    ----------
    index : HouseholdIndex
    boundaries : dict
        Display boundaries by level (``"province"``, ``"district"``, ``"subdistrict"``, optional
        ``"context"``), from :func:`geo.views.deck.display_geometry`.
    view : ViewState
    size : (int, int)
        Width and height of the map in pixels, to fit the view to.
    context : MapContext, optional
        Date, synthetic label, credit, scope mask, the role's finest H3 resolution and the
        small-cell threshold ``k`` (default: today, k = 10, res up to 9).
    """
    return _screen(_draw(index, boundaries, view, context), size)


def capital_map(index: HouseholdIndex, boundaries: dict, view: ViewState, *, dominant: bool = False,
                size: Size = DEFAULT_SIZE, context: MapContext | None = None) -> DashboardMap:
    """Share of households in deficit in ``view.capital`` (sequential), or, with ``dominant``,
    the capital most often in deficit per area (Okabe-Ito categorical colours; admin areas only)."""
    if dominant and view.by == "h3":
        view = replace(view, by="province")  # the area below the selection (geo.views.viewstate.shown_level)
    metric = "dominant_deficit" if dominant else f"deficit_{view.capital}"
    return _screen(_draw(index, boundaries, view, context, metric=metric), size)


def pilot_layers(page_map: DashboardMap, index: HouseholdIndex, view: ViewState, pilots: pd.DataFrame, *,
                 size: Size = DEFAULT_SIZE, context: MapContext | None = None) -> DashboardMap:
    """``page_map`` (any metric) with the pilot layers over it: sites, reach rings at ``view.km``
    and candidate sites, as on the Pilots page (reach and gaps protected like the page's figures),
    for the layer control of the Overview and Capitals maps; the figure's exports carry them too.
    """
    from geo.engine.aggregate import pilot_reach
    from geo.engine.gaps import pilot_gaps
    from geo.engine.protect import protect
    from geo.views.dashboard import view_mask

    context = context or MapContext()
    mask = view_mask(index, view)
    reach = protect(pilot_reach(index, pilots, radius_km=view.km, mask=mask), k=context.min_count,
                    exact=context.exact)
    gaps = pilot_gaps(index, pilots, radius_km=view.km, mask=mask, k=context.min_count, exact=context.exact)
    return _screen(with_pilots(page_map.figure, pilots, reach, gaps, km=view.km), size)


def without_names(page_map: DashboardMap, *, size: Size = DEFAULT_SIZE) -> DashboardMap:
    """``page_map`` drawn without the area names (the layer control's "names" switch off, ``names=off``).

    The figure, and so every export of it, is the same; only the screen deck loses its ``labels`` layer.
    """
    return DashboardMap(page_map.figure, size, labels=None)


def pilot_map(index: HouseholdIndex, boundaries: dict, view: ViewState, pilots: pd.DataFrame, reach: pd.DataFrame,
              gaps: pd.DataFrame, *, size: Size = DEFAULT_SIZE, context: MapContext | None = None) -> DashboardMap:
    """Poverty concentration (households at levels 1-2, by district) under the pilot sites.

    Parameters
    ----------
    pilots : pandas.DataFrame
        The pilot projects (contract columns).
    reach : pandas.DataFrame
        :func:`geo.engine.aggregate.pilot_reach` of the pilots, protected (enrolled households).
    gaps : pandas.DataFrame
        :func:`geo.engine.gaps.pilot_gaps` (protected): candidate sites drawn as hollow circles.
    """
    base = replace(view, metric="poor_households", by="district")
    figure = _draw(index, boundaries, base, context)
    return _screen(with_pilots(figure, pilots, reach, gaps, km=view.km), size)
