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

page = st.navigation(
    [
        st.Page(PAGES_DIR / "overview.py", title="ภาพรวม", icon=":material/dashboard:", default=True),
    ]
)
page.run()
