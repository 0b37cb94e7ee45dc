"""``python -m geo aggregate`` and ``python -m geo verify``.

``aggregate`` writes protected aggregates (every table passes :func:`geo.engine.protect.protect`): by
default the public release (what a public viewer sees: perturbed by cell key, areas under k left
out); ``--exact`` the exact release, and ``--exact --min-count 1`` no suppression at all, for an
authorised operator. ``verify`` writes the
households whose position disagrees with their codes (row-level data for field teams, not for
publication).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from geo.engine.aggregate import AGGREGATE_BY, DEFAULT_DEFICIT_CUTOFF, DEFAULT_K_DEPRIVATIONS, aggregate, index_households
from geo.checks import H3_RESOLUTIONS
from geo.data.contract import ASSISTANCE_STATUSES, CAPITALS, conform_households
from geo.errors import InputFileError
from geo.engine.filters import HouseholdFilter, filter_mask
from geo.engine.protect import DEFAULT_MIN_COUNT, protect
from geo.data.store import latest_round, read_households

OUTPUT_FORMATS: tuple[str, ...] = ("csv", "parquet", "geojson")



def _latest_round_of(households):
    """The file's latest survey round only (a file may hold several rounds: one round is counted)."""
    latest = latest_round(households)
    if latest is None:
        return households
    return households[households["survey_year"] == latest].reset_index(drop=True)

def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _yes_no(value: str | None) -> bool | None:
    return None if value is None else value == "yes"


def _export_frame(released: pd.DataFrame, by: str, fmt: str) -> pd.DataFrame:
    """Column order for files: key, households, people, metrics, then descriptors.

    In CSV ``households`` is the count as shown (``"<10"`` when suppressed); Parquet and GeoJSON
    keep it numeric (empty when suppressed) beside the text in ``households_shown``.
    """
    from geo.engine.h3index import cells_to_str

    out = released.copy()
    if by == "h3":
        out["h3_cell"] = cells_to_str(out["h3_cell"].to_numpy(dtype=np.uint64))
    key = "h3_cell" if by == "h3" else "code"
    if fmt == "csv":
        out["households"] = out["households_shown"]
    trailing = [c for c in ("name_th", "name_en", "res", "households_shown", "suppression") if c in out.columns]
    if fmt == "csv":
        trailing.remove("households_shown")
    dropped = {"households_shown", "suppressed", "geometry"} - set(trailing)
    middle = [c for c in out.columns if c not in {key, *trailing, *dropped}]
    return out[[key, *middle, *trailing]]


def write_table(frame: pd.DataFrame, out: str, fmt: str, geometry: object | None = None) -> None:
    """Write a table the CLI made to ``out`` (``-`` for stdout) as CSV, Parquet, or with ``geometry``
    a GeoPackage / GeoJSON layer."""
    if fmt == "csv":
        text = frame.to_csv(index=False, float_format="%.6g")
        if out == "-":
            sys.stdout.write(text)
        else:
            Path(out).write_text(text, encoding="utf-8")
        return
    if fmt == "parquet":
        if out == "-":
            buffer = io.BytesIO()
            frame.to_parquet(buffer, index=False)
            sys.stdout.buffer.write(buffer.getvalue())
        else:
            frame.to_parquet(out, index=False)
        return
    import geopandas as gpd

    layer = gpd.GeoDataFrame(frame.reset_index(drop=True), geometry=list(geometry), crs="EPSG:4326")  # type: ignore[arg-type]
    text = layer.to_json(drop_id=True, ensure_ascii=False)
    if out == "-":
        sys.stdout.write(text + "\n")
    else:
        Path(out).write_text(text, encoding="utf-8")


