"""PPAP Atlas — the entry point. Routes only: page set-up, the page list, and run.

Start it with ``make run`` (or ``streamlit run app.py``). Every page lives in ``pages/``; data
work belongs in ``geo/`` and cached loaders in ``pages/_shared.py``.
"""

from pathlib import Path

import streamlit as st

PAGES_DIR = Path(__file__).resolve().parent / "pages"

# An emoji favicon is drawn in the browser; a ":material/...:" favicon would be fetched from
# fonts.gstatic.com, and the app must work offline.
st.set_page_config(page_title="PPAP Atlas", page_icon="🗺️", layout="wide")

# Thai titles first, English beside them: the menu is read before anyone picks a language.
page = st.navigation(
    [
        st.Page(PAGES_DIR / "overview.py", title="ภาพรวม · Overview", icon=":material/dashboard:", default=True),
        st.Page(PAGES_DIR / "capitals.py", title="ทุน 5 มิติ · Capitals", icon=":material/radar:"),
        st.Page(PAGES_DIR / "pilots.py", title="โครงการนำร่อง · Pilots", icon=":material/agriculture:"),
        st.Page(PAGES_DIR / "change.py", title="การเปลี่ยนแปลง · Change", icon=":material/trending_up:"),
        st.Page(PAGES_DIR / "meeting.py", title="โหมดประชุม · Meeting mode", icon=":material/co_present:"),
        st.Page(PAGES_DIR / "households.py", title="ครัวเรือน · Households", icon=":material/table_chart:"),
        st.Page(PAGES_DIR / "data.py", title="ข้อมูล · Data", icon=":material/upload_file:"),
        # Administrators only: the page itself refuses everyone else (geo.access.audit.read_audit).
        st.Page(PAGES_DIR / "audit.py", title="บันทึกการตรวจสอบ · Audit", icon=":material/policy:"),
    ]
)
page.run()
