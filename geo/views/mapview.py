"""One map view, one figure: what the app draws and what every export prints come from here.

A :class:`MapView` is a small frozen value (hashable, so it is a good cache key) that says what to
map: the metric, the area (a province or a district, or every province), the level (provinces,
districts, subdistricts or H3 hexagons at a resolution), the household filters, the language and
the small-cell threshold ``k``. :func:`build_map` turns it into a :class:`MapFigure`:

1. aggregates the selected households with the engine (:func:`geo.engine.aggregate.aggregate`; H3 cells
   rolled up so cells of fewer than ``k`` households merge into their parents);
2. passes the table through :func:`geo.engine.protect.protect` — the one small-cell gate; nothing after
   this step sees a household or an unprotected count;
3. joins the areas' geometry (admin boundaries, or hexagons), classifies the metric
   (:mod:`geo.views.style`: colour-blind-safe quantile classes, grey for withheld areas) and writes
   the legend, title, subtitle, credit line, date (BE with CE) and headline figures (the whole
   selection as one protected row, :func:`geo.views.headline.selection_totals`).

The figure draws itself as a ``pydeck.Deck`` (:meth:`MapFigure.deck`, offline: no basemap) and
:mod:`geo.export` renders it as PNG, PDF and self-contained HTML. Pure Python: no Streamlit.

Coordinate order: geometries are shapely (lon, lat) in EPSG:4326; ``bounds`` is
``(min_lon, min_lat, max_lon, max_lat)``.

Metrics: :mod:`geo.views.metrics` (names, engine columns, formats and colour scales).
"""

from __future__ import annotations

import datetime as dt
import re
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import shapely

from geo.views import style as mapstyle
from geo.engine.aggregate import HouseholdIndex, aggregate, attach_cell_geometry
from geo.data.boundaries import ATTRIBUTION
from geo.checks import check_int
from geo.errors import EngineInputError
from geo.data.areas import area_level
from geo.data.contract import CAPITALS, PILOT_PROVINCES
from geo.errors import BoundaryError
from geo.engine.filters import HouseholdFilter, filter_mask
from geo.views.text import LANGUAGES, capital_label, format_date_both, format_number, text
from geo.views.headline import Headline, headline, totals_of
from geo.views.viewstate import MAP_RESOLUTIONS
from geo.views.metrics import CHANGE_METRIC_SPECS, METRICS, get_metric, metric_label, metric_name, metric_values
from geo.engine.cellkey import MAX_NOISE
from geo.engine.protect import DEFAULT_MIN_COUNT, protect

#: Levels a map can draw.
MAP_LEVELS: tuple[str, ...] = ("province", "district", "subdistrict", "h3")
ADMIN_LEVELS: tuple[str, ...] = ("province", "district", "subdistrict")
#: Most hexagons one map draws; a finer resolution is stepped down until it fits.
MAX_CELLS = 12_000
#: Status of each drawn area.
AREA_STATUSES: tuple[str, ...] = ("shown", "withheld", "no_data")
#: Pixel size a screen map is fitted to when none is given (wide, for a projector).
DEFAULT_SIZE: tuple[int, int] = (900, 620)
#: Average H3 cell area, km² (docs/DOMAIN.md), for the resolution labels.
H3_CELL_KM2: dict[int, float] = {5: 253, 6: 36, 7: 5.2, 8: 0.74, 9: 0.11}
#: Context outlines (every province, pale, under every map) are simplified to about 1 km.
CONTEXT_TOLERANCE_DEG = 0.01


def auto_resolution(bounds, size: tuple[int, int] = DEFAULT_SIZE) -> int:
    """The H3 resolution for an extent: from the zoom that fits it (:func:`geo.views.deck.resolution_for_zoom`).

    Example
    -------
    >>> auto_resolution((103.0, 16.0, 104.0, 17.0)) in (7, 8)
    True
    """
    from geo.views import deck as maps

    return maps.resolution_for_zoom(maps.view_for_bounds(bounds, width_px=size[0], height_px=size[1]).zoom)


def resolution_label(res: int, lang: str = "th") -> str:
    """``"res 7 (~5.2 km²)"`` in ``lang``."""
    km2 = H3_CELL_KM2.get(res)
    shown = format_number(km2, lang, decimals=0 if km2 and km2 >= 10 else 2 if km2 and km2 < 1 else 1)
    return text("res_n", lang, res=res, km2=shown)


def context_geometry(provinces):
    """Every province simplified for the pale background that places the mapped areas in Thailand.

    Build once per boundary set (pages cache it as ``boundaries["context"]``).
    """
    import shapely

    simple = shapely.simplify(provinces.geometry.values, CONTEXT_TOLERANCE_DEG, preserve_topology=True)
    rounded = shapely.set_precision(simple, 1e-3, mode="pointwise")
    return provinces[["code"]].assign(geometry=rounded).set_geometry("geometry", crs=provinces.crs)


# ---------------------------------------------------------------------------------------------
# The view
# ---------------------------------------------------------------------------------------------


def _check_code(value: object, name: str, width: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) != width or not value.isascii() or not value.isdigit():
        example = {2: "46", 4: "4609"}.get(width, "460901")
        raise EngineInputError(f"{name} must be a {width}-digit DOPA code (e.g. {example!r}) or None, got {value!r}")
    return value


