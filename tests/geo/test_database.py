"""The PostgreSQL/PostGIS store (geo.data.database, geo.access.audit_db, python -m geo db), against a
real PostgreSQL 15 + PostGIS 3 cluster the suite starts in a temporary folder (tests/support/postgres.py).
No mock database: every test talks to the server, and the concurrency tests run the command line
in separate processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest

from geo.data import database, source, store
from geo.errors import StoreError
from geo.synth.households import random_households
from tests.conftest import REPO_ROOT


def _geo(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "geo", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300, **kwargs)


def _households(n: int, *, seed: int, prefix: str = "T", year: int = 2024) -> pd.DataFrame:
    frame = random_households(n, seed=seed, cluster_km=2.0)
    frame["household_id"] = [f"{prefix}{i:06d}" for i in range(n)]
    frame["survey_year"] = year
    return frame


def _count(url: str, sql: str, params=()) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute(sql, params).fetchone()[0])


# ---------------------------------------------------------------------------------------------
# Migrations, status, PostGIS
# ---------------------------------------------------------------------------------------------


def test_migrations_apply_once_and_refuse_an_edited_file(postgres_cluster):
    url = postgres_cluster.create_database()
    assert database.status(url)["pending"] == ["0001_schema"]
    assert database.migrate(url) == ["0001_schema"]
    assert database.migrate(url) == []  # up to date
    info = database.status(url)
    assert info["migrations"] == ["0001_schema"] and info["pending"] == []
    assert info["data_version"] == 0 and info["households"] == {} and info["postgis"].startswith("3.")
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
    with pytest.raises(StoreError, match="changed after it was applied"):
        database.migrate(url)


def test_two_processes_migrating_at_once_apply_each_migration_once(postgres_cluster):
    url = postgres_cluster.create_database()
    procs = [subprocess.Popen([sys.executable, "-m", "geo", "db", "migrate", "--url", url], cwd=REPO_ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert sum("0001_schema" in out for out, _ in outs) == 1
    assert _count(url, "SELECT count(*) FROM schema_migrations") == 1


def test_db_init_loads_boundaries_and_pilots_into_postgis(database_url):
    from geo.data.paths import boundaries_dir, samples_dir

    if not (boundaries_dir() / "district.parquet").is_file() or not (samples_dir() / "pilots.csv").is_file():
        pytest.skip("boundaries or sample not installed (make test installs them)")
    done = _geo("db", "init", "--pilots", str(samples_dir() / "pilots.csv"))
    assert done.returncode == 0, done.stderr
    assert "928 district" in done.stdout
    # A real spatial query: every pilot site lies in the district the pilots file says.
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT p.pilot_id, p.district_code, b.code FROM pilots p JOIN boundaries b "
                            "ON b.level = 'district' AND ST_Contains(b.geom, p.geom)").fetchall()
        pilots = conn.execute("SELECT count(*) FROM pilots").fetchone()[0]
    assert pilots > 0 and len(rows) == pilots
    assert all(stated == found for _, stated, found in rows)
    status = _geo("db", "status")
    assert status.returncode == 0 and "PostGIS 3." in status.stdout


# ---------------------------------------------------------------------------------------------
# Imports: upsert on (household, round), provenance, hashes
# ---------------------------------------------------------------------------------------------


def _entry(name: str, frame: pd.DataFrame, digest: str | None = None) -> dict:
    return {"file": name, "content_hash": digest or f"sha256:{uuid.uuid4().hex}", "imported_at":
            "2026-12-01T00:00:00+00:00", "mode": "append", "format": "csv", "rows_in": len(frame),
            "accepted": len(frame), "warnings": 0, "rejected": 0}


def test_an_import_upserts_on_household_and_round_and_touches_nothing_else(database_url):
    first = pd.concat([_households(50, seed=1, year=2023), _households(50, seed=2, year=2024)], ignore_index=True)
    database.save_households(first, [_entry("a.csv", first)])
    again = _households(20, seed=3, year=2024)  # T000000..T000019 of 2024 again, other values
    again["members"] = 99
    new = _households(5, seed=4, prefix="N", year=2024)
    batch = pd.concat([again, new], ignore_index=True)
    version = database.save_households(batch, [_entry("b.csv", batch)])
    stored = store.load_households()  # the default store is the database now
    assert len(stored) == 105 and not stored.duplicated(["household_id", "survey_year"]).any()
    members = stored.set_index(["household_id", "survey_year"])["members"]
    assert (members.loc[[(f"T{i:06d}", 2024) for i in range(20)]] == 99).all()  # replaced
    assert (members.loc[[(f"T{i:06d}", 2023) for i in range(20)]] != 99).all()  # other round untouched
    assert (members.loc[[(f"T{i:06d}", 2024) for i in range(20, 50)]] != 99).all()  # keys not carried untouched
    provenance = store.load_provenance()
    assert [e["file"] for e in provenance] == ["a.csv", "b.csv"]
    assert provenance[0]["rounds"] == [2023, 2024] and provenance[1]["rounds"] == [2024]
    assert provenance[1]["provinces"] and provenance[1]["districts"]
    assert version == database.data_version() == 2
    assert set(store.imported_hashes()) == {e["content_hash"] for e in provenance}


def test_the_same_file_twice_is_recognised_by_its_hash(database_url, tmp_path):
    frame = _households(200, seed=5)
    path = tmp_path / "kalasin.csv"
    frame.to_csv(path, index=False)
    first = _geo("households", "import", str(path), "--no-district-check")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "stored in the database" in first.stdout
    second = _geo("households", "import", str(path), "--no-district-check")
    assert second.returncode == 1 and "already imported" in second.stdout
    assert _count(database_url, "SELECT count(*) FROM imports") == 1
    assert _count(database_url, "SELECT count(*) FROM households") == 200
    # Past the import's own check (two imports that both checked before either stored): the
    # database's unique hash index refuses the second, and nothing of it is stored.
    entry = store.load_provenance()[0]
    with pytest.raises(StoreError, match="imported meanwhile"):
        database.save_households(frame, [dict(entry)])
    assert _count(database_url, "SELECT count(*) FROM imports") == 1
    assert database.data_version() == 1
    report = database.import_report(1)
    assert report["accepted"] == 200  # the batch keeps its report


def _wait_for(predicate, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_two_imports_at_once_from_two_processes_both_land_nothing_doubled(database_url, tmp_path):
    a = _households(3000, seed=6)  # T000000..T002999
    b = _households(3000, seed=7)
    b["household_id"] = [f"T{i:06d}" for i in range(2000, 5000)]  # 1000 keys shared with a
    a.to_csv(tmp_path / "a.csv", index=False)
    b.to_csv(tmp_path / "b.csv", index=False)
    # Hold the imports' turn so both processes are inside their import at the same moment.
    with psycopg.connect(database_url) as holder:
        holder.execute("SELECT version FROM data_version FOR UPDATE")
        procs = [subprocess.Popen([sys.executable, "-m", "geo", "households", "import", str(tmp_path / f),
                                   "--no-district-check"], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env={**os.environ, "PGAPPNAME": "ppap-import"})
                 for f in ("a.csv", "b.csv")]
        waiting = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ppap-import' "
                   "AND wait_event_type = 'Lock'")
        _wait_for(lambda: _count(database_url, waiting) == 2, 120, "both imports waiting on their turn")
        holder.rollback()
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert _count(database_url, "SELECT count(*) FROM households") == 5000
    assert _count(database_url, "SELECT count(DISTINCT (household_id, survey_year)) FROM households") == 5000
    assert _count(database_url, "SELECT count(*) FROM imports") == 2
    assert database.data_version() == 2
    # The shared keys hold the rows of the import that landed last.
    last = _count(database_url, "SELECT max(import_id) FROM imports")
    assert _count(database_url, "SELECT count(*) FROM households WHERE household_id BETWEEN 'T002000' AND "
                                "'T002999' AND import_id = %s", (last,)) == 1000


_KILLED_IMPORT = """
import sys
import pandas as pd
from geo.data import database
frame = pd.read_parquet(sys.argv[1])
database.save_households(frame, [{"file": "big.parquet", "content_hash": "sha256:" + "b" * 64,
                                  "imported_at": "2026-12-01T00:00:00+00:00", "mode": "append",
                                  "rows_in": len(frame), "accepted": len(frame)}])
