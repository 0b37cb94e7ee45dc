"""``python -m geo`` commands of :mod:`geo.data.boundaries`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from geo.data.boundaries import install


def _summary(manifest: dict) -> str:
    lines = [f"installed boundaries from {manifest['source']}"]
    for level, info in manifest["levels"].items():
        lines.append(f"  {level:<12} {info['count']:>6} areas matched, {len(info['unmatched'])} unmatched")
        for item in info["unmatched"][:10]:
            lines.append(f"      unmatched: {json.dumps(item, ensure_ascii=False)}")
        if len(info["unmatched"]) > 10:
            lines.append(f"      ... {len(info['unmatched']) - 10} more in manifest.json")
    if manifest.get("tolerance_m") is not None:
        lines.append(f"  tolerance   {manifest['tolerance_m']:>8,.0f} m (positions this close to their district "
                     "are not flagged as outside it; manifest.json says how it was measured)")
    else:
        lines.append(f"  tolerance   not measured ({manifest.get('tolerance', {}).get('method', 'one level')}); "
                     "the importer uses its default")
    lines.append(f"  credit every map with: {manifest['attribution']}")
    return "\n".join(lines)


def _cmd_install(args: argparse.Namespace) -> int:
    dest = Path(args.dest) if args.dest else None
    manifest = install(args.source, dest, report=lambda m: print(m, end="", file=sys.stderr, flush=True))
    print(_summary(manifest))
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``boundaries install`` to the ``python -m geo`` command line."""
    parser = subparsers.add_parser("boundaries", help="install Thai administrative boundaries")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    install_parser = actions.add_parser(
        "install",
        help="install boundaries from a file, folder or URL",
        description="Source when --from is absent: $PPAP_BOUNDARIES, then ../shared/boundaries, then a download.",
    )
    install_parser.add_argument("--from", dest="source", metavar="PATH_OR_URL", help="file, folder or http(s) URL")
    install_parser.add_argument("--dest", metavar="DIR", help="where to install (default data/boundaries)")
    install_parser.set_defaults(func=_cmd_install)
