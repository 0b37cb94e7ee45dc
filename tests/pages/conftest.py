"""AppTest helpers for the dashboard pages: the app from its entry point, a tiny known world as
data, and the bytes behind download buttons."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages import tiny_world

APP_PATH = Path(__file__).resolve().parents[2] / "app.py"
# The first run imports pandas, geopandas and pyarrow and indexes the data; give CI room.
TIMEOUT_S = 90


def open_app(page: str | None = None, query: dict[str, str] | None = None, *, login: str | None = None) -> AppTest:
    """Run the app from ``app.py`` (optionally with a query string), switch to ``page``, run it.

    ``login``: a username of :data:`USERS` (needs the ``access_users`` fixture), logged in through
    the sidebar's form before switching to ``page``.
    """
    at = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S)
    if query and page is None:
        at.query_params.update(query)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if login is not None:
        log_in(at, login, PASSWORDS[login])
        assert at.session_state["auth_user"].username == login
        if page is None:
            page = "overview"
    if page is not None:
        at.switch_page(f"pages/{page}.py")
        if query:
            at.query_params.clear()
            at.query_params.update(query)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def log_in(at: AppTest, username: str, password: str) -> AppTest:
    """Fill the login form (sidebar, or the page when a login is required) and submit it."""
    at.text_input(key="auth_username").input(username)
    at.text_input(key="auth_password").input(password)
    at.button(key="auth_submit").click()
    return rerun(at)


#: Test users: username -> (role, provinces, districts). Passwords are in :data:`PASSWORDS`.
USERS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "admin": ("administrator", (), ()),
    "kalasin": ("provincial_officer", ("46",), ()),
    "district4609": ("district_officer", (), ("4609",)),
    "research": ("researcher", (), ()),
    "viewer": ("viewer", (), ()),
}
PASSWORDS = {name: f"correct horse {name} battery" for name in USERS}
_HASHES: dict[str, str] = {}


def write_access_config(path: Path, *, public_access: bool = True) -> Path:
    """A local-mode ``access.toml`` with :data:`USERS` (scrypt hashes from ``geo.access.roles``)."""
    from geo.access.roles import hash_password

    lines = ["[auth]", 'mode = "local"', f"public_access = {'true' if public_access else 'false'}", ""]
    for name, (role, provinces, districts) in USERS.items():
        if name not in _HASHES:
            _HASHES[name] = hash_password(PASSWORDS[name])
        lines += ["[[users]]", f'username = "{name}"', f'role = "{role}"', f'display_name = "Test {name}"',
                  f'password_hash = "{_HASHES[name]}"']
        if provinces:
            lines.append("provinces = [" + ", ".join(f'"{p}"' for p in provinces) + "]")
        if districts:
            lines.append("districts = [" + ", ".join(f'"{d}"' for d in districts) + "]")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def audit_log(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every page test writes its audit records to a temporary log; no access config unless asked."""
    path = tmp_path_factory.mktemp("audit") / "audit.jsonl"
    monkeypatch.setenv("PPAP_AUDIT_LOG", str(path))
    monkeypatch.delenv("PPAP_ACCESS_CONFIG", raising=False)
    return path


@pytest.fixture
def access_users(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``PPAP_ACCESS_CONFIG``: local logins for :data:`USERS`, public viewer until one logs in."""
    path = write_access_config(tmp_path_factory.mktemp("access") / "access.toml")
    monkeypatch.setenv("PPAP_ACCESS_CONFIG", str(path))
    return path


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def decks(at: AppTest) -> list[dict]:
    """The pydeck specs the page sent, parsed."""
    return [json.loads(element.proto.json) for element in at.get("deck_gl_json_chart")]


def page_text(at: AppTest) -> str:
    """Titles, headings, markdown, captions, alerts and HTML of the page and sidebar, joined."""
    parts = [e.value for e in (*at.title, *at.header, *at.subheader, *at.markdown, *at.caption, *at.info,
                               *at.warning, *at.error, *at.success)]
    parts += [element.proto.body for element in at.get("html")]
    return "\n".join(str(p) for p in parts)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.fixture
def tiny_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``PPAP_DATA_DIR`` holding the tiny world (see :mod:`tests.pages.tiny_world`); no ID key."""
    tiny_world.write_data_dir(tmp_path)
    monkeypatch.setenv("PPAP_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PPAP_ID_HASH_KEY", raising=False)
    return tmp_path


@pytest.fixture
def download_bytes(monkeypatch: pytest.MonkeyPatch) -> Callable[[AppTest, str], bytes]:
    """``download_bytes(at, key)``: the file a download button would give, deferred or not.

    AppTest keeps files in a media manager it makes for each run; this records those managers.
    """
    from streamlit.runtime import media_file_manager
    from streamlit.testing.v1 import app_test

    managers: list = []

    class RecordingManager(media_file_manager.MediaFileManager):
        def __init__(self, storage):
            super().__init__(storage)
            managers.append(self)

    monkeypatch.setattr(app_test, "MediaFileManager", RecordingManager)

    def fetch(at: AppTest, key: str) -> bytes:
        buttons = [b for b in at.get("download_button") if b.proto.id.endswith(key) or key in b.proto.id]
        assert len(buttons) == 1, [b.proto.id for b in at.get("download_button")]
        proto = buttons[0].proto
        manager = managers[-1]
        if proto.deferred_file_id:
            return _as_bytes(manager._deferred_callables[proto.deferred_file_id]["callable"]())
        filename = proto.url.rsplit("/", 1)[-1]
        return manager._storage.get_file(filename).content

    return fetch


def _as_bytes(data) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)
