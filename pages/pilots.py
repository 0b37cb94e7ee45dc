"""โครงการนำร่อง / Pilot projects: sites (a colour and a letter per kind) over poverty
concentration, reach rings at a chosen distance, and the gaps: high-need areas with no pilot
within that distance, listed as candidate sites. With two survey rounds, each pilot's participants
against comparable neighbours (the change in each capital, with a 95% interval: a comparison, not
proof of cause; ``geo.engine.pilot_impact``, drawn by ``geo.views.change``)."""

import streamlit as st

from geo.engine.aggregate import pilot_reach
from geo.engine.pilot_impact import pilot_impact
from geo.views.change import impact_chart, impact_shown, impact_table
from geo.views.dashboard import year_label
from geo.views.viewstate import change_rounds
from pages._errors import errors_explained
from geo.views.dashboard import gaps_table, pilots_table, view_mask
from geo.views.dashboard_maps import pilot_map
from geo.engine.gaps import pilot_gaps
from geo.views.text import format_number, text
from geo.engine.protect import protect
from geo.views.viewstate import REACH_KM
from pages._render import (area_nav, drill_map, export_menu, legend, map_context, map_footer, map_heading, map_page,
                           show_table)
from pages._shared import load_pairs, shared_result
from pages._sidebar import PAGE_KEYS

PAGE = "pilots"

data, view, boundaries = map_page(PAGE, "page_pilots")
lang = view.lang
if data.pilots.empty:
    st.info(text("no_pilots", lang), icon=":material/info:")

area_nav(view, PAGE)
st.radio(text("reach_km", lang), REACH_KM, key=PAGE_KEYS[PAGE]["km"], horizontal=True,
         format_func=lambda km: f"{km} km")
context = map_context(data, view)


def reach_gaps_and_map():
    mask = view_mask(data.index, view)
    reach = protect(pilot_reach(data.index, data.pilots, radius_km=view.km, mask=mask), k=context.min_count,
                    exact=context.exact)
    gaps = pilot_gaps(data.index, data.pilots, radius_km=view.km, mask=mask, k=context.min_count,
                       exact=context.exact)
    return reach, gaps, pilot_map(data.index, boundaries, view, data.pilots, reach, gaps, size=(600, 600),
                                  context=context)


reach, gaps, figure = shared_result("pilots", data, (view, context), reach_gaps_and_map)

map_column, side = st.columns([3, 2])
with map_column:
    map_heading(figure.figure)
    drill_map(figure.deck, f"pilots_map_{view.km}_{view.area or 'all'}", PAGE)
    legend(figure.legend)
    for extra in figure.extra_legends:
        legend(extra)
    map_footer(view, data)
    export_menu(figure.figure, "pilots_export")
with side:
    st.markdown(f"#### {text('gaps_title', lang, km=view.km)}")
    st.caption(text("gaps_note", lang, km=view.km, gaps=format_number(gaps.attrs["gaps"], lang),
                    areas=format_number(gaps.attrs["areas_in_need"], lang)))
    show_table(gaps_table(gaps, lang), key="pilots_gaps")

st.markdown(f"#### {text('pilot_sites', lang)}")
show_table(pilots_table(data.pilots, reach, view.km, lang), key="pilots_table")

pair = change_rounds(view, data.rounds)
if pair is not None:
    year_from, year_to = (year_label(y, lang, view.era) for y in pair)
    st.markdown(f"#### {text('pilot_impact', lang)}")
    st.caption(text("pilot_impact_note", lang, year_from=year_from, year_to=year_to, k=context.min_count))
    with errors_explained(lang):  # a geo error: one line, not a traceback
        pairs = load_pairs(data, *pair)
    impact = shared_result("pilot_impact", data, (pair, context.min_count, context.exact), lambda: pilot_impact(
        pairs, pilots=data.pilots, min_count=context.min_count, exact=context.exact))
    if impact_shown(impact).empty:
        st.info(text("pilot_impact_none", lang, k=context.min_count), icon=":material/info:")
    else:
        st.altair_chart(impact_chart(impact, data.pilots, lang), width="stretch", key="pilots_impact_chart")
    show_table(impact_table(impact, data.pilots, lang), key="pilots_impact_table")
