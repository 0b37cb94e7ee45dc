"""ประชุม / Meeting mode: one province at a time on a wall screen — a big title, the headline
figures, a large map by district with a large legend, and next / previous province from the
keyboard (← →) or the URL (``/meeting?area=46&metric=mpi``), so a presenter can walk a room
through the provinces. With two survey rounds, a "what changed in this province" slide shows the
followed households, how many moved up, escaped and fell back, and the map of the share that moved
up (``geo.views.change``). The sidebar starts closed; the sidebar filters still apply."""

import html
from dataclasses import replace

import streamlit as st

from geo.views.dashboard import legend_html
from geo.views.metrics import allowed_metrics, metric_label
from geo.views.text import area_name
from geo.views.dashboard_maps import metric_map
from geo.engine.cellkey import MAX_NOISE
from geo.export import export_png
from geo.views.text import format_number, text
from geo.views.mapview import meeting_provinces, next_province
from geo.views.change import change_map, round_pair_text
from geo.views.viewstate import change_rounds
from geo.views.viewstate import PAGE_CLASSES
from geo.access.roles import PUBLIC_NOTICE
from pages._auth import current_user
from pages._render import credit_line, export_menu, load_or_explain, map_context
from pages._shared import boundaries_by_level, load_pairs, shared_result
from pages._sidebar import PAGE_KEYS, current_view, keep_view, page_view, set_view

PAGE = "meeting"
#: The "what changed" slide's figures (geo.views.change.CHANGE_HEADLINE keys).
CHANGE_FIGURES = ("followed", "up", "escaped", "fell")
#: Minimal chrome: no toolbar or coloured bar, large type; the top padding clears Streamlit's fixed
#: header (3.75rem), which otherwise covers the province's name.
MEETING_CSS = """<style>
[data-testid="stToolbar"], [data-testid="stDecoration"] { display: none !important; }
[data-testid="stMainBlockContainer"] { padding-top: 3.75rem; padding-bottom: 0.5rem; max-width: 100%; }
.ppap-meeting-title { font-size: 2.6rem; font-weight: 700; line-height: 1.2; margin: 0; }
.ppap-meeting-sub { font-size: 1.5rem; color: #444; margin: 0.1rem 0 0.4rem 0; }
[data-testid="stMetricValue"] { font-size: 2.6rem; }
[data-testid="stMetricLabel"] p { font-size: 1.25rem; }
</style>"""


def _step(provinces: tuple[str, ...], step: int) -> None:
    view = current_view()
    set_view(replace(view, area=next_province(view.area[:2] or None, step, provinces)), PAGE)


st.set_page_config(initial_sidebar_state="collapsed")
st.html(MEETING_CSS)
data = load_or_explain(current_view().lang)
view = page_view(PAGE, data)
lang = view.lang
boundaries = boundaries_by_level()
if data is None or not boundaries:
    st.warning(text("no_data_yet" if data is None else "no_boundaries", lang), icon=":material/info:")
    st.stop()

provinces = meeting_provinces(data.index)
province = view.area[:2]
if province not in provinces:
    province = provinces[0]
if view.area != province or view.by != "district":
    view = replace(view, area=province, by="district")
    keep_view(view, PAGE)

position = provinces.index(province) + 1
back, title, forward = st.columns([1, 8, 1], vertical_alignment="center")
back.button(text("previous_province", lang), key="meeting_previous", icon=":material/arrow_back:", shortcut="Left",
            on_click=_step, args=(provinces, -1), width="stretch")
forward.button(text("next_province", lang), key="meeting_next", icon=":material/arrow_forward:", shortcut="Right",
               on_click=_step, args=(provinces, 1), width="stretch", icon_position="right")
context = map_context(data, view, classes=PAGE_CLASSES[PAGE])
pair = change_rounds(view, data.rounds)
changed = pair is not None and st.session_state.get("meeting_change", False)
if changed:  # what changed in this province: the share of followed households that moved up
    context = replace(context, round_text=round_pair_text(*pair, lang, view.era))
    pairs = load_pairs(data, *pair)
    figure = shared_result("meeting_change", data, (view, context, pair), lambda: change_map(
        pairs, boundaries, replace(view, change="share_up"), size=(1150, 720), context=context))
    figures = tuple(item for item in figure.figure.headline if item.key in CHANGE_FIGURES)
else:
    figure = shared_result("meeting_map", data, (view, context),
                           lambda: metric_map(data.index, boundaries, view, size=(1150, 720), context=context))
    figures = figure.figure.headline[:4]
with title:
    where = text("where_province", lang, name=area_name(province, lang))
    shown = text("meeting_change", lang) if changed else metric_label(view.metric, lang)
    what = (f'{shown} · {context.round_text} · {text("by_district", lang)} · '
            f'{format_number(position, lang)} / {format_number(len(provinces), lang)}')
    st.html(f'<p class="ppap-meeting-title">{html.escape(where)}</p>'
            f'<p class="ppap-meeting-sub">{html.escape(what)}</p>')

for column, item in zip(st.columns(len(figures)), figures):
    column.metric(item.label, item.text)

map_column, side = st.columns([4, 1])
with side:
    slide = st.toggle(text("meeting_slide", lang), key="meeting_slide", help=text("meeting_slide_help", lang))
    if pair is not None:
        st.toggle(text("meeting_change", lang), key="meeting_change", help=text("meeting_change_help", lang))
    if not slide:  # the slide (the export image) carries its own legend
        st.html(legend_html(figure.legend, scale=1.5))
    st.selectbox(text("metric", lang), allowed_metrics(exact=context.exact), key=PAGE_KEYS[PAGE]["metric"],
                 format_func=lambda m: metric_label(m, lang))
    export_menu(figure.figure, "meeting_export")
    st.page_link("pages/overview.py", label=text("leave_meeting", lang), icon=":material/close_fullscreen:")
    st.caption(text("meeting_keys", lang))
with map_column:
    if slide:  # the 1920x1080 export: areas labelled by name and value in Thai (deck.gl cannot shape Thai)
        st.image(export_png(figure.figure, size="1920x1080"), width="stretch")
    else:
        st.pydeck_chart(figure.deck, key=f"meeting_map_{province}_{figure.figure.view.metric}", height=720)
footer = [credit_line(), figure.figure.date_text]
if not figure.figure.view.exact:  # the public release: say that figures carry a small noise
    footer.insert(0, text("perturbed_note", lang, noise=MAX_NOISE))
if data.source.synthetic:
    footer.insert(0, f"**{text('synthetic_badge', lang)}**")
if current_user().is_public:  # the public viewer's notice, here rather than as a strip above the title
    footer.insert(0, PUBLIC_NOTICE[lang])
st.caption(" · ".join(footer))
