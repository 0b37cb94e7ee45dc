"""A real Streamlit server and a real (Debian) Chromium for the browser tests.

The server is ``streamlit run app.py`` from the repository root, so it reads the project's own
``.streamlit/config.toml``; it listens on a free loopback port and is stopped after the tests.
Chromium is Debian's ``/usr/bin/chromium`` (``scripts/install_system_deps.sh``), driven by
Playwright; Playwright never downloads a browser here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

SERVER_START_TIMEOUT_S = 60


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    """Base URL of a freshly started ``streamlit run app.py`` on 127.0.0.1
    (``tests.support.server.start_server``, also what the load benchmarks use)."""
    from tests.support.server import start_server, stop_server

    server = start_server(timeout=SERVER_START_TIMEOUT_S)
    try:
        yield server.url
    finally:
        stop_server(server.proc)