@dataclass(frozen=True)
class MapView:
    """What one map shows. Frozen and hashable: use it as a cache key.

    Parameters
    ----------
    metric : str, default "poor_households"
        A name from :data:`geo.views.metrics.METRICS` (an old spelling from
        :data:`geo.views.metrics.METRIC_ALIASES` is normalised).
    level : {"province", "district", "subdistrict", "h3"}, default "district"
        What the map is made of. It must be the scope's level or finer: a district's map can be
        drawn by district (one area), subdistrict or H3, not by province.
    province_code : str, optional
        2-digit DOPA code of the province mapped; ``None`` maps every province in the data.
    district_code : str, optional
        4-digit code of the district mapped (its province is taken from it when not given).
    res : int, optional
        H3 resolution 5-9 when ``level="h3"``; ``None`` picks one from the map's extent.
    filters : HouseholdFilter, optional
        Which households to count (in addition to the area).
    lang : {"th", "en"}, default "th"
    min_count : int, default 10
        The small-cell threshold ``k`` passed to :func:`geo.engine.protect.protect`. ``1`` turns protection
        off (with ``exact`` only): pages must get it from ``geo.access.roles.check_min_count``.
    exact : bool, default False
        Exact counts (officers in their scope, administrators: ``geo.access.roles.Capabilities.exact_counts``);
        ``False`` is the public release, perturbed by cell key (:mod:`geo.engine.cellkey`).
    max_res : int, default 9
        The finest H3 resolution the map may use (5-10; 10 draws as 9): the user's role's cap from
        ``geo.access.roles.cap_resolution``. A finer ``res``, or a finer automatic choice, is stepped down.
    selected_code : str, optional
        An area inside the scope drawn with a thick outline (the subdistrict picked on screen).
    classes : {"national", "quantile", "equal", "custom"}, default "quantile"
        How the colour classes are chosen (:data:`geo.views.style.CLASS_METHODS`): ``national``
        classes are the quantiles of every area of the country at the map's level (in the
        ``reference`` round of :func:`build_map`, the latest), so every province's map, of every
        round, has the same legend (meeting mode, batch exports).
    breaks : tuple of float, default ()
        The cut points of ``classes="custom"``, in the metric's own units (a share as 0-1).

    Raises
    ------
    EngineInputError
        When a value is not allowed; the message names the field, the value and what is allowed.

    Example
    -------
    >>> MapView(metric="mpi", level="h3", province_code="46", res=7).scope_code
    '46'
    """

    metric: str = "poor_households"
    level: str = "district"
    province_code: str | None = None
    district_code: str | None = None
    res: int | None = None
    filters: HouseholdFilter | None = None
    lang: str = "th"
    min_count: int = DEFAULT_MIN_COUNT
    max_res: int = MAP_RESOLUTIONS[-1]
    selected_code: str | None = None
    exact: bool = False
    classes: str = "quantile"
    breaks: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        setter = object.__setattr__
        metric = metric_name(self.metric)
        if metric not in METRICS and metric not in CHANGE_METRIC_SPECS:  # a Change map: geo.views.change
            raise EngineInputError(f"metric must be one of {list(METRICS)}, got {self.metric!r}")
        setter(self, "metric", metric)
        if self.level not in MAP_LEVELS:
            raise EngineInputError(f"level must be one of {list(MAP_LEVELS)}, got {self.level!r}")
        province = _check_code(self.province_code, "province_code", 2)
        district = _check_code(self.district_code, "district_code", 4)
        if district is not None:
            if province is not None and not district.startswith(province):
                raise EngineInputError(f"district_code {district!r} is not in province_code {province!r} "
                                       "(its first two digits must match)")
            province = district[:2]
        setter(self, "province_code", province)
        setter(self, "district_code", district)
        if self.level == "h3":
            if self.res is not None and (isinstance(self.res, bool) or self.res not in MAP_RESOLUTIONS):
                raise EngineInputError(
                    f"res must be one of {list(MAP_RESOLUTIONS)} or None (automatic), got {self.res!r}")
        elif self.res is not None:
            raise EngineInputError(f"res is only for level='h3', got res={self.res!r} with level={self.level!r}")
        if district is not None and self.level == "province":
            raise EngineInputError(
                f"level must be one of ['district', 'subdistrict', 'h3'] for a district's map, got {self.level!r}")
        if self.filters is not None and not isinstance(self.filters, HouseholdFilter):
            raise EngineInputError(f"filters must be a HouseholdFilter or None, got {type(self.filters).__name__}")
        if self.lang not in LANGUAGES:
            raise EngineInputError(f"lang must be one of {list(LANGUAGES)}, got {self.lang!r}")
        setter(self, "min_count", check_int(self.min_count, "min_count", minimum=1))
        max_res = check_int(self.max_res, "max_res", minimum=MAP_RESOLUTIONS[0], maximum=10)
        setter(self, "max_res", min(max_res, MAP_RESOLUTIONS[-1]))
        spec = get_metric(metric)
        if spec.restricted and not self.exact:
            raise EngineInputError(f"metric {metric!r} is for officers and administrators only (exact=True), "
                                   "got exact=False")
        if spec.areas_only and self.level == "h3":
            raise EngineInputError(f"metric {metric!r} is mapped by area, not by H3 hexagon: level must be one "
                                   f"of {list(ADMIN_LEVELS)}")
        if self.classes not in mapstyle.CLASS_METHODS:
            raise EngineInputError(f"classes must be one of {list(mapstyle.CLASS_METHODS)}, got {self.classes!r}")
        if self.classes == "custom":
            setter(self, "breaks", tuple(float(b) for b in mapstyle.custom_edges(self.breaks)[1:-1]))
        elif self.breaks:
            raise EngineInputError(f"breaks are only for classes='custom', got breaks={self.breaks!r} "
                                   f"with classes={self.classes!r}")
        selected = self.selected_code
        if selected is not None and (not isinstance(selected, str) or len(selected) not in (2, 4, 6)
                                     or not selected.isascii() or not selected.isdigit()
                                     or not selected.startswith(self.scope_code)):
            raise EngineInputError(f"selected_code must be a DOPA code inside the map's area "
                                   f"{self.scope_code or '(all)'!r}, got {selected!r}")

    @property
    def scope_code(self) -> str:
        """The area mapped: the district's code, the province's, or ``""`` for every province."""
        return self.district_code or self.province_code or ""

    def with_province(self, province_code: str) -> MapView:
        """The same view of another province (the district is dropped), e.g. for meeting mode."""
        return replace(self, province_code=province_code, district_code=None)

    @classmethod
    def from_viewstate(cls, view, *, min_count: int = DEFAULT_MIN_COUNT, max_res: int = MAP_RESOLUTIONS[-1],
                       metric: str | None = None, exact: bool = False, classes: str = "quantile") -> MapView:
        """The map view of a dashboard :class:`geo.views.viewstate.ViewState`.

        The selected area becomes the scope (a selected subdistrict maps its district, as the
        Overview does), ``by`` the level (at least the level below the area), ``res`` and the
        filters carry over. With no area and one province in the filters, that province is the scope.
        ``metric`` replaces the view's (the Capitals page maps ``deficit_<capital>``); ``max_res`` is
        the role's finest H3 resolution. ``classes`` is the page's default legend set, used when
        the view names none; the view's typed ``breaks`` are in the units a legend shows (percent
        for a share) and are read back into the metric's units.

        Example
        -------
        >>> from geo.views.viewstate import ViewState
        >>> MapView.from_viewstate(ViewState(area="4609", by="h3", metric="mpi")).district_code
        '4609'
        """
        from geo.views.viewstate import shown_level

        area = view.area[:4] if len(view.area) == 6 else view.area
        if not area and len(view.provinces) == 1:
            area = view.provinces[0]
        areas_only = get_metric(metric or view.metric).areas_only
        level = "h3" if view.by == "h3" and not areas_only else shown_level(replace(view, area=area))
        max_res = min(check_int(max_res, "max_res", minimum=MAP_RESOLUTIONS[0], maximum=10), MAP_RESOLUTIONS[-1])
        res = min(view.res, max_res) if level == "h3" and view.res else None
        chosen = view.classes or classes
        spec = get_metric(metric or view.metric)
        breaks = ()
        if chosen == "custom" and spec.scale == "sequential" and view.breaks:
            breaks = tuple(b / spec.display_scale for b in view.breaks)
        elif chosen == "custom":  # no breaks typed (yet), or a categorical map: no classes to type
            chosen = classes if classes != "custom" else "quantile"
        return cls(
            classes=chosen, breaks=breaks,
            metric=metric or view.metric, level=level,
            province_code=area[:2] or None, district_code=area if len(area) == 4 else None,
            res=res, filters=view.to_filter(), lang=view.lang, min_count=min_count, max_res=max_res,
            selected_code=view.area or None, exact=bool(exact),
        )


