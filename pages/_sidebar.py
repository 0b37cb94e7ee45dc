"""The one sidebar every page calls, and the view state behind it (filters, language, map view).

The view lives in three places that :func:`page_view` keeps in step on every run:

* the **URL** query string (``geo.views.viewstate``), so a view can be shared as a link and reopened;
* ``st.session_state["ppap_view"]``, a :class:`~geo.views.viewstate.ViewState` that survives moving
  between pages (Streamlit gives widgets on different pages different identities, and page links
  drop the query string);
* the **widgets**: sidebar filters (``sidebar_*``) and each page's own controls (``overview_metric``,
  ``capitals_capital``, ...), seeded from the view before they are drawn.

A link opened with new query values wins over the session; otherwise the widgets' values win.
Callbacks (map clicks, "back") change the view through :func:`set_view`. A selected area the data
or the boundaries do not hold is dropped on every run, with a notice (``?area=99``).

Values from the link are repeated in the notices only through
:func:`geo.views.viewstate.markdown_literal`, never as Markdown. :func:`no_builtin_export` turns off
Streamlit's own table export (the CSV download and copy on every ``st.dataframe``), so every file
leaves through the app's logged, neutralised downloads (``pages/_render.download_buttons``).
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from geo.access.roles import User
from geo.errors import AccessDenied
from geo.access.audit import log_denied
from geo.data.contract import ASSISTANCE_STATUSES, CAPITALS, DEPRIVATIONS
from geo.views.text import area_name
from geo.views.metrics import get_metric
from geo.views.dashboard import codes_in, households_shown, ordered_provinces, year_label
from geo.errors import PPAPError
from geo.engine.filters import NO_PILOT
from geo.views.text import assistance_label, capital_label, deprivation_label, format_number, level_label, text
from geo.access.roles import check_view_scope, limit_min_count
from geo.views.viewstate import (
    QUERY_KEYS,
    TPMAP_CHOICES,
    VERIFIED_CHOICES,
    Notice,
    MAX_MIN_COUNT,
    PAGE_CLASSES,
    PAGE_FIELDS,
    ViewState,
    format_breaks,
    limit_resolution,
    parse_breaks,
    markdown_literal,
    parse_query,
    restrict,
    restrict_area,
    restrict_rounds,
    to_query,
)
from geo.data.areas import area_level
from geo.data.source import dataset_choice, dataset_overridden
from pages._auth import current_user, public_notice, require_user, sidebar_user
from pages._shared import display_boundaries

VIEW_KEY = "ppap_view"
URL_KEY = "ppap_url"
#: Sidebar widgets: view field -> widget key.
SIDEBAR_KEYS: dict[str, str] = {
    "lang": "sidebar_lang",
    "era": "sidebar_era",
    "provinces": "sidebar_provinces",
    "districts": "sidebar_districts",
    "levels": "sidebar_levels",
    "capitals_in_deficit": "sidebar_deficit",
    "tpmap": "sidebar_tpmap",
    "verified": "sidebar_verified",
    "assistance": "sidebar_assistance",
    "pilots": "sidebar_pilots",
    "deprivations": "sidebar_deprivations",
    "min_count": "sidebar_min_count",
    "round": "sidebar_round",
    "classes": "sidebar_classes",
    "breaks": "sidebar_breaks",
}
#: Each page's own controls: view field -> widget key (page-prefixed).
PAGE_KEYS: dict[str, dict[str, str]] = {
    "overview": {"metric": "overview_metric", "by": "overview_by", "res": "overview_res", "layers": "overview_layers",
                 "names": "overview_names"},
    "capitals": {"capital": "capitals_capital", "by": "capitals_by", "layers": "capitals_layers",
                 "names": "capitals_names"},
    "pilots": {"km": "pilots_km"},
    "households": {"by": "households_by"},
    "meeting": {"metric": "meeting_metric"},
    "change": {"change": "change_metric", "by": "change_by", "res": "change_res", "round_from": "change_from",
               "layers": "change_layers", "names": "change_names"},
    "data": {},
    "audit": {},
}
#: The map levels each page offers; a view's ``by`` outside them shows the page's first.
PAGE_BY: dict[str, tuple[str, ...]] = {
    "overview": ("province", "district", "subdistrict", "h3"),
    "capitals": ("province", "district", "subdistrict", "h3"),
    "households": ("province", "district", "subdistrict", "village"),
    "change": ("province", "district", "subdistrict", "h3"),
}


#: The H3 resolution control's value for "automatic" (a selectbox cannot show None as chosen).
AUTO_RES = 0
#: The round pickers' value for "the latest round" (``round``) and "the round before" (``from``).
DEFAULT_ROUND = 0


def _to_widget(field: str, value: object) -> object:
    if field == "era":
        return value == "CE"
    if field == "res":
        return AUTO_RES if value is None else value
    if field in ("round", "round_from"):
        return DEFAULT_ROUND if value is None else value
    if field == "breaks":
        return format_breaks(value)
    if field == "layers":
        return "pilots" in value
    if field == "names":
        return value != "off"
    if isinstance(value, tuple):
        return list(value)
    return value


def _from_widget(field: str, value: object) -> object:
    if field == "era":
        return "CE" if value else "BE"
    if field == "res":
        return None if value in (None, AUTO_RES) else int(value)
    if field in ("round", "round_from"):
        return None if value in (None, DEFAULT_ROUND) else int(value)
    if field == "min_count":
        return int(value)
    if field == "breaks":
        return parse_breaks(value) or ()
    if field == "layers":
        return ("pilots",) if value else ()
    if field == "names":
        return "on" if value else "off"
    if field in ("provinces", "districts", "pilots"):
        return tuple(sorted(set(value or ())))
    if field == "levels":
        return tuple(sorted(set(int(v) for v in value or ())))
    if field == "capitals_in_deficit":
        return tuple(c for c in CAPITALS if c in (value or ()))
    if field == "assistance":
        return tuple(s for s in ASSISTANCE_STATUSES if s in (value or ()))
    if field == "deprivations":
        return tuple(d for d in DEPRIVATIONS if d in (value or ()))
    return value


def _keys(page: str) -> dict[str, str]:
    return {**SIDEBAR_KEYS, **PAGE_KEYS[page]}


def current_view() -> ViewState:
    """The session's view (the opening view before the first run)."""
    return st.session_state.get(VIEW_KEY, ViewState())


