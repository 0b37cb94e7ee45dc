"""ทุน 5 มิติ / Capitals: where households lack one capital, which capital is lacking most, the
five-capital profile of the selected area against its province and the 20 pilot provinces, and a
table to sort. The capital and level controls rerun only what they change (an ``st.fragment``)."""

from dataclasses import replace

import altair as alt
import streamlit as st

from geo.data.contract import CAPITALS
from geo.views.dashboard import capital_profile, capitals_table, map_parent, profile_chart_data, view_area_table
from geo.views.dashboard_maps import capital_map, pilot_layers, without_names
from geo.views.text import capital_label, text
from geo.views.viewstate import shown_level
from pages._errors import errors_explained
from pages._render import area_nav, drill_map, export_menu, map_heading, legend, map_context, map_footer, map_page, show_table
from pages._shared import shared_result
from pages._sidebar import PAGE_BY, PAGE_KEYS, controls_view

PAGE = "capitals"

data, view, boundaries = map_page(PAGE, "page_capitals")
lang = view.lang

area_nav(view, PAGE)


@st.fragment
def capital_maps_and_tables(page_run_view) -> None:
    """The capital and level controls and everything they change: both maps, the profile, the
    table. A change of either reruns this alone, not the sidebar and the header."""
    view = controls_view(PAGE, page_run_view)
    left, right = st.columns([3, 4])
    left.selectbox(text("capital", lang), CAPITALS, key=PAGE_KEYS[PAGE]["capital"],
                   format_func=lambda c: capital_label(c, lang))
    right.radio(text("map_by", lang), PAGE_BY[PAGE], key=PAGE_KEYS[PAGE]["by"], horizontal=True,
                format_func=lambda by: text(f"map_{by}", lang))
    shown = shown_level(view)
    if view.by != "h3" and shown != view.by:  # a province picked "by province" is drawn by district: say so
        right.caption(text("map_shows", lang, level=text(f"by_{shown}", lang)))

    left.toggle(text("pilot_layers", lang), key=PAGE_KEYS[PAGE]["layers"], disabled=data.pilots.empty)
    left.toggle(text("area_names", lang), key=PAGE_KEYS[PAGE]["names"], disabled=view.by == "h3")
    context = map_context(data, view)
    plain = replace(view, layers=(), names="on")
    deficit = shared_result("capitals_deficit", data, (plain, context),
                            lambda: capital_map(data.index, boundaries, plain, size=(480, 500), context=context))
    dominant = shared_result("capitals_dominant", data, (plain, context), lambda: capital_map(
        data.index, boundaries, plain, dominant=True, size=(480, 500), context=context))
    if "pilots" in view.layers:  # the layer control: pilot sites, reach rings, candidate sites over both maps
        layered = replace(view, names="on")
        deficit, dominant = (shared_result(f"capitals_layers_{kind}", data, (layered, context), lambda m=m: pilot_layers(
            m, data.index, layered, data.pilots, size=(480, 500), context=context))
            for kind, m in (("deficit", deficit), ("dominant", dominant)))
    if view.names == "off":  # the layer control: the maps without their area names
        deficit, dominant = (shared_result(f"capitals_no_names_{kind}", data, (view, context),
                                           lambda m=m: without_names(m, size=(480, 500)))
                             for kind, m in (("deficit", deficit), ("dominant", dominant)))
    for column, figure, kind in zip(st.columns(2), (deficit, dominant), ("deficit", "dominant")):
        with column:
            map_heading(figure.figure)
            drill_map(figure.deck, f"capitals_map_{kind}_{view.by}_{view.area or 'all'}", PAGE, height=520)
            for shown in figure.figure.legends:  # the metric's, and the pilot layers' when they are on
                legend(shown)
            map_footer(view, data)
            export_menu(figure.figure, f"capitals_export_{kind}")

    st.markdown(f"#### {text('capital_profile', lang)} · {text('mean_score', lang)}")
    k = context.min_count
    with errors_explained(lang):  # a geo error: one line, not a traceback
        chart = profile_chart_data(capital_profile(data.index, view, k=k, exact=context.exact), view, lang)
    st.altair_chart(
        alt.Chart(chart).mark_bar().encode(
            x=alt.X("capital:N", title=None, sort=[capital_label(c, lang) for c in CAPITALS],
                    axis=alt.Axis(labelAngle=0, labelFontSize=15, labelLimit=220)),
            xOffset=alt.XOffset("group:N", sort=alt.SortField("order")),
            y=alt.Y("mean_score:Q", title=text("mean_score", lang), scale=alt.Scale(domain=[1, 4], zero=False),
                    axis=alt.Axis(labelFontSize=14, titleFontSize=14)),
            y2=alt.datum(1),
            color=alt.Color("group:N", title=text("group", lang), sort=alt.SortField("order"),
                            scale=alt.Scale(range=["#0B6E69", "#7FB7B2", "#9A9A9A"]),
                            legend=alt.Legend(orient="top", labelFontSize=15, titleFontSize=15)),
            tooltip=["group", "capital", "mean_score"],
        ).properties(height=340),
        width="stretch", key="capitals_profile")

    level = shown_level(view)
    st.markdown(f"#### {text('area_table', lang)} · {text(f'by_{level}', lang)}")
    with errors_explained(lang):
        table = view_area_table(data.index, level, view, area=map_parent(view), k=k, exact=context.exact)
    show_table(capitals_table(table, lang), key="capitals_table")


capital_maps_and_tables(view)