def next_province(code: str | None, step: int = 1, provinces: Sequence[str] = PILOT_PROVINCES) -> str:
    """The province ``step`` places after ``code`` in ``provinces``, wrapping round (meeting mode).

    A code not in the list (or ``None``) gives the first province for a step forward and the
    last for a step back.

    Example
    -------
    >>> next_province("34"), next_province("46", -1)
    ('46', '34')
    """
    if not provinces:
        raise EngineInputError("provinces must not be empty")
    if code not in provinces:
        return provinces[0] if step >= 0 else provinces[-1]
    return provinces[(list(provinces).index(code) + int(step)) % len(provinces)]


def meeting_provinces(index: HouseholdIndex) -> tuple[str, ...]:
    """The provinces meeting mode walks through: the pilot provinces with households in ``index``
    in the programme's order, then any other province with households, by code.

    ``index`` is the user's (already cut to their scope), so an officer walks their own provinces.
    """
    present = set(index.province_codes.astype(str).tolist())
    return tuple(p for p in PILOT_PROVINCES if p in present) + tuple(sorted(present - set(PILOT_PROVINCES)))


# ---------------------------------------------------------------------------------------------
# The figure
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MapFigure:
    """A protected map, ready to draw on screen (:meth:`deck`) or export (:mod:`geo.export`).

    Attributes
    ----------
    view : MapView
        What was asked for.
    level : str
        What is drawn (``"h3"`` or an admin level).
    res : int or None
        The H3 resolution used (after automatic choice and capping), else None.
    table : geopandas.GeoDataFrame
        The protected aggregate (one row per area or cell with households) with its geometry;
        every value in it passed :func:`geo.engine.protect.protect`.
    areas : geopandas.GeoDataFrame
        What is drawn, one row per area: ``key`` (DOPA code or H3 cell), ``name``, ``status``
        (``"shown"``, ``"withheld"``, ``"no_data"``), ``value`` (NaN/None unless shown),
        ``value_text``, ``households_text``, the tooltip fields ``tt_title``, ``tt_1``..``tt_4``
        and ``geometry``.
    fill : numpy.ndarray
        RGBA (n, 4) uint8 per row of ``areas``.
    outlines : geopandas.GeoDataFrame or None
        Admin outlines drawn over the fills (the areas one level up, or the districts under
        hexagons).
    context : geopandas.GeoDataFrame or None
        Pale outlines of every province, for orientation.
    legend : geo.views.style.Legend
    title, subtitle, credit : str
        Thai-first (in ``view.lang``): the title says the metric, the level, the area and the
        filters; the credit names the data source and the boundaries' attribution.
    synthetic : bool
        The data are the synthetic sample; ``synthetic_text`` says so in ``view.lang`` (``""`` if not).
    date : datetime.date
    date_text : str
        The date in BE with CE (``21 พ.ย. 2569 (2026)``).
    filters_text : tuple of str
        The filters in words, one per filter (empty: all households).
    headline : tuple of geo.views.headline.Headline
        Figures for the whole selection, protected as one row.
    totals : pandas.DataFrame
        That row: :func:`geo.views.headline.selection_totals` of the map's selection (the headline's source).
    bounds : tuple of float
        ``(min_lon, min_lat, max_lon, max_lat)`` of the map.
    place : str
        The area mapped, in words (``จังหวัดกาฬสินธุ์``).
    selected : geopandas.GeoDataFrame or None
        The view's ``selected_code`` area, outlined thickly.
    auto_res : int or None
        For H3 maps, the resolution the extent alone would pick (before the role's cap).
    pilots : geo.views.pilot_overlay.PilotOverlay or None
        Pilot sites, reach rings and candidate sites drawn over the map (:func:`with_pilots`).
    """

    view: MapView
    level: str
    res: int | None
    table: object
    areas: object
    fill: np.ndarray
    outlines: object | None
    context: object | None
    legend: mapstyle.Legend
    title: str
    subtitle: str
    credit: str
    synthetic: bool
    synthetic_text: str
    date: dt.date
    date_text: str
    filters_text: tuple[str, ...]
    headline: tuple[Headline, ...]
    bounds: tuple[float, float, float, float]
    place: str
    notices: tuple[str, ...] = field(default_factory=tuple)
    selected: object | None = None
    auto_res: int | None = None
    pilots: object | None = None
    totals: pd.DataFrame | None = None
    edges: tuple[float, ...] = ()

    def legend_set(self) -> dict:
        """The map's legend set as data, for ``<file>.legend.json`` beside an export: the metric,
        the level, the class method, the class edges (in the metric's units; ``None`` for an open
        end), each class's colour and label. Two maps with the same legend set read the same.

        Example
        -------
        >>> figure.legend_set()["method"]  # doctest: +SKIP
        'national'
        """
        spec = get_metric(self.view.metric)
        legend = self.legend
        if spec.scale == "categorical":
            return {"metric": spec.name, "level": self.level, "method": "categorical", "breaks": [],
                    "colours": [mapstyle.hex_colour(i.colour) for i in legend.items],
                    "labels": [i.label for i in legend.items]}
        return {"metric": spec.name, "level": self.level, "method": self.view.classes,
                "breaks": [float(e) if np.isfinite(e) else None for e in self.edges],
                "colours": [mapstyle.hex_colour(i.colour) for i in legend.items],
                "labels": [i.label for i in legend.items]}

    @property
    def legends(self) -> tuple[mapstyle.Legend, ...]:
        """Every legend the figure needs: the pilot sites' first when there are any, then the metric's."""
        return (self.pilots.legend, self.legend) if self.pilots is not None else (self.legend,)

    @property
    def min_count(self) -> int:
        """The small-cell threshold the figure was protected with."""
        return self.view.min_count

    @property
    def labelled(self) -> bool:
        """True when exports label the areas by name and value: every admin map (the exports label
        each area that has room, :func:`geo.export.static.render`); hexagons are not labelled."""
        return self.level != "h3"

    def file_stem(self, *, size: str | None = None) -> str:
        """A file name without extension: province, metric, (level,) (size,) date.

        ``46_kalasin_poor_households_2026-11-21`` for a province by district (the default level),
        ``46_kalasin_4609_sahatsakhan_mpi_h3r8_2026-11-21`` for a district's hexagons.
        """
        from geo.views.text import area_name

        def slug(words: str) -> str:
            return re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_")

        view = self.view
        parts = []
        if view.province_code:
            parts += [view.province_code, slug(area_name(view.province_code, "en"))]
        else:
            parts.append("all_provinces")
        if view.district_code:
            parts += [view.district_code, slug(area_name(view.district_code, "en"))]
        parts.append(view.metric)
        default_level = "district" if view.district_code is None else "subdistrict"
        if view.province_code is None:
            default_level = "province"
        if self.level == "h3":
            parts.append(f"h3r{self.res}")
        elif self.level != default_level:
            parts.append(self.level)
        if view.lang != "th":
            parts.append(view.lang)
        if size:
            parts.append(slug(size))
        parts.append(self.date.isoformat())
        return "_".join(parts)

    def deck(self, *, width_px: int = 1100, height_px: int = 650, labels: str | None = "gpu"):
        """The map as an offline ``pydeck.Deck`` (no basemap), fitted to ``width_px`` x ``height_px``.

        Layer ids: ``context``, ``areas`` or ``cells``, ``outline``, ``selected``, ``labels`` (the
        areas' names, admin maps only: :func:`geo.views.labels.label_layer`), and with pilots
        ``rings``, ``pilots``, ``pilot_letters``, ``gaps``. Each feature carries its
        ``code`` (or ``h3_cell``) and the plain-text tooltip fields of :data:`geo.views.deck.TOOLTIP`.
        ``labels`` says how overlapping names are hidden (``"gpu"``: deck.gl's collision filter, as
        Streamlit draws it; ``"static"``: dropped at the fitted zoom, for a deck.gl bundle without
        extensions) or, with ``None``, draws no names.
        """
        import pydeck as pdk

        from geo.views import deck as maps

        fitted = maps.view_for_bounds(self.bounds, width_px=width_px, height_px=height_px)
        zoom = fitted.zoom
        layers = []
        context = _visible_context(self.context, fitted, width_px=width_px, height_px=height_px)
        if context is not None and len(context):
            data = {"type": "FeatureCollection", "features": [
                {"type": "Feature", "geometry": g, "properties": {}}
                for g in maps.geojson_geometries(
                    maps.geometry_for_zoom(context.geometry, zoom, pixel_fraction=CONTEXT_DETAIL_PX))]}
            layers.append(pdk.Layer("GeoJsonLayer", data=data, id="context", pickable=False, stroked=True,
                                    filled=True, get_fill_color=[242, 242, 242, 255],
                                    get_line_color=[185, 185, 185, 255], line_width_min_pixels=1))
        # Column by column (a list each), not row by row: iterating text columns value by value is slow.
        tips = [dict(zip(_TOOLTIP_FIELDS, row)) for row in zip(*(self.areas[f].tolist() for f in _TOOLTIP_FIELDS))]
        if self.level == "h3":
            layers.append(maps.h3_layer(self.areas["key"].tolist(), self.fill, tips, layer_id="cells"))
        else:
            layers.append(maps.area_layer(_at_zoom(self.areas.rename(columns={"key": "code"}), zoom), self.fill,
                                          tips, layer_id="areas"))
        if self.outlines is not None and len(self.outlines):
            layers.append(maps.outline_layer(_at_zoom(self.outlines, zoom), layer_id="outline", width_px=2.0,
                                             colour=(40, 40, 40)))
        if self.selected is not None and len(self.selected):
            layers.append(maps.outline_layer(_at_zoom(self.selected, zoom), layer_id="selected", width_px=4.0,
                                             colour=(20, 20, 20)))
        if labels is not None and self.level != "h3":
            from geo.views.labels import label_layer

            names = label_layer(self.areas["name"].tolist(), self.areas.geometry, collision=labels, zoom=zoom)
            if names is not None:
                layers.append(names)
        if self.pilots is not None:
            layers += self.pilots.layers()
        # 4 decimals (about 11 m) like the geometry, so no number in the deck looks like a precise position.
        view = pdk.ViewState(latitude=round(fitted.latitude, 4), longitude=round(fitted.longitude, 4),
                             zoom=fitted.zoom, pitch=0, bearing=0)
        return maps.make_deck(layers, view)