def _cmd_aggregate(args: argparse.Namespace) -> int:
    households = _latest_round_of(read_households(args.input))
    index = index_households(households)
    flt = HouseholdFilter(
        provinces=_split(args.province), districts=_split(args.district),
        levels=[int(v) for v in _split(args.level) or []] or None,
        capitals_in_deficit=_split(args.deficit), deficit_cutoff=args.deficit_cutoff,
        in_tpmap=_yes_no(args.tpmap), verified=_yes_no(args.verified), assistance=_split(args.assistance),
        pilots=_split(args.pilot),
    )
    table = aggregate(
        index, args.by, res=args.res if args.by == "h3" else None, mask=filter_mask(index, flt),
        deficit_cutoff=args.deficit_cutoff, k_deprivations=args.k_deprivations,
        rollup_min_count=args.min_count if (args.rollup and args.by == "h3") else None,
    )
    released = protect(table, k=args.min_count, exact=args.exact)
    geometry = None
    if args.by != "h3" and (args.format == "geojson" or args.boundaries):
        from geo.engine.aggregate import attach_boundaries
        from geo.data.boundaries import load_boundaries

        boundaries = load_boundaries(args.by, Path(args.boundaries) if args.boundaries else None)
        with_names = attach_boundaries(released, boundaries)
        geometry = with_names.geometry.to_numpy()
        released = pd.DataFrame(with_names.drop(columns="geometry"))
    elif args.by == "h3" and args.format == "geojson":
        from geo.engine.aggregate import cells_to_polygons

        geometry = cells_to_polygons(released["h3_cell"].to_numpy(dtype=np.uint64))
    frame = _export_frame(released, args.by, args.format)
    write_table(frame, args.out, args.format, geometry)
    shown = int((~released["suppressed"]).sum())
    release = "exact" if args.exact else "public release (perturbed)"
    left_out = int(released.attrs.get("areas_withheld", 0))
    print(f"{len(released):,} areas, {shown:,} shown, {len(released) - shown + left_out:,} withheld "
          f"(k={args.min_count}, {release})", file=sys.stderr)
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from geo.data.boundaries import load_boundaries
    from geo.engine.verify import verify_households

    households = _latest_round_of(read_households(args.input))
    directory = Path(args.boundaries) if args.boundaries else None
    districts = load_boundaries("district", directory)
    subdistricts = None if args.district_only else load_boundaries("subdistrict", directory)
    problems = verify_households(households, districts, subdistricts)
    fmt = args.format or ("parquet" if str(args.out).endswith(".parquet") else "csv")
    write_table(problems, args.out, fmt)
    counts = problems.groupby(["level", "status"]).size() if len(problems) else pd.Series(dtype=int)
    summary = ", ".join(f"{lvl} {status}: {n:,}" for (lvl, status), n in counts.items()) or "no problems"
    print(f"{len(households):,} households checked; {summary}", file=sys.stderr)
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``aggregate`` and ``verify`` to the ``python -m bench`` command line."""
    agg = subparsers.add_parser("aggregate", help="aggregate households by H3 cell or admin area (protected)")
    agg.add_argument("--input", required=True, metavar="FILE", help="households (.parquet or .csv, contract columns)")
    agg.add_argument("--by", required=True, choices=AGGREGATE_BY)
    agg.add_argument("--res", type=int, choices=H3_RESOLUTIONS, default=8, help="H3 resolution (--by h3; default 8)")
    agg.add_argument("--province", action="append", metavar="CODE",
                     help="2-digit province code(s); repeat or comma-separate")
    agg.add_argument("--district", action="append", metavar="CODE", help="4-digit district code(s)")
    agg.add_argument("--level", action="append", metavar="N", help="household level(s) 1-4")
    agg.add_argument("--deficit", action="append", metavar="CAPITAL",
                     help=f"keep households in deficit in any of these capitals: {', '.join(CAPITALS)}")
    agg.add_argument("--tpmap", choices=("yes", "no"), help="only households in (yes) or missing from (no) TPMAP")
    agg.add_argument("--verified", choices=("yes", "no"), help="only verified (yes) or unverified (no) households")
    agg.add_argument("--assistance", action="append", metavar="STATUS",
                     help=f"assistance status(es): {', '.join(ASSISTANCE_STATUSES)}")
    agg.add_argument("--pilot", action="append", metavar="ID", help="pilot id(s); 'none' for households in no pilot")
    agg.add_argument("--deficit-cutoff", type=float, default=DEFAULT_DEFICIT_CUTOFF,
                     help=f"capital score below which a household is in deficit (default {DEFAULT_DEFICIT_CUTOFF})")
    agg.add_argument("--k-deprivations", type=int, default=DEFAULT_K_DEPRIVATIONS,
                     help="Alkire-Foster: poor when deprived in at least k capitals "
                          f"(default {DEFAULT_K_DEPRIVATIONS})")
    agg.add_argument("--min-count", type=int, default=DEFAULT_MIN_COUNT, metavar="K",
                     help=f"smallest count shown (default {DEFAULT_MIN_COUNT}); "
                          "1 turns suppression off (operators only, with --exact)")
    agg.add_argument("--exact", action="store_true",
                     help="exact counts with suppression (operators only); the default is the public release: "
                          "counts perturbed by cell key, areas under K left out (docs/ENGINE.md)")
    agg.add_argument("--rollup", action="store_true", help="H3: roll small cells up into parents until they reach K")
    agg.add_argument("--boundaries", metavar="DIR", help="installed boundaries folder (names and geometry)")
    agg.add_argument("--format", required=True, choices=OUTPUT_FORMATS)
    agg.add_argument("--out", required=True, metavar="PATH", help="output file, or - for stdout")
    agg.set_defaults(func=_cmd_aggregate)

    ver = subparsers.add_parser("verify", help="find households whose position disagrees with their codes")
    ver.add_argument("--input", required=True, metavar="FILE", help="households (.parquet or .csv)")
    ver.add_argument("--out", required=True, metavar="PATH", help="output .csv or .parquet, or - for CSV on stdout")
    ver.add_argument("--format", choices=("csv", "parquet"), help="output format (default: from --out)")
    ver.add_argument("--boundaries", metavar="DIR", help="installed boundaries folder")
    ver.add_argument("--district-only", action="store_true", help="check districts only, not subdistricts")
    ver.set_defaults(func=_cmd_verify)

