"""The dashboard's interactive maps: one function per kind, each returning a :class:`DashboardMap`
(the deck, the protected table it draws, the legend and the title).

* :func:`metric_map` — the Overview: a metric as a province / district / subdistrict choropleth
  or as H3 hexagons, for the view's filters and selected area (drill-down);
* :func:`capital_map` — the Capitals page: the share in deficit of one capital, or the dominant
  deficit in categorical colours;
* :func:`pilot_map` — the Pilots page: poverty concentration under pilot sites (a colour and a
  letter per kind), reach rings and candidate sites for the gaps.

The decks are offline (no basemap, as :func:`geo.maps.make_deck`; the boundaries are the base) and
their tooltips plain text that Streamlit escapes (:data:`geo.maps.TOOLTIP`). Every value drawn comes from a
protected table: admin areas from :func:`geo.dashboard.area_table`, hexagons from a rolled-up H3
aggregate (cells of fewer than ``k`` households merge into their parents) through
:func:`geo.protect.protect`.

Layer ids are fixed (``areas``, ``cells``, ``outline``, ``selected``, ``pilots``, ``pilot_letters``,
``rings``, ``gaps``) so Streamlit can keep a selection across reruns; clicking a feature of the
``areas`` layer gives its ``code`` for the drill-down.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pydeck as pdk
import shapely

from geo import maps, mapstyle
from geo.aggregate import HouseholdIndex, aggregate
from geo.contract import CAPITALS
from geo.dashboard import (
    METRIC_SPECS,
    area_name,
    area_table,
    combine_masks,
    format_metric,
    map_parent,
    map_title,
    metric_values,
    area_mask,
    shown_count,
)
from geo.filters import filter_mask
from geo.h3index import cells_to_str
from geo.i18n import capital_label, format_number, format_percent, text
from geo.protect import DEFAULT_MIN_COUNT, protect
from geo.viewstate import ViewState, shown_level

#: Most hexagons one map may draw; a finer resolution than this allows is stepped down.
MAX_CELLS = 12_000
#: Map size the view is fitted to (pixels): wide, for a projector.
MAP_WIDTH_PX = 900
MAP_HEIGHT_PX = 620
#: One letter per pilot kind, drawn on the site's circle (colour is never the only cue).
PILOT_KIND_LETTERS: dict[str, str] = {
    "mushroom": "M", "vegetables": "V", "rice": "R", "livestock": "L", "fishery": "F", "crafts": "C",
}
#: Colour of the reach rings (:func:`geo.maps.ring_layer`).
RING_COLOUR = (0, 90, 160)
#: Average H3 cell area, km² (DOMAIN.md), for the resolution labels.
H3_CELL_KM2: dict[int, float] = {5: 253, 6: 36, 7: 5.2, 8: 0.74, 9: 0.11}


@dataclass(frozen=True)
class DashboardMap:
    """A map ready to draw: ``deck`` for ``st.pydeck_chart``, its protected ``table``, the
    ``legend`` (drawn by the app), the ``title``, the ``level`` drawn and H3 ``res`` if any."""

    deck: pdk.Deck
    table: pd.DataFrame
    legend: mapstyle.Legend
    title: str
    level: str
    res: int | None = None
    auto_res: int | None = None
    notices: tuple[str, ...] = field(default_factory=tuple)
    extra_legends: tuple[mapstyle.Legend, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------------------------------------
# Areas and views
# ---------------------------------------------------------------------------------------------


def _areas_for(boundaries: dict, level: str, parent: str, codes: pd.Series) -> pd.DataFrame:
    """Boundary rows to draw at ``level``: those inside ``parent`` (or, at the top, holding data)."""
    frame = boundaries[level]
    if parent:
        keep = frame["code"].astype(str).str.startswith(parent)
    else:
        provinces = {c[:2] for c in codes.astype(str)}
        keep = frame["code"].astype(str).str[:2].isin(provinces)
    return frame.loc[keep.to_numpy(), ["code", "geometry"]].reset_index(drop=True)


Size = tuple[int, int]
#: (width, height) in pixels a map is fitted to by default.
DEFAULT_SIZE: Size = (MAP_WIDTH_PX, MAP_HEIGHT_PX)
#: Context outlines: every province, simplified to about 1 km, drawn under every map.
CONTEXT_TOLERANCE_DEG = 0.01


def _view(bounds, size: Size = DEFAULT_SIZE) -> pdk.ViewState:
    return maps.view_for_bounds(bounds, width_px=size[0], height_px=size[1])


def context_geometry(provinces):
    """Every province simplified for the pale background that places the shown areas in Thailand.

    Build once per boundary set (pages cache it as ``boundaries["context"]``).
    """
    import shapely

    simple = shapely.simplify(provinces.geometry.values, CONTEXT_TOLERANCE_DEG, preserve_topology=True)
    rounded = shapely.set_precision(simple, 1e-3, mode="pointwise")
    return provinces[["code"]].assign(geometry=rounded).set_geometry("geometry", crs=provinces.crs)


def _context(boundaries: dict) -> list[pdk.Layer]:
    frame = boundaries.get("context")
    if frame is None or frame.empty:
        return []
    data = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": shapely.geometry.mapping(g), "properties": {}} for g in frame.geometry]}
    return [pdk.Layer("GeoJsonLayer", data=data, id="context", pickable=False, stroked=True, filled=True,
                      get_fill_color=[242, 242, 242, 255], get_line_color=[185, 185, 185, 255],
                      line_width_min_pixels=1)]


def _withheld_label(k: int, lang: str) -> str:
    return text("suppressed", lang, k=k)


def _choropleth(index: HouseholdIndex, boundaries: dict, view: ViewState, level: str, k: int):
    """Protected table of the areas at ``level`` in the map's parent area, and their geometry."""
    parent = map_parent(view)
    mask = combine_masks(filter_mask(index, view.to_filter()), area_mask(index, parent))
    table = area_table(index, level, mask, k=k, names=False)
    areas = _areas_for(boundaries, level, parent, table["code"])
    areas["code"] = areas["code"].astype(str)
    joined = areas.merge(table.assign(code=table["code"].astype(str)), on="code", how="left")
    joined["suppressed"] = joined["suppressed"].astype("boolean").fillna(False).astype(bool)
    return joined, table


