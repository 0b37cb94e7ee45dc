"""``python -m geo`` commands of :mod:`geo.synth.sample`."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from geo.errors import PPAPError

from geo.synth.sample import DEFAULT_SEED, HOUSEHOLDS_FILE, PILOTS_FILE, ensure_sample


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``sample`` to the ``python -m geo`` command line."""
    parser = subparsers.add_parser(
        "sample",
        help="generate the synthetic sample (skips when up to date)",
        description=(
            "Generate the synthetic households and pilots in data/samples/, reproducing the "
            "programme's published figures. Skips quickly when the files were made by this "
            "generator version with the same seed and boundaries."
        ),
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--out-dir", type=Path, default=None, help="destination (default data/samples)")
    parser.add_argument("--force", action="store_true", help="regenerate even when up to date")
    parser.add_argument(
        "--households", type=int, default=None, help="smaller sample with scaled figures (default: the full 231,021)"
    )
    parser.add_argument("--boundaries", type=Path, default=None, help="boundaries folder (default data/boundaries)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        status = ensure_sample(
            args.out_dir, seed=args.seed, households=args.households, boundaries_dir=args.boundaries, force=args.force
        )
    except ValueError as exc:
        raise PPAPError(str(exc)) from exc
    files = status.manifest.get("files", {})
    rows = files.get(HOUSEHOLDS_FILE, {}).get("rows", 0)
    rounds = status.manifest.get("rounds") or {}
    per_round = "; ".join(f"{year}: {r['households']:,}" for year, r in sorted(rounds.items()))
    if status.regenerated:
        print(
            f"sample: wrote {rows:,} synthetic household rows ({per_round or 'one round'}) and "
            f"{files.get(PILOTS_FILE, {}).get('rows', 0)} pilots "
            f"to {status.out_dir} ({status.reason}; seed {args.seed}; {time.perf_counter() - started:.1f} s)"
        )
    else:
        print(f"sample: up to date in {status.out_dir} ({rows:,} households, seed {args.seed})")
    return 0
