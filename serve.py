"""PPAP Atlas — the server: ``streamlit run serve.py`` (what ``make run`` should start).

Streamlit's own server (``st.App``) for the page router ``app.py``, plus what Streamlit does not
offer a page:

- two plain HTTP routes that set and delete the signed, expiring, HTTP-only login cookie
  (``geo.access.roles.session_routes``): a page can read cookies (``st.context.cookies``) but cannot set
  one, and a cookie set from the browser's JavaScript could not be HTTP-only;
- a middleware that keeps Streamlit's ``/_stcore/metrics`` from the public
  (``geo.access.roles.BlockPaths``; Streamlit has no option to turn it off).

``streamlit run app.py`` still works — the same pages, but a login lasts only as long as the
browser tab and the metrics are public (docs/ACCESS.md, "Deployment").
"""

from pathlib import Path

import streamlit as st

from geo.access.roles import load_access_config, login_sessions, server_middleware, session_routes
from geo.errors import AccessConfigError

try:
    _proxies = load_access_config().trusted_proxies
except AccessConfigError:  # the pages show the configuration error; the routes need only this
    _proxies = ()
_base = str(st.get_option("server.baseUrlPath") or "/")

app = st.App(
    Path(__file__).resolve().parent / "app.py",
    routes=session_routes(login_sessions(), base_path=_base, trusted_proxies=_proxies),
    middleware=server_middleware(base_path=_base),
)
