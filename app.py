"""PPAP Atlas — the entry point. Routes only: the server's two login-cookie routes, page set-up,
the page list, and run.

Start it with ``make run`` (or ``streamlit run app.py``). Every page lives in ``pages/``; data
work belongs in ``geo/`` and cached loaders in ``pages/_shared.py``.

This file is read twice. ``streamlit run app.py`` first imports it as the **server**: it finds
``app = st.App(...)`` and serves it, which is Streamlit's own server plus two plain HTTP routes
that set and delete the signed, HTTP-only login cookie (``geo.access.session_routes``: Streamlit
itself cannot set an HTTP-only cookie from a page), and a middleware that keeps Streamlit's
``/_stcore/metrics`` from the public (``geo.access.BlockPaths``). Then every browser session runs
this file as the **page router** below (docs/ACCESS.md, "Deployment").
"""

from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

PAGES_DIR = Path(__file__).resolve().parent / "pages"

if get_script_run_ctx(suppress_warning=True) is None:
    # Imported by `streamlit run` (or an ASGI server: `uvicorn app:app`) to build the server.
    from geo.access import AccessConfigError, load_access_config, login_sessions, server_middleware, session_routes

    try:
        _proxies = load_access_config().trusted_proxies
    except AccessConfigError:  # the pages show the configuration error; the routes need only this
        _proxies = ()
    _base = str(st.get_option("server.baseUrlPath") or "/")
    app = st.App(
        __file__,
        routes=session_routes(login_sessions(), base_path=_base, trusted_proxies=_proxies),
        middleware=server_middleware(base_path=_base),
    )
else:
    # An emoji favicon is drawn in the browser; a ":material/...:" favicon would be fetched from
    # fonts.gstatic.com, and the app must work offline.
    st.set_page_config(page_title="PPAP Atlas", page_icon="🗺️", layout="wide")

    # Thai titles first, English beside them: the menu is read before anyone picks a language.
    page = st.navigation(
        [
            st.Page(PAGES_DIR / "overview.py", title="ภาพรวม · Overview", icon=":material/dashboard:", default=True),
            st.Page(PAGES_DIR / "capitals.py", title="ทุน 5 มิติ · Capitals", icon=":material/radar:"),
            st.Page(PAGES_DIR / "pilots.py", title="โครงการนำร่อง · Pilots", icon=":material/agriculture:"),
            st.Page(PAGES_DIR / "meeting.py", title="โหมดประชุม · Meeting mode", icon=":material/co_present:"),
            st.Page(PAGES_DIR / "households.py", title="ครัวเรือน · Households", icon=":material/table_chart:"),
            st.Page(PAGES_DIR / "data.py", title="ข้อมูล · Data", icon=":material/upload_file:"),
            # Administrators only: the page itself refuses everyone else (geo.audit.read_audit).
            st.Page(PAGES_DIR / "audit.py", title="บันทึกการตรวจสอบ · Audit", icon=":material/policy:"),
        ]
    )
    page.run()