_TOOLTIP_FIELDS = ("tt_title", "tt_1", "tt_2", "tt_3", "tt_4")
#: The pale context is thinned to one pixel at the map's zoom (it only places the map in Thailand).
CONTEXT_DETAIL_PX = 1.0


def _at_zoom(frame, zoom: float):
    """``frame`` with its geometry thinned for a screen map at ``zoom`` (:func:`geo.views.deck.geometry_for_zoom`)."""
    from geo.views import deck as maps

    return frame.set_geometry(maps.geometry_for_zoom(frame.geometry, zoom), crs=frame.crs)


def _visible_context(context, view, *, width_px: int, height_px: int):
    """The context provinces a screen map at ``view`` can show, with a view's width of room to pan
    on every side: a map of one district draws its neighbours, not all 77 provinces."""
    from geo.views import deck as maps

    if context is None or not len(context):
        return context
    minx, miny, maxx, maxy = maps.visible_bounds(view, width_px=width_px, height_px=height_px)
    return context.loc[context.geometry.intersects(shapely.box(minx, miny, maxx, maxy))]


# ---------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------


def _boundary(boundaries_by_level: Mapping[str, object], level: str):
    frame = boundaries_by_level.get(level)
    if frame is None:
        raise BoundaryError(
            f"boundaries_by_level has no {level!r} boundaries (has {sorted(boundaries_by_level)}); "
            "run: python -m geo boundaries install")
    return frame


def _within(frame, code: str, provinces: set[str] | None = None):
    codes = frame["code"].astype(str)
    keep = codes.str.startswith(code) if code else codes.str[:2].isin(provinces or set())
    return frame.loc[keep.to_numpy()].reset_index(drop=True)


def _place(view: MapView, lang: str) -> str:
    from geo.views.text import area_name

    if view.district_code:
        return text("where_district", lang, name=area_name(view.district_code, lang),
                        province=area_name(view.province_code, lang))
    if view.province_code:
        return text("where_province", lang, name=area_name(view.province_code, lang))
    return text("all_pilot_provinces", lang)


def _filters_in_words(flt: HouseholdFilter | None, lang: str) -> tuple[str, ...]:
    if flt is None or flt.is_empty:
        return ()
    from geo.views.viewstate import describe_filters
    from geo.views.viewstate import ViewState

    state = ViewState(
        provinces=tuple(flt.provinces or ()), districts=tuple(flt.districts or ()), levels=tuple(flt.levels or ()),
        capitals_in_deficit=tuple(flt.capitals_in_deficit or ()),
        tpmap={None: "any", True: "in", False: "out"}[flt.in_tpmap],
        verified={None: "any", True: "yes", False: "no"}[flt.verified],
        assistance=tuple(flt.assistance or ()), pilots=tuple(flt.pilots or ()),
        deprivations=tuple(flt.deprivations or ()),
    )
    parts = [p for p in describe_filters(state, lang, with_provinces=True).split("; ") if p]
    if flt.capitals_in_deficit and flt.deficit_cutoff != 1.75:
        parts.append(text("deficit_cutoff", lang, cutoff=f"{flt.deficit_cutoff:g}"))
    return tuple(parts)


