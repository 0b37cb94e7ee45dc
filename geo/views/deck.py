"""Maps as data: functions that return a ``pydeck.Deck`` for areas, H3 cells and pilot sites.

Offline by construction: every deck is made with ``map_provider=None``, which pydeck writes as the
map style ``"__MAP_STYLE__"``; Streamlit (1.5x and later) then mounts no basemap at all, where an
*empty* style would make it fetch an online Carto basemap. The boundaries drawn by the layers are
the base map, so nothing is fetched from the network (``tests/e2e`` checks this in Chromium).

Tooltips: the markup lives in one fixed template (:data:`TOOLTIP`) and each feature carries
plain-text fields (``tt_title``, ``tt_1`` ... from :func:`tooltip_fields`). Streamlit escapes every
value it puts into an ``html`` tooltip, so text from the data can never become markup (and
pre-escaped HTML would show its tags as text).

Coordinate order: GeoJSON and pydeck positions are (lon, lat); view states take latitude and
longitude by name.
"""

from __future__ import annotations

import html
import json
import math
import re
import secrets
import weakref
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pydeck as pdk
import shapely
from pydeck.bindings.json_tools import default_serialize

from geo.views.style import OUTLINE_COLOUR
from geo.errors import EngineInputError

TOOLTIP_LINES = 4
TOOLTIP: dict = {
    "html": "<b>{tt_title}</b>" + "".join(f"<div>{{tt_{i}}}</div>" for i in range(1, TOOLTIP_LINES + 1)),
    "style": {"backgroundColor": "#222", "color": "#fff", "fontSize": "16px", "padding": "8px 10px"},
}
#: Thailand as a whole, when nothing narrower is shown.
THAILAND_VIEW = pdk.ViewState(latitude=13.0, longitude=101.0, zoom=4.6, pitch=0, bearing=0)
# Display geometry: simplified (about 200 m) and rounded (4 decimals, about 11 m), so one map of
# every district stays small enough to send to a browser quickly.
DISPLAY_TOLERANCE_DEG = 0.002
DISPLAY_DECIMALS = 4
#: On screen, detail finer than a quarter of a pixel at the map's fitted zoom is not drawn
#: (:func:`geometry_for_zoom`): zooming in twice still shows under one pixel of difference.
VIEW_DETAIL_PX = 0.25


