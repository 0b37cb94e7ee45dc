"""ครัวเรือน / Households: protected aggregate tables by area (or, for one district, by village:
``geo.views.villages``) for the current filters, with CSV and XLSX downloads; for roles allowed to see them (officers in their areas, administrators), the
household rows too — no IDs or names, positions rounded for the role, formulas neutralised, every
view and download logged. Tables go through ``show_table`` (no unlogged built-in CSV download)."""

import streamlit as st

from geo.access.roles import check_min_count
from geo.engine.protect import DEFAULT_MIN_COUNT
from geo.access.audit import MAX_HOUSEHOLD_ROWS, view_household_rows
from geo.views.viewstate import describe_filters
from geo.views.dashboard import download_table, research_table, view_area_table, view_mask, where_label
from geo.views.villages import chosen_district, village_keys, village_reading_table, village_table
from geo.views.text import format_number, text
from geo.data.spreadsheet import neutralise_frame
from pages._auth import current_user
from pages._errors import errors_explained
from pages._render import download_buttons, load_or_explain, page_header, show_table
from pages._sidebar import PAGE_BY, PAGE_KEYS, current_view, page_view

data = load_or_explain(current_view().lang)
view = page_view("households", data)
lang = view.lang
user = current_user()
page_header("page_households", view, data)
if not user.capabilities.may_see_household_rows:
    st.info(text("aggregates_only", lang), icon=":material/lock:")

if data is not None:
    st.radio(text("table_by", lang), PAGE_BY["households"], key=PAGE_KEYS["households"]["by"], horizontal=True,
             format_func=lambda by: text(f"map_{by}", lang) if by != "subdistrict" else text("subdistrict", lang))
    k, exact = check_min_count(view.min_count, user), user.capabilities.exact_counts
    villages = view.by == "village"
    with errors_explained(lang):  # a geo error: one line, not a traceback
        if not villages:
            table = view_area_table(data.index, view.by, view, k=k, exact=exact)
        elif chosen_district(view):  # one district's villages: their numbers come with its rows
            mask = view_mask(data.index, view)
            table = village_table(data.index, village_keys(data.index, data.household_rows(mask)), mask,
                                  k=k, exact=exact)
        else:
            table = None
    filters = describe_filters(view, lang)
    st.subheader(f"{text(f'by_{view.by}', lang)} · {where_label(view, lang)}" + (f" ({filters})" if filters else ""))
    if table is None:
        st.info(text("villages_need_district", lang), icon=":material/holiday_village:")
        st.stop()
    st.caption(f"{text('rows_shown', lang, rows=format_number(len(table), lang))} · "
               f"{text('protection_note', lang, k=table.attrs.get('min_count', DEFAULT_MIN_COUNT))}")
    if table.empty:  # nothing selected, or (villages) every village under k, left out of the public release
        st.warning(text("villages_all_withheld" if table.attrs.get("areas_withheld") else "no_households", lang,
                        k=table.attrs.get("min_count", DEFAULT_MIN_COUNT)))
    else:
        show_table(village_reading_table(table, lang) if villages else research_table(table, lang),
                   key="households_table")
        download_buttons(download_table(table, lang), f"households_by_{view.by}", view, key="households_download")

    selected = int(table["households"].sum()) if len(table) else 0  # withheld areas are small: not counted
    if user.capabilities.may_see_household_rows and selected > MAX_HOUSEHOLD_ROWS:
        st.subheader(text("household_rows_title", lang))
        st.info(text("household_rows_too_many", lang, rows=format_number(selected, lang),
                     max=format_number(MAX_HOUSEHOLD_ROWS, lang)), icon=":material/zoom_in:")
    elif user.capabilities.may_see_household_rows:
        st.subheader(text("household_rows_title", lang))
        st.caption(text("household_rows_note", lang))
        where = f"households page, area {view.area or 'all'}" + (f", {filters}" if filters else "")
        mask = view_mask(data.index, view)  # the very households the table above counts
        # Text a spreadsheet would run (=1+1, +cmd|..., @SUM, -2+3) is shown and downloaded neutralised.
        with errors_explained(lang):
            rows = neutralise_frame(view_household_rows(data.household_rows(mask), user, what=where,
                                                        page="households", view=view))
        st.caption(text("household_rows_shown", lang, rows=format_number(len(rows), lang)))
        show_table(rows, key="households_rows")
        if len(rows):
            download_buttons(rows, "household_rows", view, key="households_rows_download")
            st.caption(text("download_rows_note", lang))
