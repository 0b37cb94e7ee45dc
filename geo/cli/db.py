"""``python -m geo db init | migrate | status | export | load | pilots``: the PostgreSQL/PostGIS
store (``$PPAP_DATABASE_URL``, or ``--url``). See :mod:`geo.data.database` and docs/DATA.md
"Database".

- ``init``: apply the migrations, load the installed boundaries into PostGIS and, with
  ``--pilots``, the pilot sites. Run it as the database's owner (PostGIS needs a superuser or a
  database where the extension exists).
- ``migrate``: apply the migrations not yet applied (numbered SQL files, in one transaction each).
- ``status``: migrations applied and pending, data version, households per round, imports.
- ``export --out FILE.parquet``: every household of every round in the contract's Parquet file
  (``pilots.csv`` beside it): the way back to the embedded store.
- ``load FILE.parquet``: store a contract Parquet file as one import (a restore of ``export``, or
  ``python -m geo national``'s data); refused when the same file was imported.
- ``pilots FILE.csv``: replace the pilot sites.
- ``boundaries [--load]``: write this machine's copy of the database's boundary release (what an
  app process does on its first page; :func:`geo.data.database.boundaries_snapshot`) and say how
  long the read took per level; ``--load`` first stores the installed boundaries as a new release
  (after ``python -m geo boundaries install``; ``init`` does it too).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from geo.data import database
from geo.errors import InputFileError, PPAPError


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``db`` and its sub-commands to the command line."""
    db = subparsers.add_parser("db", help="the PostgreSQL/PostGIS store ($PPAP_DATABASE_URL)",
                               description="Manage the PostgreSQL/PostGIS store named by $PPAP_DATABASE_URL.")
    commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, func):
        parser = commands.add_parser(name, help=help_text, description=help_text)
        parser.add_argument("--url", metavar="URL",
                            help=f"database URL (default ${database.DATABASE_URL_ENV}); e.g. the owner's for init")
        parser.set_defaults(func=func)
        return parser

    init = command("init", "apply the migrations and load the installed boundaries (and pilots)", run_init)
    init.add_argument("--pilots", type=Path, metavar="PILOTS.csv", help="also store these pilot sites")
    init.add_argument("--no-boundaries", action="store_true", help="do not load the installed boundaries")
    command("migrate", "apply the migrations not yet applied", run_migrate)
    status = command("status", "what is in the database", run_status)
    status.add_argument("--json", action="store_true", help="print JSON")
    export = command("export", "write every household (all rounds) as the contract's Parquet file", run_export)
    export.add_argument("--out", type=Path, required=True, metavar="FILE.parquet")
    load = command("load", "store a contract Parquet file (an export, national data) as one import", run_load)
    load.add_argument("file", type=Path, metavar="FILE.parquet")
    load.add_argument("--mode", choices=("upsert", "replace_all", "append", "replace"), default="upsert",
                      help="upsert on household and round (default), or replace every stored household")
    pilots = command("pilots", "replace the pilot sites with a pilots CSV (docs/DATA.md)", run_pilots)
    pilots.add_argument("file", type=Path, metavar="PILOTS.csv")
    bounds = command("boundaries", "write this machine's copy of the database's boundaries, timed", run_boundaries)
    bounds.add_argument("--load", action="store_true",
                        help="first store the installed boundaries as the database's release")


def run_init(args: argparse.Namespace) -> int:
    applied = database.migrate(args.url)
    print(f"migrations applied: {', '.join(applied) if applied else 'none (up to date)'}")
    if not args.no_boundaries:
        try:
            counts = database.save_boundaries(args.url)
        except PPAPError as exc:
            print(f"boundaries not loaded: {exc}")
        else:
            print("boundaries: " + ", ".join(f"{n} {level}" for level, n in counts.items()))
    if args.pilots:
        _store_pilots(args.pilots, args.url)
    return 0


def run_migrate(args: argparse.Namespace) -> int:
    applied = database.migrate(args.url)
    print(f"migrations applied: {', '.join(applied) if applied else 'none (up to date)'}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    info = database.status(args.url)
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=1))
        return 0
    print(f"database: {info['url']}")
    print(f"migrations: {len(info['migrations'])} applied, pending: {', '.join(info['pending']) or 'none'}")
    if "data_version" in info:
        print(f"PostgreSQL {info['server']}, PostGIS {info['postgis']}; data version {info['data_version']}")
        rounds = ", ".join(f"{year}: {n:,}" for year, n in info["households"].items()) or "none"
        print(f"households per round: {rounds}")
        print(f"imports: {info['imports']}; pilots: {info['pilots']}; audit records: {info['audit_records']}")
        print("boundaries: " + (", ".join(f"{n} {lvl}" for lvl, n in info["boundaries"].items()) or "none"))
        if info.get("boundary_release"):
            print(f"boundary release {info['boundary_release']['key']}, loaded {info['boundary_release']['loaded_at']}")
    return 1 if info["pending"] else 0


def run_export(args: argparse.Namespace) -> int:
    done = database.export(args.out, args.url)
    pilots = f", {done['pilots']} pilots in pilots.csv beside it" if done["pilots"] else ""
    print(f"{done['rows']:,} households (data version {done['data_version']}) written to {done['path']}{pilots}")
    return 0


def run_load(args: argparse.Namespace) -> int:
    version = database.load_parquet(args.file, mode=args.mode, url=args.url)
    print(f"{args.file.name} stored; data version {version}")
    return 0


def _store_pilots(path: Path, url: str | None) -> None:
    from geo.data.source import read_pilots

    if not path.is_file():
        raise InputFileError(f"{path}: no such pilots file")
    pilots = read_pilots(path)
    version = database.save_pilots(pilots, url)
    print(f"{len(pilots)} pilot sites stored; data version {version}")


def run_pilots(args: argparse.Namespace) -> int:
    _store_pilots(args.file, args.url)
    return 0


def run_boundaries(args: argparse.Namespace) -> int:
    if args.load:
        counts = database.save_boundaries(args.url)
        print("boundaries stored: " + ", ".join(f"{n} {level}" for level, n in counts.items()))
    release = database.boundary_release(args.url)
    if release is None:
        print("the database holds no boundaries: `python -m geo db boundaries --load` stores the installed ones")
        return 1
    timings: dict[str, float] = {}
    started = time.perf_counter()
    folder = database.boundaries_snapshot(args.url, release=release, timings=timings)
    if not timings:
        print(f"boundary release {release['key'][:16]}: this machine's copy is {folder} (written before)")
        return 0
    read = ", ".join(f"{level} {seconds:.2f} s" for level, seconds in timings.items())
    print(f"boundary release {release['key'][:16]} read from the database ({read}; "
          f"{sum(timings.values()):.2f} s) and written to {folder} in {time.perf_counter() - started:.2f} s")
    return 0
