"""In Chromium: no table offers Streamlit's own "Download as CSV", and Markdown in a link's values
shows as text (no link to follow, no outside image fetched). Runs on the session's one server
(``app_url``), after ``test_browser.py`` has opened it fresh."""

from __future__ import annotations

import time
from urllib.parse import quote, urlsplit

import pytest

from tests.support.server import PAGE_IDLE
from geo.data.paths import boundaries_dir, samples_dir

pytestmark = pytest.mark.e2e

LOAD_TIMEOUT_MS = 60_000
PAYLOAD = "[Session expired - log in](http://evil.invalid) ![x](http://evil.invalid/x.png)"


@pytest.fixture
def page_and_outside_requests(browser):
    outside: list[str] = []

    def only_local(route, request):
        if urlsplit(request.url).hostname in {"127.0.0.1", "localhost"}:
            route.continue_()
        else:
            outside.append(request.url)
            route.abort()

    context = browser.new_context(viewport={"width": 1600, "height": 1300}, locale="th-TH")
    context.route("**/*", only_local)
    try:
        yield context.new_page(), outside
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/capitals", "/households", "/data"])
def test_tables_have_no_builtin_download_and_link_values_are_text(path, page_and_outside_requests, app_url,
                                                                  skip_or_fail):
    for needed in (samples_dir() / "households.parquet", boundaries_dir() / "district.parquet"):
        if not needed.is_file():
            skip_or_fail(f"no {needed}; run `make test` (it installs boundaries and the sample)")
    page, outside = page_and_outside_requests
    page.goto(f"{app_url}{path}?by={quote(PAYLOAD)}", timeout=LOAD_TIMEOUT_MS)
    tables = page.locator("[data-testid='stDataFrame']")
    tables.first.wait_for(state="visible", timeout=LOAD_TIMEOUT_MS)
    page.wait_for_function(PAGE_IDLE, timeout=LOAD_TIMEOUT_MS)
    time.sleep(1)

    notice = page.locator("[data-testid='stAlert']").filter(has_text="evil.invalid")
    assert notice.count() == 1
    assert notice.locator("a").count() == 0 and notice.locator("img").count() == 0
    assert "[Session expired - log in](http://evil.invalid)" in notice.inner_text()
    assert page.locator("a[href*='evil.invalid'], img[src*='evil.invalid']").count() == 0

    for i in range(tables.count()):
        table = tables.nth(i)
        table.scroll_into_view_if_needed()
        table.hover()
        toolbar = page.locator("[data-testid='stElementToolbar']").filter(has=page.locator("button")).last
        toolbar.wait_for(state="visible", timeout=LOAD_TIMEOUT_MS)
        labels = [b.get_attribute("aria-label") or b.inner_text() for b in toolbar.locator("button").all()]
        assert labels and not any("download" in label.lower() for label in labels), labels
    assert outside == []
