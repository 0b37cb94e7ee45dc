"""บันทึกการตรวจสอบ / Audit log (administrators only): who logged in (or was logged out when idle),
viewed household rows, imported (or failed to) and exported, on which page, area and filters;
whether the log is intact — its hash chain, its checkpoints (the head and the anchor kept apart
from the log, keyed with ``$PPAP_AUDIT_KEY`` when set) and any recorded break (records cut off,
the log deleted) — and a CSV export (itself logged).

The page is always in the menu (``app.py`` only routes); ``geo.access.audit.read_audit`` refuses anyone
but an administrator, and the page says so."""

import streamlit as st

from geo.errors import AccessDenied
from geo.access.audit import EVENTS, export_audit, log_denied, read_audit
from geo.views.text import format_number, text
from pages._auth import current_user
from pages._errors import errors_explained
from pages._render import load_or_explain, show_table
from pages._sidebar import current_view, page_view

data = load_or_explain(current_view().lang)
view = page_view("audit", data)
lang = view.lang
user = current_user()
st.title(text("audit_title", lang))
if not user.capabilities.may_read_audit:
    log_denied(user, AccessDenied(text("audit_admin_only", "th"), text("audit_admin_only", "en"), reason="audit"),
               what="audit page", page="audit")
    st.error(text("audit_admin_only", lang), icon=":material/lock:")
    st.stop()

events = st.multiselect("event", list(EVENTS), key="audit_events", placeholder="*")
with errors_explained(lang):  # a geo error: one line, not a traceback
    log = read_audit(user, event=events or None)
check = log.attrs.pop("check", None)
if check is not None and check.ok:
    st.success(text("audit_intact", lang, lines=format_number(check.lines, lang)), icon=":material/verified:")
elif check is not None:
    # Tampering (records cut off, the log deleted while its anchor remains, a forged checkpoint,
    # a recorded break) is shown here, never hidden.
    st.error(text("audit_broken", lang, line=check.first_bad_line) + f" — {check.problem}", icon=":material/warning:")
if check is not None:
    st.caption(text("audit_keyed" if check.keyed else "audit_not_keyed", lang))
show_table(log, key="audit_table")
st.download_button(text("audit_download", lang), data=lambda: export_audit(user, fmt="csv", event=events or None),
                   file_name="ppap_audit.csv", mime="text/csv", key="audit_download", icon=":material/download:")