def tooltip_fields(title: str, rows: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Plain-text tooltip fields for one feature: a title and up to four ``label: value`` lines.

    Every field is present (empty when unused): Streamlit leaves a placeholder with no value as
    written. Streamlit escapes the values when it fills :data:`TOOLTIP` in.

    Example
    -------
    >>> tooltip_fields("นามน", [("ครัวเรือน", "<10")])["tt_1"]
    'ครัวเรือน: <10'
    """
    lines = [f"{label}: {value}" for label, value in rows][:TOOLTIP_LINES]
    lines += [""] * (TOOLTIP_LINES - len(lines))
    return {"tt_title": str(title), **{f"tt_{i}": line for i, line in enumerate(lines, start=1)}}


def display_geometry(geometry: gpd.GeoSeries) -> gpd.GeoSeries:
    """Simplify and round geometries for drawing (never for analysis)."""
    simple = shapely.simplify(geometry.values, DISPLAY_TOLERANCE_DEG, preserve_topology=True)
    rounded = shapely.set_precision(simple, 10 ** -DISPLAY_DECIMALS, mode="pointwise")
    return gpd.GeoSeries(rounded, index=geometry.index, crs=geometry.crs)


def degrees_per_pixel(zoom: float) -> float:
    """Degrees of longitude one screen pixel spans at a Web Mercator ``zoom`` (512-pixel world at 0).

    Example
    -------
    >>> round(degrees_per_pixel(5.0), 4)
    0.022
    """
    return 360.0 / (512.0 * 2.0 ** float(zoom))


def geometry_for_zoom(geometry, zoom: float, *, pixel_fraction: float = VIEW_DETAIL_PX):
    """Display geometry (:func:`display_geometry`) thinned to what a map fitted at ``zoom`` can show.

    Vertices closer than ``pixel_fraction`` of a pixel are dropped and the rest rounded to 3
    decimals (about 110 m) when that tolerance is coarser than :data:`DISPLAY_TOLERANCE_DEG`;
    closer views keep the display geometry as it is. A map of every district in Thailand is
    fitted at zoom 4.6 (a pixel is about 3 km), so its polygons shrink by half with no visible
    change; a click drills down to a new map drawn at the finer detail.

    Parameters
    ----------
    geometry : sequence of shapely geometries (a GeoSeries or an array)

    Returns
    -------
    numpy.ndarray of shapely geometries, in the input's order.
    """
    values = np.asarray(getattr(geometry, "values", geometry), dtype=object)
    tolerance = round(degrees_per_pixel(zoom) * pixel_fraction, 7)
    if tolerance <= DISPLAY_TOLERANCE_DEG or not values.size:
        return values
    # Boundaries do not change with the filters: each polygon is thinned once per tolerance and kept.
    out = np.empty(len(values), dtype=object)
    out[:] = _kept_per_geometry(values, _THINNED, tolerance, lambda shapes: shapely.set_precision(
        shapely.simplify(shapes, tolerance, preserve_topology=True), 1e-3, mode="pointwise"))
    return out


def _kept_per_geometry(values: np.ndarray, kept: dict, tag: object, make) -> list:
    """Per geometry of ``values``, what ``make`` gives for it, made once and kept in ``kept`` by
    (id of the geometry, ``tag``) with the geometry itself, so a reused id() can never match
    another geometry. ``make`` takes the geometries not kept yet (an array) and returns one result
    each; ``kept`` is cleared when it would pass :data:`_THINNED_MAX` entries (every subdistrict of
    Thailand at a few zoom levels fits)."""
    out: list = [None] * len(values)
    missing = []
    for i, shape in enumerate(values):
        held = kept.get((id(shape), tag))
        if held is not None and held[0] is shape:
            out[i] = held[1]
        else:
            missing.append(i)
    if missing:
        made = make(values[missing])
        if len(kept) + len(missing) > _THINNED_MAX:
            kept.clear()
        for i, result in zip(missing, made):
            out[i] = result
            kept[(id(values[i]), tag)] = (values[i], result)
    return out


#: Thinned polygons by (id of the display polygon, tolerance), with the polygon they came from
#: (:func:`_kept_per_geometry`).
_THINNED: dict[tuple[int, float], tuple[object, object]] = {}
_THINNED_MAX = 100_000


def visible_bounds(view: pdk.ViewState, *, width_px: int, height_px: int,
                   margin: float = 1.0) -> tuple[float, float, float, float]:
    """``(min_lon, min_lat, max_lon, max_lat)`` a map of ``width_px`` x ``height_px`` shows at
    ``view``, widened by ``margin`` times its own size on every side (room to pan).

    Example
    -------
    >>> bounds = visible_bounds(pdk.ViewState(latitude=16.0, longitude=103.5, zoom=8), width_px=512, height_px=512, margin=0)
    >>> [round(b, 2) for b in bounds]
    [102.8, 15.32, 104.2, 16.68]
    """
    half_lon = width_px / 2 * degrees_per_pixel(view.zoom) * (1 + 2 * margin)
    half_lat = height_px / 2 * degrees_per_pixel(view.zoom) * math.cos(math.radians(view.latitude)) * (1 + 2 * margin)
    return (view.longitude - half_lon, view.latitude - half_lat, view.longitude + half_lon, view.latitude + half_lat)


def view_for_bounds(bounds: Sequence[float], *, width_px: int = 1100, height_px: int = 650,
                    padding: float = 0.08) -> pdk.ViewState:
    """A view state that fits ``(minx, miny, maxx, maxy)`` in a map of the given size.

    Web Mercator zoom: at zoom z the world is 512 * 2**z pixels wide.
    """
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    if not all(math.isfinite(b) for b in (minx, miny, maxx, maxy)):
        return THAILAND_VIEW
    lon_span = max(maxx - minx, 1e-4) * (1 + 2 * padding)

    def merc_y(lat: float) -> float:
        lat = max(min(lat, 85.0), -85.0)
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    y_span = max(merc_y(maxy) - merc_y(miny), 1e-6) * (1 + 2 * padding)
    zoom_x = math.log2(width_px * 360.0 / (lon_span * 512.0))
    zoom_y = math.log2(height_px * 2 * math.pi / (y_span * 512.0))
    zoom = max(min(zoom_x, zoom_y, 13.0), 3.0)
    centre_y = (merc_y(maxy) + merc_y(miny)) / 2
    centre_lat = math.degrees(2 * math.atan(math.exp(centre_y)) - math.pi / 2)
    return pdk.ViewState(latitude=round(centre_lat, 5), longitude=round((minx + maxx) / 2, 5),
                         zoom=round(zoom, 2), pitch=0, bearing=0)


def resolution_for_zoom(zoom: float, *, max_res: int = 9) -> int:
    """The H3 resolution that keeps hexagons a readable size at a map zoom level.

    About 15-40 pixels across per hexagon: res 5 at country scale, res 9 at street scale.
    """
    for limit, res in ((5.5, 5), (7.0, 6), (8.5, 7), (10.0, 8)):
        if zoom < limit:
            return min(res, max_res)
    return min(9, max_res)


class GeoJSONText(Mapping):
    """One GeoJSON geometry as the text GEOS wrote, read as a mapping when asked (``["type"]``,
    ``["coordinates"]``) and written into a deck's JSON as it is (:meth:`CompactDeck.to_json`):
    the same polygons are drawn again at every filter change, so their numbers are written once,
    not parsed and written again each time (three quarters of a district map's JSON time)."""

    __slots__ = ("text", "_parsed")

    def __init__(self, text: str):
        self.text = text
        self._parsed: dict | None = None

    def _mapping(self) -> dict:
        if self._parsed is None:
            self._parsed = json.loads(self.text)
        return self._parsed

    def __getitem__(self, key):
        return self._mapping()[key]

    def __iter__(self):
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())

    def __repr__(self) -> str:
        return f"GeoJSONText({self.text[:60]!r}...)"


def geojson_geometries(geometries) -> list[GeoJSONText | None]:
    """GeoJSON geometries (:class:`GeoJSONText`) for shapely geometries, written by GEOS in one
    vectorised call (several times faster than ``shapely.geometry.mapping`` per geometry on large
    polygons).

    Boundaries do not change with the filters, and the Change page draws the same polygons three
    times: each geometry's text is kept (with the geometry, as :func:`geometry_for_zoom` keeps
    its thinned polygons) and handed out again.
    """
    array = np.asarray(list(geometries), dtype=object)
    if not array.size:
        return []
    return _kept_per_geometry(array, _GEOJSON, None, lambda shapes: [
        GeoJSONText(text) if text is not None else None for text in shapely.to_geojson(shapes).tolist()])


#: GeoJSON texts by (id of the geometry, None), with the geometry (:func:`_kept_per_geometry`).
_GEOJSON: dict[tuple[int, None], tuple[object, GeoJSONText | None]] = {}


def _rgba_lists(colours: np.ndarray) -> list[list[int]]:
    return np.asarray(colours, dtype="uint8").astype(int).tolist()


def area_layer(areas: gpd.GeoDataFrame, fill: np.ndarray, tooltips: Sequence[dict[str, str]], *,
               layer_id: str = "areas", line_width_px: float = 1.0, pickable: bool = True) -> pdk.Layer:
    """A filled GeoJSON layer, one feature per area, carrying ``code`` and its tooltip fields.

    Parameters
    ----------
    areas : GeoDataFrame
        With ``code`` and display-ready geometry (see :func:`display_geometry`).
    fill : array (n, 4) of uint8
        RGBA fill per area, e.g. from :func:`geo.views.style.fill_colours`.
    tooltips : sequence of dict
        Tooltip fields per area, from :func:`tooltip_fields`.
    """
    if len(areas) != len(fill) or len(areas) != len(tooltips):
        raise EngineInputError(
            f"areas, fill and tooltips must have one entry per area: got {len(areas)}, {len(fill)}, {len(tooltips)}"
        )
    features = []
    geometries = geojson_geometries(areas.geometry)
    for code, geom, colour, tip in zip(areas["code"], geometries, _rgba_lists(fill), tooltips):
        features.append({
            "type": "Feature",
            "geometry": geom,
            "properties": {"code": str(code), "fill": colour, **tip},
        })
    return pdk.Layer(
        "GeoJsonLayer",
        data={"type": "FeatureCollection", "features": features},
        id=layer_id,
        pickable=pickable,
        stroked=True,
        filled=True,
        get_fill_color="properties.fill",
        get_line_color=list(OUTLINE_COLOUR),
        line_width_min_pixels=line_width_px,
        auto_highlight=pickable,
    )


def outline_layer(areas: gpd.GeoDataFrame, *, layer_id: str = "outline", width_px: float = 2.0,
                  colour: Sequence[int] = (40, 40, 40)) -> pdk.Layer:
    """Unfilled outlines (e.g. provinces over districts), not pickable."""
    data = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": g, "properties": {}} for g in geojson_geometries(areas.geometry)],
    }
    return pdk.Layer("GeoJsonLayer", data=data, id=layer_id, pickable=False, stroked=True, filled=False,
                     get_line_color=list(colour), line_width_min_pixels=width_px)


