"""``python -m geo export``: map snapshots from the command line, one province or all twenty.

Examples::

    python -m geo export --province 46 --metric poor_households --format png,pdf,html --out exports/
    python -m geo export --district 4609 --metric mpi --level h3:8 --format png --size 3840x2160 --out exports/
    python -m geo export --all-pilot-provinces --metric share_levels_1_2 --format png,pdf --out exports/
    python -m geo export --province 46 --metric share_levels_1_2 --classes custom --breaks 60,70,80 --out exports/

File names say province, metric and date (``46_kalasin_poor_households_2026-11-21.png``); beside
each file, ``<file>.legend.json`` holds its legend (metric, method, breaks, colours). The colour
classes (``--classes``) are national by default for ``--all-pilot-provinces``, so the twenty
provinces share one legend, and this map's quantiles for one area. Every
export goes through :func:`geo.views.mapview.build_map`, so it holds only protected aggregates (k = 10).
Bad arguments end with one line on stderr and exit code 2 (:class:`geo.export.ExportError`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from geo.export import DEFAULT_SIZE, FORMATS, SIZES
from geo.errors import ExportError

LEVEL_CHOICES = ("province", "district", "subdistrict", "h3", "h3:R")


def parse_level(value: str) -> tuple[str, int | None]:
    """``"district" -> ("district", None)``, ``"h3" -> ("h3", None)`` (automatic), ``"h3:8" -> ("h3", 8)``.

    Raises
    ------
    ExportError
        When the value is none of ``province``, ``district``, ``subdistrict``, ``h3`` or ``h3:R``
        with R in 5-9.
    """
    from geo.views.viewstate import MAP_RESOLUTIONS

    text = str(value).strip().lower()
    if text in ("province", "district", "subdistrict", "h3"):
        return text, None
    if text.startswith("h3:") and text[3:].isdigit() and int(text[3:]) in MAP_RESOLUTIONS:
        return "h3", int(text[3:])
    raise ExportError(f"--level must be one of province, district, subdistrict, h3 or h3:R with R in "
                      f"{list(MAP_RESOLUTIONS)}, got {value!r}")


def parse_list(value: str | None, name: str, allowed) -> tuple[str, ...]:
    """Comma-separated choices, each checked against ``allowed``."""
    items = tuple(dict.fromkeys(p.strip().lower() for p in (value or "").split(",") if p.strip()))
    if not items:
        raise ExportError(f"{name} must list at least one of {list(allowed)}, got {value!r}")
    bad = [i for i in items if i not in allowed]
    if bad:
        raise ExportError(f"{name} must be one or more of {list(allowed)} (comma-separated), got {bad[0]!r}")
    return items


def parse_classes(classes: str | None, breaks: str | None, metric: str, *, default: str) -> tuple[str, tuple[float, ...]]:
    """``--classes`` and ``--breaks`` as a :class:`~geo.views.mapview.MapView`'s ``classes`` and
    ``breaks`` (typed in the legend's units, percent for a share; given back in the metric's).

    Raises
    ------
    ExportError
        When the method is unknown, custom classes have no valid breaks, or breaks come without them.
    """
    from geo.views.metrics import get_metric
    from geo.views.style import CLASS_METHODS, MAX_CUSTOM_BREAKS
    from geo.views.viewstate import parse_breaks

    chosen = classes or ("custom" if breaks else default)
    if chosen not in CLASS_METHODS:
        raise ExportError(f"--classes must be one of {', '.join(CLASS_METHODS)}, got {classes!r}")
    if chosen != "custom":
        if breaks:
            raise ExportError(f"--breaks apply to --classes custom only, got --classes {chosen}")
        return chosen, ()
    cuts = parse_breaks(breaks or "")
    if cuts is None:
        raise ExportError(f"--breaks must be 1 to {MAX_CUSTOM_BREAKS} increasing numbers (e.g. 10,20,30), "
                          f"got {breaks!r}")
    spec = get_metric(metric)
    if spec.scale != "sequential":
        raise ExportError(f"--classes custom needs a metric with a colour scale, not {metric!r}")
    return chosen, tuple(c / spec.display_scale for c in cuts)


def parse_date(value: str | None) -> dt.date:
    """``YYYY-MM-DD`` (CE) or today."""
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ExportError(f"--date must be a CE date YYYY-MM-DD (e.g. 2026-11-21), got {value!r}") from None


class _Progress:
    """A plain progress bar on stderr: redrawn in place on a terminal, one line per step otherwise."""

    def __init__(self, total: int, stream=None):
        self.total, self.done, self.start = total, 0, time.monotonic()
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def step(self, label: str) -> None:
        self.done += 1
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        elapsed = time.monotonic() - self.start
        line = f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {label} ({elapsed:.1f} s)"
        if self.tty:
            end = "\n" if self.done == self.total else ""
            self.stream.write(f"\r{line:<100}{end}")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _filters(args: argparse.Namespace):
    from geo.engine.filters import HouseholdFilter

    levels = None
    if args.household_levels:
        levels = tuple(int(v) for v in parse_list(args.household_levels, "--household-levels", ("1", "2", "3", "4")))
    tpmap = {None: None, "in": True, "out": False}[args.tpmap]
    verified = {None: None, "yes": True, "no": False}[args.verified]
    flt = HouseholdFilter(levels=levels, in_tpmap=tpmap, verified=verified)
    return None if flt.is_empty else flt


def _cmd_export(args: argparse.Namespace) -> int:
    from geo.data.contract import PILOT_PROVINCES
    from geo.views.mapview import MapView, load_map_inputs
    from geo.views.metrics import METRICS, metric_name

    formats = parse_list(args.format, "--format", tuple(FORMATS))
    if args.size not in SIZES:
        raise ExportError(f"--size must be one of {list(SIZES)}, got {args.size!r}")
    if args.size != DEFAULT_SIZE and "png" not in formats:
        raise ExportError(f"--size applies to PNG only; add png to --format (got {','.join(formats)})")
    metric = metric_name(args.metric)
    if metric not in METRICS:
        raise ExportError(f"--metric must be one of {list(METRICS)}, got {args.metric!r}")
    if args.lang not in ("th", "en"):
        raise ExportError(f"--lang must be th or en, got {args.lang!r}")
    if args.all_pilot_provinces and (args.province or args.district):
        raise ExportError("--all-pilot-provinces maps every pilot province: leave out --province and --district")
    if not (args.all_pilot_provinces or args.province or args.district):
        raise ExportError("say which area to map: --province CODE, --district CODE or --all-pilot-provinces")
    for name, value, width in (("--province", args.province, 2), ("--district", args.district, 4)):
        if value is not None and not (len(value) == width and value.isascii() and value.isdigit()):
            raise ExportError(f"{name} must be a {width}-digit DOPA code, got {value!r}")
    if args.province and args.district and not args.district.startswith(args.province):
        raise ExportError(f"--district {args.district!r} is not in --province {args.province!r}")
    now = parse_date(args.date)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ExportError(f"--out {str(out)!r} exists and is not a folder")
    level, res = parse_level(args.level) if args.level else (None, None)
    flt = _filters(args)
    classes, breaks = parse_classes(args.classes, args.breaks, metric,
                                    default="national" if args.all_pilot_provinces else "quantile")

    def view_for(province: str | None, district: str | None) -> MapView:
        chosen = level or ("subdistrict" if district else "district")
        return MapView(metric=metric, level=chosen, province_code=province, district_code=district, res=res,
                       filters=flt, lang=args.lang, classes=classes, breaks=breaks)

    if args.all_pilot_provinces:
        views = [view_for(code, None) for code in PILOT_PROVINCES]
    else:
        views = [view_for(args.province, args.district)]  # MapView checks the codes and their nesting

    inputs = load_map_inputs(args.input, args.boundaries)
    present = set(inputs.index.province_codes.astype(str).tolist())
    missing = [v.province_code for v in views if v.province_code not in present]
    if missing and not args.all_pilot_provinces:
        raise ExportError(f"--province {missing[0]!r} has no households in {inputs.source_path}")

    from geo.export import write_exports

    progress = _Progress(len(views))
    written = []
    for view in views:
        if view.province_code in missing:
            progress.step(f"{view.province_code}: no households, skipped")
            continue
        figure = inputs.build(view, now=now)
        written += write_exports(figure, out, formats=formats, size=args.size)
        progress.step(f"{view.scope_code} {figure.place}")
    for path in written:
        print(path)
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``export`` to the ``python -m bench`` command line."""
    from geo.views.metrics import METRICS

    cmd = subparsers.add_parser(
        "export", help="export protected map snapshots (PNG, PDF brief, offline HTML)",
        description="Export map snapshots of one province or district, or of all 20 pilot provinces. "
                    "Every figure is protected (areas under 10 households withheld).")
    where = cmd.add_argument_group("area (one of)")
    where.add_argument("--province", metavar="CODE", help="2-digit DOPA province code, e.g. 46")
    where.add_argument("--district", metavar="CODE", help="4-digit DOPA district code, e.g. 4609")
    where.add_argument("--all-pilot-provinces", action="store_true", help="one set per pilot province (20)")
    cmd.add_argument("--metric", required=True, metavar="NAME", help=f"one of: {', '.join(METRICS)}")
    cmd.add_argument("--level", metavar="LEVEL",
                     help="province | district | subdistrict | h3 | h3:R (R = 5-9); default district "
                          "(subdistrict for --district)")
    cmd.add_argument("--classes", metavar="METHOD",
                     help="colour classes: national | quantile | equal | custom (default national with "
                          "--all-pilot-provinces, else quantile)")
    cmd.add_argument("--breaks", metavar="LIST",
                     help="cut points for --classes custom, in the legend's units (percent for shares), e.g. 10,20,30")
    cmd.add_argument("--format", default="png,pdf,html", metavar="LIST", help="comma-separated: png,pdf,html")
    cmd.add_argument("--size", default=DEFAULT_SIZE, metavar="SIZE",
                     help=f"PNG size: {' | '.join(SIZES)} (default {DEFAULT_SIZE})")
    cmd.add_argument("--lang", default="th", metavar="LANG", help="th (default) or en")
    cmd.add_argument("--date", metavar="YYYY-MM-DD", help="date printed and in file names (default today)")
    cmd.add_argument("--household-levels", metavar="LIST", help="only households at these levels, e.g. 1,2")
    cmd.add_argument("--tpmap", choices=("in", "out"), help="only households in / missing from TPMAP")
    cmd.add_argument("--verified", choices=("yes", "no"), help="only verified / unverified households")
    cmd.add_argument("--input", metavar="FILE", help="households (.parquet/.csv); default the synthetic sample")
    cmd.add_argument("--boundaries", metavar="DIR", help="installed boundaries folder (default data/boundaries)")
    cmd.add_argument("--out", required=True, metavar="DIR", help="folder to write into (created if missing)")

    def one_line_error(message: str) -> None:
        cmd.exit(2, f"error: {message} (see python -m geo export --help)\n")

    cmd.error = one_line_error  # type: ignore[method-assign]
    cmd.set_defaults(func=_cmd_export)
