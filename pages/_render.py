"""Small drawing helpers the pages share: page header, data notices, legend, credit, tables, downloads.

No data work here: every value drawn comes from ``geo`` already computed and protected. Text
that reaches HTML is escaped by ``geo`` (:func:`geo.views.dashboard.legend_html`) before it gets here;
text a user controls (a link's values, a file's name, an error quoting a file) reaches Markdown
only through :func:`geo.views.viewstate.markdown_literal`.

Every table is drawn by :func:`show_table` (a test checks every page), which keeps Streamlit's
own CSV download and copy off; files leave only through :func:`download_buttons` and the export
menu, each logged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial

import pandas as pd
import streamlit as st

from dataclasses import replace

from geo.access.roles import scope_key
from geo.access.audit import log_export
from geo.views.dashboard import legend_html, view_breadcrumb
from geo.views.dashboard_maps import MapContext
from geo.errors import PPAPError
from geo.export import EXPORT_CHOICES, FORMATS, export_bytes, file_name
from geo.views.text import text
from geo.views.style import Legend
from geo.data.spreadsheet import to_csv_bytes, to_xlsx_bytes
from geo.views.viewstate import ViewState, drill_down, markdown_literal, selected_code
from pages._auth import current_user, require_user
from pages._errors import ERROR_LIMIT, error_line
from pages._shared import LoadedData, boundaries_by_level, boundary_attribution, boundary_manifest, load_data
from pages._sidebar import current_view, no_builtin_export, page_view, set_view, wanted_round

def load_or_explain(lang_hint: str = "th") -> LoadedData | None:
    """The data the session's user may see, or None after telling the user what is missing or broken.

    When a login is required and nobody is logged in, draws the login form and stops the page.
    """
    user = require_user(lang_hint)
    try:
        data = load_data(scope_key(user), wanted_round())
    except PPAPError as exc:
        st.error(text("read_error", lang_hint, error=error_line(exc, lang_hint)), icon=":material/error:")
        return None
    return data


def page_header(title_key: str, view: ViewState, data: LoadedData | None) -> None:
    """The page title in the view's language, the synthetic label, or what to run without data."""
    st.title(text(title_key, view.lang))
    if data is None:
        st.warning(text("no_data_yet", view.lang), icon=":material/info:")
    elif data.source.synthetic:
        st.caption(f"**{text('synthetic_badge', view.lang)}** · {text('synthetic_note', view.lang)}")


def map_page(page: str, title_key: str) -> tuple[LoadedData, ViewState, dict]:
    """Open a map page: its data, its view (from the URL and the sidebar), its title, and the
    installed boundaries by level. Stops the page, after saying what is missing, when there is
    no data or no boundaries."""
    data = load_or_explain(current_view().lang)
    view = page_view(page, data)
    page_header(title_key, view, data)
    boundaries = boundaries_by_level()
    if data is None or not boundaries:
        if data is not None:
            st.warning(text("no_boundaries", view.lang), icon=":material/info:")
        st.stop()
    return data, view, boundaries


def credit_line() -> str:
    """The boundary credit from the installed manifest (the default when none is readable)."""
    try:
        manifest = boundary_manifest()
    except PPAPError:
        manifest = None
    return boundary_attribution(manifest)


def map_context(data: LoadedData, view: ViewState, *, today: Callable[[], dt.date] = dt.date.today,
                classes: str = "quantile") -> MapContext:
    """What every map of the page shares: today's date, the survey round shown, the synthetic label, the boundary credit,
    the session user's finest H3 resolution (``geo.access.roles.cap_resolution``) and small-cell
    threshold (the view's, through ``geo.access.roles.check_min_count``), the page's default
    legend set (``geo.views.viewstate.PAGE_CLASSES``) and, for national classes, the latest
    round's households they come from (the same legend for every province and every round)."""
    from geo.access.roles import cap_resolution, check_min_count

    from geo.views.dashboard import year_label

    user = current_user()
    reference = None
    if (view.classes or classes) == "national":
        reference = data if data.survey_year == data.latest else load_data(scope_key(user), None)
    return MapContext(now=today(), synthetic=data.source.synthetic, attribution=credit_line(),
                      max_res=cap_resolution(10, user), min_count=check_min_count(view.min_count, user),
                      exact=user.capabilities.exact_counts, classes=classes,
                      round_text=text("survey_round", view.lang, year=year_label(data.survey_year, view.lang, view.era)),
                      reference=reference.index if reference is not None else None,
                      reference_round=reference.survey_year if reference is not None else None)


def map_heading(figure) -> None:
    """Above a map: its title, and the subtitle (H3 resolution, filters, the small-cell rule)."""
    st.markdown(f"#### {figure.title}")
    st.caption(figure.subtitle)


def export_menu(figure, key: str) -> None:
    """"Export map": the figure on screen as PNG (presentation and print sizes), a PDF brief or
    offline HTML (:mod:`geo.export`). The file is made only when its button is pressed, and each
    file made is logged (``export``, rows drawn, SHA-256) for the session's user."""
    lang = figure.view.lang
    user = current_user()
    with st.popover(text("export_map", lang), icon=":material/ios_share:"):
        choice = st.selectbox(text("export_format", lang), tuple(EXPORT_CHOICES), key=f"{key}_format",
                              format_func=lambda c: text(f"export_{c}", lang))
        fmt, size = EXPORT_CHOICES[choice]
        name = file_name(figure, fmt, size=size)
        view = current_view()

        def build() -> bytes:
            data, _ = export_bytes(figure, fmt, size=size)
            log_export(user, page=key.split("_")[0], fmt=fmt, data=data, view=view,
                       rows=len(figure.table), what=f"map {name}")
            return data

        st.download_button(text("download_file", lang, name=name), data=build, file_name=name,
                           mime=FORMATS[fmt], key=f"{key}_download", icon=":material/download:",
                           type="primary")
        st.caption(text("export_note", lang, k=figure.min_count))


