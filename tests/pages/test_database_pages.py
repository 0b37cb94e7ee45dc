"""Every page with ``PPAP_DATABASE_URL`` set, in AppTest, against a real PostgreSQL (the session's
throwaway cluster, tests/support/postgres.py): the pages show the database's households (through the
snapshot of its data version), an import through the Data page lands in the database, the audit
page reads the database's log, and downloads work as with files."""

from __future__ import annotations

import psycopg

from geo.access.audit import check_audit_log
from geo.data import database
from geo.views.text import text
from tests.pages.conftest import open_app, page_text, rerun
from tests.pages.tiny_world import households

PAGES = ("overview", "capitals", "pilots", "households", "data", "audit", "meeting")


def _goto(at, page: str):
    at.switch_page(f"pages/{page}.py")
    return rerun(at)


def test_every_page_and_an_import_with_the_database(tiny_dir, access_users, database_url, download_bytes):
    seed = households()
    database.save_households(seed, [{"file": "tiny.parquet", "content_hash": "sha256:" + "7" * 64,
                                     "imported_at": "2026-12-01T00:00:00+00:00", "mode": "append",
                                     "rows_in": len(seed), "accepted": len(seed)}])
    at = open_app(login="admin")
    # The app persisted the engine's index beside its snapshot (a child process), and maps it.
    from geo.engine.persist import read_index
    from geo.data.source import data_source

    assert read_index(data_source().path) is not None
    for page in PAGES:
        _goto(at, page)
        assert not at.exception, page
        shown = page_text(at)
        assert f"ข้อมูลที่นำเข้า ({len(seed)} ครัวเรือน)" in shown, page
        if page == "households":
            rows = [d for d in at.dataframe if d.proto.id and "households_rows" in d.proto.id]
            rows = rows[0].value if rows else at.dataframe[1].value
            assert len(rows) == len(seed)
        if page == "audit":
            log = at.dataframe[0].value
            assert "login" in set(log["event"])
            assert text("audit_intact", "th", lines="x").split("(")[0] in shown
        if page == "data":
            assert "tiny.parquet" in at.dataframe[-1].value["ไฟล์"].tolist()

    _goto(at, "data")
    new = seed.head(12).copy()
    new["household_id"] = [f"DB{i:03d}" for i in range(12)]
    at.file_uploader(key="data_upload").set_value(("new.csv", new.to_csv(index=False).encode(), "text/csv"))
    rerun(at)
    at.button(key="data_import").click()
    rerun(at)
    assert "นำเข้าแล้ว 12 แถว ปฏิเสธ 0 แถว จาก 12 แถว" in page_text(at)
    assert f"ข้อมูลที่นำเข้า ({len(seed) + 12} ครัวเรือน)" in page_text(at)
    assert set(at.dataframe[-1].value["ไฟล์"]) == {"tiny.parquet", "new.csv"}
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM households WHERE household_id LIKE 'DB%'").fetchone()[0] == 12
        report = conn.execute("SELECT report FROM imports ORDER BY import_id DESC LIMIT 1").fetchone()[0]
    assert report["accepted"] == 12
    # An export from the page: logged in the database's audit log, chain intact.
    _goto(at, "households")
    before = check_audit_log().lines
    csv = download_bytes(at, "households_download_csv").decode("utf-8-sig")
    assert "4609" in csv
    check = check_audit_log()
    assert check.ok and check.lines == before + 1, check.problem
    with psycopg.connect(database_url) as conn:
        last = conn.execute("SELECT line FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()[0]
    assert '"event":"export"' in last and '"format":"csv"' in last
