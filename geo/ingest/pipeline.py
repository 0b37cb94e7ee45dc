"""Import household files: read, normalise, check, and report on every row.

:func:`import_households` is the one entry point; the command line and the app's data page both
call it. It reads the store (to refuse files and households already there) but writes nothing:
:func:`save_import` writes the accepted rows and their provenance afterwards.

Every data row of every file read ends up ``accepted``, ``warning`` (accepted, with reasons) or
``rejected`` (with reasons), so ``accepted + rejected == rows_in`` always.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from geo.data import national_id as nid
from geo.data.contract import (
    CAPITAL_COLUMNS,
    CAPITAL_SCORE_MAX,
    CAPITAL_SCORE_MIN,
    DEPRIVATION_COLUMNS,
    HOUSEHOLD_COLUMN_NAMES,
    OPTIONAL_REPORTED_COLUMNS,
    REQUIRED_HOUSEHOLD_COLUMNS,
    check_households,
    conform_households,
    poverty_level_from_scores,
)
from geo.data.store import MODES
from geo.errors import ArgumentError, ArgumentTypeError, InputFileError
from geo.ingest import values as V
from geo.ingest.areas import area_label, resolve_area
from geo.ingest.positions import district_mismatches, read_positions
from geo.ingest.limits import ImportLimits, refuse_file_size
from geo.ingest.read import RawTable, match_header, read_table
from geo.ingest.reasons import Reason, make_reason
from geo.text import en_th, label

#: Row statuses in the report.
STATUSES: tuple[str, ...] = ("accepted", "warning", "rejected")
BOOLEAN_COLUMNS: tuple[str, ...] = ("in_tpmap", "verified", *DEPRIVATION_COLUMNS)
MEMBERS_RANGE = (1, 30)
VILLAGE_RANGE = (1, 999)
FIRST_SURVEY_YEAR = 2000
AREA_COLUMNS: tuple[str, ...] = ("province_code", "district_code", "subdistrict_code")
# A row whose cells cannot be trusted (split wrongly) is reported for that alone.
_SHAPE_CODES: tuple[str, ...] = ("quote_unclosed", "row_shape")


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass
class FileSummary:
    """What happened to one input file."""

    file: str
    content_hash: str
    status: str  # "read" or "already_imported"
    format: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    header_row: int | None = None
    rows_in: int = 0
    accepted: int = 0
    warnings: int = 0
    rejected: int = 0
    columns: dict[str, str] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    notes: list[Reason] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The report form of this summary."""
        return {
            "file": self.file,
            "content_hash": self.content_hash,
            "status": self.status,
            "format": self.format,
            "encoding": self.encoding,
            "sheet": self.sheet,
            "header_row": self.header_row,
            "rows_in": self.rows_in,
            "accepted": self.accepted,
            "warnings": self.warnings,
            "rejected": self.rejected,
            "columns": dict(self.columns),
            "extra_columns": list(self.extra_columns),
            "missing_columns": list(self.missing_columns),
            "notes": [n.to_dict() for n in self.notes],
        }


