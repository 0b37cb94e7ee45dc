"""การเปลี่ยนแปลง / Change: two survey rounds compared. Households followed in both rounds (by
``household_id``), counted where they live in the later round: headline figures, a map of the
share that moved up, escaped poverty or fell back, or of the mean change in a capital (drills down
as the other maps do; the layer control draws pilot sites, reach rings and candidate sites over
it, as on the Overview), the level transition matrix with its counts, and one metric before and
after side by side with one legend. The work is in ``geo.views.change``."""

from dataclasses import replace

import streamlit as st

from geo.views.change import (change_map, mobility_download, round_pair_text, shared_legend, transition_chart,
                              unapplied_filters)
from geo.views.dashboard import year_label
from geo.views.dashboard_maps import metric_map, pilot_layers, without_names
from geo.views.mapview import resolution_label
from geo.views.metrics import CHANGE_METRICS, OVERVIEW_METRICS, metric_label
from geo.views.text import text
from geo.views.viewstate import MAP_RESOLUTIONS, change_rounds
from pages._errors import errors_explained
from pages._render import (area_nav, download_buttons, drill_map, export_menu, legend, load_round, map_block,
                           map_context, map_heading, map_page, show_table)
from pages._shared import load_pairs, shared_result
from pages._sidebar import AUTO_RES, DEFAULT_ROUND, PAGE_BY, PAGE_KEYS

PAGE = "change"
KEYS = PAGE_KEYS[PAGE]
SIZE = (600, 560)
#: The label of each filter the pairs cannot apply (geo.views.change.ROUND_ONLY_FILTERS).
FILTER_LABELS = {"tpmap": "tpmap_status", "verified": "verified_status", "assistance": "assistance"}

data, view, boundaries = map_page(PAGE, "page_change")
lang, era = view.lang, view.era
pair = change_rounds(view, data.rounds)
if pair is None:
    st.info(text("change_one_round", lang, year=year_label(data.survey_year, lang, era)), icon=":material/info:")
    st.stop()
year_from, year_to = pair
earlier = tuple(r for r in reversed(data.rounds) if r < year_to)

area_nav(view, PAGE)
with errors_explained(lang):  # a geo error: one line, not a traceback
    pairs = load_pairs(data, year_from, year_to)
context = replace(map_context(data, view), round_text=round_pair_text(year_from, year_to, lang, era))
plain = replace(view, layers=(), names="on")
figure = shared_result("change_map", data, (plain, context, year_from),
                       lambda: change_map(pairs, boundaries, plain, context=context, size=SIZE))
if "pilots" in view.layers:  # the layer control: pilot sites, reach rings, candidate sites over the map
    base, layered = figure, replace(view, names="on")
    figure = shared_result("change_layers", data, (layered, context, year_from), lambda: pilot_layers(
        base, data.index, layered, data.pilots, size=SIZE, context=context))
if view.names == "off":  # ... and the map without its area names
    named = figure
    figure = shared_result("change_no_names", data, (view, context, year_from),
                           lambda: without_names(named, size=SIZE))

measure, by, res, since = st.columns([3, 4, 2, 2])
measure.selectbox(text("change_measure", lang), CHANGE_METRICS, key=KEYS["change"],
                  format_func=lambda m: metric_label(m, lang))
measure.toggle(text("pilot_layers", lang), key=KEYS["layers"], disabled=data.pilots.empty)
measure.toggle(text("area_names", lang), key=KEYS["names"], disabled=view.by == "h3")
by.radio(text("map_by", lang), PAGE_BY[PAGE], key=KEYS["by"], horizontal=True,
         format_func=lambda b: text(f"map_{b}", lang) if b != "subdistrict" else text("subdistrict", lang))
if view.by == "h3":
    res.selectbox(text("resolution", lang), (AUTO_RES, *(r for r in MAP_RESOLUTIONS if r <= context.max_res)),
                  key=KEYS["res"], format_func=lambda r: text("res_auto", lang, res=figure.auto_res)
                  if r == AUTO_RES else resolution_label(r, lang))
if st.session_state.get(KEYS["round_from"]) not in (DEFAULT_ROUND, *earlier):
    st.session_state[KEYS["round_from"]] = DEFAULT_ROUND  # a round at or after the one shown: the round before
since.selectbox(text("change_from", lang), (DEFAULT_ROUND, *earlier), key=KEYS["round_from"],
                format_func=lambda r: text("change_from_default", lang, year=year_label(earlier[0], lang, era))
                if r == DEFAULT_ROUND else year_label(r, lang, era))

for column, item in zip(st.columns(len(figure.figure.headline)), figure.figure.headline):
    column.metric(item.label, item.text)
notes = [text("change_headline_note", lang, k=context.min_count),
         text("change_filters_note", lang, year=year_label(year_from, lang, era))]
if unapplied_filters(view):
    notes.append(text("change_filters_unapplied", lang, filters=", ".join(
        text(FILTER_LABELS[name], lang) for name in unapplied_filters(view))))
st.caption(" · ".join(notes))

map_column, chart_column = st.columns([3, 2])
with map_column:
    map_block(figure, f"change_map_{view.by}_{view.area or 'all'}", PAGE, view, data, height=SIZE[1],
              export_key="change_export")
with chart_column:
    totals = figure.figure.totals.iloc[0]
    st.altair_chart(transition_chart(totals, year_from=year_from, year_to=year_to, lang=lang, era=era),
                    width="stretch", key="change_transitions")
    st.caption(text("transition_withheld", lang, k=context.min_count))

st.markdown(f"### {text('before_after', lang)}")
metric = st.selectbox(text("before_after_metric", lang), OVERVIEW_METRICS, index=1, key="change_before_metric",
                      format_func=lambda m: metric_label(m, lang))
with errors_explained(lang):
    data_from = load_round(year_from)
both = []
for shown, year in ((data_from, year_from), (data, year_to)):
    round_context = replace(context, round_text=text("survey_round", lang, year=year_label(year, lang, era)))
    round_view = replace(view, metric=metric)
    both.append(shared_result("change_round_map", shown, (round_view, round_context), lambda: metric_map(
        shown.index, boundaries, round_view, size=SIZE, context=round_context)))  # noqa: B023 (called at once)
before_after = shared_legend(both, size=SIZE)
for column, shown, year in zip(st.columns(2), before_after, (year_from, year_to)):
    with column:
        map_heading(shown.figure)
        drill_map(shown.deck, f"change_round_{year}_{view.by}_{view.area or 'all'}", PAGE, height=SIZE[1])
        export_menu(shown.figure, f"change_export_{year}")
legend(before_after[0].legend)
st.caption(text("shared_legend", lang))

st.markdown(f"### {text('mobility_table', lang)}")
table = mobility_download(figure.table, lang)
show_table(table, key="change_table", height=320)
download_buttons(table, f"mobility_{year_from}_{year_to}_{view.by}", view, key="change_download")
st.caption(text("mobility_download_note", lang))