def _shown(table: pd.DataFrame, lang: str) -> list[str]:
    """Households as shown in tooltips; "no data" for areas without households."""
    return [text("no_data", lang) if pd.isna(v) else shown_count(v, lang) for v in table["households_shown"]]


def _area_layer(areas, fill, names: list[str], rows: list[list[tuple[str, str]]]) -> pdk.Layer:
    return maps.area_layer(areas, fill, [maps.tooltip_fields(n, r) for n, r in zip(names, rows)])


def _outline(boundaries: dict, view: ViewState) -> list[pdk.Layer]:
    """The selected area's outline (thick), drawn over the fills."""
    if not view.area:
        return []
    level = {2: "province", 4: "district", 6: "subdistrict"}[len(view.area)]
    if level not in boundaries:
        return []
    frame = boundaries[level]
    selected = frame[frame["code"].astype(str) == view.area]
    if selected.empty:
        return []
    return [maps.outline_layer(selected, layer_id="selected", width_px=4.0, colour=(20, 20, 20))]


# ---------------------------------------------------------------------------------------------
# The Overview's metric map
# ---------------------------------------------------------------------------------------------


def _sequential(values: np.ndarray, metric_kind: str) -> np.ndarray:
    # Quantile classes for every kind: shares and the MPI bunch in a narrow band, and equal
    # intervals over 0-1 would paint most areas one colour on a projector.
    return mapstyle.class_breaks(values, method="quantile")