@dataclass
class ImportResult:
    """Everything an import produced; nothing of it is stored until :func:`save_import`.

    Attributes
    ----------
    households : pandas.DataFrame
        Accepted rows (with or without warnings), in the data contract
        (:func:`geo.data.contract.conform_households`), plus ``head_name`` only when it was kept.
    rows : pandas.DataFrame
        One row per input data row: ``file``, ``row`` (1-based data row of its file), ``status``
        (``accepted``/``warning``/``rejected``) and ``reasons`` (a list of :class:`Reason`).
    rejects : pandas.DataFrame
        The rejected rows as the sender wrote them, with ``file``, ``row``, ``reason_codes``,
        ``reasons_th`` and ``reasons_en`` in front; national IDs masked, names dropped.
    files : list of FileSummary
    mode : str
    imported_at : str
        ISO 8601 time of the import (UTC).
    seconds : float
        Time the import took.
    """

    households: pd.DataFrame
    rows: pd.DataFrame
    rejects: pd.DataFrame
    files: list[FileSummary]
    mode: str
    imported_at: str
    seconds: float = 0.0

    @property
    def rows_in(self) -> int:
        return int(len(self.rows))

    @property
    def accepted(self) -> int:
        return int((self.rows["status"] != "rejected").sum())

    @property
    def warnings(self) -> int:
        return int((self.rows["status"] == "warning").sum())

    @property
    def rejected(self) -> int:
        return int((self.rows["status"] == "rejected").sum())

    @property
    def refused_files(self) -> list[str]:
        """Names of files not read because they were imported before."""
        return [f.file for f in self.files if f.status == "already_imported"]

    def reason_counts(self) -> dict[str, int]:
        """How many rows carry each reason code, most frequent first."""
        counts: dict[str, int] = {}
        for reasons in self.rows["reasons"]:
            for code in dict.fromkeys(r.code for r in reasons):
                counts[code] = counts.get(code, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def report(self) -> dict:
        """The JSON report: totals, files, and every row with its status and reasons.

        ``{"rows_in", "accepted", "warnings", "rejected", "rows": [{"row", "status", "reasons":
        [{"code", "message_th", "message_en", "column"?}], "file"}], "files", "mode",
        "imported_at", "reason_counts"}``; ``accepted`` counts rows with warnings too.
        """
        rows = [
            {
                "row": int(row),
                "status": status,
                "reasons": [r.to_dict() for r in reasons],
                "file": file,
            }
            for file, row, status, reasons in zip(
                self.rows["file"], self.rows["row"], self.rows["status"], self.rows["reasons"]
            )
        ]
        return {
            "rows_in": self.rows_in,
            "accepted": self.accepted,
            "warnings": self.warnings,
            "rejected": self.rejected,
            "mode": self.mode,
            "imported_at": self.imported_at,
            "files": [f.to_dict() for f in self.files],
            "reason_counts": self.reason_counts(),
            "rows": rows,
        }

    def provenance_entries(self) -> list[dict]:
        """One store provenance entry per file that was read."""
        return [
            {
                "file": f.file,
                "content_hash": f.content_hash,
                "imported_at": self.imported_at,
                "mode": self.mode,
                "format": f.format,
                "rows_in": f.rows_in,
                "accepted": f.accepted,
                "warnings": f.warnings,
                "rejected": f.rejected,
            }
            for f in self.files
            if f.status == "read"
        ]


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------


def _load_source(source: object, limits: ImportLimits | None = None) -> tuple[str, bytes]:
    """Return (name, bytes) of a path, a ``(name, bytes)`` pair, or an uploaded-file object.

    A path's size is checked against ``limits.max_file_bytes`` before it is read.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            if not path.is_file():
                raise InputFileError(f"{path}: file not found" if not path.exists() else f"{path}: is not a file")
            refuse_file_size(path.name, path.stat().st_size, limits or ImportLimits())
            return path.name, path.read_bytes()
        except OSError as exc:
            raise InputFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if isinstance(source, tuple) and len(source) == 2 and isinstance(source[1], (bytes, bytearray)):
        return str(source[0]), bytes(source[1])
    if hasattr(source, "getvalue"):
        return str(getattr(source, "name", "upload")), bytes(source.getvalue())
    if isinstance(source, (bytes, bytearray)):
        return "upload", bytes(source)
    raise ArgumentTypeError(
        "files must hold paths, (name, bytes) pairs or uploaded-file objects, "
        f"got {type(source).__name__}"
    )


def content_hash(data: bytes) -> str:
    """``"sha256:<hex>"`` of a file's bytes: the identity used to refuse a second import.

    Example
    -------
    >>> content_hash(b"")[:15]
    'sha256:e3b0c442'
    """
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------
# One file
# ---------------------------------------------------------------------------------------------


@dataclass
class _Parsed:
    """One read file after normalising: values by contract column, reasons by data row."""

    table: RawTable
    summary: FileSummary
    values: pd.DataFrame  # contract columns (+ head_name), object values, index = data row
    reasons: dict[int, list[Reason]]
    id_columns: list[int]
    name_columns: list[int]


def _map_unique(texts: pd.Series, parser: Callable[[str], tuple[object, str | None]]) -> tuple[pd.Series, pd.Series]:
    """Apply ``parser`` once per distinct text; return (values, error codes) on the same index."""
    unique = pd.unique(texts.to_numpy(dtype=object))
    parsed = {text: parser(text) for text in unique}
    values = pd.Series([parsed[t][0] for t in texts.tolist()], index=texts.index, dtype=object)
    errors = pd.Series([parsed[t][1] for t in texts.tolist()], index=texts.index, dtype=object)
    return values, errors


def _map_cached(series: pd.Series, function: Callable[[object], object]) -> list:
    """``function`` of each value, computed once per distinct value."""
    values = series.tolist()
    done = {v: function(v) for v in dict.fromkeys(values)}
    return [done[v] for v in values]


def _coalesce(cells: pd.DataFrame, positions: list[int]) -> pd.Series:
    """The first non-blank cell of several columns that stand for one contract column, cleaned."""
    out = _map_cached(cells[positions[0]], V.clean_cell)
    for position in positions[1:]:
        other = _map_cached(cells[position], V.clean_cell)
        out = [a if a != "" else b for a, b in zip(out, other)]
    return pd.Series(out, index=cells.index, dtype=object)


def _header_label(headers: list[str], position: int) -> str:
    return headers[position] if headers[position] else f"(column {position + 1})"


def _hash_id(value: str, key: bytes) -> tuple[str | None, str | None]:
    """(hash, None) for a valid ID, else (None, reason code). The value never leaves here."""
    digits = nid.normalise_national_id(value)
    if len(digits) != 13 or not (digits.isascii() and digits.isdigit()):
        return None, "national_id_not_13_digits"
    if not nid.is_valid_national_id(digits):
        return None, "national_id_check_digit"
    return nid.hash_national_id(digits, key), None


def _is_national_id(value: object) -> bool:
    """True for text that is a valid 13-digit national ID (cheap test first)."""
    if not isinstance(value, str) or len(value) < 13 or not V.to_ascii_digits(value[:1]).isdigit():
        return False
    return nid.is_valid_national_id(value)


class _Reasons:
    """Reasons collected per data row."""

    def __init__(self) -> None:
        self.by_row: dict[int, list[Reason]] = {}

    def add(self, row: int, reason: Reason) -> None:
        self.by_row.setdefault(int(row), []).append(reason)

    def add_many(self, rows: Iterable[int], make: Callable[[int], Reason]) -> None:
        for row in rows:
            self.add(row, make(row))


def _parse_file(
    table: RawTable,
    summary: FileSummary,
    *,
    id_key: bytes | None,
    keep_head_name: bool,
    max_year: int,
) -> _Parsed:
    headers = table.headers
    cells = table.cells
    filled = [np.asarray(_map_cached(cells[c], lambda v: bool(str(v).strip())), dtype=bool) for c in cells.columns]
    nonblank = pd.Series(np.logical_or.reduce(filled) if filled else np.zeros(len(cells), dtype=bool),
                         index=cells.index)
    nonblank[list(table.quote_lines)] = True  # a broken line is reported even when it reads blank
    blank_rows = int((~nonblank).sum())
    cells = cells[nonblank]
    widths = table.widths[nonblank]
    index = cells.index
    reasons = _Reasons()

    # --- headers ---------------------------------------------------------------------------
    positions: dict[str, list[int]] = {}
    extras: list[str] = []
    for position, header in enumerate(headers):
        column = match_header(header)
        if column is None:
            if header or any(_map_cached(cells[position], lambda v: bool(str(v).strip()))):
                extras.append(_header_label(headers, position))
            continue
        positions.setdefault(column, []).append(position)
        summary.columns[_header_label(headers, position)] = column
    summary.extra_columns = extras
    id_columns = positions.pop("national_id", [])
    name_columns = positions.pop("head_name", [])
    text = {column: _coalesce(cells, pos) for column, pos in positions.items()}
    blank = pd.Series("", index=index, dtype=object)

    derivable = {
        "poverty_level": all(c in text for c in CAPITAL_COLUMNS),
        "province_code": "district_code" in text or "subdistrict_code" in text,
        "district_code": "subdistrict_code" in text,
    }
    missing = [c for c in REQUIRED_HOUSEHOLD_COLUMNS if c not in text and not derivable.get(c, False)]
    summary.missing_columns = missing
    for column in missing:
        reasons.add_many(index, lambda _r, c=column: make_reason("missing_column", c))

    if extras:
        summary.notes.append(make_reason("extra_columns", columns=", ".join(extras)))
    if blank_rows:
        summary.notes.append(make_reason("blank_rows_skipped", count=blank_rows))
    if table.header_row > 1:
        summary.notes.append(make_reason("header_not_first_row", row=table.header_row))
    if missing:
        summary.notes.append(make_reason("missing_columns", columns=", ".join(missing)))
    absent = [c for c in OPTIONAL_REPORTED_COLUMNS if c not in text]
    if absent:  # optional: stored as unknown, named once for the file (never a reason per row)
        summary.notes.append(make_reason("optional_columns_missing", columns=", ".join(absent)))

    # --- row shape (CSV rows longer than the header) and broken quotation marks --------------
    long_rows = widths[widths > len(headers)]
    for row, width in long_rows.items():
        reasons.add(row, make_reason("row_shape", cells=int(width), headers=len(headers)))
    for row, line in table.quote_lines.items():
        reasons.add(row, make_reason("quote_unclosed", line=line))
    if table.quote_lines:
        summary.notes.append(make_reason("quote_problems", count=len(table.quote_lines),
                                         line=min(table.quote_lines.values())))
    decimal_comma = table.decimal_comma
    if decimal_comma:
        summary.notes.append(make_reason("decimal_comma"))
    number = functools.partial(V.parse_number, decimal_comma=decimal_comma)

    out = pd.DataFrame(index=index)

    def column_text(column: str) -> pd.Series:
        return text.get(column, blank)

    def flag_errors(column: str, texts: pd.Series, errors: pd.Series, shown: bool = True) -> None:
        for row in errors.index[errors.notna()]:
            fields = {"value": texts[row]} if shown else {}
            reasons.add(row, make_reason(errors[row], column, **fields))

    def flag_missing(column: str, values: pd.Series, errors: pd.Series) -> None:
        if column in missing:
            return
        for row in values.index[values.isna() & errors.isna()]:
            reasons.add(row, make_reason("missing_value", column))

    def flag_out_of_range(code: str, column: str, values: pd.Series, text: pd.Series,
                          low: float, high: float) -> pd.Index:
        """Flag the rows whose parsed value lies outside [low, high]; return those rows."""
        outside = values.map(lambda v: v is not None and not low <= v <= high).astype(bool)
        rows = values.index[outside]
        for row in rows:
            reasons.add(row, make_reason(code, column, value=text[row]))
        return rows

    # --- identifiers and year ----------------------------------------------------------------
    hid_text = column_text("household_id")
    hid, err = _map_unique(hid_text, V.parse_household_id)
    looks_like_id = pd.Series(_map_cached(hid, _is_national_id), index=index, dtype=bool)
    for row in hid.index[looks_like_id.astype(bool)]:
        reasons.add(row, make_reason("household_id_is_national_id", "household_id"))
        hid[row] = None
        err[row] = "household_id_is_national_id"
    flag_errors("household_id", hid_text, err.where(err != "household_id_is_national_id"))
    flag_missing("household_id", hid, err)
    out["household_id"] = hid

    year_text = column_text("survey_year")
    year, err = _map_unique(year_text, V.parse_year)
    flag_errors("survey_year", year_text, err)
    flag_missing("survey_year", year, err)
    bad_range = year.map(lambda y: y is not None and not FIRST_SURVEY_YEAR <= int(y) <= max_year)
    for row in year.index[bad_range.astype(bool)]:
        reasons.add(row, make_reason("year_out_of_range", "survey_year", value=year_text[row], year=year[row],
                                     low=FIRST_SURVEY_YEAR, high=max_year))
        year[row] = None
    out["survey_year"] = year

    # --- areas -------------------------------------------------------------------------------
    _parse_areas(out, reasons, {c: column_text(c) for c in AREA_COLUMNS}, present={c for c in AREA_COLUMNS if c in text},
                 missing=missing)

    # --- numbers -----------------------------------------------------------------------------
    village_text = column_text("village_no")
    village, err = _map_unique(village_text, functools.partial(V.parse_village, decimal_comma=decimal_comma))
    flag_errors("village_no", village_text, err)
    flag_out_of_range("village_out_of_range", "village_no", village, village_text, *VILLAGE_RANGE)
    out["village_no"] = village

    members_text = column_text("members")
    members, err = _map_unique(members_text, functools.partial(V.parse_whole_number, decimal_comma=decimal_comma))
    flag_errors("members", members_text, err)
    flag_missing("members", members, err)
    flag_out_of_range("members_out_of_range", "members", members, members_text, *MEMBERS_RANGE)
    out["members"] = members

    income_text = column_text("income_per_capita_year")
    income, err = _map_unique(income_text, number)
    flag_errors("income_per_capita_year", income_text, err)
    for row in income.index[income.map(lambda v: v is not None and v < 0).astype(bool)]:
        reasons.add(row, make_reason("income_negative", "income_per_capita_year", value=income_text[row]))
    out["income_per_capita_year"] = income

    for column in CAPITAL_COLUMNS:
        score_text = column_text(column)
        score, err = _map_unique(score_text, number)
        flag_errors(column, score_text, err)
        flag_missing(column, score, err)
        outside = flag_out_of_range("score_out_of_range", column, score, score_text,
                                    CAPITAL_SCORE_MIN, CAPITAL_SCORE_MAX)
        score[outside] = None
        out[column] = score

    level_text = column_text("poverty_level")
    level, err = _map_unique(level_text, V.parse_level)
    flag_errors("poverty_level", level_text, err)
    scores = out[list(CAPITAL_COLUMNS)].astype("float64")
    mean = scores.mean(axis=1, skipna=False).round(6)
    derived = poverty_level_from_scores(mean.to_numpy())
    given_levels = level.tolist()
    level_errors = err.tolist()
    means = mean.tolist()
    for i, row in enumerate(index):
        given, wanted = given_levels[i], int(derived[i])
        if wanted == 0:
            continue
        if given is None and level_errors[i] is None:
            given_levels[i] = wanted
        elif given is not None and int(given) != wanted:
            reasons.add(row, make_reason("level_inconsistent", "poverty_level", given=given,
                                         mean=f"{means[i]:.2f}", derived=wanted))
    level = pd.Series(given_levels, index=index, dtype=object)
    if "poverty_level" not in missing:
        for row in index[level.isna().to_numpy() & err.isna().to_numpy()]:
            if not any(r.column in CAPITAL_COLUMNS for r in reasons.by_row.get(int(row), ())):
                reasons.add(row, make_reason("missing_value", "poverty_level"))
    out["poverty_level"] = level

    # --- yes/no columns ----------------------------------------------------------------------
    # A file that ticks boxes (✓) leaves the unticked ones blank: there, blank means "no".
    ticks = any(any(_map_cached(column_text(c), V.is_check_mark)) for c in BOOLEAN_COLUMNS if c in text)
    for column in BOOLEAN_COLUMNS:
        bool_text = column_text(column)
        values, err = _map_unique(bool_text, V.parse_boolean)
        if ticks and column in text:
            values = values.where(bool_text != "", False)
        flag_errors(column, bool_text, err)
        if column in REQUIRED_HOUSEHOLD_COLUMNS:  # verified and dep_* are optional: blank is unknown
            flag_missing(column, values, err)
        out[column] = values
    # TPMAP's deprivations exist only for a household in TPMAP: unknown for one not in it.
    outside = out["in_tpmap"].map(lambda v: v is False).to_numpy(dtype=bool)
    if outside.any():
        given = np.zeros(len(index), dtype=bool)
        for column in DEPRIVATION_COLUMNS:
            if column in text:
                given |= (column_text(column) != "").to_numpy(dtype=bool)
                out.loc[outside, column] = None
            elif column in out.columns:
                out.loc[outside, column] = None
        if (given & outside).any():
            summary.notes.append(make_reason("deprivations_outside_tpmap", count=int((given & outside).sum())))

    status_text = column_text("assistance_status")
    status, err = _map_unique(status_text, V.parse_status)
    flag_errors("assistance_status", status_text, err)
    if "assistance_status" not in text:  # no column: unknown; a blank cell of the column means "none"
        status = pd.Series(None, index=index, dtype=object)
    out["assistance_status"] = status

    pilot_text = column_text("pilot_id")
    out["pilot_id"], _ = _map_unique(pilot_text, V.parse_text)

    # --- positions ---------------------------------------------------------------------------
    positions_frame = read_positions(column_text("lat"), column_text("lon"), decimal_comma=decimal_comma)
    out["lat"] = positions_frame["lat"]
    out["lon"] = positions_frame["lon"]
    has_position_columns = "lat" in text or "lon" in text
    if not has_position_columns:
        summary.notes.append(make_reason("no_position_columns"))
    for row, problem in positions_frame["problem"].items():
        if problem is None or not has_position_columns:
            continue
        fields: dict[str, object] = {}
        if problem == "position_not_number":
            fields["value"] = positions_frame.at[row, "bad_text"]
        elif problem == "position_outside_thailand":
            fields = {"lat": f"{positions_frame.at[row, 'given_lat']:g}", "lon": f"{positions_frame.at[row, 'given_lon']:g}"}
        reasons.add(row, make_reason(problem, "lat", **fields))

    # --- national ID and name ------------------------------------------------------------------
    hash_text = column_text("national_id_hash")
    hashes, err = _map_unique(hash_text, V.parse_id_hash)
    flag_errors("national_id_hash", hash_text, err, shown=False)
    if id_columns:
        id_text = _coalesce(cells, id_columns)
        has_id = id_text != ""
        if id_key is None:
            if has_id.any():
                summary.notes.append(make_reason("id_key_missing_file"))
            for row in index[has_id.to_numpy()]:
                reasons.add(row, make_reason("id_key_missing", "national_id"))
        else:
            computed: dict[str, tuple[str | None, str | None]] = {}
            hash_list = hashes.tolist()
            for i, (row, value) in enumerate(zip(index, id_text.tolist())):
                if not value:
                    continue
                if value not in computed:
                    computed[value] = _hash_id(value, id_key)
                hashed, problem = computed[value]
                if problem:
                    reasons.add(row, make_reason(problem, "national_id"))
                else:
                    hash_list[i] = hashed
            hashes = pd.Series(hash_list, index=index, dtype=object)
            if has_id.any():
                summary.notes.append(make_reason("national_id_hashed"))
    out["national_id_hash"] = hashes

    if name_columns:
        if keep_head_name:
            out["head_name"] = _coalesce(cells, name_columns).replace("", None)
            summary.notes.append(make_reason("head_name_kept"))
        else:
            summary.notes.append(make_reason("head_name_dropped"))

    return _Parsed(table, summary, out, reasons.by_row, id_columns, name_columns)


def _parse_areas(out: pd.DataFrame, reasons: _Reasons, texts: dict[str, pd.Series], *, present: set[str],
                 missing: list[str]) -> None:
    """Resolve province, district and subdistrict together (names need the row's parent area)."""
    combos = pd.DataFrame(texts)
    keys = list(zip(*(combos[c].tolist() for c in AREA_COLUMNS)))
    results: dict[tuple[str, str, str], tuple[dict[str, str | None], list[Reason]]] = {}
    for key in dict.fromkeys(keys):
        results[key] = _resolve_row_areas(*key, present=present, missing=missing)
    codes = {c: [] for c in AREA_COLUMNS}
    for row, key in zip(combos.index, keys):
        found, problems = results[key]
        for column in AREA_COLUMNS:
            codes[column].append(found[column])
        for problem in problems:
            reasons.add(row, problem)
    for column in AREA_COLUMNS:
        out[column] = pd.Series(codes[column], index=combos.index, dtype=object)


def _where(column: str, parent: str | None) -> tuple[str, str]:
    if not parent:
        return "", ""
    key = "where.in_province" if column == "province_code" else "where.in_district"
    where, where_th = en_th(key, area=area_label(column, parent))
    return f" {where}", f" {where_th}"


def _resolve_row_areas(p_text: str, d_text: str, s_text: str, *, present: set[str], missing: list[str]
                       ) -> tuple[dict[str, str | None], list[Reason]]:
    problems: list[Reason] = []
    found: dict[str, str | None] = dict.fromkeys(AREA_COLUMNS)
    failed: set[str] = set()

    def resolve(column: str, value: str, parent: str | None, parent_column: str | None) -> None:
        result = resolve_area(value, column, parent)
        if result.code:
            found[column] = result.code
        elif result.error:
            failed.add(column)
            if result.error == "ambiguous_name":
                shown = ", ".join(area_label(column, c) for c in result.matches[:4])
                if len(result.matches) > 4:
                    shown += f", … ({len(result.matches)})"
                problems.append(make_reason("ambiguous_name", column, value=value, matches=shown))
            elif result.error.startswith("unknown_") and parent and parent_column:
                where, where_th = _where(parent_column, parent)
                problems.append(make_reason(result.error, column, value=value, where=where, where_th=where_th))
            else:
                problems.append(make_reason(result.error, column, value=value))

    resolve("province_code", p_text, None, None)
    resolve("district_code", d_text, found["province_code"], "province_code")
    parent = found["district_code"] or found["province_code"]
    resolve("subdistrict_code", s_text, parent, "district_code" if found["district_code"] else "province_code")

    # Fill a blank parent from a child's code; a failed one stays failed.
    if found["subdistrict_code"] and not found["district_code"] and "district_code" not in failed and not d_text:
        found["district_code"] = found["subdistrict_code"][:4]
    if found["district_code"] and not found["province_code"] and "province_code" not in failed and not p_text:
        found["province_code"] = found["district_code"][:2]

    p, d, s = found["province_code"], found["district_code"], found["subdistrict_code"]
    if p and d and d[:2] != p:
        problems.append(make_reason("code_mismatch", "district_code", child_column="district_code",
                                    child=area_label("district_code", d), parent_column="province_code",
                                    parent=area_label("province_code", p)))
    if d and s and s[:4] != d:
        problems.append(make_reason("code_mismatch", "subdistrict_code", child_column="subdistrict_code",
                                    child=area_label("subdistrict_code", s), parent_column="district_code",
                                    parent=area_label("district_code", d)))
    for column in ("province_code", "district_code"):
        if not found[column] and column not in failed and column not in missing:
            problems.append(make_reason("missing_value", column))
    return found, problems


# ---------------------------------------------------------------------------------------------
# All files
# ---------------------------------------------------------------------------------------------


def _check_args(files: object, mode: object, store: object, keep_head_name: object, sheet: object) -> list:
    single = isinstance(files, (str, bytes, bytearray, os.PathLike)) or hasattr(files, "getvalue") or (
        isinstance(files, tuple) and len(files) == 2 and isinstance(files[1], (bytes, bytearray))
    )
    if single:
        files = [files]
    elif not isinstance(files, Iterable):
        raise ArgumentTypeError(f"files must be a list of files, got {type(files).__name__}")
    files = list(files)  # type: ignore[arg-type]
    if not files:
        raise ArgumentError("files must hold at least one file, got none")
    if mode not in MODES:
        raise ArgumentError(f"mode must be one of {MODES}, got {mode!r}")
    if store is not None and not isinstance(store, (str, os.PathLike)):
        raise ArgumentTypeError(f"store must be a path or None, got {type(store).__name__}")
    if not isinstance(keep_head_name, bool):
        raise ArgumentTypeError(f"keep_head_name must be True or False, got {keep_head_name!r}")
    if sheet is not None and not isinstance(sheet, str):
        raise ArgumentTypeError(f"sheet must be a sheet name or None, got {sheet!r}")
    return files


def import_households(
    files: Sequence[object] | object,
    *,
    mode: str = "upsert",
    store: str | os.PathLike[str] | None = None,
    id_key: str | bytes | None = None,
    keep_head_name: bool = False,
    sheet: str | None = None,
    boundaries=None,
    boundaries_problem: str | None = None,
    now: dt.datetime | None = None,
    limits: ImportLimits | None = None,
) -> ImportResult:
    """Read household files, normalise them to the data contract and judge every row.

    Nothing is written: pass the result to :func:`save_import` to store it.

    Parameters
    ----------
    files : sequence
        Paths, ``(name, bytes)`` pairs, or uploaded-file objects (anything with ``name`` and
        ``getvalue()``, like Streamlit's). CSV (UTF-8, UTF-8 with BOM, UTF-16, TIS-620/cp874),
        XLSX and Parquet; the type is read from the content.
    mode : {"upsert", "replace_all"}
        ``upsert`` refuses files already imported (same content) and notes, per file, how many of
        its households already stored in the same round it will replace (``replaces_stored``);
        ``replace_all`` judges the files on their own (the whole store, every round, will be
        replaced by them).
    store : path, optional
        The store to check against; with None, files are judged on their own.
    id_key : str or bytes, optional
        Secret key for hashing national IDs (at least 16 bytes). Without one, rows that carry a
        national ID are rejected with ``id_key_missing``. See :func:`geo.data.national_id.id_hash_key`.
    keep_head_name : bool, default False
        Keep the household head's name (``head_name``); it is dropped otherwise.
    sheet : str, optional
        Sheet to read from XLSX files; the first sheet when omitted.
    boundaries : geopandas.GeoDataFrame, optional
        District boundaries (``code``, ``geometry``) to check that positions lie in their declared
        district; the check is skipped (and noted) without them.
    boundaries_problem : str, optional
        Why boundaries are missing, for the note (e.g. "not installed").
    now : datetime, optional
        The time of the import (UTC now by default); survey years after ``now.year + 1`` are
        refused.
    limits : ImportLimits, optional
        Rows, columns, unpacked size and memory a file (and the import) may take, checked while
        each file is read; :meth:`ImportLimits.from_env` (the defaults and any
        ``PPAP_IMPORT_*`` variable) when omitted. To keep the caller's process out of it
        altogether, use :func:`geo.ingest.isolated.import_households_isolated`.

    Returns
    -------
    ImportResult

    Raises
    ------
    InputFileError
        When a file cannot be read at all (missing, empty, wrong type, damaged, protected, unknown
        encoding, no recognised header) or is over a limit (``ImportLimitError``, in English and
        Thai). Nothing is imported then.
    IdKeyError
        When ``id_key`` is given but shorter than 16 bytes.
    ValueError, TypeError
        When an argument is out of range or of the wrong type (the message names it).

    Example
    -------
    >>> csv = "household_id,survey_year,district_code,members\\nH1,2567,4609,4\\n".encode()
    >>> result = import_households([("a.csv", csv)])
    >>> result.rows_in, result.rejected, result.rows.loc[0, "reasons"][0].code
    (1, 1, 'missing_column')
    """
    started = time.perf_counter()
    sources = _check_args(files, mode, store, keep_head_name, sheet)
    if limits is None:
        limits = ImportLimits.from_env()
    elif not isinstance(limits, ImportLimits):
        raise ArgumentTypeError(f"limits must be an ImportLimits or None, got {type(limits).__name__}")
    key = nid.check_id_hash_key(id_key) if id_key else None
    now = now or dt.datetime.now(dt.timezone.utc)
    if not isinstance(now, dt.datetime):
        raise ArgumentTypeError(f"now must be a datetime, got {type(now).__name__}")
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)

    already: dict[str, dict] = {}
    stored: set[tuple[str, int]] = set()
    if store is not None and mode == "upsert":
        from geo.data import store as store_module
        already = store_module.imported_hashes(store)
        stored = store_module.stored_keys(store)

    loaded = [_load_source(s, limits) for s in sources]
    parsed: list[_Parsed] = []
    summaries: list[FileSummary] = []
    seen_hashes: dict[str, str] = {}
    memory_used = 0
    for name, data in loaded:
        digest = content_hash(data)
        if digest in seen_hashes or digest in already:
            when = already[digest].get("imported_at", "?") if digest in already else f"this import ({seen_hashes[digest]})"
            summary = FileSummary(name, digest, "already_imported")
            summary.notes.append(make_reason("file_already_imported", when=when))
            summaries.append(summary)
            continue
        seen_hashes[digest] = name
        table = read_table(data, name, sheet=sheet, limits=limits, memory_used=memory_used)
        memory_used += table.memory_estimate
        summary = FileSummary(name, digest, "read", table.format, table.encoding, table.sheet, table.header_row)
        parsed.append(_parse_file(table, summary, id_key=key, keep_head_name=keep_head_name, max_year=now.year + 1))
        summaries.append(summary)

    # --- duplicates across everything read, then against the store ----------------------------
    first_seen: dict[tuple[str, int], tuple[str, int]] = {}
    replacing: dict[str, list[int]] = {}
    for item in parsed:
        values = item.values
        for row, hid, year in zip(values.index, values["household_id"].tolist(), values["survey_year"].tolist()):
            if hid is None or year is None or any(r.severity == "reject" for r in item.reasons.get(int(row), ())):
                continue
            key_pair = (str(hid), int(year))
            if key_pair in first_seen:
                file, first_row = first_seen[key_pair]
                same = file == item.summary.file
                first, first_th = (f"{label('where.row', lang)} {first_row}"
                                   + ("" if same else " " + label("where.of_file", lang, file=file))
                                   for lang in ("en", "th"))
                item.reasons.setdefault(int(row), []).append(
                    make_reason("duplicate_household", "household_id", household_id=hid, year=year,
                                first=first, first_th=first_th))
            else:
                first_seen[key_pair] = (item.summary.file, int(row))
                if key_pair in stored:
                    replacing.setdefault(item.summary.file, []).append(key_pair[1])
    for item in parsed:  # an upsert replaces the stored rows of the same household and round
        years = replacing.get(item.summary.file)
        if years:
            item.summary.notes.append(make_reason(
                "replaces_stored", count=len(years), rounds=", ".join(str(y) for y in sorted(set(years)))))

    # --- positions against district boundaries -----------------------------------------------
    _check_districts(parsed, boundaries, boundaries_problem)

    # --- statuses, households, rejects -------------------------------------------------------
    rows_parts, accepted_parts, reject_parts = [], [], []
    for item in parsed:
        statuses = []
        row_reasons = []
        for row in item.values.index:
            found = item.reasons.get(int(row), [])
            if any(r.code in _SHAPE_CODES for r in found):
                found = [r for r in found if r.code in (*_SHAPE_CODES, "missing_column")]  # the rest is noise
                item.reasons[int(row)] = found  # the rejects download says the same
            if any(r.severity == "reject" for r in found):
                statuses.append("rejected")
            elif found:
                statuses.append("warning")
            else:
                statuses.append("accepted")
            row_reasons.append(found)
        status = pd.Series(statuses, index=item.values.index, dtype=object)
        summary = item.summary
        summary.rows_in = len(status)
        summary.rejected = int((status == "rejected").sum())
        summary.accepted = summary.rows_in - summary.rejected
        summary.warnings = int((status == "warning").sum())
        rows_parts.append(pd.DataFrame({
            "file": summary.file,
            "row": item.values.index.to_numpy(dtype="int64"),
            "status": status.to_numpy(),
            "reasons": pd.Series(row_reasons, dtype=object).to_numpy(),
        }))
        good = item.values[(status != "rejected").to_numpy()]
        if len(good):
            accepted_parts.append(good)
        bad_rows = status.index[(status == "rejected").to_numpy()]
        if len(bad_rows):
            reject_parts.append(_rejects_frame(item, bad_rows, keep_head_name))

    households = _households_frame(accepted_parts, keep_head_name)
    rows = (pd.concat(rows_parts, ignore_index=True) if rows_parts
            else pd.DataFrame({"file": [], "row": [], "status": [], "reasons": []}).astype(
                {"file": object, "row": "int64", "status": object, "reasons": object}))
    rejects = pd.concat(reject_parts, ignore_index=True) if reject_parts else pd.DataFrame(
        columns=["file", "row", "reason_codes", "reasons_th", "reasons_en"])
    return ImportResult(
        households=households,
        rows=rows,
        rejects=rejects,
        files=summaries,
        mode=mode,
        imported_at=now.astimezone(dt.timezone.utc).isoformat(timespec="seconds"),
        seconds=time.perf_counter() - started,
    )


def _check_districts(parsed: list[_Parsed], boundaries, problem: str | None) -> None:
    with_position = [item for item in parsed if item.values["lat"].notna().any()]
    if not with_position:
        return
    if boundaries is None:
        why = problem or label("where.no_boundaries", "en")
        why_th = label("where.no_boundaries", "th") + (f" ({problem})" if problem else "")
        for item in with_position:
            item.summary.notes.append(make_reason("district_check_skipped", why=why, why_th=why_th))
        return
    for item in with_position:
        values = item.values
        found = district_mismatches(values[["lat", "lon", "district_code"]], boundaries)
        for row in found.index[found["outside"].fillna(False).to_numpy(dtype=bool)]:
            if any(r.severity == "reject" for r in item.reasons.get(int(row), ())):
                continue
            located = found.at[row, "located_code"]
            item.reasons.setdefault(int(row), []).append(make_reason(
                "position_outside_district", "lat", lat=f"{values.at[row, 'lat']:.5f}",
                lon=f"{values.at[row, 'lon']:.5f}", district=area_label("district_code", values.at[row, "district_code"]),
                km=f"{found.at[row, 'distance_m'] / 1000:.1f}",
                located=area_label("district_code", located) if located else label("where.no_district", "en"),
                located_th=area_label("district_code", located) if located else label("where.no_district", "th")))


def _households_frame(parts: list[pd.DataFrame], keep_head_name: bool) -> pd.DataFrame:
    if not parts:
        frame = pd.DataFrame({c: [] for c in HOUSEHOLD_COLUMN_NAMES})
    else:
        frame = pd.concat(parts, ignore_index=True)
    clean = frame[[c for c in HOUSEHOLD_COLUMN_NAMES if c in frame.columns]].astype(object)
    clean = clean.where(clean.notna(), None)
    out = conform_households(clean)
    check_households(out)
    if keep_head_name and "head_name" in frame.columns:
        out["head_name"] = frame["head_name"].astype("string").reset_index(drop=True)
    return out


def _mask_cell(value: str) -> str:
    digits = nid.normalise_national_id(value)
    if len(digits) == 13 and digits.isascii() and digits.isdigit():
        return nid.mask_national_id(digits)
    return value


def _rejects_frame(item: _Parsed, rows: pd.Index, keep_head_name: bool) -> pd.DataFrame:
    """The rejected rows as written, with their reasons; IDs masked, names dropped."""
    table = item.table
    cells = table.cells.loc[rows]
    joined: dict[tuple[Reason, ...], tuple[str, str, str]] = {}  # rows with the same reasons share the text
    texts = []
    for r in rows:
        key = tuple(item.reasons.get(int(r), ()))
        if key not in joined:
            joined[key] = ("; ".join(dict.fromkeys(x.code for x in key)), "; ".join(x.message_th for x in key),
                           "; ".join(x.message_en for x in key))
        texts.append(joined[key])
    front = pd.DataFrame({
        "file": table.name,
        "row": rows.to_numpy(dtype="int64"),
        "reason_codes": [t[0] for t in texts],
        "reasons_th": [t[1] for t in texts],
        "reasons_en": [t[2] for t in texts],
    })
    body: dict[str, list[str]] = {}
    for position, header in enumerate(table.headers):
        if position in item.name_columns and not keep_head_name:
            continue
        heading = _header_label(table.headers, position)
        while heading in body or heading in front.columns:
            heading += " "
        column = cells[position].astype(str).tolist()
        if position in item.id_columns:
            column = [nid.mask_national_id(v) if v.strip() else "" for v in column]
        else:
            column = [_mask_cell(v) for v in column]  # an ID typed into another column
        body[heading] = column
    return pd.concat([front, pd.DataFrame(body)], axis=1)


# ---------------------------------------------------------------------------------------------
# Storing and writing
# ---------------------------------------------------------------------------------------------


def save_import(result: ImportResult, *, store: str | os.PathLike[str] | None = None) -> Path | None:
    """Write an import's accepted households and provenance into the store.

    Files refused as already imported add nothing. An import in which no file was read writes
    nothing and returns None.

    Parameters
    ----------
    result : ImportResult
        From :func:`import_households` (with the same ``store``).
    store : path, optional
        The store directory; :func:`geo.data.paths.store_dir` when omitted.

    Returns
    -------
    pathlib.Path or None
        The store's households file (with ``$PPAP_DATABASE_URL``: the snapshot the app will show
        of the database's new data version).

    Raises
    ------
    geo.data.store.StoreError
        When the store changed under the import or cannot be written.
    """
    from geo.data import store as store_module
    if not isinstance(result, ImportResult):
        raise ArgumentTypeError(f"result must be an ImportResult, got {type(result).__name__}")
    entries = result.provenance_entries()
    if not entries:
        return None
    if result.mode == "replace_all" and result.households.empty:
        raise store_module.StoreError(
            "store: a replace_all import accepted no row, so the store was left as it is "
            "(replacing it would delete every stored household)"
        )
    from geo.data import database
    if database.for_store(store):  # the database keeps the batch's report beside its rows
        version = database.save_households(result.households, entries, mode=result.mode, report=result.report())
        return database.snapshot_path(version)
    return store_module.save_households(result.households, entries, mode=result.mode, store=store)


def rejects_to_bytes(result: ImportResult, fmt: str = "xlsx") -> bytes:
    """The rejected rows with their reasons as an XLSX or CSV download (formulas neutralised).

    Example
    -------
    >>> r = import_households([("a.csv", b"household_id,members\\nH1,99\\n")])
    >>> rejects_to_bytes(r, "csv").decode("utf-8-sig").splitlines()[0]
    'file,row,reason_codes,reasons_th,reasons_en,household_id,members'
    """
    from geo.data.spreadsheet import to_csv_bytes, to_xlsx_bytes

    if fmt not in ("xlsx", "csv"):
        raise ArgumentError(f"fmt must be 'xlsx' or 'csv', got {fmt!r}")
    if fmt == "csv":
        return to_csv_bytes(result.rejects)
    return to_xlsx_bytes(result.rejects, sheet_name="rejected")


def round_reject_positions(result: ImportResult, decimals: int | None) -> ImportResult:
    """``result`` with its rejected rows' positions rounded to ``decimals`` (``None``: unchanged).

    The rejects download echoes the uploaded rows (IDs masked, names dropped); a role that sees
    positions only at reduced precision (``geo.access.roles.Capabilities.position_decimals``,
    officers) gets the cells of every column whose header stands for ``lat`` or ``lon``
    (:func:`geo.ingest.read.match_header`) as :func:`geo.data.contract.position_text`, the same
    rounding as household rows; a cell that is no number becomes empty. ``result`` is not changed.
    """
    from dataclasses import replace

    from geo.data.contract import position_text

    rejects = result.rejects
    if decimals is None or rejects is None or rejects.empty:
        return result
    rejects = rejects.copy()
    for column in rejects.columns[5:]:  # after file, row, reason_codes, reasons_th, reasons_en
        if match_header(str(column).strip()) in ("lat", "lon"):
            rejects[column] = position_text(rejects[column], decimals)
    return replace(result, rejects=rejects)


def households_to_bytes(result: ImportResult, fmt: str = "csv") -> bytes:
    """The accepted households, normalised to the contract, as CSV, XLSX or Parquet bytes."""
    from geo.data.spreadsheet import to_csv_bytes, to_xlsx_bytes

    if fmt == "csv":
        return to_csv_bytes(result.households)
    if fmt == "xlsx":
        return to_xlsx_bytes(result.households, sheet_name="households")
    if fmt == "parquet":
        buffer = io.BytesIO()
        result.households.to_parquet(buffer, index=False)
        return buffer.getvalue()
    raise ArgumentError(f"fmt must be 'csv', 'xlsx' or 'parquet', got {fmt!r}")
