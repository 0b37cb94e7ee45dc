"""ข้อมูล / Data: the dataset every page shows (an administrator chooses it: the sample, the imported
store or automatic; each change logged), import a household file (report shown, rejects
downloadable, store updated), the installed boundaries with their source and credit, and where the
shown data comes from.

File names, file paths and error messages (which quote a file's name or first row) are shown
through ``markdown_literal``: never as Markdown. Tables go through ``show_table``."""

import streamlit as st

from geo.data import paths
from geo.data.source import DATASET_CHOICES, HOUSEHOLDS_ENV, available_datasets, dataset_choice, dataset_overridden
from geo.access.settings import change_dataset, may_change_settings
from geo.data.store import MODES
from geo.access.roles import check_import, imports_in_scope
from geo.errors import AccessDenied
from geo.access.audit import log_denied, log_event, log_import_failed, sha256_hex
from geo.views.dashboard import boundaries_summary, format_timestamp, import_summary, provenance_table
from geo.errors import PPAPError
from geo.views.text import format_number, text
from geo.ingest import import_households_isolated, rejects_to_bytes, save_import
from geo.ingest.pipeline import round_reject_positions
from geo.views.viewstate import markdown_literal
from pages._auth import current_user
from pages._errors import error_text, show_error
from pages._render import ERROR_LIMIT, credit_line, load_or_explain, page_header, show_table
from pages._shared import analysis_boundaries, boundary_manifest, hash_key, provenance
from pages._sidebar import current_view, page_view


def run_import() -> None:
    """Import the uploaded file into the store (a callback: it runs before the page, so the
    sidebar and every page already show the updated store)."""
    st.session_state.pop("data_import_error", None)
    user = current_user()
    upload = st.session_state["data_upload"]
    try:
        districts, problem = analysis_boundaries("district")
        # In a child process under a memory ceiling: one user's import never slows or starves the others.
        result = import_households_isolated([upload], mode=st.session_state["data_mode"],
                                            store=paths.store_dir(), id_key=hash_key(), boundaries=districts,
                                            boundaries_problem=problem)
        check_import(user, result.households, mode=result.mode)  # role, mode, areas; raises AccessDenied
        save_import(result, store=paths.store_dir())
    except AccessDenied as exc:
        log_denied(user, exc, what="import")
        st.session_state["data_import_error"] = exc.message(current_view().lang)
    except PPAPError as exc:
        log_import_failed(user, error=exc, data=upload.getvalue(), file_name=upload.name,
                          mode=st.session_state.get("data_mode", ""))
        st.session_state["data_import_error"] = error_text(exc, current_view().lang)
    else:
        log_event("import", user, what=f"import {result.mode}", rows=result.accepted,
                  file_sha256=sha256_hex(upload.getvalue()))
        st.session_state["data_last_import"] = result


def choose_dataset() -> None:
    """Save the administrator's dataset choice (a callback: the page and sidebar then show it)."""
    user, lang = current_user(), current_view().lang
    chosen = st.session_state["data_dataset"]
    try:
        before = change_dataset(user, chosen)  # administrators only; logged as a "setting" event
    except AccessDenied as exc:
        log_denied(user, exc, what=f"dataset {chosen}")
        st.session_state["data_dataset_message"] = ("error", exc.message(lang))
    except PPAPError as exc:
        st.session_state["data_dataset_message"] = ("error", error_text(exc, lang))
    else:
        st.session_state["data_dataset_message"] = ("success", text(
            "dataset_changed", lang, before=text(f"dataset_{before}", lang), after=text(f"dataset_{chosen}", lang)))


def draw_dataset_choice(user, lang: str) -> None:
    """The dataset every page shows; administrators choose it here."""
    st.header(text("dataset_title", lang))
    if dataset_overridden():
        st.caption(text("dataset_env", lang, env=HOUSEHOLDS_ENV))
        return
    if not may_change_settings(user):
        st.caption(f"{text(f'dataset_{dataset_choice()}', lang)} · {text('dataset_admin_note', lang)}")
        return
    choices = [c for c in DATASET_CHOICES if c == "auto" or c in available_datasets() or c == dataset_choice()]
    st.session_state["data_dataset"] = dataset_choice()  # the saved choice, whoever saved it
    st.radio(text("dataset_choice", lang), choices, key="data_dataset", on_change=choose_dataset,
             format_func=lambda c: text(f"dataset_{c}", lang))
    kind, message = st.session_state.pop("data_dataset_message", (None, None))
    if kind == "success":
        st.success(markdown_literal(message), icon=":material/check:")
    elif kind == "error":
        st.error(markdown_literal(message, limit=ERROR_LIMIT), icon=":material/error:")


def rejects_file(result) -> bytes:
    """The rejected rows as XLSX, the export logged."""
    data = rejects_to_bytes(round_reject_positions(result, current_user().capabilities.position_decimals), "xlsx")
    log_event("export", current_user(), what="import rejects.xlsx", rows=result.rejected, file_sha256=sha256_hex(data))
    return data


data = load_or_explain(current_view().lang)
view = page_view("data", data)
lang = view.lang
page_header("page_data", view, data)
user = current_user()
draw_dataset_choice(user, lang)

st.header(text("import_title", lang))
if not user.capabilities.may_import:
    st.info(text("import_not_allowed", lang), icon=":material/lock:")
else:
    st.caption(text("id_key_present" if hash_key() else "id_key_missing", lang))
    upload = st.file_uploader(text("import_file", lang), type=["csv", "xlsx", "parquet", "txt"], key="data_upload")
    modes = MODES if user.capabilities.may_replace_store else ("upsert",)
    st.radio(text("import_mode", lang), modes, key="data_mode", horizontal=True,
             format_func=lambda m: text(f"mode_{m}", lang))
    st.button(text("import_button", lang), key="data_import", disabled=upload is None, type="primary",
              on_click=run_import)
if st.session_state.get("data_import_error"):
    st.error(markdown_literal(st.session_state["data_import_error"], limit=ERROR_LIMIT), icon=":material/error:")
result = st.session_state.get("data_last_import")
if result is not None:
    st.subheader(text("import_report", lang))
    summary = import_summary(result, lang)
    st.success(text("import_done", lang, accepted=format_number(result.accepted, lang),
                    rejected=format_number(result.rejected, lang), rows=format_number(result.rows_in, lang)))
    show_table(summary.files, key="data_files")
    if not summary.problems.empty:
        show_table(summary.problems, key="data_problems")
    if result.rejected:
        st.download_button(text("download_rejects", lang), data=lambda: rejects_file(result),
                           file_name="ppap_rejected_rows.xlsx", key="data_rejects", icon=":material/download:",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

st.header(text("boundaries_title", lang))
try:
    manifest = boundary_manifest()
except PPAPError as exc:
    manifest = None
    show_error(exc, lang)
if manifest is None:
    st.warning(text("no_boundaries", lang), icon=":material/info:")
else:
    facts, levels = boundaries_summary(manifest, lang, view.era)
    st.markdown("  \n".join(f"**{label}:** {markdown_literal(value, limit=ERROR_LIMIT)}" for label, value in facts))
    show_table(levels, key="data_boundaries")
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
    show_error(exc, lang)
shown = imports_in_scope(imports, user)  # officers: only imports that touched their areas
if len(shown) < len(imports):
    st.caption(text("provenance_scope_note", lang, areas=user.scope.describe(lang), hidden=len(imports) - len(shown)))
if shown:
    show_table(provenance_table(shown, lang, view.era), key="data_provenance")
elif not imports:
    st.caption(text("provenance_none", lang))
