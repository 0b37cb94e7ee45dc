"""A local login that survives a page reload, in a real browser against a real ``streamlit run
serve.py``: the server sets a signed, expiring, HTTP-only, SameSite=Strict cookie through its own
route, the page reads it back after a reload, logout deletes it and ends the server session, and
Streamlit's metrics are not public. (AppTest cannot do this: it has no HTTP server and no cookies.)
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from geo.access.roles import SESSION_COOKIE, hash_password
from tests.support.server import PAGE_IDLE

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse admin battery"
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    from tests.support.server import start_server, stop_server

    folder = tmp_path_factory.mktemp("auth-browser")
    config = folder / "access.toml"
    config.write_text("\n".join([
        "[auth]", 'mode = "local"', "public_access = false", "idle_timeout_minutes = 30", "session_hours = 2", "",
        "[[users]]", 'username = "admin"', 'role = "administrator"', 'display_name = "Test admin"',
        f'password_hash = "{hash_password(PASSWORD)}"', "",
    ]), encoding="utf-8")
    log = folder / "audit" / "audit.jsonl"
    started = start_server(env={"PPAP_ACCESS_CONFIG": str(config), "PPAP_AUDIT_LOG": str(log)})
    try:
        yield started.url, log
    finally:
        stop_server(started.proc)


def idle(page) -> None:
    page.wait_for_function(PAGE_IDLE, timeout=TIMEOUT_MS)


def login_form_shown(page) -> bool:
    return page.locator("[data-testid='stForm']").count() > 0


def events(log: Path) -> list[tuple[str, str, str]]:
    return [(r["event"], r["username"], r["detail"]) for r in map(json.loads, log.read_text().splitlines())]


def test_metrics_are_not_public(server):
    url, _ = server
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(f"{url}/_stcore/metrics", timeout=10)
    assert exc.value.code == 404
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as response:
        assert response.status == 200


def test_login_survives_a_reload_through_an_http_only_cookie(server, browser):
    url, log = server
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    page = context.new_page()
    try:
        page.goto(url, timeout=TIMEOUT_MS)
        page.get_by_label("ชื่อผู้ใช้").wait_for(timeout=TIMEOUT_MS)
        page.get_by_label("ชื่อผู้ใช้").fill("admin")
        page.get_by_label("รหัสผ่าน").fill(PASSWORD)
        page.get_by_role("button", name="เข้าสู่ระบบ").click()
        # The server's route sets the cookie and sends the browser back.
        page.get_by_text("Test admin").first.wait_for(timeout=TIMEOUT_MS)
        cookie = next(c for c in context.cookies() if c["name"] == SESSION_COOKIE)
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert 0 < cookie["expires"] - time.time() <= 2 * 3600 + 60
        assert SESSION_COOKIE not in page.evaluate("document.cookie")  # scripts cannot read it
        assert "admin" not in cookie["value"]

        page.reload(timeout=TIMEOUT_MS)
        page.get_by_text("Test admin").first.wait_for(timeout=TIMEOUT_MS)
        idle(page)
        assert not login_form_shown(page)
        assert ("login", "admin", "session cookie (page reload)") in events(log)

        page.get_by_role("button", name="ออกจากระบบ").click()
        page.get_by_label("ชื่อผู้ใช้").wait_for(timeout=TIMEOUT_MS)
        page.wait_for_function(
            f"() => !document.cookie.includes('{SESSION_COOKIE}')", timeout=TIMEOUT_MS)
        assert not [c for c in context.cookies() if c["name"] == SESSION_COOKIE]
        assert ("logout", "admin", "") in events(log)
        page.reload(timeout=TIMEOUT_MS)
        page.get_by_label("ชื่อผู้ใช้").wait_for(timeout=TIMEOUT_MS)
    finally:
        context.close()


def test_a_copied_cookie_is_worthless_after_logout(server, browser):
    url, _ = server
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(url, timeout=TIMEOUT_MS)
        page.get_by_label("ชื่อผู้ใช้").fill("admin")
        page.get_by_label("รหัสผ่าน").fill(PASSWORD)
        page.get_by_role("button", name="เข้าสู่ระบบ").click()
        page.get_by_text("Test admin").first.wait_for(timeout=TIMEOUT_MS)
        copied = [c for c in context.cookies() if c["name"] == SESSION_COOKIE]
        assert copied
        page.get_by_role("button", name="ออกจากระบบ").click()
        page.get_by_label("ชื่อผู้ใช้").wait_for(timeout=TIMEOUT_MS)
    finally:
        context.close()
    thief = browser.new_context()
    thief.add_cookies(copied)
    page = thief.new_page()
    try:
        page.goto(url, timeout=TIMEOUT_MS)
        page.get_by_label("ชื่อผู้ใช้").wait_for(timeout=TIMEOUT_MS)
        idle(page)
        assert page.get_by_text("Test admin").count() == 0
    finally:
        thief.close()