def _h3_table(selection: _MapSelection, res: int, k: int) -> tuple[pd.DataFrame, int, list[str]]:
    notices = []
    while True:
        table = selection.aggregate("h3", res=res, rollup_min_count=k)
        if len(table) <= MAX_CELLS or res <= MAP_RESOLUTIONS[0]:
            return table, res, notices
        res -= 1
        notices.append("res_capped")


def build_map(
    index: HouseholdIndex,
    boundaries_by_level: Mapping[str, object],
    view: MapView,
    *,
    now: dt.date,
    synthetic: bool,
    attribution: str = ATTRIBUTION,
    data_source: str | None = None,
    mask: np.ndarray | None = None,
    round_text: str = "",
    reference: HouseholdIndex | None = None,
) -> MapFigure:
    """Aggregate, protect, classify and label one map view.

    Parameters
    ----------
    index : HouseholdIndex
        From :func:`geo.engine.aggregate.index_households` (build once, reuse).
    boundaries_by_level : mapping
        ``{"province": GeoDataFrame, "district": ..., "subdistrict": ...}`` with ``code`` and
        geometry (EPSG:4326), as drawn: pages pass their display boundaries
        (:func:`geo.views.deck.display_geometry`). Needs the drawn level, ``"province"``, and
        ``"district"`` for district or H3 maps; an optional ``"context"`` frame (every province,
        simplified) is drawn pale under the map.
    view : MapView
    now : datetime.date
        The date printed (BE with CE); a ``datetime`` is taken as its date.
    synthetic : bool
        The data are the synthetic sample (:func:`geo.data.store.is_synthetic`): the figure says so.
    attribution : str, default "Boundaries: RTSD / OCHA (CC BY-IGO)"
        The boundaries' credit (the installed manifest's ``attribution``).
    data_source : str, optional
        Where the households come from, for the credit line (default: PPAP household data).
    mask : numpy.ndarray of bool, optional
        A further restriction of the households, in the index's order — e.g. the user's scope
        from ``geo.access.roles.scoped_mask``. ANDed with the view's area and filters.
    round_text : str, optional
        Which survey round the households are of, in words (``รอบสำรวจ พ.ศ. 2566``): the
        subtitle's first part, so every export says which round it shows.
    reference : HouseholdIndex, optional
        The households ``classes="national"`` takes its classes from (:func:`national_values`):
        one fixed reference, the latest survey round of the whole country (pages pass it from
        :class:`geo.views.dashboard_maps.MapContext`), so a map of any round and of any province
        has the same legend. Default: ``index`` itself (with ``mask``). A reference other than
        ``index`` is not narrowed by ``mask``, which is in ``index``'s order.

    Returns
    -------
    MapFigure

    Raises
    ------
    EngineInputError
        When an argument is of the wrong kind.
    BoundaryError
        When a needed boundary level is missing.

    Example
    -------
    >>> figure = build_map(index, boundaries, MapView(province_code="46"),  # doctest: +SKIP
    ...                    now=dt.date(2026, 11, 21), synthetic=True)
    >>> figure.title  # doctest: +SKIP
    'ครัวเรือนยากจน (ระดับ 1-2) · รายอำเภอ · จังหวัดกาฬสินธุ์'
    """

    now, mask = _check_build_inputs(index, boundaries_by_level, view, now, synthetic, mask)
    # Aggregates come from the profile cube when it can answer (geo.engine.cube: no pass over every
    # household); the households' mask is built only when the engine is needed.
    selection = _MapSelection(index, view, mask)
    data_provinces = set(index.province_codes.astype(str).tolist())
    scope_frame = _scope_frame(boundaries_by_level, view, data_provinces)
    bounds = tuple(float(b) for b in scope_frame.total_bounds)
    if view.level == "h3":
        drawn = _h3_drawn(index, boundaries_by_level, view, selection, bounds, scope_frame, data_provinces)
    else:
        drawn = _admin_drawn(index, boundaries_by_level, view, selection, scope_frame, data_provinces)
    national = None
    if view.classes == "national" and get_metric(view.metric).scale == "sequential":
        if reference is not None and not isinstance(reference, HouseholdIndex):
            raise EngineInputError(f"reference must be a HouseholdIndex or None, got {type(reference).__name__}")
        same = reference is None or reference is index
        national = national_values(index if same else reference, view, level=view.level, res=drawn.res,
                                   mask=mask if same else None, boundaries_by_level=boundaries_by_level)
    areas, fill, legend, edges = _classified(drawn, view, national)
    # An admin map's aggregate holds the whole selection: its headline needs no second pass.
    totals = totals_of(drawn.raw if drawn.raw is not None else selection.aggregate("province"), k=view.min_count,
                       exact=view.exact)
    words = _words(view, drawn.res, synthetic=bool(synthetic), attribution=attribution, data_source=data_source,
                   round_text=round_text)
    return MapFigure(
        view=view, level=view.level, res=drawn.res, table=drawn.table, areas=areas, fill=fill,
        outlines=drawn.outlines, context=boundaries_by_level.get("context"), legend=legend,
        synthetic=bool(synthetic), date=now, date_text=format_date_both(now, view.lang),
        headline=headline(totals, view.lang), totals=totals, bounds=bounds, notices=drawn.notices,
        selected=_selected_frame(boundaries_by_level, view), auto_res=drawn.auto_res, edges=edges, **words,
    )


_OUTSIDE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def outside_declared(index: HouseholdIndex, boundaries_by_level: Mapping[str, object]) -> np.ndarray:
    """Whether each household (in ``index`` order) stands outside its declared district
    (:func:`geo.engine.verify.in_declared`); False without a position or a boundary.

    The district polygons are ``boundaries_by_level["verify"]`` (full-detail districts, prepared
    with :func:`geo.engine.verify.prepare_boundaries`) when given, else the drawn districts.
    Computed once per index and boundary set.
    """
    from geo.engine.verify import in_declared, prepare_boundaries

    prepared = boundaries_by_level.get("verify")
    if prepared is None:
        prepared = prepare_boundaries(_boundary(boundaries_by_level, "district"), "district")
    cached = _OUTSIDE.get(index)
    if cached is not None and cached[0] is prepared:
        return cached[1]
    declared = index.district_codes.astype(str)[index.district]
    inside = in_declared(index.lon.astype("float64"), index.lat.astype("float64"), declared, prepared)
    outside = inside == 0
    if boundaries_by_level.get("verify") is not None:
        _OUTSIDE[index] = (prepared, outside)
    return outside


