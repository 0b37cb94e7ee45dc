"""The app in a real browser, offline: Thai renders, the page says what it is, and the browser
asks for nothing beyond the app's own server."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from geo.paths import samples_dir

pytestmark = pytest.mark.e2e

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
LOAD_TIMEOUT_MS = 30_000


def test_overview_renders_offline(browser, app_url: str, tmp_path: Path):
    from playwright.sync_api import expect

    blocked: list[str] = []

    def only_local(route, request):
        # data: and blob: never reach the router; anything else must be the app itself.
        if urlsplit(request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append(request.url)
            route.abort()

    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="th-TH")
    try:
        context.route("**/*", only_local)
        page = context.new_page()
        page.goto(app_url, wait_until="domcontentloaded", timeout=LOAD_TIMEOUT_MS)

        expect(page.locator("h1", has_text="ภาพรวม")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
        expect(page.get_by_text("ข้อมูลตัวอย่างสังเคราะห์ / synthetic sample")).to_be_visible()
        expect(page.get_by_text("Boundaries: RTSD / OCHA (CC BY-IGO)")).to_be_visible()
        if (samples_dir() / "households.parquet").is_file():
            expect(page.get_by_test_id("stMetric")).to_have_count(2)
        # Let the app settle (fonts, icons, any late fetches) before judging the network.
        page.wait_for_load_state("networkidle", timeout=LOAD_TIMEOUT_MS)

        screenshot = tmp_path / "overview.png"
        page.screenshot(path=str(screenshot), full_page=True)
        assert screenshot.stat().st_size > 10_000
        print(f"screenshot: {screenshot}")
    finally:
        context.close()

    assert blocked == [], f"the page tried to reach outside addresses: {blocked}"