def h3_layer(cells: Sequence[str], fill: np.ndarray, tooltips: Sequence[dict[str, str]], *,
             layer_id: str = "h3") -> pdk.Layer:
    """An H3 hexagon layer from cell strings, fills and tooltip fields (:func:`tooltip_fields`)."""
    if len(cells) != len(fill) or len(cells) != len(tooltips):
        raise EngineInputError(f"cells, fill and tooltips must match: got {len(cells)}, {len(fill)}, {len(tooltips)}")
    data = [
        {"h3_cell": str(c), "fill": colour, **tip}
        for c, colour, tip in zip(cells, _rgba_lists(fill), tooltips)
    ]
    return pdk.Layer("H3HexagonLayer", data=data, id=layer_id, pickable=True, stroked=True, filled=True,
                     extruded=False, get_hexagon="h3_cell", get_fill_color="fill",
                     get_line_color=[255, 255, 255, 120], line_width_min_pixels=0.5, auto_highlight=True)


def point_layer(points: pd.DataFrame, *, fill: np.ndarray, tooltips: Sequence[dict[str, str]], radius_m: float = 1500,
                layer_id: str = "points", line_colour: Sequence[int] = (20, 20, 20)) -> pdk.Layer:
    """Circles at ``lon``/``lat`` columns (pilot sites), outlined so they stand out on any fill."""
    data = [
        {"lon": float(lon), "lat": float(lat), "fill": colour, **tip}
        for lon, lat, colour, tip in zip(points["lon"], points["lat"], _rgba_lists(fill), tooltips)
    ]
    return pdk.Layer("ScatterplotLayer", data=data, id=layer_id, pickable=True, stroked=True, filled=True,
                     get_position=["lon", "lat"], get_fill_color="fill", get_line_color=list(line_colour),
                     get_radius=radius_m, radius_min_pixels=7, line_width_min_pixels=2)