def _outside_counts(index, boundaries_by_level, view: MapView, level: str, mask, *, exact: bool | None = None):
    """``code`` and ``outside_declared``: households of the selection outside their declared
    district, per area, released as ``view`` releases counts (withheld under ``k``)."""
    outside = outside_declared(index, boundaries_by_level)
    keep = outside if mask is None else (outside & mask)
    counts = protect(aggregate(index, level, mask=keep), k=view.min_count,
                     exact=view.exact if exact is None else exact)
    shown = pd.to_numeric(counts["households"], errors="coerce")
    if "suppressed" in counts.columns:
        shown = shown.where(~counts["suppressed"].astype("boolean").fillna(True))
    return pd.DataFrame({"code": counts["code"].astype(str), "outside_declared": shown.to_numpy(dtype="float64")})


#: An equal-area projection for areas in km² (WGS 84 / NSIDC EASE-Grid 2.0 Global, metres).
EQUAL_AREA_CRS = "EPSG:6933"


def areas_km2(geometry) -> np.ndarray:
    """The area of each geometry (EPSG:4326 lon/lat) in km², measured in an equal-area projection
    (:data:`EQUAL_AREA_CRS`).

    Example
    -------
    >>> import geopandas as gpd, shapely
    >>> round(float(areas_km2(gpd.GeoSeries([shapely.box(103, 16, 104, 17)], crs="EPSG:4326"))[0]))
    11408
    """
    import geopandas as gpd

    series = gpd.GeoSeries(geometry, crs="EPSG:4326") if not isinstance(geometry, gpd.GeoSeries) else geometry
    if series.crs is None:
        series = series.set_crs("EPSG:4326")
    return series.to_crs(EQUAL_AREA_CRS).area.to_numpy(dtype="float64") / 1e6


def cells_area_km2(cells) -> np.ndarray:
    """The area of each H3 cell (string or integer id) in km² (``h3.cell_area``)."""
    import h3

    return np.array([h3.cell_area(c if isinstance(c, str) else h3.int_to_str(int(c)), unit="km^2")
                     for c in cells], dtype="float64")


def national_values(index: HouseholdIndex, view: MapView, *, level: str, res: int | None = None,
                    mask: np.ndarray | None = None, boundaries_by_level: Mapping[str, object] | None = None
                    ) -> np.ndarray:
    """The metric of every area of the country at ``level`` (H3 cells at ``res``), as the public
    release shows them: the values ``classes="national"`` takes its quantiles from.

    The view's household filters apply, but not its area nor its province and district filters, so
    the result is the same for every province's map. Values come from the public release
    (:func:`geo.engine.protect.protect`, ``exact=False``): withheld areas are left out, and no
    exact count of anyone's scope shapes the classes.

    Example
    -------
    >>> national_values(index, MapView(province_code="46", metric="mpi"), level="district")  # doctest: +SKIP
    array([0.21, 0.18, ...])
    """
    flt = view.filters and replace(view.filters, provinces=None, districts=None)
    everywhere = replace(view, province_code=None, district_code=None, selected_code=None,
                         filters=None if flt is None or flt.is_empty else flt, level=level, res=None)
    # The same reference serves every province and round: its values are kept per index (not
    # with a mask, which may change), for the view without its area, the level and resolution.
    # Metrics that read the boundaries (density, households outside their district) are not kept.
    spec = get_metric(view.metric)
    plain = spec.denominator != "area_km2" and spec.columns != ("outside_declared",)
    key = (replace(everywhere, lang="th"), res)
    kept = _NATIONAL.setdefault(index, {}) if mask is None and plain else {}
    if key in kept:
        return kept[key]
    values = _national_values(index, everywhere, view, level=level, res=res, mask=mask,
                              boundaries_by_level=boundaries_by_level)
    if len(kept) >= _NATIONAL_MAX:
        kept.clear()
    kept[key] = values
    values.setflags(write=False)
    return values


#: :func:`national_values` kept per household index (at most :data:`_NATIONAL_MAX` per index).
_NATIONAL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_NATIONAL_MAX = 64


def _national_values(index, everywhere: MapView, view: MapView, *, level, res, mask, boundaries_by_level):
    selection = _MapSelection(index, everywhere, mask)
    if level == "h3":
        raw = selection.aggregate("h3", res=res or MAP_RESOLUTIONS[-1], rollup_min_count=view.min_count)
    else:
        raw = selection.aggregate(level)
    table = protect(raw, k=view.min_count, exact=False)
    if get_metric(view.metric).columns == ("outside_declared",) and boundaries_by_level is not None:
        table = table.assign(code=table["code"].astype(str)).merge(
            _outside_counts(index, boundaries_by_level, everywhere, level, selection.mask(), exact=False),
            on="code", how="left")
    if get_metric(view.metric).denominator == "area_km2":  # density: each area's km²
        if level == "h3":
            table = table.assign(area_km2=cells_area_km2(table["h3_cell"]))
        elif boundaries_by_level is not None and level in boundaries_by_level:
            frame = boundaries_by_level[level]
            km2 = pd.Series(areas_km2(frame.geometry), index=frame["code"].astype(str).to_numpy())
            table = table.assign(area_km2=table["code"].astype(str).map(km2).to_numpy(dtype="float64"))
    values = metric_values(table, view.metric)
    if get_metric(view.metric).kind == "share":  # a small cell's perturbed share can pass 100%
        values = np.clip(values, 0.0, 1.0)
    if "suppressed" in table.columns:
        values = np.where(table["suppressed"].astype("boolean").fillna(True).to_numpy(dtype=bool), np.nan, values)
    return values[np.isfinite(values)]


class _MapSelection:
    """The households a map shows: the view's filters, its area and the caller's mask."""

    def __init__(self, index: HouseholdIndex, view: MapView, mask: np.ndarray | None):
        self.index, self.view, self.extra = index, view, mask
        self._mask: np.ndarray | None = None
        self._built = False

    def mask(self) -> np.ndarray | None:
        if not self._built:
            from geo.engine.filters import area_mask, combine_masks

            self._mask = combine_masks(filter_mask(self.index, self.view.filters),
                                       area_mask(self.index, self.view.scope_code), self.extra)
            self._built = True
        return self._mask

    def aggregate(self, level: str, **options) -> pd.DataFrame:
        """Unprotected aggregate of the selection (:func:`geo.engine.aggregate.aggregate` ``options``):
        from the profile cube when it can answer, else from the engine."""
        from geo.engine.cube import cube_aggregate

        table = None if self.extra is not None else cube_aggregate(self.index, level, self.view.filters,
                                                                   self.view.scope_code, **options)
        return table if table is not None else aggregate(self.index, level, mask=self.mask(), **options)


def _selected_frame(boundaries_by_level, view: MapView):
    code = view.selected_code
    if not code:
        return None
    level = area_level(code)
    frame = boundaries_by_level.get(level)
    if frame is None:
        return None
    return frame[frame["code"].astype(str) == code][["code", "geometry"]].reset_index(drop=True)


