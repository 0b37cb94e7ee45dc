"""ภาพรวม / Overview: headline figures, a metric map (provinces, districts or H3 hexagons) that
drills down on a click, and the top 10 areas beside it. The map's own controls rerun only the map
and the top 10 (an ``st.fragment``); the headline follows the area and the filters."""

from dataclasses import replace
from functools import partial

import streamlit as st

from geo.views.dashboard import map_parent, top_areas, view_area_table, view_totals
from geo.views.dashboard_maps import metric_map, pilot_layers, without_names
from geo.views.headline import headline
from geo.views.mapview import resolution_label
from geo.views.metrics import allowed_metrics, metric_label
from geo.views.text import text
from geo.views.viewstate import MAP_RESOLUTIONS, drill_down, shown_level
from pages._render import area_nav, drill_map, export_menu, map_heading, legend, map_context, map_footer, map_page, show_table
from pages._shared import shared_result
from pages._sidebar import AUTO_RES, PAGE_BY, PAGE_KEYS, controls_view, current_view, set_view

PAGE = "overview"


def on_table_select(key: str, codes: list[str]) -> None:
    rows = st.session_state[key]["selection"]["rows"]
    if rows and rows[0] < len(codes):
        set_view(drill_down(current_view(), codes[rows[0]]), PAGE)


data, view, boundaries = map_page(PAGE, "page_overview")
lang = view.lang

area_nav(view, PAGE)


def overview_map(view, context):
    """The view's map, computed once for every session of the same scope; with the pilot layers
    over it, or without the area names, as the layer control says."""
    plain = replace(view, layers=(), names="on")
    base = shared_result("overview_map", data, (plain, context),
                         lambda: metric_map(data.index, boundaries, plain, size=(600, 600), context=context))
    if "pilots" in view.layers:
        layered = replace(view, names="on")
        base = shared_result("overview_layers", data, (layered, context), lambda: pilot_layers(
            base, data.index, layered, data.pilots, size=(600, 600), context=context))
    if view.names == "off":
        shown = base
        base = shared_result("overview_no_names", data, (view, context),
                             lambda: without_names(shown, size=(600, 600)))
    return base


# The headline and the breadcrumb follow the area and the filters; the map's own controls (metric,
# level, resolution) rerun only the fragment below, which holds them and what they change. The
# map's selection is the headline's unless a subdistrict is picked (the map then shows its
# district), so a full run takes the headline from the map the fragment then finds cached.
context = map_context(data, view)
totals = overview_map(view, context).figure.totals if len(view.area) != 6 else shared_result(
    "overview_totals", data, (view, context), lambda: view_totals(data.index, view, k=context.min_count,
                                                                     exact=context.exact))
figures = headline(totals, lang)  # the figures every export of this view prints (MapFigure.headline)
for column, item in zip(st.columns(len(figures)), figures):
    column.metric(item.label, item.text)
if bool(totals["suppressed"].iloc[0]):
    st.caption(text("headline_withheld", lang, k=totals.attrs["min_count"]))


@st.fragment
def map_and_top10(page_run_view) -> None:
    """The map's controls, the map (drills down on a click) and the top 10 beside it."""
    view = controls_view(PAGE, page_run_view)
    context = map_context(data, view)
    k = context.min_count
    key = (view, context)
    figure = overview_map(view, context)
    left, middle, right = st.columns([3, 3, 2])
    left.selectbox(text("metric", lang), allowed_metrics(exact=context.exact), key=PAGE_KEYS[PAGE]["metric"],
                   format_func=lambda m: metric_label(m, lang))
    middle.radio(text("map_by", lang), PAGE_BY[PAGE], key=PAGE_KEYS[PAGE]["by"], horizontal=True,
                 format_func=lambda by: text(f"map_{by}", lang))
    if figure.level not in (view.by, "h3"):  # a province picked "by province" is drawn by district: say so
        middle.caption(text("map_shows", lang, level=text(f"by_{figure.level}", lang)))
    left.toggle(text("pilot_layers", lang), key=PAGE_KEYS[PAGE]["layers"], disabled=data.pilots.empty)
    left.toggle(text("area_names", lang), key=PAGE_KEYS[PAGE]["names"], disabled=figure.level == "h3")
    if view.by == "h3":
        right.selectbox(text("resolution", lang), (AUTO_RES, *(r for r in MAP_RESOLUTIONS if r <= context.max_res)),
                        key=PAGE_KEYS[PAGE]["res"],
                        format_func=lambda r: text("res_auto", lang, res=figure.auto_res) if r == AUTO_RES
                        else resolution_label(r, lang))

    map_column, table_column = st.columns([3, 2])
    with map_column:
        map_heading(figure.figure)
        for notice in figure.notices:
            st.caption(text(notice, lang, res=figure.res))
        map_key = f"overview_map_{view.by}_{view.area or 'all'}"
        drill_map(figure.deck, map_key, PAGE)
        for shown in figure.figure.legends:  # the metric's, and the pilot layers' when they are on
            legend(shown)
        if view.by == "h3":
            st.caption(text("rollup_note", lang, k=k))
        map_footer(view, data)
        export_menu(figure.figure, "overview_export")

    with table_column:
        level = shown_level(view)
        top = shared_result("overview_top10", data, key, lambda: top_areas(
            figure.table if figure.level != "h3" else view_area_table(
                data.index, level, view, area=map_parent(view), k=k, exact=context.exact), view.metric, lang=lang))
        st.markdown(f"#### {text('top10', lang)} · {text(f'by_{level}', lang)}")
        st.caption(text("click_to_drill", lang))
        top_key = f"overview_top10_{view.area or 'all'}_{view.metric}"
        show_table(
            top.drop(columns=["code"]).rename(columns={
                "rank": text("rank", lang), "area": text("area", lang),
                "value": metric_label(view.metric, lang), "households": text("households", lang)}),
            key=top_key, height=400,
            on_select=partial(on_table_select, top_key, top["code"].tolist()), selection_mode="single-row")


map_and_top10(view)
