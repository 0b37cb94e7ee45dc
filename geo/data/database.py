"""PostgreSQL 15 + PostGIS 3 as the system of record, when ``$PPAP_DATABASE_URL`` is set.

Without the variable nothing here runs: the store is the Parquet file of :mod:`geo.data.store`.
With it, :mod:`geo.data.store`'s reads and writes of the default store come here, the app shows a
local Parquet **snapshot** of the database (:func:`snapshot`) and the audit log is a table
(:mod:`geo.access.audit_db`). docs/DATA.md "Database" has the schema; docs/SCALE.md how several
app processes share one database.

What the database holds (``geo/data/migrations/*.sql``, applied by :func:`migrate`):

- ``households``: every survey round, key ``(household_id, survey_year)``; ``row_no`` keeps the
  order rows were first stored in (the snapshot's order).
- ``imports`` and ``import_files``: each import batch with its report, and each file's
  provenance entry (``file``, ``content_hash``, ``imported_at``, counts, ``provinces``,
  ``districts``, ``rounds``); a unique index refuses the same file (content hash) twice.
- ``data_version``: one row, raised by every import; app processes poll it.
- ``pilots`` and ``boundaries`` (PostGIS geometry), ``audit_log`` (insert-only for ``ppap_app``).

Imports (:func:`save_households`) are one transaction each: they take the ``data_version`` row
first (so imports land one after the other, none lost), add the files' provenance (the unique
hash index recognises a file imported meanwhile), copy the rows into a temporary table and
upsert them on the key — new keys added, the keys the import carries replaced, nothing else
touched. A process killed before ``COMMIT`` leaves nothing: PostgreSQL rolls the transaction back.

Bulk reads use ADBC (``adbc-driver-postgresql``: ``COPY … TO STDOUT (FORMAT binary)`` straight into
Arrow); writes use psycopg 3's ``COPY … FROM STDIN`` fed by Arrow's CSV writer.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pandas as pd

from geo.data import paths
from geo.data.contract import HOUSEHOLD_COLUMN_NAMES, PILOT_COLUMN_NAMES, conform_households, conform_pilots
from geo.errors import ArgumentError, ArgumentTypeError, StoreError

#: Environment variable holding the database's URL (``postgresql://user@host:port/db``).
DATABASE_URL_ENV = "PPAP_DATABASE_URL"
#: Seconds an app process trusts the data version it read last (:func:`data_version_cached`).
VERSION_POLL_SECONDS = 2.0
#: Where the migrations live: ``NNNN_name.sql``, applied in number order.
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
#: Columns of ``households`` beyond the contract's.
EXTRA_COLUMNS: tuple[str, ...] = ("head_name",)
STORED_COLUMNS: tuple[str, ...] = HOUSEHOLD_COLUMN_NAMES + EXTRA_COLUMNS
#: Snapshots kept besides the newest (a process may still read rows of the one before).
SNAPSHOTS_KEPT = 2
#: Parquet key-values that label a file synthetic (geo.data.store.METADATA_KEY and SYNTHETIC_KEY;
#: not imported from there: the store imports this module).
SAMPLE_METADATA_KEYS: tuple[bytes, ...] = (b"ppap_sample", b"synthetic")
#: Row group size of snapshots and exports (as the national file: a province reads few groups).
ROW_GROUP_SIZE = 250_000
_MIGRATION_LOCK = 7_244_501  # pg_advisory_xact_lock key of `db migrate`
NOTIFY_CHANNEL = "ppap_data"


def database_url(environ: Mapping[str, str] | None = None) -> str | None:
    """``$PPAP_DATABASE_URL`` when set (not empty), else ``None``."""
    environ = os.environ if environ is None else environ
    value = (environ.get(DATABASE_URL_ENV) or "").strip()
    return value or None


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    """True when the database is the system of record (``$PPAP_DATABASE_URL`` is set)."""
    return database_url(environ) is not None


def for_store(store: str | os.PathLike[str] | None) -> bool:
    """True when reads and writes of ``store`` go to the database: it is set, and ``store`` is the
    app's default store (``None`` or :func:`geo.data.paths.store_dir`), not another folder."""
    if not enabled():
        return False
    if store is None:
        return True
    try:
        return Path(store).resolve() == paths.store_dir().resolve()
    except OSError:
        return False


def _redacted(url: str) -> str:
    # user:password@ -> user@ : the password never reaches a message.
    head, sep, tail = url.partition("@")
    if not sep:
        return url
    scheme, _, user = head.rpartition("//")
    return f"{scheme}//{user.split(':')[0]}@{tail}"


def _url(url: str | None) -> str:
    url = url or database_url()
    if not url:
        raise StoreError(f"database: ${DATABASE_URL_ENV} is not set (postgresql://user@host:5432/ppap)")
    return url


def connect(url: str | None = None, *, autocommit: bool = False):
    """A psycopg 3 connection to the database (``$PPAP_DATABASE_URL`` when ``url`` is omitted).

    Raises
    ------
    StoreError
        When the database cannot be reached; the message names it without its password.
    """
    import psycopg

    url = _url(url)
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.Error as exc:
        raise StoreError(f"database {_redacted(url)}: cannot connect: {str(exc).strip()[:300]}") from None