def _check_build_inputs(index, boundaries_by_level, view, now, synthetic, mask):
    if not isinstance(index, HouseholdIndex):
        raise EngineInputError(f"index must be a HouseholdIndex from index_households(), got {type(index).__name__}")
    if not isinstance(boundaries_by_level, Mapping):
        raise EngineInputError("boundaries_by_level must be a dict of level -> GeoDataFrame, got "
                               f"{type(boundaries_by_level).__name__}")
    if not isinstance(view, MapView):
        raise EngineInputError(f"view must be a MapView, got {type(view).__name__}")
    if isinstance(now, dt.datetime):
        now = now.date()
    if not isinstance(now, dt.date):
        raise EngineInputError(f"now must be a datetime.date, got {now!r}")
    if not isinstance(synthetic, (bool, np.bool_)):
        raise EngineInputError(f"synthetic must be True or False, got {synthetic!r}")
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != bool or mask.shape != (index.n,):
            raise EngineInputError(f"mask must be a bool array of length {index.n}, got {mask.dtype} {mask.shape}")
    return now, mask


def _scope_frame(boundaries_by_level, view: MapView, data_provinces: set[str]):
    """The boundary of the area mapped (every province with data when there is no area)."""
    scope = view.scope_code
    if scope:
        frame = _within(_boundary(boundaries_by_level, "district" if view.district_code else "province"), scope)
        frame = frame[frame["code"].astype(str) == scope]
    else:
        frame = _within(_boundary(boundaries_by_level, "province"), "", data_provinces)
        if frame.empty:  # no households at all (e.g. none yet in a user's scope): the whole country
            frame = _boundary(boundaries_by_level, "province")
    if frame.empty:
        raise BoundaryError(f"no boundary for area {scope!r} in the installed boundaries")
    return frame


@dataclass(frozen=True, eq=False)
class _Drawn:
    """What a map draws before colouring: the protected table, one row per drawn area, outlines."""

    table: object  # protected aggregate with geometry
    rows: pd.DataFrame  # one per drawn area: households_shown, suppressed, metric columns (NaN if no data)
    keys: list[str]
    names: list[str]
    geometry: list
    outlines: object | None
    res: int | None = None
    notices: tuple[str, ...] = ()
    auto_res: int | None = None
    raw: pd.DataFrame | None = None  # the unprotected aggregate of the whole selection (admin levels)


def _h3_drawn(index, boundaries_by_level, view, selected, bounds, scope_frame, data_provinces) -> _Drawn:
    auto = auto_resolution(bounds)
    res = min(view.res or auto, view.max_res)  # max_res: the role's finest (geo.access.roles.cap_resolution)
    raw, res, notices = _h3_table(selected, res, view.min_count)
    table = attach_cell_geometry(protect(raw, k=view.min_count, exact=view.exact))
    if get_metric(view.metric).denominator == "area_km2":
        table = table.assign(area_km2=cells_area_km2(table["h3_cell"]))
    keys = table["h3_cell"].astype(str).tolist()
    # Outlines over hexagons: the districts of the area (or the provinces when mapping all).
    if view.district_code:
        outlines = scope_frame
    else:
        level = "district" if view.province_code else "province"
        outlines = _within(_boundary(boundaries_by_level, level), view.scope_code, data_provinces)
    return _Drawn(table, table, keys, [f"H3 {c}" for c in keys], list(table.geometry), outlines, res,
                  tuple(dict.fromkeys(notices)), min(auto, view.max_res))


def _admin_drawn(index, boundaries_by_level, view, selection: _MapSelection, scope_frame, data_provinces) -> _Drawn:
    import geopandas as gpd

    from geo.views.text import area_name

    level, scope = view.level, view.scope_code
    raw = selection.aggregate(level)
    protected = protect(raw, k=view.min_count, exact=view.exact)
    protected = protected.assign(code=protected["code"].astype(str))
    frame = _within(_boundary(boundaries_by_level, level), scope, data_provinces)
    frame = frame.assign(code=frame["code"].astype(str))[["code", "geometry"]]
    if get_metric(view.metric).denominator == "area_km2":
        frame = frame.assign(area_km2=areas_km2(frame.geometry))
    if get_metric(view.metric).columns == ("outside_declared",):
        protected = protected.merge(_outside_counts(index, boundaries_by_level, view, level, selection.mask()),
                                    on="code", how="left")
    rows = frame.merge(protected, on="code", how="left")  # every area of the scope, with data or not
    table = gpd.GeoDataFrame(protected.merge(frame, on="code", how="left"), geometry="geometry", crs=frame.crs)
    up = {"province": None, "district": "province", "subdistrict": "district"}[level]
    outlines = _within(_boundary(boundaries_by_level, up), scope, data_provinces) if up else None
    if outlines is not None and scope and len(outlines) <= 1 and level == "district":
        outlines = scope_frame
    keys = rows["code"].tolist()
    return _Drawn(table, rows, keys, [area_name(c, view.lang) for c in keys], list(rows["geometry"]), outlines,
                  raw=raw)


def _edges(values: np.ndarray, view: MapView, national: np.ndarray | None, formatter) -> np.ndarray:
    """Class edges of the view's legend set (:data:`geo.views.style.CLASS_METHODS`), none reading alike."""
    if view.classes == "custom":
        edges = mapstyle.custom_edges(view.breaks)
    elif view.classes == "national" and national is not None:
        edges = mapstyle.class_breaks(national, method="quantile")
    else:
        method = "equal" if view.classes == "equal" else "quantile"
        edges = mapstyle.class_breaks(values[np.isfinite(values)], method=method)
    return mapstyle.distinct_edges(edges, formatter)