print("committed")
"""


def test_a_process_killed_mid_import_leaves_nothing_half_written(database_url, tmp_path):
    before = _households(100, seed=8, prefix="K")
    database.save_households(before, [_entry("before.csv", before)])
    big = _households(20000, seed=9)
    big.to_parquet(tmp_path / "big.parquet", index=False)
    with psycopg.connect(database_url) as holder:
        # The child gets as far as its rows in the temporary table, then waits to write households.
        holder.execute("LOCK TABLE households IN SHARE MODE")
        child = subprocess.Popen([sys.executable, "-c", _KILLED_IMPORT, str(tmp_path / "big.parquet")], cwd=REPO_ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, "PGAPPNAME": "ppap-killed"})
        in_import = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ppap-killed' "
                     "AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO households%%'")
        _wait_for(lambda: _count(database_url, in_import) == 1, 120, "the import to reach its households")
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        holder.rollback()
    gone = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ppap-killed'"
    _wait_for(lambda: _count(database_url, gone) == 0, 60, "the killed import's backend to end")
    assert child.returncode == -signal.SIGKILL
    assert _count(database_url, "SELECT count(*) FROM households") == 100
    assert _count(database_url, "SELECT count(*) FROM imports") == 1
    assert _count(database_url, "SELECT count(*) FROM import_files") == 1
    assert database.data_version() == 1
    # Its file was not recorded as imported: it can be imported again, whole.
    done = subprocess.run([sys.executable, "-c", _KILLED_IMPORT, str(tmp_path / "big.parquet")], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "committed" in done.stdout, done.stderr
    assert _count(database_url, "SELECT count(*) FROM households") == 20100


# ---------------------------------------------------------------------------------------------
# The audit log: insert-only for the app's role, the chain kept
# ---------------------------------------------------------------------------------------------


def test_the_app_role_may_only_insert_into_the_audit_log(database_url, postgres_cluster, monkeypatch):
    from geo.access.audit import check_audit_log, log_event, read_audit
    from geo.access.roles import User

    login = f"atlas_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {login} LOGIN IN ROLE ppap_app")
    app_url = database_url.replace("postgres@", f"{login}@", 1)
    monkeypatch.setenv(database.DATABASE_URL_ENV, app_url)
    admin = User("admin", "administrator")
    for event in ("login", "household_view", "export"):
        log_event(event, admin, what=f"{event} test")
    frame = _households(10, seed=10)
    database.save_households(frame, [_entry("app.csv", frame)])  # the app's role imports
    check = check_audit_log()
    assert check.ok and check.lines == 3, check.problem
    table = read_audit(admin)
    assert table["event"].tolist() == ["login", "household_view", "export"] and table.attrs["check"].ok
    with psycopg.connect(app_url, autocommit=True) as conn:
        for sql in ("SELECT * FROM audit_log", "UPDATE audit_log SET line = 'x'", "DELETE FROM audit_log",
                    "TRUNCATE audit_log"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
        for seq, prev in ((4, "0" * 64), (3, "x"), (5, None)):  # records that do not follow the last one
            prev = prev or conn.execute("SELECT line_sha256 FROM ppap_audit_tail()").fetchone()[0]
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute("INSERT INTO audit_log (seq, line, prev) VALUES (%s, '{}', %s)", (seq, prev))
    # The owner can still change a line: the chain check finds it.
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE audit_log SET line = replace(line, 'household_view test', 'nothing') WHERE seq = 2")
    check = check_audit_log()
    assert not check.ok and check.first_bad_line == 2


# ---------------------------------------------------------------------------------------------
# Reading: the index from the database, another process's import, export
# ---------------------------------------------------------------------------------------------


def test_the_index_built_from_the_database_equals_the_one_built_from_the_file(database_url, tmp_path):
    from geo.engine.aggregate import index_households

    frame = pd.concat([_households(4000, seed=11, year=2023), _households(3000, seed=12, year=2024)],
                      ignore_index=True)
    path = tmp_path / "households.parquet"
    store.save_households(frame, [_entry("f.parquet", frame)], store=tmp_path / "files")  # the embedded store
    embedded = tmp_path / "files" / "households.parquet"
    frame.to_parquet(path, index=False)
    database.load_parquet(path)
    shown = source.data_source()
    assert shown.kind == "store" and shown.path.parent.parent == Path(os.environ[database.SNAPSHOT_DIR_ENV])
    from_db = source.read_source(shown.path)
    from_file = source.read_source(embedded)
    assert from_db.survey_year == from_file.survey_year == 2024
    pd.testing.assert_frame_equal(from_db.frame, from_file.frame)
    a, b = index_households(from_db.frame), index_households(from_file.frame)
    assert a.n == b.n == 3000
    for name in ("cell", "order", "province", "district", "subdistrict", "members", "level", "capitals", "profile",
                 "deprivation_mask", "pilot", "record_key", "lat", "lon", "province_codes", "district_codes"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_another_process_import_is_picked_up_without_a_restart(database_url, tmp_path):
    first = _households(300, seed=13)
    database.save_households(first, [_entry("first.csv", first)])
    before = source.data_source()
    assert source.read_source(before.path).frame.shape[0] == 300
    more = _households(40, seed=14, prefix="M")
    more.to_csv(tmp_path / "more.csv", index=False)
    done = _geo("households", "import", str(tmp_path / "more.csv"), "--no-district-check")
    assert done.returncode == 0, done.stdout + done.stderr
    started = time.monotonic()
    _wait_for(lambda: source.data_source().path != before.path, database.VERSION_POLL_SECONDS + 5, "the new version")
    seen_after = time.monotonic() - started
    after = source.data_source()
    assert source.read_source(after.path).frame.shape[0] == 340
    assert after.signature != before.signature
    assert seen_after <= database.VERSION_POLL_SECONDS + 1


def test_db_export_round_trips_and_goes_back_to_the_embedded_store(database_url, postgres_cluster, tmp_path,
                                                                    monkeypatch):
    frame = pd.concat([_households(500, seed=15, year=2023), _households(400, seed=16, year=2024)],
                      ignore_index=True)
    frame["head_name"] = pd.array([None] * len(frame), dtype="string")
    database.save_households(frame, [_entry("x.csv", frame)])
    pilots = pd.DataFrame({"pilot_id": ["P01"], "name_th": ["เห็ด"], "name_en": ["Mushrooms"], "kind": ["mushroom"],
                           "university": ["KSU"], "province_code": ["46"], "district_code": ["4609"],
                           "lat": [16.5], "lon": [103.5], "start_year": [2023], "households_target": [40],
                           "illustrative": [True]})
    database.save_pilots(pilots)
    out = tmp_path / "store" / "households.parquet"
    done = _geo("db", "export", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "900 households" in done.stdout and (out.parent / "pilots.csv").is_file()
    in_db = database.load_households()
    # Back to files: the export is a store folder the embedded store reads as it is.
    monkeypatch.delenv(database.DATABASE_URL_ENV)
    pd.testing.assert_frame_equal(store.load_households(out.parent), in_db)
    assert source.read_pilots(out.parent / "pilots.csv")["pilot_id"].tolist() == ["P01"]
    # And into a new database: the same households.
    other = postgres_cluster.create_database()
    database.migrate(other)
    loaded = _geo("db", "load", str(out), "--url", other)
    assert loaded.returncode == 0, loaded.stderr
    pd.testing.assert_frame_equal(database.load_households(other), in_db)


def test_without_the_variable_nothing_touches_a_database(monkeypatch, tmp_path):
    monkeypatch.delenv(database.DATABASE_URL_ENV, raising=False)
    assert not database.enabled() and not database.for_store(None)
    frame = _households(5, seed=17)
    path = store.save_households(frame, [_entry("e.csv", frame)], store=tmp_path)
    assert path == tmp_path / "households.parquet" and len(store.load_households(tmp_path)) == 5


def test_an_unreachable_database_is_one_readable_error(monkeypatch):
    from tests.support.server import free_port

    monkeypatch.setenv(database.DATABASE_URL_ENV, f"postgresql://ppap:secret@127.0.0.1:{free_port()}/ppap")
    with pytest.raises(StoreError, match="cannot connect") as caught:
        database.data_version()
    assert "secret" not in str(caught.value)


def test_a_synthetic_file_loaded_into_the_database_stays_labelled_synthetic(database_url, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    assert database.SAMPLE_METADATA_KEYS == (store.METADATA_KEY, store.SYNTHETIC_KEY)
    frame = _households(50, seed=18)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**table.schema.metadata, store.METADATA_KEY: b'{"synthetic": true}'})
    pq.write_table(table, tmp_path / "national.parquet")
    assert _geo("db", "load", str(tmp_path / "national.parquet")).returncode == 0
    shown = source.data_source()
    assert shown.synthetic and store.is_synthetic(shown.path)
    assert _geo("db", "load", str(tmp_path / "national.parquet")).returncode == 2  # the same file again: refused


def test_the_readme_deployment_an_owner_role_migrates_and_an_app_login_imports(postgres_cluster, tmp_path,
                                                                               monkeypatch):
    # README "A database deployment": a superuser makes the owner, the database and PostGIS; the
    # owner (no superuser) runs db init; the app logs in as a member of ppap_app.
    owner, app = f"owner_{uuid.uuid4().hex[:6]}", f"atlas_{uuid.uuid4().hex[:6]}"
    name = f"ppap_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_cluster.url(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {owner} LOGIN CREATEROLE")
        conn.execute(f'CREATE DATABASE "{name}" OWNER {owner}')
    with psycopg.connect(postgres_cluster.url(name), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION postgis")
    init = _geo("db", "init", "--no-boundaries", "--url", postgres_cluster.url(name, owner))
    assert init.returncode == 0, init.stderr
    with psycopg.connect(postgres_cluster.url(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {app} LOGIN IN ROLE ppap_app")
    app_url = postgres_cluster.url(name, app)
    frame = _households(30, seed=19)
    frame.to_csv(tmp_path / "k.csv", index=False)
    env = {database.DATABASE_URL_ENV: app_url, database.SNAPSHOT_DIR_ENV: str(tmp_path / "snap")}
    done = _geo("households", "import", str(tmp_path / "k.csv"), "--no-district-check", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    status = _geo("db", "status", env=env)
    assert status.returncode == 0 and "2024: 30" in status.stdout, status.stdout + status.stderr
    with psycopg.connect(app_url, autocommit=True) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DROP TABLE households")


def test_a_file_holding_a_household_twice_in_a_round_stores_nothing(database_url, tmp_path):
    frame = _households(100, seed=20)
    frame.loc[99, "household_id"] = frame.loc[0, "household_id"]
    frame.to_parquet(tmp_path / "twice.parquet", index=False)
    done = _geo("db", "load", str(tmp_path / "twice.parquet"))
    assert done.returncode == 2 and "twice in one round" in done.stderr
    assert _count(database_url, "SELECT count(*) FROM households") == 0
    assert _count(database_url, "SELECT count(*) FROM imports") == 0
    with pytest.raises(StoreError, match="twice in one round"):
        database.save_households(frame, [_entry("twice.csv", frame)])


def test_a_new_snapshot_is_prepared_before_it_is_shown(database_url):
    from geo.engine.persist import read_index, write_index

    frame = _households(200, seed=21)
    database.save_households(frame, [_entry("p.csv", frame)])
    shown = source.data_source(prepare_snapshot=write_index)
    persisted = read_index(shown.path)  # written in the staging folder, still valid once renamed
    assert persisted is not None and persisted[0].n == 200
    assert source.data_source(prepare_snapshot=lambda _p: pytest.fail("prepared twice")).path == shown.path


# ---------------------------------------------------------------------------------------------
# Boundaries: the database's release, copied once per machine and release
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def installed_boundaries():
    """The installed boundaries' folder (skipped when they are not installed)."""
    from geo.data.paths import boundaries_dir

    if not all((boundaries_dir() / f"{level}.parquet").is_file() for level in ("province", "district", "subdistrict")):
        pytest.skip("boundaries not installed (make test installs them)")
    return boundaries_dir()