def set_view(view: ViewState, page: str) -> None:
    """Make ``view`` the session's view and put its values in the widgets (for callbacks)."""
    st.session_state[VIEW_KEY] = view
    for field, key in _keys(page).items():
        if field == "by" and view.by not in PAGE_BY.get(page, (view.by,)):
            continue
        st.session_state[key] = _to_widget(field, getattr(view, field))


def _url_params() -> dict[str, list[str]]:
    return {key: st.query_params.get_all(key) for key in st.query_params}


def _new_link() -> dict[str, list[str]] | None:
    """The URL's dashboard parameters when they are a new link (not what the app last wrote), else None."""
    ours = {k: v for k, v in _url_params().items() if k in QUERY_KEYS}
    if ours and {k: ",".join(v) for k, v in ours.items()} != st.session_state.get(URL_KEY):
        return ours
    return None


def wanted_round() -> int | None:
    """The survey round (CE) this run should load, before the view is resolved: a new link's
    ``round``, else the round picker's, else the session's; None for the latest. A round the
    data do not hold loads the latest (``pages._shared.load_data``) and :func:`page_view` says so."""
    link = _new_link()
    if link is not None:
        return parse_query(link)[0].round
    if SIDEBAR_KEYS["round"] in st.session_state:
        return _from_widget("round", st.session_state[SIDEBAR_KEYS["round"]])
    return current_view().round


def _resolve(page: str, data, user) -> tuple[ViewState, list[Notice]]:
    """The view for this run: a new link's values, else the widgets' values over the session's.

    Raises ``AccessDenied`` when a new link asks for an area outside ``user``'s scope.
    """
    view, notices = current_view(), []
    ours = _new_link()
    if ours is not None:
        view, notices = parse_query(ours)
        check_view_scope(view, user)
        if data is not None:
            view, more = restrict(view, provinces=codes_in(data.index, "province"),
                                  districts=codes_in(data.index, "district"),
                                  pilots=data.index.pilot_ids.astype(str).tolist())
            notices += more
    else:
        values = {f: _from_widget(f, st.session_state[k]) for f, k in _keys(page).items() if k in st.session_state}
        view = replace(view, **values)
    if view.provinces:
        view = replace(view, districts=tuple(d for d in view.districts if d[:2] in view.provinces))
    else:
        view = replace(view, districts=())
    return view, notices


def keep_view(view: ViewState, page: str) -> None:
    """Make ``view`` the session's view and the URL's after the widgets are drawn, for changes of
    fields no widget shows (meeting mode's province); :func:`set_view` is for callbacks."""
    st.session_state[VIEW_KEY] = view
    _write_url(view, page)