def legend(legend_data: Legend) -> None:
    """Draw a legend (escaped HTML from :func:`geo.views.dashboard.legend_html`)."""
    st.html(legend_html(legend_data))


def map_footer(view: ViewState, data: LoadedData) -> None:
    """Under every map: the credit line and, for the sample, the synthetic label."""
    parts = [credit_line()]
    if data.source.synthetic:
        parts.append(text("synthetic_badge", view.lang))
    st.caption(" · ".join(parts))


def show_table(frame: pd.DataFrame, *, key: str, **options):
    """Draw a table (``st.dataframe``) without Streamlit's own export: every page's tables go here.

    Streamlit's table toolbar has a "Download as CSV" that writes the table unlogged and with
    formulas live; :func:`pages._sidebar.no_builtin_export` keeps it (and the copy of cells) off,
    so a file leaves only through :func:`download_buttons` or the export menu. The index is
    hidden and the table fills the width.

    Parameters
    ----------
    frame : pandas.DataFrame
        What to show, already protected (and neutralised, for household rows).
    key : str
        The widget key (page-prefixed).
    **options
        Passed to ``st.dataframe`` (``height``, ``on_select``, ``selection_mode``, ...).

    Returns
    -------
    What ``st.dataframe`` returns (the selection state when ``on_select`` is set).
    """
    no_builtin_export()
    options = {"hide_index": True, "width": "stretch", **options}
    return st.dataframe(frame, key=key, **options)


def download_buttons(table: pd.DataFrame, name: str, view: ViewState, *, key: str,
                     today: Callable[[], dt.date] = dt.date.today) -> None:
    """CSV and XLSX downloads of an already protected table (formulas neutralised).

    The files are made only when a button is pressed (deferred), so reruns stay fast; each file
    made is logged (``export``, with its SHA-256) for the session's user.
    """
    stem = f"ppap_{name}_{today().isoformat()}"
    user = current_user()

    def logged(make: Callable[[], bytes], fmt: str) -> Callable[[], bytes]:
        def build() -> bytes:
            data = make()
            log_export(user, page=key.split("_")[0], fmt=fmt, data=data, view=view, rows=len(table), what=name)
            return data
        return build

    left, right = st.columns(2)
    left.download_button(text("download_csv", view.lang), data=logged(lambda: to_csv_bytes(table), "csv"),
                         file_name=f"{stem}.csv", mime="text/csv", key=f"{key}_csv", icon=":material/download:")
    right.download_button(text("download_xlsx", view.lang),
                          data=logged(lambda: to_xlsx_bytes(table, sheet_name="ppap"), "xlsx"),
                          file_name=f"{stem}.xlsx", key=f"{key}_xlsx", icon=":material/download:",
                          mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _go_to(area: str, page: str) -> None:
    set_view(replace(current_view(), area=area), page)


def area_nav(view: ViewState, page: str) -> None:
    """"Back" and the breadcrumb from all provinces to the selected area, as buttons."""
    crumbs = view_breadcrumb(view, view.lang)
    shown = view.area or (view.provinces[0] if len(view.provinces) == 1 else "")
    row = st.container(horizontal=True, vertical_alignment="center")
    row.button(text("back", view.lang), key=f"{page}_back", icon=":material/arrow_back:",
               disabled=not view.area, on_click=_go_to, args=(view.area[:-2], page))
    for code, name in crumbs:
        row.button(name, key=f"{page}_crumb_{code or 'all'}", on_click=_go_to, args=(code, page),
                   type="primary" if code == shown else "secondary")


def _on_map_select(key: str, page: str) -> None:
    code = selected_code(st.session_state[key]["selection"])
    if code:
        set_view(drill_down(current_view(), code), page)


def drill_map(deck, key: str, page: str, *, height: int = 620) -> None:
    """Draw a deck whose ``areas`` layer drills down on a click (the key changes with the area,
    so each level starts with no selection)."""
    st.pydeck_chart(deck, on_select=partial(_on_map_select, key, page), selection_mode="single-object",
                    key=key, height=height)


def map_block(figure, key: str, page: str, view: ViewState, data: LoadedData, *, height: int = 620,
              export_key: str | None = None) -> None:
    """A map with everything every map carries: its heading, the deck (drills down on a click),
    the legend(s), the credit line and (with ``export_key``) the export menu."""
    map_heading(figure.figure)
    for notice in figure.notices:
        st.caption(text(notice, view.lang, res=figure.res))
    drill_map(figure.deck, key, page, height=height)
    legend(figure.legend)
    for extra in figure.extra_legends:
        legend(extra)
    map_footer(view, data)
    if export_key:
        export_menu(figure.figure, export_key)


def load_round(survey_year: int) -> LoadedData | None:
    """The session user's data of another survey round (the Change page's earlier round)."""
    return load_data(scope_key(current_user()), survey_year)