def _formatter(kind: str, lang: str):
    if kind == "count":
        return lambda v: format_number(v, lang)
    if kind == "share":
        return lambda v: format_percent(v, lang, decimals=0)
    return lambda v: format_number(v, lang, decimals=2)


def metric_map(index: HouseholdIndex, boundaries: dict, view: ViewState, *, k: int = DEFAULT_MIN_COUNT,
               size: Size = DEFAULT_SIZE, max_res: int = 10) -> DashboardMap:
    """The Overview map: ``view.metric`` by ``view.by`` (areas below the selected one, or hexagons).

    Parameters
    ----------
    index : HouseholdIndex
    boundaries : dict
        Display boundaries by level (``"province"``, ``"district"``, ``"subdistrict"``), from
        :func:`geo.maps.display_geometry`.
    view : ViewState
    k : int, default 10
        Small-cell threshold.
    size : (int, int)
        Width and height of the map in pixels, to fit the view to.
    max_res : int, default 10
        The finest H3 resolution drawn (the user's role's, ``geo.access.cap_resolution``).
    """
    spec = METRIC_SPECS[view.metric]
    what = text(spec.label_key, view.lang)
    if view.by == "h3":
        return _h3_map(index, boundaries, view, k=k, values_of=lambda t: metric_values(t, view.metric),
                       kind=spec.kind, what=what, metric=view.metric, size=size, max_res=max_res)
    level = shown_level(view)
    joined, table = _choropleth(index, boundaries, view, level, k)
    values = metric_values(joined, view.metric)
    withheld = joined["suppressed"].fillna(False).to_numpy(dtype=bool)
    edges = _sequential(values[~withheld], spec.kind)
    fill = mapstyle.fill_colours(values, edges, withheld=withheld)
    names = [area_name(c, view.lang) for c in joined["code"].astype(str)]
    rows = []
    for value, shown, hidden in zip(values, _shown(joined, view.lang), withheld):
        if hidden:
            rows.append([(text("households", view.lang), shown)])
        else:
            rows.append([(what, format_metric(value, view.metric, view.lang)), (text("households", view.lang), shown)])
    layers = [*_context(boundaries), _area_layer(joined, fill, names, rows), *_outline(boundaries, view)]
    legend = mapstyle.sequential_legend(what, edges, _formatter(spec.kind, view.lang),
                                        withheld_label=_withheld_label(k, view.lang),
                                        no_data_label=text("no_data", view.lang))
    deck = maps.make_deck(layers, _view(joined.total_bounds, size))
    return DashboardMap(deck, table, legend, map_title(what, level, view, view.lang), level)


def auto_resolution(bounds, size: Size = DEFAULT_SIZE) -> int:
    """The H3 resolution for an extent: from the zoom that fits it (:func:`geo.maps.resolution_for_zoom`)."""
    return maps.resolution_for_zoom(_view(bounds, size).zoom)