def _without_controls(view: ViewState, page: str) -> ViewState:
    """``view`` with the page's own controls (:data:`PAGE_KEYS`) at their defaults."""
    default = ViewState()
    return replace(view, **{f: getattr(default, f) for f in PAGE_KEYS[page]})


def controls_view(page: str, page_run_view: ViewState) -> ViewState:
    """The view for a run of a page's own controls alone (an ``st.fragment`` holding the
    controls and what they change), written to the session and the URL.

    The session's view with the values of the page's control widgets (:data:`PAGE_KEYS`). A
    fragment runs without the sidebar, the headline or the breadcrumb, so when anything else in
    the view has changed since ``page_run_view`` (the view of the page's last full run: a map
    click or a top-10 row drilled down), the whole page is run instead.
    """
    controls = PAGE_KEYS[page]
    view = current_view()
    if _without_controls(view, page) != _without_controls(page_run_view, page):
        st.rerun(scope="app")
    view = replace(view, **{f: _from_widget(f, st.session_state[k]) for f, k in controls.items()
                            if k in st.session_state})
    st.session_state[VIEW_KEY] = view
    _write_url(view, page)
    return view


def _write_url(view: ViewState, page: str) -> None:
    query = to_query(view, page)
    current = _url_params()
    others = {k: v for k, v in current.items() if k not in QUERY_KEYS}  # e.g. Streamlit's own ?embed=
    if {k: ",".join(v) for k, v in current.items() if k in QUERY_KEYS} != query:
        st.query_params.from_dict({**others, **query})
    st.session_state[URL_KEY] = query


#: Streamlit's option that hides the CSV download (and copy) of every table and chart table view.
NO_EXPORT_OPTION = "client.disableDataExport"


def no_builtin_export() -> None:
    """Turn off Streamlit's own data export (``client.disableDataExport``) before anything is drawn.

    Every ``st.dataframe`` has a toolbar whose "Download as CSV" writes the table as it is shown:
    no audit record, no formula neutralising. The option hides it and the clipboard copy of
    read-only tables (and the CSV of chart table views) in the browser. ``.streamlit/config.toml``
    should set it; this makes sure of it in any deployment. The browser reads the option from
    the message that starts each run, so when it was off this sets it (for the whole server) and
    reruns before anything is sent.
    """
    if not st.get_option(NO_EXPORT_OPTION):
        st.set_option(NO_EXPORT_OPTION, True)
        st.rerun()


def _known_area(view: ViewState, data) -> tuple[ViewState, list[Notice]]:
    """``view`` without a selected area that the data or the installed boundaries do not hold."""
    if not view.area:
        return view, []
    level = area_level(view.area)
    data_areas = set(codes_in(data.index, level)) if data is not None else set()
    try:
        frame = display_boundaries(level)
    except PPAPError:  # unreadable boundaries: the map pages say so themselves
        frame = None
    boundary_areas = None if frame is None else set(frame["code"].astype(str))
    return restrict_area(view, data_areas=data_areas, boundary_areas=boundary_areas)


