"""``python -m bench``: the benchmarks (``engine``, ``dashboard``, ``national``, ``load``, ``soak``).

Each prints figures measured against a baseline in the same run; ``--json`` for machines. A
:class:`~geo.errors.PPAPError` becomes one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from geo.errors import PPAPError

#: Modules whose ``add_commands(subparsers)`` add the benchmarks.
COMMAND_MODULES: tuple[str, ...] = ("bench.engine", "bench.dashboard", "bench.national", "bench.load")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description="PPAP Atlas benchmarks.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="BENCHMARK")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PPAPError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
