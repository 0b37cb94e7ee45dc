"""The ``python -m geo`` command line.

Each command lives beside the code it drives: a module in :data:`COMMAND_MODULES` exposes
``add_commands(subparsers)``, which adds its sub-commands and sets ``func`` on each. A
:class:`~geo.errors.PPAPError` becomes one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from geo.errors import PPAPError

COMMAND_MODULES: tuple[str, ...] = (
    "geo.cli.boundaries",
    "geo.cli.sample",
    "geo.cli.ingest",
    "geo.cli.engine",
    "geo.cli.export",
    "geo.cli.access",
    "geo.cli.national",
    "geo.cli.mobility",
    "geo.cli.db",
)


def command_parser(prog: str, description: str, modules: Sequence[str], metavar: str = "COMMAND"):
    """A parser whose sub-commands come from each module's ``add_commands(subparsers)``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar=metavar)
    for name in modules:
        importlib.import_module(name).add_commands(subparsers)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with every command module's sub-commands."""
    return command_parser("python -m geo", "PPAP Atlas data tools.", COMMAND_MODULES)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (0 ok, 1 finished with problems, 2 error)."""
    return run(build_parser(), argv)


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command: a ``PPAPError`` is one line on stderr and exit
    code 2, never a traceback; Ctrl-C is 130."""
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except PPAPError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(result or 0)