@contextlib.contextmanager
def _errors(what: str) -> Iterator[None]:
    import psycopg

    try:
        yield
    except psycopg.Error as exc:
        raise StoreError(f"database: {what}: {str(exc).strip().splitlines()[0][:300]}") from None


# ---------------------------------------------------------------------------------------------
# Migrations
# ---------------------------------------------------------------------------------------------


def migrations() -> list[tuple[int, str, str]]:
    """``(version, name, sql)`` of every migration file, in order."""
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        found.append((int(path.name[:4]), path.stem, path.read_text(encoding="utf-8")))
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise StoreError(f"database: two migrations share a number in {MIGRATIONS_DIR}")
    return found


def _checksum(sql: str) -> str:
    return hashlib.sha256(sql.encode("utf-8")).hexdigest()


def applied_migrations(conn) -> dict[int, dict]:
    """Version -> ``{"name", "checksum", "applied_at"}`` of the migrations applied; ``{}`` on a new database."""
    exists = conn.execute("SELECT to_regclass('public.schema_migrations') IS NOT NULL").fetchone()[0]
    if not exists:
        return {}
    rows = conn.execute("SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version")
    return {int(v): {"name": n, "checksum": c, "applied_at": a.isoformat()} for v, n, c, a in rows.fetchall()}


def migrate(url: str | None = None) -> list[str]:
    """Apply the migrations not yet applied, each in its own transaction; return their names.

    Two processes migrating at once take turns (an advisory lock). An applied migration whose
    file changed since is an error: migrations are never edited, a new one is added.

    Raises
    ------
    StoreError
        When the database cannot be reached, a migration fails (it is rolled back) or an applied
        migration's file changed.
    """
    done: list[str] = []
    with connect(url) as conn, _errors("migrate"):
        with conn.transaction():  # under the lock: two CREATE … IF NOT EXISTS at once can collide
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                         "name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        for version, name, sql in migrations():
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                applied = applied_migrations(conn)
                if version in applied:
                    if applied[version]["checksum"] != _checksum(sql):
                        raise StoreError(f"database: migration {name} was changed after it was applied; "
                                         "add a new migration instead")
                    continue
                conn.execute(sql)
                conn.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                             (version, name, _checksum(sql)))
                done.append(name)
    return done


def status(url: str | None = None) -> dict:
    """What is in the database: migrations applied and pending, data version, rows per round,
    imports, pilots, boundaries, audit records."""
    with connect(url) as conn, _errors("status"):
        applied = applied_migrations(conn)
        pending = [name for version, name, _ in migrations() if version not in applied]
        out = {"url": _redacted(_url(url)), "migrations": [a["name"] for a in applied.values()], "pending": pending}
        if pending and not applied:
            return out
        out["server"] = conn.execute("SHOW server_version").fetchone()[0]
        out["postgis"] = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'").fetchone()[0]
        out["data_version"] = int(conn.execute("SELECT version FROM data_version").fetchone()[0])
        rounds = conn.execute("SELECT survey_year, count(*) FROM households GROUP BY 1 ORDER BY 1").fetchall()
        out["households"] = {int(y): int(n) for y, n in rounds}
        out["imports"] = int(conn.execute("SELECT count(*) FROM imports").fetchone()[0])
        out["pilots"] = int(conn.execute("SELECT count(*) FROM pilots").fetchone()[0])
        out["boundaries"] = {lvl: int(n) for lvl, n in
                             conn.execute("SELECT level, count(*) FROM boundaries GROUP BY 1 ORDER BY 1").fetchall()}
        release = _release(conn.execute(_RELEASE_SQL).fetchone())
        out["boundary_release"] = ({"key": release["key"][:16], "loaded_at": release["loaded_at"]}
                                   if release else None)
        tail = conn.execute("SELECT seq FROM ppap_audit_tail()").fetchone()
        out["audit_records"] = int(tail[0]) if tail and tail[0] is not None else 0
    return out


# ---------------------------------------------------------------------------------------------
# Imports
# ---------------------------------------------------------------------------------------------