def _h3_map(index: HouseholdIndex, boundaries: dict, view: ViewState, *, k: int, values_of, kind: str, what: str,
            metric: str | None = None, size: Size = DEFAULT_SIZE, max_res: int = 10) -> DashboardMap:
    parent = map_parent(view)
    level = shown_level(view)
    mask = combine_masks(filter_mask(index, view.to_filter()), area_mask(index, parent))
    outline = boundaries.get(level)
    areas = _areas_for(boundaries, level, parent, pd.Series(index.province_codes.astype(str))) if outline is not None \
        else None
    if view.provinces and areas is not None and not parent:
        areas = areas[areas["code"].astype(str).str[:2].isin(view.provinces)].reset_index(drop=True)
    bounds = areas.total_bounds if areas is not None and len(areas) else (97.3, 5.6, 105.7, 20.5)
    auto = min(auto_resolution(bounds, size), max_res)
    res = min(view.res or auto, max_res)  # max_res: the role's finest (geo.access.cap_resolution)
    notices: list[str] = []
    while True:
        table = aggregate(index, "h3", res=res, mask=mask, rollup_min_count=k)
        if len(table) <= MAX_CELLS or res <= 5:
            break
        res -= 1
        notices.append("res_capped")
    table = protect(table, k=k)
    values = values_of(table)
    withheld = table["suppressed"].to_numpy(dtype=bool)
    edges = _sequential(values[~withheld], kind)
    fill = mapstyle.fill_colours(values, edges, withheld=withheld, alpha=225)
    cells = cells_to_str(table["h3_cell"].to_numpy(dtype=np.uint64))
    rows = []
    for value, shown, hidden in zip(values, _shown(table, view.lang), withheld):
        line = [(text("households", view.lang), shown)]
        if not hidden and metric is not None:
            line.insert(0, (what, format_metric(value, metric, view.lang)))
        rows.append(line)
    names = [f"H3 {c}" for c in cells]
    cell_layer = maps.h3_layer(cells, fill, [maps.tooltip_fields(n, r) for n, r in zip(names, rows)], layer_id="cells")
    layers = [*_context(boundaries), cell_layer]
    if areas is not None and len(areas):
        layers.append(maps.outline_layer(areas, layer_id="outline", width_px=1.0, colour=(90, 90, 90)))
    layers += _outline(boundaries, view)
    legend = mapstyle.sequential_legend(what, edges, _formatter(kind, view.lang),
                                        withheld_label=_withheld_label(k, view.lang))
    title = map_title(what, "h3", view, view.lang) + f" · res {res}"
    deck = maps.make_deck(layers, _view(bounds, size))
    return DashboardMap(deck, table, legend, title, "h3", res, auto, tuple(dict.fromkeys(notices)))


# ---------------------------------------------------------------------------------------------
# Capitals
# ---------------------------------------------------------------------------------------------


def capital_map(index: HouseholdIndex, boundaries: dict, view: ViewState, *, dominant: bool = False,
                k: int = DEFAULT_MIN_COUNT, size: Size = DEFAULT_SIZE, max_res: int = 10) -> DashboardMap:
    """Share of households in deficit in ``view.capital`` (sequential), or, with ``dominant``,
    the capital most often in deficit per area (Okabe-Ito categorical colours)."""
    lang = view.lang
    capital = view.capital
    if dominant:
        what = text("dominant_deficit", lang)
    else:
        what = text("share_in_deficit", lang, capital=capital_label(capital, lang))
    column = f"deficit_share_{capital}"
    if view.by == "h3" and not dominant:
        return _h3_map(index, boundaries, view, k=k, kind="share", what=what,
                       values_of=lambda t: pd.to_numeric(t[column], errors="coerce").to_numpy(float, na_value=np.nan),
                       size=size, max_res=max_res)
    level = shown_level(view)
    joined, table = _choropleth(index, boundaries, view, level, k)
    withheld = joined["suppressed"].fillna(False).to_numpy(dtype=bool)
    names = [area_name(c, lang) for c in joined["code"].astype(str)]
    shown = _shown(joined, lang)
    if dominant:
        dom = joined["dominant_deficit"].astype("string")
        fill = np.empty((len(joined), 4), dtype="uint8")
        fill[:, 3] = 220
        fill[:, :3] = mapstyle.NO_DATA_COLOUR
        for cap in CAPITALS:
            fill[(dom == cap).fillna(False).to_numpy(), :3] = mapstyle.CAPITAL_COLOURS[cap]
        fill[withheld, :3] = mapstyle.WITHHELD_COLOUR
        rows = [[(what, capital_label(d, lang) if isinstance(d, str) else "–"), (text("households", lang), s)]
                if not h else [(text("households", lang), s)] for d, s, h in zip(dom.tolist(), shown, withheld)]
        legend = mapstyle.categorical_legend(what, {c: capital_label(c, lang) for c in CAPITALS},
                                             mapstyle.CAPITAL_COLOURS, withheld_label=_withheld_label(k, lang))
    else:
        values = pd.to_numeric(joined[column], errors="coerce").to_numpy(float, na_value=np.nan)
        edges = _sequential(values[~withheld], "share")
        fill = mapstyle.fill_colours(values, edges, withheld=withheld)
        rows = [[(what, format_percent(v, lang)), (text("households", lang), s)] if not h
                else [(text("households", lang), s)] for v, s, h in zip(values, shown, withheld)]
        legend = mapstyle.sequential_legend(what, edges, _formatter("share", lang),
                                            withheld_label=_withheld_label(k, lang),
                                            no_data_label=text("no_data", lang))
    layers = [*_context(boundaries), _area_layer(joined, fill, names, rows), *_outline(boundaries, view)]
    deck = maps.make_deck(layers, _view(joined.total_bounds, size))
    return DashboardMap(deck, table, legend, map_title(what, level, view, lang), level)