def _ensure_router() -> None:
    """Make a link straight to a page work on a freshly started server.

    Until ``app.py`` has run once in the server, Streamlit still treats ``pages/`` as an
    old-style pages folder (``PagesManager.uses_pages_directory``) and runs a linked page alone,
    without the router: wrong menu, no page set-up. Clearing that flag and rerunning sends the
    run through ``app.py``'s ``st.navigation``, which finds the linked page by its URL.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def page_view(page: str, data) -> ViewState:
    """Resolve the view, draw the sidebar, write the URL; return the view for this run.

    Parameters
    ----------
    page : str
        The calling page (a key of :data:`PAGE_KEYS`).
    data : pages._shared.LoadedData or None
        The shown households (for the filter choices), None when there are none.
    """
    _ensure_router()
    no_builtin_export()
    user = require_user(current_view().lang)
    try:
        view, notices = _resolve(page, data, user)
        check_view_scope(view, user)
    except AccessDenied as exc:
        view = current_view()
        # Denied, not narrowed: say why, forget the out-of-scope areas (so the next run is not
        # denied again), and stop before anything is computed.
        log_denied(user, exc, what=f"{page} {dict((k, ','.join(v)) for k, v in _url_params().items())}")
        st.session_state[URL_KEY] = {k: ",".join(v) for k, v in _url_params().items() if k in QUERY_KEYS}
        set_view(replace(view, provinces=(), districts=(), area=""), page)
        sidebar_user(user, view.lang)
        st.error(exc.message(view.lang), icon=":material/block:")
        st.stop()
    view, unknown = _known_area(view, data)  # ?area=99, or an area gone from replaced data
    notices += unknown
    if data is not None:  # ?round=2550, or a round gone from replaced data: the latest instead
        view, unknown = restrict_rounds(view, data.rounds)
        notices += unknown
    if page in PAGE_BY and view.by not in PAGE_BY[page]:
        page_by = PAGE_BY[page][0]
        if st.session_state.get(PAGE_KEYS[page]["by"]) in PAGE_BY[page]:
            page_by = st.session_state[PAGE_KEYS[page]["by"]]
        view = replace(view, by=page_by)
    view, finer = limit_resolution(view, user.capabilities.max_h3_res)  # ?res=10 as a viewer: 7, said
    notices += finer
    if view.by == "subdistrict" and not (view.area or len(view.provinces) == 1) and page in ("overview", "capitals"):
        notices.append(Notice("by", view.by, "url_subdistrict_needs_area"))  # thousands of subdistricts
        view = replace(view, by="district")
    if get_metric(view.metric).restricted and not user.capabilities.exact_counts:  # ?metric=off_district
        notices.append(Notice("metric", view.metric, "metric_not_allowed"))
        view = replace(view, metric=ViewState.metric)
    view, k_denied = limit_min_count(view, user)  # ?k=1 as a viewer: refused, the floor instead
    if k_denied is not None:
        log_denied(user, k_denied, what=f"{page} k")
    set_view(view, page)
    sidebar_user(user, view.lang)
    _draw_sidebar(view, page, data)
    _draw_min_count(view, user)
    _draw_classes(view, page)
    _write_url(view, page)
    if k_denied is not None:
        st.error(k_denied.message(view.lang), icon=":material/block:")
    if page != "meeting":  # meeting mode says it in its footer: no strip above the wall screen's title
        public_notice(user, view.lang)
    for notice in notices:
        # The value is whatever the link held: shown literally, never as Markdown (links, images).
        st.warning(text("url_ignored", view.lang, param=notice.param, value=markdown_literal(notice.value),
                        why=text(notice.reason, view.lang)), icon=":material/link_off:")
    return view


def _draw_round_picker(bar, view: ViewState, data) -> None:
    """The survey round shown: the latest (the default, which follows new imports) or one picked."""
    lang, era = view.lang, view.era

    def label(year: int) -> str:
        if year == DEFAULT_ROUND:
            return text("round_latest", lang, year=year_label(data.latest, lang, era))
        return year_label(year, lang, era)

    bar.selectbox(text("round_picker", lang), (DEFAULT_ROUND, *reversed(data.rounds)), key=SIDEBAR_KEYS["round"],
                  format_func=label, help=text("round_picker_help", lang))


def _draw_classes(view: ViewState, page: str) -> None:
    """The legend set (colour classes) of the page's maps, and the typed breaks when custom."""
    if "classes" not in PAGE_FIELDS[page]:
        return
    lang = view.lang
    default = PAGE_CLASSES.get(page, "quantile")
    st.sidebar.selectbox(text("classes", lang), ("", "national", "quantile", "equal", "custom"),
                         key=SIDEBAR_KEYS["classes"],
                         format_func=lambda c: text(f"classes_{c}", lang) if c else text(
                             "classes_default", lang, method=text(f"classes_{default}", lang)))
    if view.classes == "custom":
        st.sidebar.text_input(text("breaks", lang), key=SIDEBAR_KEYS["breaks"], help=text("breaks_help", lang),
                              placeholder="10, 20, 30")
        typed = st.session_state.get(SIDEBAR_KEYS["breaks"], "")
        if parse_breaks(typed) is None:
            st.sidebar.caption(text("breaks_bad", lang))


def _draw_min_count(view: ViewState, user: User) -> None:
    """The minimum-count (k) control, for logged-in roles: from the role's floor (10; 1 for
    administrators) up; the view already went through ``limit_min_count``."""
    if user.is_public:
        return
    st.sidebar.number_input(text("min_count_label", view.lang), min_value=user.capabilities.min_count,
                            max_value=MAX_MIN_COUNT, step=1, key=SIDEBAR_KEYS["min_count"],
                            help=text("min_count_help", view.lang))


def _clear_filters(page: str) -> None:
    set_view(current_view().without_filters(), page)


