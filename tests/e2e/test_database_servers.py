"""Two app processes on one PostgreSQL database, in a real browser: a file imported through one
server's Data page shows in the other server's pages without a restart (the data version it
polls; docs/SCALE.md "Growing past one machine"), and the import is in the database's audit log.

Each server keeps its own snapshot folder, as two machines would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from geo.access.roles import hash_password
from geo.data import database
from tests.support.server import PAGE_IDLE

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse admin battery"
TIMEOUT_MS = 90_000


def _sample_rows(sample: Path, n: int, prefix: str, skip: int = 0) -> pd.DataFrame:
    frame = pd.read_parquet(sample)
    # One round (the latest): the sidebar counts the households of the round shown.
    latest = frame["survey_year"] == frame["survey_year"].max()
    frame = frame[latest & (frame["district_code"] == "4609")].iloc[skip:skip + n].copy()
    frame["household_id"] = [f"{prefix}{i:05d}" for i in range(len(frame))]
    return frame.reset_index(drop=True)


@pytest.fixture(scope="module")
def two_servers(postgres_cluster, tmp_path_factory, sample_households_module) -> Iterator[tuple[str, str, str, Path]]:
    from tests.support.server import start_server, stop_server

    folder = tmp_path_factory.mktemp("two-servers")
    url = postgres_cluster.create_database()
    database.migrate(url)
    seed = _sample_rows(sample_households_module, 300, "SEED")
    database.save_households(seed, [{"file": "seed.parquet", "content_hash": "sha256:" + "5" * 64,
                                     "imported_at": "2026-12-01T00:00:00+00:00", "mode": "append",
                                     "rows_in": len(seed), "accepted": len(seed)}], url=url)
    config = folder / "access.toml"
    config.write_text("\n".join([
        "[auth]", 'mode = "local"', "public_access = false", "idle_timeout_minutes = 30", "session_hours = 2", "",
        "[[users]]", 'username = "admin"', 'role = "administrator"', 'display_name = "Test admin"',
        f'password_hash = "{hash_password(PASSWORD)}"', "",
    ]), encoding="utf-8")
    upload = folder / "more.csv"
    _sample_rows(sample_households_module, 40, "MORE", skip=300).to_csv(upload, index=False)
    servers = []
    try:
        for name in ("a", "b"):
            servers.append(start_server(env={"PPAP_ACCESS_CONFIG": str(config), database.DATABASE_URL_ENV: url,
                                             database.SNAPSHOT_DIR_ENV: str(folder / f"snapshots-{name}")}))
        yield servers[0].url, servers[1].url, url, upload
    finally:
        for server in servers:
            stop_server(server.proc)


@pytest.fixture(scope="module")
def sample_households_module() -> Path:
    from geo.data.paths import samples_dir
    from tests.conftest import skip_or_fail

    path = samples_dir() / "households.parquet"
    if not path.is_file():
        skip_or_fail(f"no sample at {path}; run `make test` or `python -m geo sample`")
    return path


def _login(page, url: str, path: str = "") -> None:
    page.goto(f"{url}/{path}", timeout=TIMEOUT_MS)
    page.get_by_label("ชื่อผู้ใช้").wait_for(timeout=TIMEOUT_MS)
    page.get_by_label("ชื่อผู้ใช้").fill("admin")
    page.get_by_label("รหัสผ่าน").fill(PASSWORD)
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    page.get_by_text("Test admin").first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function(PAGE_IDLE, timeout=TIMEOUT_MS)


def test_an_import_through_one_server_shows_in_the_other(two_servers, browser):
    url_a, url_b, db_url, upload = two_servers
    # One browser context per server: each process signs its own login cookies.
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        viewer = context.new_page()
        _login(viewer, url_b)
        viewer.get_by_text("ข้อมูลที่นำเข้า (300 ครัวเรือน)").first.wait_for(timeout=TIMEOUT_MS)

        importer = other.new_page()
        _login(importer, url_a, "data")
        importer.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(upload))
        importer.wait_for_function(PAGE_IDLE, timeout=TIMEOUT_MS)
        importer.get_by_role("button", name="ตรวจและนำเข้า").click()
        importer.get_by_text("นำเข้าแล้ว 40 แถว").first.wait_for(timeout=TIMEOUT_MS)
        importer.get_by_text("ข้อมูลที่นำเข้า (340 ครัวเรือน)").first.wait_for(timeout=TIMEOUT_MS)

        # The other process was not restarted: a rerun after its poll interval shows the import.
        viewer.wait_for_timeout(int(database.VERSION_POLL_SECONDS * 1000) + 500)
        viewer.reload(timeout=TIMEOUT_MS)
        viewer.get_by_text("ข้อมูลที่นำเข้า (340 ครัวเรือน)").first.wait_for(timeout=TIMEOUT_MS)
    finally:
        context.close()
        other.close()
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM households").fetchone()[0] == 340
        assert conn.execute("SELECT count(*) FROM imports").fetchone()[0] == 2
        lines = [r[0] for r in conn.execute("SELECT line FROM audit_log ORDER BY seq").fetchall()]
    assert any('"event":"import"' in line for line in lines)
    assert any('"event":"login"' in line for line in lines)