def _csv_bytes(frame: pd.DataFrame, columns: tuple[str, ...]) -> Iterator[bytes]:
    """``frame``'s ``columns`` as CSV without a header, in chunks, for ``COPY … (FORMAT csv)``:
    a missing value is an unquoted empty field (NULL), text is always quoted."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pa.Table.from_pandas(frame.loc[:, list(columns)], preserve_index=False)
    sink = io.BytesIO()
    options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
    for start in range(0, max(table.num_rows, 1), ROW_GROUP_SIZE):
        sink.seek(0)
        sink.truncate()
        pacsv.write_csv(table.slice(start, ROW_GROUP_SIZE), sink, options)
        yield sink.getvalue()


def _rows_frame(households: pd.DataFrame) -> pd.DataFrame:
    """The stored columns of ``households``, conformed to the contract; extras absent are empty."""
    out = conform_households(households)
    for column in EXTRA_COLUMNS:
        out[column] = (households[column].astype("string").reset_index(drop=True) if column in households.columns
                       else pd.Series(pd.NA, index=out.index, dtype="string"))
    return out


def _entries_with_rounds(households: pd.DataFrame, entries: list[dict]) -> list[dict]:
    """Entries with the ``provinces``, ``districts`` and ``rounds`` of each file's accepted rows.

    An import's accepted rows come file by file, in the entries' order, ``accepted`` rows each
    (as :func:`geo.data.store.entries_with_areas` splits them); when the counts do not add up,
    every entry gets those of the whole import.
    """
    columns = {"provinces": households["province_code"].astype("string").fillna("").to_numpy(dtype=object),
               "districts": households["district_code"].astype("string").fillna("").to_numpy(dtype=object),
               "rounds": households["survey_year"].to_numpy(dtype=object)}
    counts = [e.get("accepted") for e in entries]
    split = all(isinstance(c, int) and c >= 0 for c in counts) and sum(counts) == len(households)
    out, start = [], 0
    for entry, count in zip(entries, counts):
        part = slice(start, start + count) if split else slice(None)
        start += count if split else 0
        areas = {name: sorted({str(v) for v in values[part] if v}) for name, values in columns.items()
                 if name != "rounds"}
        rounds = sorted({int(y) for y in columns["rounds"][part] if not pd.isna(y)})
        out.append({**entry, **areas, "rounds": rounds})
    return out


#: The store's import modes (geo.data.store.MODES) and the earlier names still read: ``append`` is
#: ``upsert``, ``replace`` is ``replace_all``.
IMPORT_MODES: dict[str, str] = {"upsert": "upsert", "replace_all": "replace_all",
                                "append": "upsert", "replace": "replace_all"}


def _import_mode(mode: str) -> str:
    if mode not in IMPORT_MODES:
        raise ArgumentError(f"mode must be 'upsert' or 'replace_all', got {mode!r}")
    return IMPORT_MODES[mode]


def save_households(households: pd.DataFrame, entries: list[dict], *, mode: str = "upsert",
                    report: dict | None = None, url: str | None = None) -> int:
    """Store an import in one transaction; return the new data version.

    ``upsert`` (the default; ``append`` is read as it) upserts on ``(household_id, survey_year)``: keys
    new to the database are added, keys it carries replace their stored rows, nothing else is touched.
    ``replace_all`` (``replace``) deletes every stored household first (and ends the earlier files' "already imported").

    Parameters
    ----------
    households : pandas.DataFrame
        Accepted rows in the data contract (``head_name`` when kept on purpose).
    entries : list of dict
        One provenance entry per file (``file``, ``content_hash``, ``imported_at``, counts).
    report : dict, optional
        The import's report (:meth:`geo.ingest.pipeline.ImportResult.report`), kept with the batch.

    Raises
    ------
    StoreError
        When a file was imported meanwhile (same content hash), or the database fails; nothing
        of the import is stored then.
    """
    mode = _import_mode(mode)
    if not isinstance(households, pd.DataFrame):
        raise ArgumentTypeError(f"households must be a DataFrame, got {type(households).__name__}")
    rows = _rows_frame(households)
    if rows.duplicated(["household_id", "survey_year"]).any():
        raise StoreError("database: the import holds a household twice in one round")
    entries = _entries_with_rounds(rows, [dict(e) for e in entries])
    return _store([rows], entries, mode=mode, accepted=len(rows), report=report, url=url)


def _store(batches, entries: list[dict], *, mode: str, accepted: int, report: dict | None, url: str | None) -> int:
    """The import transaction of :func:`save_households`: ``batches`` are frames of stored columns,
    ``entries`` the provenance entries with their areas and rounds."""
    import psycopg

    imported_at = entries[0].get("imported_at") if entries else None
    columns = ", ".join(STORED_COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in STORED_COLUMNS if c not in ("household_id", "survey_year"))
    with connect(url) as conn:
        try:
            with conn.transaction():
                # The data version row is the imports' turn: the second import waits here.
                version = conn.execute("UPDATE data_version SET version = version + 1, changed_at = now() "
                                       "RETURNING version").fetchone()[0]
                if mode == "replace_all":
                    conn.execute("UPDATE import_files SET current = false WHERE current")
                    conn.execute("DELETE FROM households")
                import_id = conn.execute(
                    "INSERT INTO imports (imported_at, mode, data_version, rows_in, accepted, report) "
                    "VALUES (coalesce(%s::timestamptz, now()), %s, %s, %s, %s, %s) RETURNING import_id",
                    (imported_at, mode, version, sum(int(e.get("rows_in") or 0) for e in entries), accepted,
                     psycopg.types.json.Jsonb(report) if report is not None else None),
                ).fetchone()[0]
                for position, entry in enumerate(entries):
                    conn.execute("INSERT INTO import_files (import_id, position, file, content_hash, entry) "
                                 "VALUES (%s, %s, %s, %s, %s)",
                                 (import_id, position, str(entry.get("file", "")), str(entry.get("content_hash", "")),
                                  psycopg.types.json.Jsonb(entry)))
                conn.execute("CREATE TEMPORARY TABLE incoming (LIKE households) ON COMMIT DROP")
                conn.execute("ALTER TABLE incoming DROP COLUMN row_no, DROP COLUMN import_id, "
                             "ADD COLUMN ord bigint GENERATED ALWAYS AS IDENTITY")
                with conn.cursor().copy(f"COPY incoming ({columns}) FROM STDIN (FORMAT csv)") as copy:
                    for rows in batches:
                        for chunk in _csv_bytes(rows, STORED_COLUMNS):
                            copy.write(chunk)
                conn.execute(f"INSERT INTO households ({columns}, import_id) SELECT {columns}, %s FROM incoming "
                             f"ORDER BY ord ON CONFLICT (household_id, survey_year) DO UPDATE SET {updates}, "
                             "import_id = EXCLUDED.import_id", (import_id,))
                conn.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, str(version)))
        except psycopg.errors.UniqueViolation as exc:
            if "import_files_current_hash" in str(exc):
                files = ", ".join(str(e.get("file")) for e in entries)
                raise StoreError(f"store: {files} was imported meanwhile (same content); nothing was stored") from None
            raise StoreError(f"database: import refused: {str(exc).strip().splitlines()[0][:300]}") from None
        except psycopg.errors.CardinalityViolation:
            raise StoreError("database: the import holds a household twice in one round; nothing was stored") from None
        except psycopg.Error as exc:
            raise StoreError(f"database: import failed, nothing was stored: "
                             f"{str(exc).strip().splitlines()[0][:300]}") from None
    _forget_version(url)  # this process shows its own import at once
    return int(version)


def load_parquet(path: str | os.PathLike[str], *, mode: str = "upsert", url: str | None = None) -> int:
    """Store a contract Parquet file (``db export``'s, or ``python -m geo national``'s) as one import
    batch, without the row checks of ``households import`` (the file is trusted to be in the
    contract); refused when the same file was imported. Returns the new data version.

    Streamed: the file is read and copied a row group at a time (13M households do not need 13M
    rows in memory); the whole load is still one transaction.
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    mode = _import_mode(mode)
    path = Path(path)
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
        parquet = pq.ParquetFile(path)
        keys = parquet.read(columns=["province_code", "district_code", "survey_year"])
    except (OSError, ValueError, KeyError) as exc:
        raise StoreError(f"database: cannot read {path}: {exc}") from None
    schema_metadata = parquet.schema_arrow.metadata or {}
    sample = {k.decode(): v.decode("utf-8") for k, v in schema_metadata.items() if k in SAMPLE_METADATA_KEYS}
    count = parquet.metadata.num_rows
    entry = {"file": path.name, "content_hash": "sha256:" + digest.hexdigest(),
             "imported_at": pd.Timestamp.now(tz="UTC").isoformat(), "mode": mode, "format": "parquet",
             "rows_in": count, "accepted": count, "warnings": 0, "rejected": 0,
             "provinces": sorted(str(v) for v in pc.unique(keys.column("province_code")).drop_null().to_pylist()),
             "districts": sorted(str(v) for v in pc.unique(keys.column("district_code")).drop_null().to_pylist()),
             "rounds": sorted(int(v) for v in pc.unique(keys.column("survey_year")).drop_null().to_pylist())}
    if sample:  # a synthetic file stays labelled so in the snapshots and exports
        entry["sample_metadata"] = sample
    del keys

    def batches():
        try:
            for batch in parquet.iter_batches(batch_size=ROW_GROUP_SIZE):
                yield _rows_frame(batch.to_pandas())
        except (OSError, ValueError) as exc:
            raise StoreError(f"database: cannot read {path}: {exc}") from None

    return _store(batches(), [entry], mode=mode, accepted=count, report=None, url=url)


# ---------------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------------


def data_version(url: str | None = None) -> int:
    """The database's data version (raised by every import)."""
    with connect(url, autocommit=True) as conn, _errors("read the data version"):
        return int(conn.execute("SELECT version FROM data_version").fetchone()[0])


_version_lock = threading.Lock()
_version_seen: dict[str, tuple[float, int]] = {}


def _forget_version(url: str | None) -> None:
    with _version_lock:
        _version_seen.pop(_url(url), None)


def data_version_cached(url: str | None = None, *, max_age: float = VERSION_POLL_SECONDS) -> int:
    """:func:`data_version`, read at most once per ``max_age`` seconds per process: another
    process's import is seen within that time, and a page rerun costs no database round trip."""
    return _polled(_version_seen, data_version, url, max_age)


def _polled(seen_by_url: dict, read, url: str | None, max_age: float):
    """``read(url)``, or what it gave less than ``max_age`` seconds ago in this process."""
    url = _url(url)
    with _version_lock:
        seen = seen_by_url.get(url)
        if seen is not None and time.monotonic() - seen[0] < max_age:
            return seen[1]
    value = read(url)
    with _version_lock:
        seen_by_url[url] = (time.monotonic(), value)
    return value


def read_households_arrow(url: str | None = None, *, columns: tuple[str, ...] = STORED_COLUMNS,
                          where: str = ""):
    """Every stored household (all rounds) as a ``pyarrow.Table`` in ``row_no`` order, read with
    ADBC (one ``COPY … TO STDOUT (FORMAT binary)`` into Arrow). Also returns the data version
    read in the same snapshot: ``(table, version)``."""
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow.compute as pc

    url = _url(url)
    select = ", ".join(columns)
    try:
        with adbc.connect(url, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cur.execute("SELECT version FROM data_version")
            version = int(cur.fetchone()[0])
            cur.execute(f"SELECT {select}, row_no FROM households {where}")
            table = cur.fetch_arrow_table()
            cur.execute("COMMIT")
    except Exception as exc:  # noqa: BLE001 - ADBC raises its own error classes (adbc_driver_manager.Error)
        raise StoreError(f"database {_redacted(url)}: cannot read households: {str(exc).strip()[:300]}") from None
    order = pc.sort_indices(table.column("row_no"))
    return table.take(order).drop_columns(["row_no"]), version


def load_households(url: str | None = None) -> pd.DataFrame:
    """Every stored household (all rounds) in the contract's columns and dtypes (``head_name`` when
    any row kept one)."""
    table, _ = read_households_arrow(url)
    frame = table.to_pandas()
    out = conform_households(frame)
    if "head_name" in frame.columns and frame["head_name"].notna().any():
        out["head_name"] = frame["head_name"].astype("string").reset_index(drop=True)
    return out


def stored_keys(url: str | None = None) -> set[tuple[str, int]]:
    """The ``(household_id, survey_year)`` pairs in the database."""
    table, _ = read_households_arrow(url, columns=("household_id", "survey_year"))
    return set(zip(table.column("household_id").to_pylist(), table.column("survey_year").to_pylist()))


def load_provenance(url: str | None = None) -> list[dict]:
    """Every file ever imported, oldest first: the provenance entries of :mod:`geo.data.store`."""
    with connect(url, autocommit=True) as conn, _errors("read the imports"):
        rows = conn.execute("SELECT entry FROM import_files ORDER BY import_id, position").fetchall()
    return [dict(r[0]) for r in rows]


def imported_hashes(url: str | None = None) -> dict[str, dict]:
    """Content hash -> provenance entry of the files whose rows are in the database now."""
    with connect(url, autocommit=True) as conn, _errors("read the imports"):
        rows = conn.execute("SELECT content_hash, entry FROM import_files WHERE current ORDER BY import_id").fetchall()
    return {h: dict(e) for h, e in rows}


def import_report(import_id: int, url: str | None = None) -> dict | None:
    """The report kept with import batch ``import_id`` (``None`` when it has none)."""
    with connect(url, autocommit=True) as conn, _errors("read an import"):
        row = conn.execute("SELECT report FROM imports WHERE import_id = %s", (import_id,)).fetchone()
    return dict(row[0]) if row and row[0] is not None else None


# ---------------------------------------------------------------------------------------------
# Pilots and boundaries
# ---------------------------------------------------------------------------------------------


def save_pilots(pilots: pd.DataFrame, url: str | None = None) -> int:
    """Replace the pilot sites with ``pilots`` (contract pilot columns); raise the data version."""
    frame = conform_pilots(pilots)
    columns = ", ".join(PILOT_COLUMN_NAMES)
    with connect(url) as conn, _errors("store the pilots"), conn.transaction():
        version = conn.execute("UPDATE data_version SET version = version + 1, changed_at = now() "
                               "RETURNING version").fetchone()[0]
        conn.execute("DELETE FROM pilots")
        with conn.cursor().copy(f"COPY pilots ({columns}) FROM STDIN (FORMAT csv)") as copy:
            for chunk in _csv_bytes(frame, PILOT_COLUMN_NAMES):
                copy.write(chunk)
        conn.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, str(version)))
    _forget_version(url)
    return int(version)