def ring_layer(points: pd.DataFrame, *, radius_m: float, layer_id: str = "rings") -> pdk.Layer:
    """Reach rings: unfilled circles of ``radius_m`` around ``lon``/``lat`` points."""
    data = [{"lon": float(lon), "lat": float(lat)} for lon, lat in zip(points["lon"], points["lat"])]
    return pdk.Layer("ScatterplotLayer", data=data, id=layer_id, pickable=False, stroked=True, filled=False,
                     get_position=["lon", "lat"], get_radius=radius_m, get_line_color=[0, 90, 160, 220],
                     line_width_min_pixels=2)


class CompactDeck(pdk.Deck):
    """A ``pydeck.Deck`` whose JSON has no indentation (pydeck indents by 2 spaces, which makes
    a map of every district about five times larger to send to the browser), written once.

    Streamlit asks a deck for its JSON on every script run, and the pages share one deck between
    runs and sessions (``pages/_shared.shared_result``), so the JSON is kept after the first
    call: a deck is built, then drawn, never changed (make a new one for a different map).
    """

    def to_json(self) -> str:
        """The deck's JSON, written once; each :class:`GeoJSONText` goes in as GEOS wrote it (a
        numbered placeholder while the rest is encoded, then its text)."""
        cached = _DECK_JSON.get(self)
        if cached is None:
            texts: list[str] = []
            nonce = secrets.token_hex(8)  # no string of the data can read as a placeholder

            def default(value):
                if isinstance(value, GeoJSONText):
                    texts.append(value.text)
                    return f"\x00{nonce}:{len(texts) - 1}\x00"
                return default_serialize(value)

            written = json.dumps(self, sort_keys=True, default=default, separators=(",", ":"), ensure_ascii=False)
            placeholder = re.compile(r'"\\u0000' + nonce + r':(\d+)\\u0000"')
            cached = placeholder.sub(lambda found: texts[int(found.group(1))], written) if texts else written
            _DECK_JSON[self] = cached
        return cached


#: Each CompactDeck's JSON, kept as long as the deck (outside the deck, so never serialised with it).
_DECK_JSON: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def make_deck(layers: Sequence[pdk.Layer], view: pdk.ViewState | None = None) -> pdk.Deck:
    """A deck with no basemap (offline) and the plain-text tooltip template.

    Example
    -------
    >>> '"mapStyle":"__MAP_STYLE__"' in make_deck([]).to_json()
    True
    """
    return CompactDeck(layers=list(layers), initial_view_state=view or THAILAND_VIEW, map_provider=None, tooltip=TOOLTIP)