def test_boundaries_read_from_the_database_equal_the_installed_ones(database_url, installed_boundaries,
                                                                   print_figure):
    from geo.data.boundaries import load_boundaries

    database.save_boundaries(database_url)
    timings: dict[str, float] = {}
    folder = database.boundaries_snapshot(database_url, timings=timings)
    assert folder is not None and folder.parent == database.boundary_snapshot_dir()
    assert set(timings) == {"province", "district", "subdistrict"}
    print_figure("boundary snapshot read from PostGIS: " + ", ".join(f"{lvl} {s:.2f} s" for lvl, s in timings.items()))
    for level in ("province", "district", "subdistrict"):
        installed = load_boundaries(level, installed_boundaries).sort_values("code").reset_index(drop=True)
        stored = load_boundaries(level, folder)
        assert list(stored.columns) == list(installed.columns)
        for column in ("code", "parent_code", "name_th", "name_en"):
            assert stored[column].tolist() == installed[column].tolist(), (level, column)
        assert stored.crs.to_epsg() == 4326
        metric_in, metric_db = installed.geometry.to_crs(32647), stored.geometry.to_crs(32647)
        np.testing.assert_allclose(metric_db.area.to_numpy(), metric_in.area.to_numpy(), rtol=1e-9, atol=1.0)
        assert (metric_db.symmetric_difference(metric_in, align=False).area < 1.0).all(), level
        assert stored.attrs["tolerance_m"] == installed.attrs["tolerance_m"]  # the manifest came along


