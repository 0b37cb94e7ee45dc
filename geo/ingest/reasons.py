"""Reason codes: why a row was rejected or flagged, in Thai and English.

Every code has a severity: ``reject`` keeps the row out of the store, ``warning`` keeps it in and
tells the sender something was fixed or is doubtful. File-level notes (``extra_columns``,
``head_name_dropped`` ...) say something about a whole file. ``docs/DATA.md`` lists them all; a
test keeps the two in step.

Messages are templates filled by :func:`make_reason`; a value from the file is shown shortened
and never for the national ID.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from geo.text import label

Severity = Literal["reject", "warning", "note"]


@dataclass(frozen=True)
class ReasonSpec:
    """One reason code: severity and message templates (``str.format`` fields), the templates
    from the registry of label text (``geo.text.ingest``)."""

    code: str
    severity: Severity

    @property
    def message_en(self) -> str:
        return label(f"reason.{self.code}", "en")

    @property
    def message_th(self) -> str:
        return label(f"reason.{self.code}", "th")


_SPECS: tuple[ReasonSpec, ...] = (
    # --- rejections -------------------------------------------------------------------------
    ReasonSpec("missing_column", "reject"),
    ReasonSpec("missing_value", "reject"),
    ReasonSpec("row_shape", "reject"),
    ReasonSpec("quote_unclosed", "reject"),
    ReasonSpec("bad_household_id", "reject"),
    ReasonSpec("household_id_is_national_id", "reject"),
    ReasonSpec("not_a_number", "reject"),
    ReasonSpec("not_a_whole_number", "reject"),
    ReasonSpec("bad_year", "reject"),
    ReasonSpec("year_out_of_range", "reject"),
    ReasonSpec("bad_code", "reject"),
    ReasonSpec("unknown_province", "reject"),
    ReasonSpec("unknown_district", "reject"),
    ReasonSpec("unknown_subdistrict", "reject"),
    ReasonSpec("ambiguous_name", "reject"),
    ReasonSpec("code_mismatch", "reject"),
    ReasonSpec("members_out_of_range", "reject"),
    ReasonSpec("village_out_of_range", "reject"),
    ReasonSpec("income_negative", "reject"),
    ReasonSpec("score_out_of_range", "reject"),
    ReasonSpec("level_out_of_range", "reject"),
    ReasonSpec("bad_status", "reject"),
    ReasonSpec("bad_boolean", "reject"),
    ReasonSpec("bad_id_hash", "reject"),
    ReasonSpec("national_id_not_13_digits", "reject"),
    ReasonSpec("national_id_check_digit", "reject"),
    ReasonSpec("id_key_missing", "reject"),
    ReasonSpec("duplicate_household", "reject"),
    # --- warnings: the row is kept ----------------------------------------------------------
    ReasonSpec("latlon_swapped", "warning"),
    ReasonSpec("position_missing", "warning"),
    ReasonSpec("position_zero", "warning"),
    ReasonSpec("position_not_number", "warning"),
    ReasonSpec("position_outside_thailand", "warning"),
    ReasonSpec("position_outside_district", "warning"),
    ReasonSpec("level_inconsistent", "warning"),
    # --- notes about a whole file -----------------------------------------------------------
    ReasonSpec("file_already_imported", "note"),
    ReasonSpec("extra_columns", "note"),
    ReasonSpec("missing_columns", "note"),
    ReasonSpec("head_name_dropped", "note"),
    ReasonSpec("head_name_kept", "note"),
    ReasonSpec("national_id_hashed", "note"),
    ReasonSpec("id_key_missing_file", "note"),
    ReasonSpec("district_check_skipped", "note"),
    ReasonSpec("no_position_columns", "note"),
    ReasonSpec("blank_rows_skipped", "note"),
    ReasonSpec("quote_problems", "note"),
    ReasonSpec("replaces_stored", "note"),
    ReasonSpec("optional_columns_missing", "note"),
    ReasonSpec("deprivations_outside_tpmap", "note"),
    ReasonSpec("decimal_comma", "note"),
    ReasonSpec("header_not_first_row", "note"),
)

REASONS: dict[str, ReasonSpec] = {spec.code: spec for spec in _SPECS}
REJECT_CODES: tuple[str, ...] = tuple(s.code for s in _SPECS if s.severity == "reject")
WARNING_CODES: tuple[str, ...] = tuple(s.code for s in _SPECS if s.severity == "warning")
NOTE_CODES: tuple[str, ...] = tuple(s.code for s in _SPECS if s.severity == "note")

_SHOWN_LIMIT = 60
_AREA_TH = {"province_code": label("province", "th"), "district_code": label("district", "th"),
            "subdistrict_code": label("subdistrict", "th")}


def shown(value: object) -> str:
    """A value from a file as it appears in a message: quoted, shortened, one line.

    Example
    -------
    >>> shown("abc"), shown("")
    ("'abc'", '(blank)')
    """
    text = str(value).replace("\n", " ").replace("\r", " ")
    if not text.strip():
        return "(blank)"
    if len(text) > _SHOWN_LIMIT:
        text = text[: _SHOWN_LIMIT - 1] + "…"
    return repr(text)


@dataclass(frozen=True)
class Reason:
    """Why one row (or one file) was rejected or flagged."""

    code: str
    severity: Severity
    message_en: str
    message_th: str
    column: str | None = None

    def to_dict(self) -> dict[str, str]:
        """The report form: ``{"code", "message_th", "message_en", "column"?}``."""
        out = {"code": self.code, "message_th": self.message_th, "message_en": self.message_en}
        if self.column:
            out["column"] = self.column
        return out


def make_reason(code: str, column: str | None = None, **fields: object) -> Reason:
    """Build a :class:`Reason` from its code and the fields its messages need.

    ``value`` is passed through :func:`shown`; ``column`` fills ``{column}`` too.

    Raises
    ------
    KeyError
        When ``code`` is not a known reason code (a programming error).

    Example
    -------
    >>> make_reason("members_out_of_range", "members", value=45).message_en
    "members: '45' is outside 1-30"
    """
    try:
        key = tuple(sorted((k, type(v).__name__, v) for k, v in fields.items()))  # 1, 1.0, True apart
        return _cached_reason(code, column, key)
    except TypeError:  # a field that cannot be hashed: build it afresh
        return _build_reason(code, column, fields)


@functools.lru_cache(maxsize=8192)
def _cached_reason(code: str, column: str | None, fields: tuple[tuple[str, str, object], ...]) -> Reason:
    # Rows with the same problem share one Reason (and its two messages): 300,000 duplicate rows
    # of one household cost one Reason, not 300,000.
    return _build_reason(code, column, {k: v for k, _, v in fields})


def _build_reason(code: str, column: str | None, fields: dict[str, object]) -> Reason:
    spec = REASONS[code]
    values = {k: v for k, v in fields.items()}
    if "value" in values:
        values["value"] = shown(values["value"])
    values.setdefault("column", column or "")
    values.setdefault("where", "")
    values.setdefault("where_th", "")
    values.setdefault("first_th", values.get("first", ""))
    values.setdefault("why_th", values.get("why", ""))
    values.setdefault("child_th", _AREA_TH.get(str(values.get("child_column", "")), ""))
    values.setdefault("parent_th", _AREA_TH.get(str(values.get("parent_column", "")), ""))
    return Reason(code, spec.severity, spec.message_en.format(**values), spec.message_th.format(**values), column)