def load_pilots(url: str | None = None) -> pd.DataFrame:
    """The pilot sites in the database (contract pilot columns; no rows when there are none)."""
    with connect(url, autocommit=True) as conn, _errors("read the pilots"):
        cur = conn.execute(f"SELECT {', '.join(PILOT_COLUMN_NAMES)} FROM pilots ORDER BY pilot_id")
        frame = pd.DataFrame(cur.fetchall(), columns=list(PILOT_COLUMN_NAMES))
    return conform_pilots(frame)


def save_boundaries(url: str | None = None, directory: Path | None = None) -> dict[str, int]:
    """Load the installed boundaries (:mod:`geo.data.boundaries`) into PostGIS, replacing what was
    there, with the release's manifest; return the areas stored per level.

    The stored manifest is the installed ``manifest.json`` plus ``release_sha256``: the SHA-256 of
    that manifest and the rows stored (level, code, names, parent, geometry as WKB), the release key of the app
    processes' boundary snapshots (:func:`boundaries_snapshot`). Loading the same boundaries again
    keeps the key, so no process writes its snapshot again.

    Parameters
    ----------
    directory : pathlib.Path, optional
        Installed boundaries to load; default :func:`geo.data.paths.boundaries_dir`.
    """
    import shapely
    from geo.data.boundaries import LEVELS, load_boundaries

    directory = Path(directory) if directory is not None else paths.boundaries_dir()
    counts: dict[str, int] = {}
    manifest_file = directory / "manifest.json"
    manifest = json.loads(manifest_file.read_text(encoding="utf-8")) if manifest_file.is_file() else {}
    frames = {level: load_boundaries(level, directory) for level in LEVELS}
    digest = hashlib.sha256(json.dumps(manifest, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    with connect(url) as conn, _errors("store the boundaries"), conn.transaction():
        conn.execute("DELETE FROM boundaries")
        for level, frame in frames.items():
            shapes = shapely.force_2d(frame.geometry.to_crs(4326).values)
            shapes = [shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g for g in shapes]
            geoms = shapely.to_wkb(shapely.set_srid(shapes, 4326), hex=True, include_srid=True)
            parents = frame["parent_code"] if "parent_code" in frame.columns else [None] * len(frame)
            with conn.cursor().copy("COPY boundaries (level, code, name_th, name_en, parent, geom) FROM STDIN") as copy:
                for row in zip(frame["code"].astype(str), frame["name_th"], frame["name_en"], parents, geoms):
                    values = (level, *(None if pd.isna(v) else v for v in row))
                    digest.update(json.dumps(values, ensure_ascii=False).encode("utf-8"))
                    copy.write_row(values)
            counts[level] = len(frame)
        manifest = {**manifest, "release_sha256": digest.hexdigest()}
        conn.execute("INSERT INTO boundary_release (id, manifest) VALUES (true, %s) ON CONFLICT (id) DO UPDATE "
                     "SET manifest = EXCLUDED.manifest, loaded_at = now()", (json.dumps(manifest),))
    _forget_release(url)
    return counts


#: Seconds an app process trusts the boundary release it read last (:func:`boundary_release_cached`):
#: a new release (``db init`` after ``boundaries install``) is rare, a page rerun frequent.
RELEASE_POLL_SECONDS = 30.0
#: Boundary copies kept per machine, the newest included (a process may still show the one before).
BOUNDARY_SNAPSHOTS_KEPT = 2


#: The release row and its key: the manifest's ``release_sha256``, else (boundaries loaded before
#: it was recorded) the SHA-256 of the stored manifest and its load time.
_RELEASE_SQL = ("SELECT manifest::text, loaded_at::text, coalesce(manifest->>'release_sha256', "
                "encode(sha256(convert_to(manifest::text || loaded_at::text, 'UTF8')), 'hex')), "
                "EXISTS (SELECT 1 FROM boundaries) FROM boundary_release")


def _release(row) -> dict | None:
    if row is None or not row[3]:
        return None
    return {"key": str(row[2]), "manifest": json.loads(row[0]), "loaded_at": str(row[1])}


def boundary_release(url: str | None = None) -> dict | None:
    """The boundary release in the database: ``{"key", "manifest", "loaded_at"}``, ``None`` when no
    boundaries were loaded (``db init --no-boundaries``).

    ``key`` is the manifest's ``release_sha256`` (:func:`save_boundaries`); for boundaries loaded
    before it was recorded, the SHA-256 of the stored manifest and its load time.
    """
    with connect(url, autocommit=True) as conn, _errors("read the boundary release"):
        return _release(conn.execute(_RELEASE_SQL).fetchone())


_release_seen: dict[str, tuple[float, dict | None]] = {}


def _forget_release(url: str | None) -> None:
    with _version_lock:
        _release_seen.pop(_url(url), None)


def boundary_release_cached(url: str | None = None, *, max_age: float = RELEASE_POLL_SECONDS) -> dict | None:
    """:func:`boundary_release`, read at most once per ``max_age`` seconds per process."""
    return _polled(_release_seen, boundary_release, url, max_age)


def read_boundaries(url: str | None = None, *, timings: dict[str, float] | None = None):
    """Every boundary level in the database, read with ADBC in one repeatable-read snapshot.

    Returns ``(frames, release)``: ``{level: GeoDataFrame}`` in the installed files' shape
    (``code``, ``parent_code``, ``name_th``, ``name_en``, ``geometry`` in EPSG:4326, sorted by
    ``code``; a one-part MultiPolygon is given back as its Polygon) for the levels the database
    holds, and the release read with them (:func:`boundary_release`'s dict; ``None`` when no
    boundaries are stored). ``timings``, when given, receives the seconds each level took.

    Raises
    ------
    StoreError
        When the database cannot be read.
    """
    import adbc_driver_postgresql.dbapi as adbc
    import geopandas as gpd
    import numpy as np
    import shapely
    from geo.data.boundaries import LEVELS

    url = _url(url)
    frames = {}
    try:
        with adbc.connect(url, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cur.execute(_RELEASE_SQL)
            release = _release(cur.fetchone())
            for level in LEVELS:  # constants, not user text
                started = time.perf_counter()
                cur.execute("SELECT code, parent, name_th, name_en, ST_AsBinary(geom) AS wkb FROM boundaries "
                            f"WHERE level = '{level}' ORDER BY code")
                table = cur.fetch_arrow_table()
                if table.num_rows:
                    shapes = shapely.from_wkb(np.asarray(table.column("wkb").to_pylist(), dtype=object))
                    single = shapely.get_num_geometries(shapes) == 1
                    shapes[single] = shapely.get_geometry(shapes[single], 0)
                    frame = pd.DataFrame({name: table.column(column).to_pandas().astype("string")
                                          for name, column in (("code", "code"), ("parent_code", "parent"),
                                                               ("name_th", "name_th"), ("name_en", "name_en"))})
                    frames[level] = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(shapes, crs=4326))
                if timings is not None:
                    timings[level] = time.perf_counter() - started
            cur.execute("COMMIT")
    except Exception as exc:  # noqa: BLE001 - ADBC raises its own error classes (adbc_driver_manager.Error)
        raise StoreError(f"database {_redacted(url)}: cannot read the boundaries: {str(exc).strip()[:300]}") from None
    return frames, (release if frames else None)


def boundary_snapshot_dir(directory: Path | None = None) -> Path:
    """Where a machine keeps its boundary snapshots: ``<snapshot dir>/boundaries``
    (:func:`snapshot_dir`, ``$PPAP_DB_SNAPSHOT_DIR``)."""
    return (directory or snapshot_dir()) / "boundaries"


def boundaries_snapshot(url: str | None = None, *, directory: Path | None = None,
                        release: dict | None = None, timings: dict[str, float] | None = None) -> Path | None:
    """The folder holding this machine's copy of the database's boundaries, written once per
    boundary release; ``None`` when the database holds no boundaries.

    ``<boundary snapshot dir>/r<key>/`` holds ``province.parquet``, ``district.parquet``,
    ``subdistrict.parquet`` and ``manifest.json`` as ``python -m geo boundaries install`` writes
    them (:func:`read_boundaries`), so :func:`geo.data.boundaries.load_boundaries` and the app's
    caches, keyed on the files, work unchanged. The release (:func:`boundary_release_cached`,
    polled at most every :data:`RELEASE_POLL_SECONDS`) names the folder: a new release is
    written once, then every process on the machine reuses it. Processes share the folders; one
    writes while the others wait (a file lock). Releases beyond :data:`BOUNDARY_SNAPSHOTS_KEPT`
    are deleted.

    Parameters
    ----------
    directory : pathlib.Path, optional
        The boundary snapshots' folder; default :func:`boundary_snapshot_dir`.
    release : dict, optional
        The release to show (:func:`boundary_release`); polled when omitted.
    timings : dict, optional
        Receives the seconds each level's read took when this call writes the snapshot.

    Raises
    ------
    StoreError
        When the database cannot be read or the snapshot cannot be written.
    """
    directory = Path(directory) if directory is not None else boundary_snapshot_dir()
    release = boundary_release_cached(url) if release is None else release
    if release is None:
        return None
    target = directory / f"r{release['key'][:16]}"
    if (target / "manifest.json").is_file():
        return target
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / ".lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            if (target / "manifest.json").is_file():
                return target
            frames, read = read_boundaries(url, timings=timings)
            if read is None:
                return None
            target = directory / f"r{read['key'][:16]}"  # the release read (another may have landed since the poll)
            if (target / "manifest.json").is_file():
                return target
            staging = directory / f".staging-{os.getpid()}"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            try:
                for level, frame in frames.items():
                    frame.to_parquet(staging / f"{level}.parquet", index=False)
                manifest = {**read["manifest"], "database_loaded_at": read["loaded_at"]}
                # Written last: a folder with its manifest is complete.
                (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1),
                                                       encoding="utf-8")
                shutil.rmtree(target, ignore_errors=True)  # a folder left half-made by a killed process
                os.replace(staging, target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            _prune_releases(directory, keep=target)
    except OSError as exc:
        raise StoreError(f"database: cannot write the boundary snapshot in {directory}: {exc}") from None
    return target


def _prune_releases(directory: Path, keep: Path) -> None:
    releases = sorted((p for p in directory.glob("r*") if p.is_dir() and p != keep), key=lambda p: p.stat().st_mtime)
    for old in releases[:max(0, len(releases) - (BOUNDARY_SNAPSHOTS_KEPT - 1))]:
        shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Export and snapshots
# ---------------------------------------------------------------------------------------------


def _contract_table(table, *, head_name: bool | None = None):
    """An Arrow ``table`` read from the database in the contract's columns and dtypes (as
    :func:`geo.data.store.load_households` returns them); ``head_name`` kept when ``head_name``
    (``None``: when any row has one)."""
    import pyarrow as pa

    frame = table.to_pandas()
    out = conform_households(frame)
    keep = frame["head_name"].notna().any() if head_name is None and "head_name" in frame.columns else head_name
    if keep:
        out["head_name"] = frame["head_name"].astype("string").reset_index(drop=True)
    return pa.Table.from_pandas(out, preserve_index=False)


def write_households_parquet(path: Path, url: str | None = None, *, metadata: bool = True) -> tuple[int, int]:
    """Write every stored household (all rounds, ``row_no`` order, contract dtypes) to ``path`` as
    Parquet in row groups of :data:`ROW_GROUP_SIZE`, streamed: ADBC's record batches are conformed
    and written a row group at a time, so memory holds one row group, not the table. The file
    appears whole or not at all (written under another name, then renamed). Returns ``(rows,
    data version)``, both read in one repeatable-read snapshot of the database."""
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow as pa
    import pyarrow.parquet as pq

    url = _url(url)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    rows = 0
    writer = None
    try:
        with adbc.connect(url, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cur.execute("SELECT version FROM data_version")
            version = int(cur.fetchone()[0])
            cur.execute("SELECT EXISTS (SELECT 1 FROM households WHERE head_name IS NOT NULL)")
            head_name = bool(cur.fetchone()[0])
            extra = _file_metadata(version, url) if metadata else {}
            cur.execute(f"SELECT {', '.join(STORED_COLUMNS)} FROM households ORDER BY row_no")
            reader = cur.fetch_record_batch()
            pending: list = []
            pending_rows = 0

            def flush() -> None:
                nonlocal writer, rows, pending, pending_rows
                table = _contract_table(pa.Table.from_batches(pending, schema=reader.schema), head_name=head_name)
                if writer is None:
                    schema = table.schema.with_metadata({**(table.schema.metadata or {}), **extra})
                    writer = pq.ParquetWriter(tmp, schema)
                writer.write_table(table.cast(writer.schema), row_group_size=ROW_GROUP_SIZE)
                rows += table.num_rows
                pending, pending_rows = [], 0

            for batch in reader:
                pending.append(batch)
                pending_rows += batch.num_rows
                if pending_rows >= ROW_GROUP_SIZE:
                    flush()
            if pending or writer is None:
                flush()
            cur.execute("COMMIT")
        writer.close()
        writer = None
        os.replace(tmp, path)
    except BaseException as exc:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise StoreError(f"database: cannot write {path}: {exc}") from None
        if isinstance(exc, Exception) and type(exc).__module__.startswith("adbc_driver"):
            raise StoreError(f"database {_redacted(url)}: cannot read households: {str(exc).strip()[:300]}") from None
        raise
    return rows, version


def sample_metadata(url: str | None = None) -> dict[str, str]:
    """The sample metadata (Parquet key-values :data:`SAMPLE_METADATA_KEYS`) of a synthetic file
    among the current imports (``db load`` of a synthetic file), else ``{}``: data partly
    synthetic is labelled synthetic."""
    with connect(url, autocommit=True) as conn, _errors("read the imports"):
        row = conn.execute("SELECT entry->'sample_metadata' FROM import_files WHERE current "
                           "AND entry ? 'sample_metadata' ORDER BY import_id LIMIT 1").fetchone()
    return {str(k): str(v) for k, v in row[0].items()} if row and isinstance(row[0], dict) else {}


def _file_metadata(version: int, url: str | None) -> dict[bytes, bytes]:
    out = {b"ppap_data_version": str(version).encode()}
    out.update({k.encode(): v.encode("utf-8") for k, v in sample_metadata(url).items()})
    return out


def export(path: str | os.PathLike[str], url: str | None = None) -> dict:
    """Write every stored household (all rounds) to ``path`` as the contract's Parquet file, with
    ``pilots.csv`` beside it when the database has pilot sites: a deployment can go back to the
    embedded store by copying them into ``data/store/`` (docs/DATA.md "Database").

    Returns ``{"path", "rows", "data_version", "pilots"}``.
    """
    path = Path(path)
    if path.suffix.lower() != ".parquet":
        raise ArgumentError(f"the export is a .parquet file, got {path.name!r}")
    pilots = load_pilots(url)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        rows, version = write_households_parquet(path, url)
        if len(pilots):
            pilots.to_csv(path.with_name("pilots.csv"), index=False)
    except OSError as exc:
        raise StoreError(f"database: cannot write {path}: {exc}") from None
    return {"path": str(path), "rows": rows, "data_version": version, "pilots": len(pilots)}


#: Environment variable moving the snapshots (a fast local disk; one folder per machine).
SNAPSHOT_DIR_ENV = "PPAP_DB_SNAPSHOT_DIR"


def snapshot_dir() -> Path:
    """Where app processes keep their snapshots of the database: ``$PPAP_DB_SNAPSHOT_DIR``, else
    ``<data>/db-snapshot``."""
    override = os.environ.get(SNAPSHOT_DIR_ENV)
    return Path(override).resolve() if override else paths.data_dir() / "db-snapshot"


def snapshot_path(version: int, directory: Path | None = None) -> Path:
    return (directory or snapshot_dir()) / f"v{int(version):012d}" / "households.parquet"


def snapshot(url: str | None = None, *, directory: Path | None = None, version: int | None = None,
             prepare: Callable[[Path], object] | None = None) -> Path | None:
    """The local Parquet snapshot of the database at its current data version (written when missing);
    ``None`` when the database holds no households.

    ``<snapshot dir>/v<version>/households.parquet`` holds every round in ``row_no`` order, with
    ``pilots.csv`` beside it when the database has pilots. The app's index pipeline and caches
    key on the file, so they work unchanged. Processes on one machine share the snapshots; one
    writes a version while the others wait for it (a file lock). Older snapshots beyond
    :data:`SNAPSHOTS_KEPT` are deleted.

    ``prepare(households_path)`` runs on a new snapshot before it is put in place, under the lock:
    the app passes the engine's persisted index (:func:`geo.engine.persist.write_index`, a layer
    this module may not import), so every process maps one index instead of indexing every row.
    """
    directory = directory or snapshot_dir()
    version = data_version_cached(url) if version is None else version
    target = snapshot_path(version, directory)
    if target.is_file():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        if target.is_file():
            return target
        # Written first under a name of its own, then renamed to the version it read (an import may
        # have landed since the version was polled).
        staging = directory / f".staging-{os.getpid()}"
        staging.mkdir(parents=True, exist_ok=True)
        try:
            rows, read_version = write_households_parquet(staging / "households.parquet", url)
            target = snapshot_path(read_version, directory)
            if target.is_file():
                return target
            if rows == 0:
                return None
            pilots = load_pilots(url)
            if len(pilots):
                pilots.to_csv(staging / "pilots.csv", index=False)
            if prepare is not None:
                prepare(staging / "households.parquet")
            target.parent.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(target.parent, ignore_errors=True)  # a version folder left half-made by a killed process
            os.replace(staging, target.parent)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        _prune(directory, keep=target.parent)
    return target


def _prune(directory: Path, keep: Path) -> None:
    versions = sorted(p for p in directory.glob("v*") if p.is_dir() and p != keep)
    for old in versions[:max(0, len(versions) - (SNAPSHOTS_KEPT - 1))]:
        shutil.rmtree(old, ignore_errors=True)
