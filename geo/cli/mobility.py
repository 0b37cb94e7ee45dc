"""``python -m geo mobility`` and ``python -m geo pilot-impact``: change between two survey rounds.

Both read households in the contract from ``--input`` files (repeat it; the rounds may be in one
file or several) or, without ``--input``, from the store, pair the two rounds
(:func:`geo.engine.mobility.pair_rounds`; years in BE or CE) and write a released table: by
default the public release (counts perturbed by cell key, counts under K withheld, withheld areas
left out), ``--exact`` the exact release for an authorised operator, as ``aggregate`` does.
Withheld values are empty cells.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from geo.checks import H3_RESOLUTIONS
from geo.cli.engine import write_table
from geo.errors import InputFileError
from geo.engine.mobility import CHANGE_THRESHOLD, MOBILITY_BY, MOBILITY_COLUMNS, mobility_table, pair_rounds
from geo.engine.pilot_impact import PILOT_IMPACT_COLUMNS, pilot_impact
from geo.engine.protect import DEFAULT_MIN_COUNT

OUTPUT_FORMATS: tuple[str, ...] = ("csv", "parquet")


def _households(inputs: list[str] | None) -> pd.DataFrame:
    """Every round of the ``--input`` files, or of the store without one."""
    if inputs:
        from geo.data.store import read_households

        frames = [read_households(path) for path in inputs]
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    from geo.data.paths import store_dir
    from geo.data.store import load_households

    households = load_households()
    if households.empty:
        raise InputFileError(f"the store ({store_dir()}) holds no households: import a file "
                             "(python -m geo households import) or pass --input FILE")
    return households


def _pilots(inputs: list[str] | None) -> pd.DataFrame:
    from geo.data.source import pilots_beside, store_path

    return pilots_beside(inputs[0] if inputs else store_path())


def _release_words(exact: bool, k: int) -> str:
    return f"k={k}, " + ("exact" if exact else "public release (perturbed)")


def _cmd_mobility(args: argparse.Namespace) -> int:
    from geo.engine.h3index import cells_to_str

    pairs = pair_rounds(_households(args.input), args.year_from, args.year_to)
    table = mobility_table(pairs, by=args.by, res=args.res if args.by == "h3" else None,
                           change_threshold=args.change_threshold, exact=args.exact, min_count=args.min_count)
    key = "h3_cell" if args.by == "h3" else "code"
    frame = table[[key, *MOBILITY_COLUMNS]].copy()
    if args.by == "h3":
        frame["h3_cell"] = cells_to_str(frame["h3_cell"].to_numpy(dtype=np.uint64))
    write_table(frame, args.out, args.format)
    counts = pairs["status"].value_counts()
    left_out = int(table.attrs.get("areas_withheld", 0))
    print(f"{pairs.attrs['year_from']} -> {pairs.attrs['year_to']}: {counts.get('followed', 0):,} followed, "
          f"{counts.get('new', 0):,} new, {counts.get('not_found', 0):,} not found again; {len(table):,} areas "
          f"written, {left_out:,} left out ({_release_words(args.exact, args.min_count)})", file=sys.stderr)
    return 0


def _cmd_pilot_impact(args: argparse.Namespace) -> int:
    pairs = pair_rounds(_households(args.input), args.year_from, args.year_to)
    table = pilot_impact(pairs, pilots=_pilots(args.input), min_count=args.min_count, exact=args.exact)
    write_table(table[list(PILOT_IMPACT_COLUMNS)], args.out, args.format)
    shown = table.loc[table["difference"].notna(), "pilot_id"].nunique()
    print(f"{table['pilot_id'].nunique():,} pilots, {shown:,} with both groups of at least {args.min_count} "
          f"households ({_release_words(args.exact, args.min_count)}); a comparison, not proof of cause",
          file=sys.stderr)
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", action="append", metavar="FILE",
                        help="households (.parquet or .csv, contract columns); repeat for rounds in several "
                             "files; default: the store")
    parser.add_argument("--from", dest="year_from", required=True, metavar="YEAR",
                        help="the earlier round, BE (2564) or CE (2021)")
    parser.add_argument("--to", dest="year_to", required=True, metavar="YEAR",
                        help="the later round, BE (2566) or CE (2023)")
    parser.add_argument("--min-count", type=int, default=DEFAULT_MIN_COUNT, metavar="K",
                        help=f"smallest count shown (default {DEFAULT_MIN_COUNT}); "
                             "1 turns suppression off (operators only, with --exact)")
    parser.add_argument("--exact", action="store_true",
                        help="exact counts with suppression (operators only); the default is the public release: "
                             "counts perturbed by cell key, counts under K withheld (docs/ENGINE.md)")
    parser.add_argument("--format", required=True, choices=OUTPUT_FORMATS)
    parser.add_argument("--out", required=True, metavar="PATH", help="output file, or - for stdout")


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``mobility`` and ``pilot-impact`` to the ``python -m geo`` command line."""
    mob = subparsers.add_parser(
        "mobility", help="households followed, new and not found, level and capital change between two rounds",
        description="One row per area: households of each round, followed / new / not found again, level up / "
                    "same / down, escaped / fell, the 4x4 level transitions and per capital improved / same / "
                    "worse and the mean change. Followed households are counted where they live in the later "
                    "round. Protected (docs/ENGINE.md).")
    _common(mob)
    mob.add_argument("--by", required=True, choices=MOBILITY_BY)
    mob.add_argument("--res", type=int, choices=H3_RESOLUTIONS, default=8, help="H3 resolution (--by h3; default 8)")
    mob.add_argument("--change-threshold", type=float, default=CHANGE_THRESHOLD, metavar="T",
                     help=f"a capital score change of at least T either way is improved / worse "
                          f"(default {CHANGE_THRESHOLD})")
    mob.set_defaults(func=_cmd_mobility)

    imp = subparsers.add_parser(
        "pilot-impact", help="each pilot's participants against comparable neighbours, per capital",
        description="One row per pilot and capital: mean capital change of the pilot's followed participants "
                    "against followed households in no pilot in the same districts, reweighted to the "
                    "participants' starting levels, the difference with a 95% interval, and the share moving "
                    "up. A comparison, not proof of cause. Protected (docs/ENGINE.md).")
    _common(imp)
    imp.set_defaults(func=_cmd_pilot_impact)