def _renamed_district(installed: Path, folder: Path, name_en: str) -> Path:
    """A copy of the installed boundaries in ``folder`` with district 4609 renamed: another release."""
    import shutil

    import geopandas as gpd

    shutil.copytree(installed, folder)
    districts = gpd.read_parquet(folder / "district.parquet")
    districts.loc[districts["code"] == "4609", "name_en"] = name_en
    districts.to_parquet(folder / "district.parquet")
    return folder


def test_a_changed_release_writes_a_new_snapshot_and_the_same_one_is_reused(database_url, installed_boundaries,
                                                                          tmp_path):
    from geo.data.boundaries import load_boundaries

    database.save_boundaries(database_url)
    first = database.boundary_release(database_url)
    folder = database.boundaries_snapshot(database_url, release=first)
    written = folder.joinpath("district.parquet").stat().st_mtime_ns
    # Loading the same boundaries again keeps the release: the copy is reused, not written again.
    database.save_boundaries(database_url)
    assert database.boundary_release(database_url)["key"] == first["key"]
    assert database.boundaries_snapshot(database_url) == folder
    assert folder.joinpath("district.parquet").stat().st_mtime_ns == written

    # A new release (one district renamed) is another folder, written once; the old one stays.
    database.save_boundaries(database_url, _renamed_district(installed_boundaries, tmp_path / "changed", "Renamed"))
    second = database.boundary_release(database_url)
    assert second["key"] != first["key"]
    newer = database.boundaries_snapshot(database_url)  # save_boundaries forgot this process's poll
    assert newer != folder and folder.is_dir()
    renamed = load_boundaries("district", newer)
    assert renamed.loc[renamed["code"] == "4609", "name_en"].item() == "Renamed"
    assert source.boundaries_dir() == newer
    # Another process polls the release at most every RELEASE_POLL_SECONDS: it sees the new one then.
    database.save_boundaries(database_url)  # the installed ones again: the first release's key
    assert database.boundary_release_cached(database_url, max_age=0)["key"] == first["key"]
    assert database.boundaries_snapshot(database_url) == folder


