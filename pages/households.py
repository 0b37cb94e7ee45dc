"""ครัวเรือน / Households (research): protected aggregate tables by area for the current filters,
with CSV and XLSX downloads. No household rows: those wait for access control (a later issue)."""

import streamlit as st

from geo.dashboard import area_table, describe_filters, download_table, research_table, view_mask, where_label
from geo.i18n import format_number, text
from pages._render import download_buttons, load_or_explain, page_header
from pages._sidebar import PAGE_BY, PAGE_KEYS, current_view, page_view

data = load_or_explain(current_view().lang)
view = page_view("households", data)
lang = view.lang
page_header("page_households", view, data)
st.info(text("aggregates_only", lang), icon=":material/lock:")

if data is not None:
    st.radio(text("table_by", lang), PAGE_BY["households"], key=PAGE_KEYS["households"]["by"], horizontal=True,
             format_func=lambda by: text(f"map_{by}", lang) if by != "subdistrict" else text("subdistrict", lang))
    table = area_table(data.index, view.by, view_mask(data.index, view))
    filters = describe_filters(view, lang)
    st.subheader(f"{text(f'by_{view.by}', lang)} · {where_label(view, lang)}" + (f" ({filters})" if filters else ""))
    st.caption(f"{text('rows_shown', lang, rows=format_number(len(table), lang))} · "
               f"{text('protection_note', lang, k=table.attrs.get('min_count', 10))}")
    if table.empty:
        st.warning(text("no_households", lang))
    else:
        st.dataframe(research_table(table, lang), hide_index=True, width="stretch", key="households_table")
        download_buttons(download_table(table, lang), f"households_by_{view.by}", view, key="households_download")
