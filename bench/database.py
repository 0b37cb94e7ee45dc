"""``python -m bench database [--data FILE] [--json]``: the app's data from PostgreSQL at scale.

Loads a contract Parquet file (default the national data, ``python -m geo national``) into a
database — ``$PPAP_DATABASE_URL`` when set, else a throwaway PostgreSQL 15 + PostGIS cluster in a
temporary folder (tests/support/postgres.py) — and measures, against reading the file itself:

- the load (``python -m geo db load``: one transaction, COPY into a temporary table, upsert);
- the bulk read of every household two ways: ADBC (``COPY … TO STDOUT (FORMAT binary)`` into
  Arrow, what :mod:`geo.data.database` uses) and psycopg 3 ``COPY … TO STDOUT (FORMAT csv)``
  parsed by Arrow's CSV reader;
- the snapshot an app process writes for a new data version (:func:`geo.data.database.snapshot`);
- the index build from the snapshot (read the latest round + :func:`geo.engine.aggregate.index_households`)
  and from the original file, and the persisted index (:func:`geo.engine.persist.write_index`).

Peak memory of this process is printed; run it with ``nice`` on a shared machine.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(figures: dict, name: str, func, progress):
    started = time.perf_counter()
    result = func()
    figures[name] = round(time.perf_counter() - started, 2)
    progress(f"{name}: {figures[name]:.2f} s (peak {_peak_rss_mb():,.0f} MB)")
    return result


def _copy_csv(url: str):
    import psycopg
    import pyarrow.csv as pacsv

    from geo.data.database import STORED_COLUMNS

    buffer = io.BytesIO()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY (SELECT {', '.join(STORED_COLUMNS)} FROM households) TO STDOUT (FORMAT csv)") as copy:
            for chunk in copy:
                buffer.write(chunk)
    buffer.seek(0)
    return pacsv.read_csv(buffer, read_options=pacsv.ReadOptions(column_names=list(STORED_COLUMNS)))


def run_bench(data: Path, url: str | None, progress) -> dict:
    from geo.data import database, source
    from geo.engine.aggregate import index_households
    from geo.engine.persist import write_index

    figures: dict = {"households_file": str(data)}
    cluster = None
    if url is None:
        from tests.support.postgres import start_cluster

        cluster = start_cluster(settings={"shared_buffers": "1GB", "maintenance_work_mem": "1GB",
                                          "work_mem": "256MB", "max_wal_size": "8GB", "temp_buffers": "256MB"})
        url = cluster.create_database("bench")
        figures["database"] = "throwaway cluster (tests/support/postgres.py)"
    else:
        figures["database"] = "$PPAP_DATABASE_URL"
    snapshots = Path(tempfile.mkdtemp(prefix="ppap-bench-snap-"))
    try:
        database.migrate(url)
        _timed(figures, "load_s", lambda: database.load_parquet(data, url=url), progress)
        import psycopg

        with psycopg.connect(url) as conn:
            figures["households"] = int(conn.execute("SELECT count(*) FROM households").fetchone()[0])
            figures["table_mb"] = round(conn.execute("SELECT pg_total_relation_size('households')").fetchone()[0]
                                        / 2**20)
        table, _ = _timed(figures, "read_adbc_s", lambda: database.read_households_arrow(url), progress)
        figures["arrow_mb"] = round(table.nbytes / 2**20)
        del table
        table = _timed(figures, "read_copy_csv_s", lambda: _copy_csv(url), progress)
        del table
        path = _timed(figures, "snapshot_s", lambda: database.snapshot(url, directory=snapshots), progress)

        def index_of(file):
            read = source.read_source(file, with_pilots=False)
            return index_households(read.frame)

        index = _timed(figures, "index_from_snapshot_s", lambda: index_of(path), progress)
        figures["indexed"] = int(index.n)
        del index
        index = _timed(figures, "index_from_file_s", lambda: index_of(data), progress)
        del index
        _timed(figures, "persist_index_from_snapshot_s", lambda: write_index(path), progress)
        figures["db_to_index_s"] = round(figures["snapshot_s"] + figures["index_from_snapshot_s"], 2)
        figures["peak_rss_mb"] = round(_peak_rss_mb())
    finally:
        import shutil

        shutil.rmtree(snapshots, ignore_errors=True)
        if cluster is not None:
            cluster.stop()
    return figures


def format_figures(f: dict) -> str:
    return "\n".join([
        f"households {f['households']:,} from {f['households_file']} ({f['database']}); table {f['table_mb']:,} MB",
        f"load (db load: COPY + upsert, one transaction)        {f['load_s']:8.1f} s",
        f"bulk read, ADBC COPY binary -> Arrow ({f['arrow_mb']:,} MB)      {f['read_adbc_s']:8.1f} s",
        f"bulk read, psycopg COPY csv -> Arrow CSV reader          {f['read_copy_csv_s']:8.1f} s",
        f"snapshot of a data version (read + Parquet)            {f['snapshot_s']:8.1f} s",
        f"index from the snapshot (latest round, {f['indexed']:,})    {f['index_from_snapshot_s']:8.1f} s",
        f"index from the original file                           {f['index_from_file_s']:8.1f} s",
        f"database -> index in memory                            {f['db_to_index_s']:8.1f} s",
        f"persisted index of the snapshot (app starts from it)   {f['persist_index_from_snapshot_s']:8.1f} s",
        f"peak memory of this process                            {f['peak_rss_mb']:8,} MB",
    ])


def _cmd(args: argparse.Namespace) -> int:
    from geo.data import database, paths

    data = args.data or paths.national_dir() / "households.parquet"
    if not data.is_file():
        print(f"error: no households file at {data}; run `python -m geo national` first", file=sys.stderr)
        return 2
    progress = (lambda msg: print(f"... {msg}", file=sys.stderr)) if not args.json else (lambda _msg: None)
    figures = run_bench(data, database.database_url() if args.use_env else None, progress)
    print(json.dumps(figures, indent=2) if args.json else format_figures(figures))
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``database`` to the ``python -m bench`` command line."""
    parser = subparsers.add_parser("database", help="PostgreSQL at scale: load, bulk read (ADBC vs COPY csv), "
                                                    "snapshot, index build")
    parser.add_argument("--data", type=Path, default=None, help="contract Parquet file (default data/national)")
    parser.add_argument("--use-env", action="store_true",
                        help="use $PPAP_DATABASE_URL (an empty migrated database) instead of a throwaway cluster")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(func=_cmd)
