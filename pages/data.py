"""ข้อมูล / Data: import a household file (report shown, rejects downloadable, store updated), the
installed boundaries with their source and credit, and where the shown data comes from."""

import streamlit as st

from geo import paths
from geo.dashboard import boundaries_summary, format_timestamp, import_summary, provenance_table
from geo.errors import PPAPError
from geo.i18n import format_number, text
from geo.ingest import import_households, rejects_to_bytes, save_import
from pages._render import credit_line, load_or_explain, page_header
from pages._shared import analysis_boundaries, boundary_manifest, hash_key, provenance
from pages._sidebar import current_view, page_view


def run_import() -> None:
    """Import the uploaded file into the store (a callback: it runs before the page, so the
    sidebar and every page already show the updated store)."""
    st.session_state.pop("data_import_error", None)
    try:
        districts, problem = analysis_boundaries("district")
        result = import_households([st.session_state["data_upload"]], mode=st.session_state["data_mode"],
                                   store=paths.store_dir(), id_key=hash_key(), boundaries=districts,
                                   boundaries_problem=problem)
        save_import(result, store=paths.store_dir())
    except PPAPError as exc:
        st.session_state["data_import_error"] = str(exc)
    else:
        st.session_state["data_last_import"] = result


data = load_or_explain(current_view().lang)
view = page_view("data", data)
lang = view.lang
page_header("page_data", view, data)

st.header(text("import_title", lang))
st.caption(text("id_key_present" if hash_key() else "id_key_missing", lang))
upload = st.file_uploader(text("import_file", lang), type=["csv", "xlsx", "parquet", "txt"], key="data_upload")
st.radio(text("import_mode", lang), ("append", "replace"), key="data_mode", horizontal=True,
                format_func=lambda m: text(f"mode_{m}", lang))
st.button(text("import_button", lang), key="data_import", disabled=upload is None, type="primary",
          on_click=run_import)
if st.session_state.get("data_import_error"):
    st.error(st.session_state["data_import_error"], icon=":material/error:")
result = st.session_state.get("data_last_import")
if result is not None:
    st.subheader(text("import_report", lang))
    summary = import_summary(result, lang)
    st.success(text("import_done", lang, accepted=format_number(result.accepted, lang),
                    rejected=format_number(result.rejected, lang), rows=format_number(result.rows_in, lang)))
    st.dataframe(summary.files, hide_index=True, width="stretch", key="data_files")
    if not summary.problems.empty:
        st.dataframe(summary.problems, hide_index=True, width="stretch", key="data_problems")
    if result.rejected:
        st.download_button(text("download_rejects", lang), data=rejects_to_bytes(result, "xlsx"),
                           file_name="ppap_rejected_rows.xlsx", key="data_rejects", icon=":material/download:",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

st.header(text("boundaries_title", lang))
try:
    manifest = boundary_manifest()
except PPAPError as exc:
    manifest = None
    st.error(str(exc), icon=":material/error:")
if manifest is None:
    st.warning(text("no_boundaries", lang), icon=":material/info:")
else:
    facts, levels = boundaries_summary(manifest, lang, view.era)
    st.markdown("  \n".join(f"**{label}:** {value}" for label, value in facts))
    st.dataframe(levels, hide_index=True, width="stretch", key="data_boundaries")
st.caption(credit_line())

st.header(text("provenance_title", lang))
if data is not None and data.source.kind == "sample":
    meta = data.metadata
    st.markdown(text("sample_source", lang, seed=meta.get("seed", "?"),
                     created=format_timestamp(meta.get("created", "?"), lang, view.era)))
try:
    imports = provenance()
except PPAPError as exc:
    imports = []
    st.error(str(exc), icon=":material/error:")
if imports:
    st.dataframe(provenance_table(imports, lang, view.era), hide_index=True, width="stretch", key="data_provenance")
else:
    st.caption(text("provenance_none", lang))