def _classified(drawn: _Drawn, view: MapView, national: np.ndarray | None = None):
    """Status, value and colour of each drawn area, the legend, the tooltip fields and the class edges."""
    import geopandas as gpd

    from geo.views.text import shown_count
    from geo.views.deck import tooltip_fields

    lang, k, metric = view.lang, view.min_count, view.metric
    rows, n = drawn.rows, len(drawn.keys)
    has_data = rows["households_shown"].notna().to_numpy() if n else np.zeros(0, dtype=bool)
    withheld = rows["suppressed"].astype("boolean").fillna(False).to_numpy(dtype=bool) if n else has_data
    if not view.exact:  # the public release leaves withheld areas out: an area with none reads the same
        withheld = withheld | ~has_data
    status = np.where(withheld, "withheld", np.where(has_data, "shown", "no_data"))
    values = metric_values(rows, metric) if n else np.zeros(0)
    what = metric_label(metric, lang)
    withheld_label = text("suppressed" if view.exact else "withheld_or_none", lang, k=k)
    no_data_label = text("no_data", lang) if view.level != "h3" and view.exact else None
    spec = get_metric(metric)
    if spec.scale == "categorical":
        values = np.array([v if s == "shown" else None for v, s in zip(values, status)], dtype=object)
        fill = np.zeros((n, 4), dtype="uint8")
        fill[:, 3] = 220
        fill[:, :3] = mapstyle.NO_DATA_COLOUR
        for capital in CAPITALS:
            fill[values == capital, :3] = mapstyle.CAPITAL_COLOURS[capital]
        fill[withheld, :3] = mapstyle.WITHHELD_COLOUR
        edges = np.zeros(0)
        legend = mapstyle.categorical_legend(what, {c: capital_label(c, lang) for c in CAPITALS},
                                             mapstyle.CAPITAL_COLOURS, withheld_label=withheld_label)
        if no_data_label:
            no_data = mapstyle.LegendItem(mapstyle.NO_DATA_COLOUR, no_data_label)
            legend = replace(legend, notes=legend.notes + (no_data,))
    else:
        values = np.where(status == "shown", values.astype("float64"), np.nan)
        formatter = spec.legend_formatter(lang)
        edges = _edges(values, view, national, formatter)
        if spec.kind == "share" and edges.size and edges.size < len(mapstyle.SEQUENTIAL_YLORRD) + 1:
            fine = spec.legend_formatter(lang, fine=True)  # classes within a few percent: one decimal
            finer = _edges(values, view, national, fine)
            if finer.size > edges.size:
                edges, formatter = finer, fine
        # An area shown whose figure is withheld (its numerator under k) is grey as withheld, not blank.
        value_withheld = (status == "shown") & ~np.isfinite(values)
        fill = mapstyle.fill_colours(values, edges, withheld=withheld | value_withheld,
                                     alpha=225 if view.level == "h3" else 210)
        legend = mapstyle.sequential_legend(what, edges, formatter,
                                            withheld_label=withheld_label, no_data_label=no_data_label)
        # One value (or classes that round alike) reads "60%", not "60% – 60%".
        items = tuple(replace(i, label=i.label.split(" – ")[0]) if len(set(i.label.split(" – "))) == 1 else i
                      for i in legend.items)
        legend = replace(legend, items=items)

    numeric = spec.kind != "category"
    value_text = [("" if s != "shown" else f"<{k}" if numeric and _missing(v) else spec.format(v, lang))
                  for v, s in zip(values, status)]
    shown = rows["households_shown"].tolist() if n else []
    households_text = [text("no_data", lang) if s == "no_data" else shown_count(h if isinstance(h, str) else f"<{k}", lang)
                       for h, s in zip(shown, status)]
    households = text("households", lang)
    tips = {f: [] for f in _TOOLTIP_FIELDS}
    for name, s, v_text, h_text in zip(drawn.names, status, value_text, households_text):
        lines = [(what, v_text), (households, h_text)] if s == "shown" else [(households, h_text)]
        for key, value in tooltip_fields(name, lines).items():
            tips[key].append(value)
    areas = gpd.GeoDataFrame(
        {"key": drawn.keys, "name": drawn.names, "status": status, "value": values, "value_text": value_text,
         "households_text": households_text, **tips},
        geometry=drawn.geometry, crs="EPSG:4326")
    return areas, fill, legend, tuple(float(e) for e in edges)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and not np.isfinite(value))


def _words(view: MapView, res: int | None, *, synthetic: bool, attribution: str, data_source: str | None,
           round_text: str = "") -> dict:
    """Title, subtitle, credit, synthetic label, place and filters, in the view's language."""
    lang = view.lang
    place = _place(view, lang)
    filters_text = _filters_in_words(view.filters, lang)
    what = metric_label(view.metric, lang)
    title = f"{what} · {text(f'by_{view.level}', lang)} · {place}"  # the filters: once, in the subtitle
    subtitle = [round_text] if round_text else []
    if res is not None:
        subtitle.append(resolution_label(res, lang))
    subtitle.append("; ".join(filters_text) if filters_text else text("all_households", lang))
    subtitle.append(text("withheld_note", lang, k=view.min_count))
    if not view.exact:
        subtitle.append(text("perturbed_note", lang, noise=MAX_NOISE))
    source = data_source or text("data_source", lang)
    if synthetic:
        source = f"{source} ({text('synthetic_note', lang)})"
    return {
        "title": title, "subtitle": " · ".join(subtitle), "place": place, "filters_text": filters_text,
        "credit": f"{text('source', lang)}: {source} · {attribution}",
        "synthetic_text": text("synthetic_sample", lang) if synthetic else "",
    }


# ---------------------------------------------------------------------------------------------
# Loading everything a map needs (the command line; pages use their cached loaders)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MapInputs:
    """Households indexed once, display boundaries by level, and what the credit line needs."""

    index: HouseholdIndex
    boundaries: dict
    synthetic: bool
    attribution: str
    source_path: object = None

    def build(self, view: MapView, *, now: dt.date, data_source: str | None = None) -> MapFigure:
        """:func:`build_map` with these inputs."""
        return build_map(self.index, self.boundaries, view, now=now, synthetic=self.synthetic,
                         attribution=self.attribution, data_source=data_source)


def load_map_inputs(households_path=None, boundaries_dir=None) -> MapInputs:
    """Read households (default: the sample) and installed boundaries, index and simplify once.

    Parameters
    ----------
    households_path : path, optional
        A contract Parquet or CSV file; default ``geo.data.paths.samples_dir()/households.parquet``.
    boundaries_dir : path, optional
        Installed boundaries; default :func:`geo.data.paths.boundaries_dir`.

    Raises
    ------
    InputFileError, ContractError, BoundaryError
        When the households or boundaries cannot be read.
    """
    from pathlib import Path

    from geo.data import paths
    from geo.engine.aggregate import index_households
    from geo.data.boundaries import load_boundaries, read_manifest
    from geo.data.store import latest_round, read_households
    from geo.views.deck import display_geometry
    from geo.data.store import is_synthetic

    path = Path(households_path) if households_path is not None else paths.samples_dir() / "households.parquet"
    households = read_households(path)
    latest = latest_round(households)
    if latest is not None:
        households = households[households["survey_year"] == latest].reset_index(drop=True)
    index = index_households(households)
    directory = Path(boundaries_dir) if boundaries_dir is not None else None
    boundaries = {}
    for level in ADMIN_LEVELS:
        frame = load_boundaries(level, directory)
        boundaries[level] = frame.set_geometry(display_geometry(frame.geometry))
    boundaries["context"] = context_geometry(load_boundaries("province", directory))
    from geo.engine.verify import prepare_boundaries

    boundaries["verify"] = prepare_boundaries(load_boundaries("district", directory), "district")
    attribution = str(read_manifest(directory).get("attribution") or ATTRIBUTION)
    return MapInputs(index, boundaries, is_synthetic(path), attribution, path)