def _draw_sidebar(view: ViewState, page: str, data) -> None:
    lang = view.lang
    bar = st.sidebar
    bar.radio(text("language", lang), ("th", "en"), key=SIDEBAR_KEYS["lang"], horizontal=True,
              format_func=lambda v: "ไทย" if v == "th" else "English")
    if data is not None:
        source = "data_from_store" if data.source.kind == "store" else "data_from_sample"
        exact = current_user().capabilities.exact_counts  # the public release's total, as the headline shows it
        rows = data.rows if exact else households_shown(data.index)
        bar.caption(f"{text(source, lang, rows=format_number(rows, lang))} · "
                    f"{text('survey_round', lang, year=year_label(data.survey_year, lang, view.era))}")
        chosen = dataset_choice()
        if chosen != "auto" and not dataset_overridden():  # the administrator's choice, said once
            shown = "chosen" if chosen == data.source.kind else "fallback"
            bar.caption(text(f"dataset_{shown}", lang, chosen=text(f"dataset_{chosen}", lang)))
        _draw_round_picker(bar, view, data)
        if data.source.synthetic:
            bar.info(f"**{text('synthetic_badge', lang)}** — {text('synthetic_note', lang)}", icon=":material/science:")
    bar.subheader(text("filters", lang))
    provinces = ordered_provinces(codes_in(data.index, "province"), lang) if data is not None else []
    # An area chosen on the map (or by a link) with no province picked here: the sidebar says where
    # the page is rather than "20 pilot provinces" (the map, breadcrumb and sidebar agree).
    drilled = view.area[:2] if view.area and not view.provinces else ""
    bar.multiselect(text("province", lang), provinces, key=SIDEBAR_KEYS["provinces"],
                    format_func=lambda c: area_name(c, lang),
                    placeholder=text("chosen_on_map", lang, name=area_name(drilled, lang)) if drilled
                    else text("all_pilot_provinces", lang))
    districts = [d for d in codes_in(data.index, "district") if d[:2] in view.provinces] if data is not None else []
    bar.multiselect(text("district", lang), districts, key=SIDEBAR_KEYS["districts"],
                    format_func=lambda c: f"{area_name(c, lang)} ({area_name(c[:2], lang)})",
                    disabled=not view.provinces,
                    placeholder=text("chosen_on_map", lang, name=area_name(view.area[:4], lang))
                    if len(view.area) >= 4 and not view.districts
                    else text("all_areas" if view.provinces else "choose_province_first", lang))
    bar.multiselect(text("household_level", lang), [1, 2, 3, 4], key=SIDEBAR_KEYS["levels"],
                    format_func=lambda lv: f"{lv} {level_label(lv, lang)}", placeholder=text("tpmap_any", lang))
    bar.radio(text("tpmap_status", lang), TPMAP_CHOICES, key=SIDEBAR_KEYS["tpmap"],
              format_func=lambda v: text(f"tpmap_{v}", lang))
    more = bar.expander(text("more_filters", lang), expanded=view.has_filters and any(
        getattr(view, f) not in ((), "any") for f in ("capitals_in_deficit", "verified", "assistance", "pilots",
                                                          "deprivations")))
    more.multiselect(text("capital_in_deficit", lang), list(CAPITALS), key=SIDEBAR_KEYS["capitals_in_deficit"],
                     format_func=lambda c: capital_label(c, lang), placeholder=text("tpmap_any", lang))
    more.radio(text("verified_status", lang), VERIFIED_CHOICES, key=SIDEBAR_KEYS["verified"], horizontal=True,
               format_func=lambda v: text(f"verified_{v}", lang))
    more.multiselect(text("assistance", lang), list(ASSISTANCE_STATUSES), key=SIDEBAR_KEYS["assistance"],
                     format_func=lambda s: assistance_label(s, lang), placeholder=text("tpmap_any", lang))
    more.multiselect(text("deprivation_filter", lang), list(DEPRIVATIONS), key=SIDEBAR_KEYS["deprivations"],
                     format_func=lambda d: deprivation_label(d, lang), placeholder=text("tpmap_any", lang))
    pilots = [NO_PILOT] + (sorted(data.index.pilot_ids.astype(str).tolist()) if data is not None else [])
    names = {} if data is None else dict(zip(data.pilots["pilot_id"].astype(str),
                                             data.pilots["name_th" if lang == "th" else "name_en"].astype(str)))
    more.multiselect(text("pilot", lang), pilots, key=SIDEBAR_KEYS["pilots"],
                     format_func=lambda p: text("no_pilot", lang) if p == NO_PILOT else names.get(p, p),
                     placeholder=text("tpmap_any", lang))
    bar.button(text("clear_filters", lang), key="sidebar_clear", on_click=_clear_filters, args=(page,),
               disabled=not view.has_filters, icon=":material/filter_alt_off:")
    bar.toggle(text("show_ce", lang), key=SIDEBAR_KEYS["era"])
    bar.caption(text("share_link", lang))
