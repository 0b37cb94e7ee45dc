"""``python -m bench``: the benchmarks (``engine``, ``dashboard``, ``national``, ``load``, ``soak``).

Each prints figures measured against a baseline in the same run; ``--json`` for machines. A
:class:`~geo.errors.PPAPError` becomes one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from geo.cli import command_parser, run
from geo.engine.allocator import keep_freed_memory

#: Modules whose ``add_commands(subparsers)`` add the benchmarks.
COMMAND_MODULES: tuple[str, ...] = ("bench.engine", "bench.dashboard", "bench.national", "bench.load", "bench.mobility", "bench.database",
                                   "bench.pilot_impact")


def build_parser():
    return command_parser("python -m bench", "PPAP Atlas benchmarks.", COMMAND_MODULES, metavar="BENCHMARK")


def main(argv: Sequence[str] | None = None) -> int:
    keep_freed_memory()  # as the app's pages do (pages/_shared.py): the engine's figures are the app's
    return run(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
