"""The app in a real browser, offline: every page asks for nothing beyond the app's own server, a
link straight to a page works, the maps draw, a click on a district drills down, a download
arrives. One server for all of them (``app_url``, session-scoped)."""

from __future__ import annotations

import io
import math
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from tests.support.server import PAGE_IDLE
from geo.data.paths import boundaries_dir, samples_dir

pytestmark = pytest.mark.e2e

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
LOAD_TIMEOUT_MS = 60_000
VIEWPORT = {"width": 1600, "height": 1300}
DECK = "[data-testid='stDeckGlJsonChart']"


@pytest.fixture
def offline_page(browser) -> Iterator[object]:
    """A page whose every request outside the app's server is refused and recorded; the test
    fails if any was attempted."""
    blocked: list[str] = []

    def only_local(route, request):
        # data: and blob: never reach the router; anything else must be the app itself.
        if urlsplit(request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append(request.url)
            route.abort()

    context = browser.new_context(viewport=VIEWPORT, locale="th-TH", accept_downloads=True)
    context.route("**/*", only_local)
    try:
        yield context.new_page()
    finally:
        context.close()
    assert blocked == [], f"the page tried to reach outside addresses: {blocked}"


def require_data(skip_or_fail) -> None:
    for path in (samples_dir() / "households.parquet", boundaries_dir() / "district.parquet"):
        if not path.is_file():
            skip_or_fail(f"no {path}; run `make test` (it installs boundaries and the sample)")


def wait_for_map(page, index: int = 0):
    """The ``index``-th deck canvas once deck.gl has drawn into it."""
    canvas = page.locator(f"{DECK} canvas").nth(index)
    canvas.wait_for(state="visible", timeout=LOAD_TIMEOUT_MS)
    page.wait_for_load_state("networkidle", timeout=LOAD_TIMEOUT_MS)
    time.sleep(1.5)  # deck.gl draws on the next animation frames
    return canvas


def download(page, button_name: str, folder: Path, attempts: int = 3) -> Path:
    """Press the download button named ``button_name`` (a prefix) once the page is idle, and save
    what arrives in ``folder``. A click that lands while a run is redrawing the button can be
    lost on a busy machine, so it is pressed again (at most ``attempts`` times) if nothing came."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    button = page.get_by_role("button", name=button_name)
    for attempt in range(attempts):
        expect(button).to_be_visible(timeout=LOAD_TIMEOUT_MS)
        page.wait_for_function(PAGE_IDLE, timeout=LOAD_TIMEOUT_MS)
        try:
            with page.expect_download(timeout=LOAD_TIMEOUT_MS // attempts) as info:
                button.click()
            break
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    return path


def coloured_share(png: bytes) -> float:
    """Share of pixels that carry a map colour (saturated), not the white/grey background."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("HSV")
    saturation = image.getchannel("S")
    histogram = saturation.histogram()
    total = sum(histogram)
    return sum(histogram[60:]) / total if total else 0.0


# The first test opens a page by its own link before anything else has run on the fresh server.
def test_a_link_straight_to_a_page_opens_with_the_router(offline_page, app_url, skip_or_fail):
    require_data(skip_or_fail)
    from playwright.sync_api import expect

    page = offline_page
    page.goto(f"{app_url}/capitals?area=46&capital=natural", wait_until="domcontentloaded", timeout=LOAD_TIMEOUT_MS)

    expect(page.locator("h1", has_text="ทุน 5 มิติ")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_text("ภาพรวม · Overview")).to_be_visible()
    expect(nav.get_by_text("capitals", exact=True)).to_have_count(0)  # not the bare pages folder
    expect(page.get_by_text("สัดส่วนที่ขาดทุนธรรมชาติ · รายอำเภอ · จังหวัดกาฬสินธุ์")).to_be_visible()
    wait_for_map(page)


def test_overview_draws_its_map_offline(offline_page, app_url, tmp_path: Path, skip_or_fail):
    require_data(skip_or_fail)
    from playwright.sync_api import expect

    page = offline_page
    page.goto(app_url, wait_until="domcontentloaded", timeout=LOAD_TIMEOUT_MS)

    expect(page.locator("h1", has_text="ภาพรวม")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    expect(page.get_by_text("ข้อมูลตัวอย่างสังเคราะห์ / synthetic sample").first).to_be_visible()
    expect(page.get_by_text("Boundaries: RTSD / OCHA (CC BY-IGO)").first).to_be_visible()
    expect(page.get_by_test_id("stMetric")).to_have_count(6)
    canvas = wait_for_map(page)

    shot = canvas.screenshot()
    (tmp_path / "overview_map.png").write_bytes(shot)
    assert coloured_share(shot) > 0.03, "the map canvas is blank"
    page.screenshot(path=str(tmp_path / "overview.png"))
    print(f"screenshots: {tmp_path}")


def _project(lon: float, lat: float, view, width: float, height: float) -> tuple[float, float]:
    """Screen position of (lon, lat) in a Web Mercator view (deck.gl: the world is 512 * 2**zoom px)."""
    scale = 512 * 2 ** view.zoom

    def world(lo: float, la: float) -> tuple[float, float]:
        x = (lo + 180) / 360 * scale
        y = (1 - math.log(math.tan(math.pi / 4 + math.radians(la) / 2)) / math.pi) / 2 * scale
        return x, y

    x, y = world(lon, lat)
    x0, y0 = world(view.longitude, view.latitude)
    return width / 2 + (x - x0), height / 2 + (y - y0)


def test_a_click_on_a_district_drills_down(offline_page, app_url, skip_or_fail):
    require_data(skip_or_fail)
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    from geo.data.boundaries import load_boundaries
    from geo.views.deck import view_for_bounds

    districts = load_boundaries("district")
    kalasin = districts[districts["code"].str.startswith("46")]
    # The largest district, clicked at a point well inside it.
    target = kalasin.loc[kalasin.to_crs(32648).area.idxmax()]
    point = target.geometry.representative_point()
    view = view_for_bounds(kalasin.total_bounds, width_px=600, height_px=600)  # as pages/overview.py fits it

    page = offline_page
    page.goto(f"{app_url}/?area=46", wait_until="domcontentloaded", timeout=LOAD_TIMEOUT_MS)
    expect(page.locator("h1", has_text="ภาพรวม")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    canvas = wait_for_map(page)
    box = canvas.bounding_box()
    x, y = _project(point.x, point.y, view, box["width"], box["height"])
    assert 0 < x < box["width"] and 0 < y < box["height"], (x, y, box)
    # deck.gl may still be settling its first frames: click again if nothing happened.
    for _ in range(5):
        page.mouse.click(box["x"] + x, box["y"] + y)
        try:
            page.wait_for_function(f"window.location.search.includes('area={target['code']}')", timeout=6_000)
            break
        except PlaywrightTimeout:
            continue
    search = page.evaluate("window.location.search")
    assert parse_qs(search.lstrip("?"))["area"] == [target["code"]], search
    expect(page.get_by_role("button", name=target["name_th"])).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    expect(page.get_by_text(f"รายตำบล · อำเภอ{target['name_th']} จังหวัดกาฬสินธุ์").first).to_be_visible()


def test_a_download_arrives(offline_page, app_url, tmp_path: Path, skip_or_fail):
    require_data(skip_or_fail)

    page = offline_page
    page.goto(f"{app_url}/households?prov=46&by=district", wait_until="domcontentloaded", timeout=LOAD_TIMEOUT_MS)
    path = download(page, "ดาวน์โหลด CSV", tmp_path)
    assert path.name.startswith("ppap_households_by_district_")
    table = pd.read_csv(path, encoding="utf-8-sig", dtype={"code": str})
    assert table["code"].str.startswith("46").all() and len(table) == 18
    assert {"name_th", "households_shown", "people"} <= set(table.columns)


def test_a_district_s_village_table_downloads(offline_page, app_url, tmp_path: Path, skip_or_fail):
    """The Households page by village (หมู่) for one district: a protected table and its CSV."""
    require_data(skip_or_fail)

    page = offline_page
    page.goto(f"{app_url}/households?area=4609&by=village", wait_until="domcontentloaded", timeout=LOAD_TIMEOUT_MS)
    path = download(page, "ดาวน์โหลด CSV", tmp_path)
    assert path.name.startswith("ppap_households_by_village_")
    table = pd.read_csv(path, encoding="utf-8-sig", dtype={"code": str, "subdistrict_code": str})
    assert len(table) > 0 and table["code"].str.startswith("4609").all() and (table["min_count"] == 10).all()
    assert {"subdistrict_code", "village_no", "name_th", "households_shown", "people"} <= set(table.columns)
    assert (pd.to_numeric(table["households_count"]) >= 10).all()  # the public release: no village under k


@pytest.mark.parametrize("path", ["pilots?km=10", "data", "capitals?by=h3&lang=en"])
def test_other_pages_render_offline(offline_page, app_url, path, skip_or_fail):
    require_data(skip_or_fail)
    from playwright.sync_api import expect

    page = offline_page
    page.goto(f"{app_url}/{path}", wait_until="domcontentloaded", timeout=LOAD_TIMEOUT_MS)
    expect(page.locator("h1")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    if path != "data":
        assert coloured_share(wait_for_map(page).screenshot()) > 0.02
    page.wait_for_load_state("networkidle", timeout=LOAD_TIMEOUT_MS)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_meeting_mode_walks_provinces_with_the_arrow_keys(offline_page, app_url, skip_or_fail):
    require_data(skip_or_fail)
    from playwright.sync_api import expect

    from geo.views.mapview import PILOT_PROVINCES

    page = offline_page
    page.goto(f"{app_url}/meeting?area=46", wait_until="domcontentloaded", timeout=LOAD_TIMEOUT_MS)
    title = page.locator(".ppap-meeting-title")
    expect(title).to_have_text("จังหวัดกาฬสินธุ์", timeout=LOAD_TIMEOUT_MS)
    assert coloured_share(wait_for_map(page).screenshot()) > 0.02
    expect(page.get_by_test_id("stToolbar")).to_be_hidden()  # minimal chrome
    # the province's name is seen on the wall, not under Streamlit's (white, fixed) header
    assert page.evaluate("""() => { const t = document.querySelector('.ppap-meeting-title');
        const r = t.getBoundingClientRect();
        return r.top >= 0 && t.contains(document.elementFromPoint(r.left + 10, r.top + r.height / 2)); }""")
    second = PILOT_PROVINCES[1]
    page.locator("body").press("ArrowRight")
    expect(page).to_have_url(f"{app_url}/meeting?area={second}", timeout=LOAD_TIMEOUT_MS)
    expect(title).not_to_have_text("จังหวัดกาฬสินธุ์", timeout=LOAD_TIMEOUT_MS)
    page.locator("body").press("ArrowLeft")
    expect(page).to_have_url(f"{app_url}/meeting?area=46", timeout=LOAD_TIMEOUT_MS)
    expect(title).to_have_text("จังหวัดกาฬสินธุ์", timeout=LOAD_TIMEOUT_MS)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_a_map_exports_from_the_page(offline_page, app_url, tmp_path: Path, skip_or_fail):
    require_data(skip_or_fail)
    from PIL import Image

    page = offline_page
    page.goto(f"{app_url}/?area=46", wait_until="domcontentloaded", timeout=LOAD_TIMEOUT_MS)
    wait_for_map(page)
    page.get_by_role("button", name="ส่งออกแผนที่").click()
    path = download(page, "ดาวน์โหลด 46_kalasin_poor_households", tmp_path)
    assert path.name.startswith("46_kalasin_poor_households_") and path.suffix == ".png"
    image = Image.open(path)
    assert image.size == (1920, 1080) and coloured_share(path.read_bytes()) > 0.02


def test_the_map_level_changes_the_map_and_keeps_the_headline(offline_page, app_url, skip_or_fail):
    """The Overview's own controls rerun only the map and the top 10 (an ``st.fragment``): the map
    changes level, the URL follows, the headline and the filters stay as they were."""
    require_data(skip_or_fail)
    from playwright.sync_api import expect

    page = offline_page
    page.goto(f"{app_url}/?area=46", wait_until="domcontentloaded", timeout=LOAD_TIMEOUT_MS)
    wait_for_map(page)
    headline = page.get_by_test_id("stMetric").all_inner_texts()
    page.locator(".st-key-overview_by [role='radiogroup'] label").nth(3).click()  # H3 hexagons (after subdistricts)
    expect(page.locator(f".st-key-overview_map_h3_46 {DECK}")).to_be_attached(timeout=LOAD_TIMEOUT_MS)
    page.wait_for_function("window.location.search.includes('by=h3')", timeout=LOAD_TIMEOUT_MS)
    assert parse_qs(page.evaluate("window.location.search").lstrip("?")) == {"area": ["46"], "by": ["h3"]}
    expect(page.locator(".st-key-overview_res")).to_be_visible()  # the resolution control came with it
    assert page.get_by_test_id("stMetric").all_inner_texts() == headline
    expect(page.get_by_test_id("stException")).to_have_count(0)
    # A breadcrumb click (outside the fragment) still runs the whole page.
    page.locator(".st-key-overview_crumb_all button").click()
    page.wait_for_function("!window.location.search.includes('area=')", timeout=LOAD_TIMEOUT_MS)
    assert parse_qs(page.evaluate("window.location.search").lstrip("?")) == {"by": ["h3"]}
    expect(page.get_by_test_id("stMetric").first).not_to_have_text(headline[0], timeout=LOAD_TIMEOUT_MS)


def test_the_load_test_driver_measures_this_app(app_url, skip_or_fail):
    """``python -m bench load`` waits on this app's own elements (the map-level radio, the
    keyed map of each level): one session, every level, no error and a time for each rerun."""
    require_data(skip_or_fail)
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from bench.load import OVERVIEW_LEVELS, drive_sessions
    from pages._sidebar import PAGE_BY

    assert OVERVIEW_LEVELS == PAGE_BY["overview"]
    # Its own thread: the async driver must not share this thread with the tests' sync Playwright.
    with ThreadPoolExecutor(1) as pool:
        [result] = pool.submit(asyncio.run, drive_sessions(app_url, 1, 4, deadline_s=240, think_s=(0.2, 0.2))).result()
    assert result.error is None
    assert result.initial_s > 0 and len(result.rerun_s) == 4 and all(t > 0 for t in result.rerun_s)