def test_with_the_url_set_the_app_loads_the_database_boundaries(database_url, installed_boundaries, tmp_path,
                                                               monkeypatch):
    from geo.data.paths import boundaries_dir as installed_dir
    from pages import _shared

    # No boundaries in the database (db init --no-boundaries): the installed ones.
    assert database.boundary_release(database_url) is None
    assert source.boundaries_dir() == installed_dir()
    # The database's release differs from the installed files (one district renamed) ...
    database.save_boundaries(database_url, _renamed_district(installed_boundaries, tmp_path / "release",
                                                             "Renamed in the database"))
    shown = source.boundaries_dir()
    assert shown.parent == database.boundary_snapshot_dir() and (shown / "manifest.json").is_file()
    # ... and the pages' loaders (pages/_shared.py) show the database's.
    for frame in (_shared.analysis_boundaries("district")[0], _shared.display_boundaries("district"),
                  _shared.boundaries_by_level()["district"]):
        assert frame.loc[frame["code"] == "4609", "name_en"].item() == "Renamed in the database"
    assert _shared.boundary_manifest()["release_sha256"] == database.boundary_release(database_url)["key"]
    # Without the variable: the installed boundaries again.
    monkeypatch.delenv(database.DATABASE_URL_ENV)
    assert source.boundaries_dir() == installed_dir()
    frame, _ = _shared.analysis_boundaries("district")
    assert frame.loc[frame["code"] == "4609", "name_en"].item() != "Renamed in the database"
    assert "release_sha256" not in _shared.boundary_manifest()


def test_db_boundaries_writes_this_machine_copy_once_and_says_how_long(database_url, installed_boundaries):
    empty = _geo("db", "boundaries")
    assert empty.returncode == 1 and "no boundaries" in empty.stdout
    done = _geo("db", "boundaries", "--load")
    assert done.returncode == 0, done.stderr
    assert "928 district" in done.stdout and "read from the database (province" in done.stdout
    again = _geo("db", "boundaries")
    assert again.returncode == 0 and "written before" in again.stdout
    assert "boundary release" in _geo("db", "status").stdout