# ---------------------------------------------------------------------------------------------
# Pilots
# ---------------------------------------------------------------------------------------------


def pilot_kind_colour(kind: str) -> tuple[int, int, int]:
    """The Okabe-Ito colour of a pilot kind (grey for kinds without one)."""
    return mapstyle.PILOT_KIND_COLOURS.get(str(kind), mapstyle.OTHER_COLOUR)


def pilot_kind_letter(kind: str) -> str:
    """The letter drawn on a pilot site (``"?"``-free: unknown kinds get their own initial)."""
    kind = str(kind)
    return PILOT_KIND_LETTERS.get(kind, (kind[:1] or "o").upper())


def pilot_kind_label(kind: str, lang: str = "th") -> str:
    """The name of a pilot kind in ``lang`` (the kind itself when it has no label)."""
    key = f"kind_{kind}"
    from geo.i18n import TEXT

    return text(key, lang) if key in TEXT else str(kind)


def pilot_map(index: HouseholdIndex, boundaries: dict, view: ViewState, pilots: pd.DataFrame, reach: pd.DataFrame,
              gaps: pd.DataFrame, *, k: int = DEFAULT_MIN_COUNT, size: Size = DEFAULT_SIZE) -> DashboardMap:
    """Poverty concentration (households at levels 1-2, by district) under the pilot sites.

    Parameters
    ----------
    pilots : pandas.DataFrame
        The pilot projects (contract columns).
    reach : pandas.DataFrame
        :func:`geo.aggregate.pilot_reach` of the pilots, protected (enrolled households).
    gaps : pandas.DataFrame
        :func:`geo.gaps.pilot_gaps` (protected): candidate sites drawn as hollow squares.
    """
    lang = view.lang
    base_view = ViewState(**{**view.__dict__, "metric": "poor_households", "by": "district", "area": view.area})
    base = metric_map(index, boundaries, base_view, k=k, size=size)
    layers = [layer for layer in base.deck.layers]
    sites = pilots.dropna(subset=["lat", "lon"]).reset_index(drop=True)
    if len(sites):
        by_id = reach.set_index("pilot_id") if len(reach) else pd.DataFrame()
        colours = np.array([list(pilot_kind_colour(kd)) + [255] for kd in sites["kind"]], dtype="uint8")
        tips = []
        for _, site in sites.iterrows():
            row = by_id.loc[site["pilot_id"]] if site["pilot_id"] in by_id.index else None
            enrolled = shown_count(row["households_shown"], lang) if row is not None else "0"
            target = format_number(site["households_target"], lang) if pd.notna(site["households_target"]) else "–"
            name = site["name_th"] if lang == "th" else site["name_en"]
            lines = [
                (text("pilot_kind", lang),
                 f"{pilot_kind_letter(site['kind'])} · {pilot_kind_label(site['kind'], lang)}"),
                (text("university", lang), str(site["university"])),
                (text("enrolled_of_target", lang), f"{enrolled} / {target}"),
                (text("in_need_within", lang, km=view.km),
                 "–" if row is None or pd.isna(row["in_need_within"])
                 else format_number(int(row["in_need_within"]), lang)),
            ]
            tips.append(maps.tooltip_fields(str(name), lines))
        layers.append(maps.ring_layer(sites, radius_m=view.km * 1000.0))
        points = [{"lon": float(lo), "lat": float(la), "fill": [int(v) for v in c], **t}
                  for lo, la, c, t in zip(sites["lon"], sites["lat"], colours, tips)]
        layers.append(pdk.Layer("ScatterplotLayer", data=points, id="pilots", pickable=True, stroked=True, filled=True,
                                get_position=["lon", "lat"], get_fill_color="fill", get_line_color=[20, 20, 20],
                                get_radius=2500, radius_min_pixels=13, line_width_min_pixels=2))
        letters = [{"lon": float(lo), "lat": float(la), "letter": pilot_kind_letter(kd)}
                   for lo, la, kd in zip(sites["lon"], sites["lat"], sites["kind"])]
        layers.append(pdk.Layer("TextLayer", data=letters, id="pilot_letters", get_position=["lon", "lat"],
                                get_text="letter", get_size=17, get_color=[255, 255, 255], outline_width=3,
                                outline_color=[20, 20, 20], font_weight=700, get_text_anchor="'middle'",
                                get_alignment_baseline="'center'", font_settings={"sdf": True}, pickable=False))
    shown_gaps = gaps[~gaps["suppressed"].to_numpy(dtype=bool)] if len(gaps) else gaps
    if len(shown_gaps):
        tips = [maps.tooltip_fields(f"{text('candidate_site', lang)}: {area_name(c, lang)}",
                                  [(text("in_need", lang), shown_count(s, lang)),
                                   (text("nearest_pilot_km", lang), format_number(d, lang, decimals=1))])
                for c, s, d in zip(shown_gaps["code"].astype(str), shown_gaps["households_shown"],
                                   shown_gaps["nearest_pilot_km"])]
        data = [{"lon": float(lo), "lat": float(la), **t}
                for lo, la, t in zip(shown_gaps["lon"], shown_gaps["lat"], tips)]
        layers.append(pdk.Layer("ScatterplotLayer", data=data, id="gaps", pickable=True, stroked=True, filled=False,
                                get_position=["lon", "lat"], get_radius=1800, radius_min_pixels=9,
                                line_width_min_pixels=3, get_line_color=[0, 0, 0, 255]))
    kinds = list(dict.fromkeys(sites["kind"].astype(str)))
    notes = (mapstyle.LegendItem(RING_COLOUR, text("reach_rings", lang, km=view.km)),
             mapstyle.LegendItem((0, 0, 0), text("candidate_site", lang)))
    legend = mapstyle.Legend(
        text("pilot_sites", lang),
        tuple(mapstyle.LegendItem(pilot_kind_colour(kd), f"{pilot_kind_letter(kd)} {pilot_kind_label(kd, lang)}")
              for kd in kinds),
        notes if len(sites) else (),
    )
    deck = maps.make_deck(layers, base.deck.initial_view_state)
    title = f"{text('pilot_sites', lang)} · {text('reach_rings', lang, km=view.km)} · {base.title}"
    return DashboardMap(deck, base.table, legend, title, base.level, notices=base.notices,
                        extra_legends=(base.legend,))


def resolution_label(res: int, lang: str = "th") -> str:
    """``"res 7 (~5.2 km²)"`` in ``lang``."""
    km2 = H3_CELL_KM2.get(res)
    shown = format_number(km2, lang, decimals=0 if km2 and km2 >= 10 else 2 if km2 and km2 < 1 else 1)
    return text("res_n", lang, res=res, km2=shown)
