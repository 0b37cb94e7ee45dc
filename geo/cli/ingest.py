"""``python -m geo households import FILE [FILE ...]``: import household files into the store.

Exit codes: 0 every row accepted (warnings allowed), 1 finished but some rows were rejected or a
file was refused as already imported, 2 an error (a file could not be read, the store could not
be written) -- reported in one line, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from geo.errors import PPAPError
from geo.data import database
from geo.data.store import MODES
from geo.ingest.pipeline import ImportResult, import_households, save_import
from geo.data.national_id import ID_HASH_KEY_ENV, id_hash_key


def _path_with(suffixes: tuple[str, ...], what: str):
    def parse(text: str) -> Path:
        path = Path(text)
        if path.suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(f"{what} must end in {' or '.join(suffixes)}, got {text!r}")
        return path

    return parse


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``households import`` to the command line."""
    households = subparsers.add_parser("households", help="import and manage household data")
    commands = households.add_subparsers(dest="households_command", required=True, metavar="COMMAND")
    imp = commands.add_parser(
        "import",
        help="import household files (CSV, XLSX, Parquet) into the store, with a report",
        description=(
            "Read household files, normalise them to the data contract, judge every row, and store "
            f"the accepted ones. National IDs are hashed with the key in ${ID_HASH_KEY_ENV}; "
            "rows with an ID are rejected when it is not set. See docs/DATA.md."
        ),
    )
    imp.add_argument("files", nargs="+", metavar="FILE", help="CSV, XLSX or Parquet files")
    imp.add_argument("--report", type=_path_with((".json",), "--report"), metavar="PATH.json",
                     help="write the JSON report here")
    imp.add_argument("--rejects", type=_path_with((".xlsx", ".csv"), "--rejects"), metavar="PATH.xlsx|.csv",
                     help="write the rejected rows with their reasons here")
    imp.add_argument("--mode", choices=MODES, default="upsert",
                     help="upsert (default): add each household's round, replacing the stored row of the same "
                          "household_id and survey_year, nothing else touched; replace_all: replace the whole "
                          "store, every round")
    imp.add_argument("--out", type=_path_with((".csv", ".parquet", ".xlsx"), "--out"), metavar="PATH",
                     help="also write the accepted rows, normalised, as CSV, XLSX or Parquet")
    imp.add_argument("--sheet", metavar="NAME", help="sheet to read from XLSX files (default: the first)")
    imp.add_argument("--store", type=Path, metavar="DIR", help="store directory (default: data/store)")
    imp.add_argument("--keep-head-name", action="store_true",
                     help="keep the household head's name (dropped by default: personal data)")
    imp.add_argument("--dry-run", action="store_true", help="check and report, but store nothing")
    imp.add_argument("--no-district-check", action="store_true",
                     help="do not check positions against district boundaries")
    imp.set_defaults(func=run_import)


def _load_district_boundaries(skip: bool):
    if skip:
        return None, "switched off with --no-district-check"
    try:
        from geo.data.boundaries import load_boundaries
    except ImportError:
        return None, "the boundaries module is not available"
    try:
        return load_boundaries("district"), None
    except PPAPError as exc:
        return None, str(exc)


def summary_lines(result: ImportResult) -> list[str]:
    """Readable lines about an import, one per file plus the most frequent reasons."""
    lines = []
    for f in result.files:
        if f.status == "already_imported":
            lines.append(f"{f.file}: refused, {f.notes[0].message_en}")
            continue
        encoding = f", {f.encoding}" if f.encoding else ""
        sheet = f", sheet {f.sheet!r}" if f.sheet else ""
        lines.append(
            f"{f.file} ({f.format}{encoding}{sheet}): {f.rows_in} rows, {f.accepted} accepted "
            f"({f.warnings} with warnings), {f.rejected} rejected"
        )
        for note in f.notes:
            lines.append(f"  note: {note.message_en}")
    counts = result.reason_counts()
    if counts:
        lines.append("reasons (rows): " + ", ".join(f"{code} {n}" for code, n in list(counts.items())[:10]))
    rate = result.rows_in / result.seconds if result.seconds > 0 else 0.0
    lines.append(
        f"total: {result.rows_in} rows, {result.accepted} accepted ({result.warnings} with warnings), "
        f"{result.rejected} rejected in {result.seconds:.2f} s ({rate:,.0f} rows/s)"
    )
    return lines


def run_import(args: argparse.Namespace) -> int:
    """Run ``households import``; return the exit code."""
    from geo.data.spreadsheet import write_csv, write_table, write_xlsx

    boundaries, problem = _load_district_boundaries(args.no_district_check)
    result = import_households(
        args.files,
        mode=args.mode,
        store=args.store if args.store is not None else _default_store(),
        id_key=id_hash_key(),
        keep_head_name=args.keep_head_name,
        sheet=args.sheet,
        boundaries=boundaries,
        boundaries_problem=problem,
    )
    try:
        if args.report:
            args.report.parent.mkdir(parents=True, exist_ok=True)
            args.report.write_text(json.dumps(result.report(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        if args.rejects:
            (write_csv if args.rejects.suffix.lower() == ".csv" else write_xlsx)(result.rejects, args.rejects)
        if args.out:
            write_table(result.households, args.out)
    except OSError as exc:
        raise PPAPError(f"cannot write {exc.filename}: {exc.strerror}") from None
    for line in summary_lines(result):
        print(line)
    if args.dry_run:
        print("dry run: nothing stored")
    else:
        store = args.store if args.store is not None else _default_store()
        path = save_import(result, store=store)
        stored_in = "the database ($PPAP_DATABASE_URL)" if database.for_store(store) else path.parent if path else ""
        print(f"stored in {stored_in}" if path else "nothing new to store")
    if args.report:
        print(f"report: {args.report}")
    if args.rejects:
        print(f"rejected rows: {args.rejects}")
    return 0 if result.rejected == 0 and not result.refused_files else 1


def _default_store() -> Path:
    from geo.data.paths import store_dir

    return store_dir()


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser(prog="python -m geo.cli.ingest")
    add_commands(parser.add_subparsers(dest="command", required=True))
    ns = parser.parse_args()
    try:
        sys.exit(ns.func(ns))
    except PPAPError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
