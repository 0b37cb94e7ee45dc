"""``python -m bench database [--data FILE] [--json]``: the app's data from PostgreSQL at scale.

Loads a contract Parquet file (default the national data, ``python -m geo national``) into a
database — ``$PPAP_DATABASE_URL`` when set, else a throwaway PostgreSQL 15 + PostGIS cluster in a
temporary folder (tests/support/postgres.py) — and measures, against reading the file itself:

- the load (``python -m geo db load``: one transaction, COPY into a temporary table, upsert);
- the bulk read of every household two ways: ADBC (``COPY … TO STDOUT (FORMAT binary)`` into
  Arrow, what :mod:`geo.data.database` uses) and psycopg 3 ``COPY … TO STDOUT (FORMAT csv)``
  parsed by Arrow's CSV reader;
- in a child process, as an app process does on a new data version: the snapshot
  (:func:`geo.data.database.snapshot`) and the index built from it (read the latest round +
  :func:`geo.engine.aggregate.index_households`), with that process's peak memory;
- the index built from the original file (the baseline), and the persisted index of the snapshot
  (:func:`geo.engine.persist.write_index`).

Run it with ``nice`` on a shared machine.
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


_APP_PROCESS = """
import json, resource, sys, time
from pathlib import Path
from geo.data import database, source
from geo.engine.aggregate import index_households
url, directory = sys.argv[1], Path(sys.argv[2])
started = time.perf_counter()
path = database.snapshot(url, directory=directory)
snapshot_s = time.perf_counter() - started
snapshot_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
started = time.perf_counter()
read = source.read_source(path, with_pilots=False)
index = index_households(read.frame)
index_s = time.perf_counter() - started
print(json.dumps({"snapshot_s": round(snapshot_s, 2), "index_from_snapshot_s": round(index_s, 2),
                  "indexed": int(index.n), "data_version": int(path.parent.name[1:]),
                  "snapshot_peak_rss_mb": round(snapshot_peak),
                  "app_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def _app_process(url: str, directory: Path) -> dict:
    """Snapshot and index in a child process, as an app process does on a new data version."""
    import subprocess

    from geo.data.paths import PROJECT_ROOT

    done = subprocess.run([sys.executable, "-c", _APP_PROCESS, url, str(directory)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the app-process step failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


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
        # What an app process does on a new data version, in a process of its own (its memory alone).
        app = _app_process(url, snapshots)
        figures.update(app)
        progress(f"app process: snapshot {app['snapshot_s']:.2f} s, index {app['index_from_snapshot_s']:.2f} s, "
                 f"peak {app['app_peak_rss_mb']:,} MB")
        table, _ = _timed(figures, "read_adbc_s", lambda: database.read_households_arrow(url), progress)
        figures["arrow_mb"] = round(table.nbytes / 2**20)
        del table
        table = _timed(figures, "read_copy_csv_s", lambda: _copy_csv(url), progress)
        del table
        path = database.snapshot_path(app["data_version"], snapshots)

        def index_of(file):
            read = source.read_source(file, with_pilots=False)
            return index_households(read.frame)

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
    lines = [(f"load (db load: streamed COPY + upsert, one transaction)", f"{f['load_s']:,.1f} s"),
             (f"bulk read, ADBC COPY binary -> Arrow ({f['arrow_mb']:,} MB)", f"{f['read_adbc_s']:,.1f} s"),
             ("bulk read, psycopg COPY csv -> Arrow CSV reader", f"{f['read_copy_csv_s']:,.1f} s"),
             ("app process: snapshot of the data version (streamed)", f"{f['snapshot_s']:,.1f} s"),
             (f"app process: index from the snapshot ({f['indexed']:,} in the latest round)",
              f"{f['index_from_snapshot_s']:,.1f} s"),
             ("app process: database -> index in memory", f"{f['db_to_index_s']:,.1f} s"),
             ("app process: peak memory after the snapshot / after the index",
              f"{f['snapshot_peak_rss_mb']:,} / {f['app_peak_rss_mb']:,} MB"),
             ("index from the original file (baseline)", f"{f['index_from_file_s']:,.1f} s"),
             ("persisted index of the snapshot (what the app maps at start)",
              f"{f['persist_index_from_snapshot_s']:,.1f} s"),
             ("peak memory of the benchmark process", f"{f['peak_rss_mb']:,} MB")]
    head = (f"households {f['households']:,} from {f['households_file']} ({f['database']}); "
            f"table {f['table_mb']:,} MB")
    return "\n".join([head, *(f"{label:<66}{value:>12}" for label, value in lines)])


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
