"""Turn what people write for a province, district or subdistrict into a DOPA code.

Accepted forms, all checked against the ``geothai`` list of current areas:

- codes: ``46``, ``4609``, ``460901``; with Thai digits; with the OCHA ``TH`` prefix (``TH4609``);
  with leading zeros (``04609``) or DOPA's zero padding to 6 or 8 digits (``46090000``);
  spreadsheet floats (``4609.0``); a code followed by its name (``4609 สหัสขันธ์``);
- names in Thai or English, with or without ``จังหวัด``/``จ.``, ``อำเภอ``/``อ.``/``เขต``,
  ``ตำบล``/``ต.``/``แขวง`` in front; ``อ.เมือง``/``Mueang`` is the capital district of the
  province given on the same row; ``กทม`` is Bangkok.

A district or subdistrict name is looked up inside the province or district of the same row when
that is known; a name that fits several places is reported as ambiguous, never guessed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

import geothai

from geo.data.areas import AREA_WIDTH_BY_LEVEL, coded_name
from geo.ingest.values import clean_cell, to_ascii_digits
from geo.errors import ArgumentError

_WIDTHS = {f"{level}_code": width for level, width in AREA_WIDTH_BY_LEVEL.items()}
_SHORT_PREFIX = re.compile(r"^\s*(?:จ|อ|ต|ข)\s*\.\s*")
_LONG_PREFIX = re.compile(r"^(?:จังหวัด|กิ่งอำเภอ|อำเภอ|เขต|ตำบล|แขวง)")
_EN_PREFIX = re.compile(r"^(?:changwat|amphoe|amphur|amphoe|khet|tambon|khwaeng|king amphoe)\s+", re.IGNORECASE)
_EN_SUFFIX = re.compile(r"\s+(?:province|district|sub-?district)$", re.IGNORECASE)
_MARKS = re.compile(r"[\s.'’\-]")
_CODE_AND_NAME = re.compile(r"^(?:th[-_]?)?(\d+)\s*[-:.)]?\s*(\D.*)$", re.IGNORECASE)
_CODE_ONLY = re.compile(r"^(?:th[-_]?)?(\d+)(?:\.0+)?$", re.IGNORECASE)
_PROVINCE_ALIASES = {"กทม": "10", "กรุงเทพ": "10", "กรุงเทพฯ": "10", "bkk": "10", "อยุธยา": "14", "ayutthaya": "14"}
_MUEANG = frozenset({"เมือง", "mueang", "muang", "muaeng"})


def area_name_key(text: object) -> str:
    """Put an area name in the form used for comparison.

    Lower case, without spaces, dots, apostrophes or hyphens, without a leading level word
    (จังหวัด, อำเภอ, เขต, ตำบล, แขวง, จ., อ., ต., ข., Amphoe, Tambon...).

    Example
    -------
    >>> area_name_key("อ. สหัสขันธ์"), area_name_key("Amphoe Sahatsakhan"), area_name_key("เขตบางรัก")
    ('สหัสขันธ์', 'sahatsakhan', 'บางรัก')
    """
    value = unicodedata.normalize("NFC", clean_cell(text)).replace("\u0e4d\u0e32", "\u0e33")
    value = _EN_SUFFIX.sub("", _EN_PREFIX.sub("", _SHORT_PREFIX.sub("", value)))
    value = _MARKS.sub("", value.lower())
    return _LONG_PREFIX.sub("", value)


@cache
def _province_index() -> dict[str, str]:
    index = {area_name_key(p.name_th): p.code for p in geothai.provinces()}
    index.update({area_name_key(p.name_en): p.code for p in geothai.provinces()})
    index.update(_PROVINCE_ALIASES)
    return index


@cache
def _all_districts() -> tuple[geothai.District, ...]:
    return tuple(d for p in geothai.provinces() for d in geothai.districts(p.code))


@cache
def _district_index() -> dict[str, tuple[str, ...]]:
    grouped: dict[str, set[str]] = {}
    for d in _all_districts():
        for key in (area_name_key(d.name_th), area_name_key(d.name_en)):
            grouped.setdefault(key, set()).add(d.code)
    return {k: tuple(sorted(v)) for k, v in grouped.items()}


@cache
def _subdistrict_index() -> dict[str, tuple[str, ...]]:
    grouped: dict[str, set[str]] = {}
    for d in _all_districts():
        for s in geothai.subdistricts(d.code):
            for key in (area_name_key(s.name_th), area_name_key(s.name_en)):
                grouped.setdefault(key, set()).add(s.code)
    return {k: tuple(sorted(v)) for k, v in grouped.items()}


def _exists(column: str, code: str) -> bool:
    if column == "province_code":
        return geothai.province(code) is not None
    if column == "district_code":
        return geothai.district(code) is not None
    return geothai.subdistrict(code) is not None


def area_label(column: str, code: str) -> str:
    """``"4609 สหัสขันธ์"``: a code with its Thai name, for messages."""
    return coded_name(code, "th") if len(code) == _WIDTHS[column] else code


@dataclass(frozen=True)
class Resolution:
    """The outcome of reading one area cell: a code, or an error code with what matched."""

    code: str | None
    error: str | None = None
    matches: tuple[str, ...] = ()


def code_from_text(text: str, column: str) -> str | None:
    """Return the DOPA code written in ``text``, or None when ``text`` is not a code.

    Handles ``TH`` prefixes, Thai digits, leading zeros, zero padding to 6 or 8 digits, and a
    trailing ``.0``. Existence is not checked.

    Example
    -------
    >>> code_from_text("TH4609", "district_code"), code_from_text("46090000", "district_code")
    ('4609', '4609')
    >>> code_from_text("๐๔๖", "province_code"), code_from_text("สหัสขันธ์", "district_code") is None
    ('46', True)
    """
    width = _WIDTHS[column]
    value = to_ascii_digits(clean_cell(text)).replace(" ", "")
    found = _CODE_ONLY.fullmatch(value)
    if not found:
        return None
    digits = found.group(1).lstrip("0")
    if len(digits) == width:
        return digits
    if len(digits) in (6, 8) and len(digits) > width and set(digits[width:]) <= {"0"}:
        return digits[:width]
    return ""


def resolve_area(text: str, column: str, parent: str | None = None) -> Resolution:
    """Read one province, district or subdistrict cell.

    Parameters
    ----------
    text : str
        The cell: a code in any accepted form, or a name.
    column : {"province_code", "district_code", "subdistrict_code"}
        Which level the cell is.
    parent : str, optional
        The code of the level above, when the row gives it: a province code for a district, a
        district code (or province code) for a subdistrict. Names are looked up inside it.

    Returns
    -------
    Resolution
        ``code`` set when found; else ``error`` is ``bad_code``, ``unknown_province``,
        ``unknown_district``, ``unknown_subdistrict`` or ``ambiguous_name`` (with ``matches``).
        Blank text gives ``Resolution(None)``.

    Example
    -------
    >>> resolve_area("อ.เมือง", "district_code", "46").code
    '4601'
    >>> resolve_area("ต.โนนบุรี", "subdistrict_code").code
    '460907'
    """
    if column not in _WIDTHS:
        raise ArgumentError(f"column must be one of {list(_WIDTHS)}, got {column!r}")
    return _resolve(clean_cell(text), column, parent or None)


@cache
def _resolve(text: str, column: str, parent: str | None) -> Resolution:
    unknown = {"province_code": "unknown_province", "district_code": "unknown_district",
               "subdistrict_code": "unknown_subdistrict"}[column]
    if not text:
        return Resolution(None)
    ascii_text = to_ascii_digits(text)
    code = code_from_text(ascii_text, column)
    if code is None:
        mixed = _CODE_AND_NAME.fullmatch(ascii_text.strip())
        if mixed and len(mixed.group(1).lstrip("0")) == _WIDTHS[column]:
            code = mixed.group(1).lstrip("0")
    if code == "":
        return Resolution(None, "bad_code")
    if code is not None:
        return Resolution(code) if _exists(column, code) else Resolution(None, unknown)
    key = area_name_key(text)
    if not key or not re.search(r"[^\W\d_]", key):
        return Resolution(None, "bad_code")
    if column == "province_code":
        found = _province_index().get(key)
        return Resolution(found) if found else Resolution(None, unknown)
    if column == "district_code":
        candidates = _district_index().get(key, ())
        if parent:
            candidates = tuple(c for c in candidates if c.startswith(parent[:2]))
            if not candidates and key in _MUEANG and parent[:2] != "10":
                candidates = (parent[:2] + "01",) if _exists(column, parent[:2] + "01") else ()
        elif not candidates and key in _MUEANG:
            candidates = tuple(d.code for d in _all_districts() if d.code.endswith("01") and d.province_code != "10")
    else:
        candidates = _subdistrict_index().get(key, ())
        if parent:
            candidates = tuple(c for c in candidates if c.startswith(parent))
    if len(candidates) == 1:
        return Resolution(candidates[0])
    if not candidates:
        return Resolution(None, unknown)
    return Resolution(None, "ambiguous_name", candidates)
