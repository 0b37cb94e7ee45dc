"""The Change page and the survey rounds in a real browser, offline, for the public and an
administrator: the page draws its maps and its transition matrix with counts, the round in the
URL round-trips, an administrator sees the exact figures. One server for the module, with local
logins (an administrator) and public access."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from geo.access.roles import hash_password
from geo.data.paths import boundaries_dir, samples_dir
from geo.data.rounds import round_years
from tests.e2e.test_browser import LOAD_TIMEOUT_MS, coloured_share, offline_page, wait_for_map  # noqa: F401
from tests.support.server import PAGE_IDLE

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse admin battery"
CHART_TEXT = "[data-testid='stVegaLiteChart'] svg text"


def two_round_file(folder: Path) -> Path | None:
    """The sample when it holds two rounds (``python -m geo sample``), else a copy of it with an
    earlier round added (``geo.synth.rounds``) in ``folder``; None without a sample."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from geo.synth.rounds import with_earlier_round

    sample = samples_dir() / "households.parquet"
    if not sample.is_file() or not (boundaries_dir() / "district.parquet").is_file():
        return None
    if len(round_years(sample)) >= 2:
        return sample
    table = pq.read_table(sample)
    both = with_earlier_round(table.to_pandas(), seed=1)
    path = folder / "households.parquet"
    pq.write_table(pa.Table.from_pandas(both, preserve_index=False).replace_schema_metadata(table.schema.metadata),
                   path)
    (folder / "pilots.csv").write_bytes((samples_dir() / "pilots.csv").read_bytes())
    return path


@pytest.fixture(scope="module")
def change_server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    from tests.support.server import start_server, stop_server

    folder = tmp_path_factory.mktemp("change-browser")
    households = two_round_file(folder)
    if households is None:
        pytest.skip("no sample or boundaries; run `make test` (it installs both)")
    config = folder / "access.toml"
    config.write_text("\n".join([
        "[auth]", 'mode = "local"', "public_access = true", "",
        "[[users]]", 'username = "admin"', 'role = "administrator"', 'display_name = "Test admin"',
        f'password_hash = "{hash_password(PASSWORD)}"', "",
    ]), encoding="utf-8")
    env = {"PPAP_ACCESS_CONFIG": str(config), "PPAP_AUDIT_LOG": str(folder / "audit.jsonl"),
           "PPAP_HOUSEHOLDS": str(households)}
    started = start_server(env=env)
    try:
        yield started.url, households
    finally:
        stop_server(started.proc)


def idle(page) -> None:
    page.wait_for_function(PAGE_IDLE, timeout=LOAD_TIMEOUT_MS)


def chart_numbers(page) -> list[int]:
    """The numbers written in the transition chart's cells (svg text)."""
    page.locator(CHART_TEXT).first.wait_for(timeout=LOAD_TIMEOUT_MS)
    return [int(t.replace(",", "")) for t in page.locator(CHART_TEXT).all_text_contents()
            if re.fullmatch(r"[\d,]+", t.strip())]


def test_the_public_sees_maps_and_the_transition_counts(offline_page, change_server):
    from playwright.sync_api import expect

    url, _ = change_server
    page = offline_page
    page.goto(f"{url}/change", wait_until="domcontentloaded", timeout=LOAD_TIMEOUT_MS)
    expect(page.locator("h1")).to_have_text("การเปลี่ยนแปลง", timeout=LOAD_TIMEOUT_MS)
    assert coloured_share(wait_for_map(page).screenshot()) > 0.02  # the share that moved up
    idle(page)
    expect(page.get_by_text("ติดตามได้ทั้งสองรอบ")).to_be_visible()
    expect(page.get_by_text("รอบสำรวจ พ.ศ. 2564 → พ.ศ. 2566").first).to_be_visible()
    numbers = chart_numbers(page)
    assert len(numbers) >= 8 and max(numbers) > 1000  # a count in the cells the public may see
    assert page.locator(f"{CHART_TEXT}", has_text="ปกปิด").count() >= 1  # small cells withheld
    assert page.locator("[data-testid='stDeckGlJsonChart']").count() == 3  # change, before, after
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_the_round_in_the_url_round_trips(offline_page, change_server):
    from playwright.sync_api import expect

    url, _ = change_server
    page = offline_page
    page.goto(f"{url}/change?round=2023&from=2021&change=share_escaped&lang=en", wait_until="domcontentloaded",
              timeout=LOAD_TIMEOUT_MS)
    expect(page.locator("h1")).to_have_text("Change", timeout=LOAD_TIMEOUT_MS)
    idle(page)
    # Written back in the user's era (BE by default), the rest as given.
    expect(page).to_have_url(re.compile(r"round=2566"), timeout=LOAD_TIMEOUT_MS)
    assert "from=2564" in page.url and "change=share_escaped" in page.url
    expect(page.get_by_text("Share escaped poverty (levels 1-2 → 3-4)").first).to_be_visible()
    page.goto(f"{url}/?round=2564", wait_until="domcontentloaded", timeout=LOAD_TIMEOUT_MS)
    wait_for_map(page)
    idle(page)
    assert "round=2564" in page.url
    expect(page.get_by_text("รอบสำรวจ พ.ศ. 2564").first).to_be_visible()  # the Overview shows the earlier round
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_an_administrator_sees_the_exact_figures(offline_page, change_server):
    import pandas as pd
    from playwright.sync_api import expect

    from geo.engine.mobility import mobility_totals, pair_rounds

    url, households = change_server
    page = offline_page
    page.goto(f"{url}/change", wait_until="domcontentloaded", timeout=LOAD_TIMEOUT_MS)
    idle(page)
    page.get_by_text("เข้าสู่ระบบ").first.click()
    page.get_by_label("ชื่อผู้ใช้").fill("admin")
    page.get_by_label("รหัสผ่าน").fill(PASSWORD)
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    page.get_by_text("Test admin").first.wait_for(timeout=LOAD_TIMEOUT_MS)
    page.goto(f"{url}/change", wait_until="domcontentloaded", timeout=LOAD_TIMEOUT_MS)
    wait_for_map(page)
    idle(page)
    frame = pd.read_parquet(households)
    years = sorted(frame["survey_year"].unique())[-2:]
    totals = mobility_totals(pair_rounds(frame, *years), exact=True, min_count=10)
    followed = f"{int(totals['followed']):,}"
    expect(page.get_by_test_id("stMetric").filter(has_text="ติดตามได้ทั้งสองรอบ")).to_contain_text(followed)
    assert sum(chart_numbers(page)) == int(totals["followed"])  # every followed household in one cell
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_pilot_impact_appears_on_the_pilots_page(offline_page, change_server):
    from playwright.sync_api import expect

    url, _ = change_server
    page = offline_page
    page.goto(f"{url}/pilots?lang=en", wait_until="domcontentloaded", timeout=LOAD_TIMEOUT_MS)
    expect(page.get_by_text("Pilot impact: participants against comparable neighbours")).to_be_visible(
        timeout=LOAD_TIMEOUT_MS)
    idle(page)
    expect(page.get_by_text("not proof that the project caused it", exact=False)).to_be_visible(
        timeout=LOAD_TIMEOUT_MS)
    chart = page.locator("[data-testid='stVegaLiteChart']").last
    expect(chart).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    # point and interval per capital, per pilot (Vega draws its svg after the element appears)
    expect(chart.locator("svg").first).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    expect(page.get_by_test_id("stException")).to_have_count(0)
