"""``python -m geo`` commands of :mod:`geo.synth.national`."""

from __future__ import annotations

import argparse
from pathlib import Path
from geo.errors import PPAPError

from geo.synth.national import BATCH_HOUSEHOLDS, NATIONAL_HOUSEHOLDS, generate_national


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``national`` to the ``python -m geo`` command line."""
    parser = subparsers.add_parser(
        "national",
        help="generate national-scale synthetic households (13M, 77 provinces) and their index",
        description="Write synthetic households over all 77 provinces with the sample's model, and the "
                    "persisted index the app starts from, to data/national/ (never committed).",
    )
    parser.add_argument("--households", type=int, default=NATIONAL_HOUSEHOLDS,
                        help=f"total households (default {NATIONAL_HOUSEHOLDS:,})")
    parser.add_argument("--out-dir", type=Path, default=None, help="destination (default data/national)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default the sample's)")
    parser.add_argument("--batch", type=int, default=BATCH_HOUSEHOLDS,
                        help=f"households generated at once (default {BATCH_HOUSEHOLDS:,})")
    parser.add_argument("--rounds", type=int, choices=(1, 2), default=2,
                        help="survey rounds: 2 (default) adds the sample's earlier round (2021), 1 only 2023")
    parser.add_argument("--boundaries", type=Path, default=None, help="boundaries folder (default data/boundaries)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        manifest = generate_national(args.out_dir, households=args.households, seed=args.seed,
                                     batch_households=args.batch, boundaries_dir=args.boundaries, rounds=args.rounds,
                                     progress=print)
    except ValueError as exc:
        raise PPAPError(str(exc)) from exc
    print(f"national: wrote {manifest['households']:,} households in {manifest['rounds']} round(s), "
          f"{manifest['rows']:,} rows ({manifest['households_bytes'] / 1e6:,.0f} MB) in "
          f"{manifest['generate_seconds']:.0f} s; index {manifest.get('index_seconds', 0):.0f} s")
    return 0
