"""Read one cell of a household file: numbers, years, yes/no, statuses, levels, codes.

Each ``parse_*`` function takes the text of one cell (already cleaned with :func:`clean_cell`) and
returns ``(value, None)`` or ``(None, reason_code)``; none raises on any text. They are applied to
each distinct value of a column only once, so a large file costs little more than its variety.

The rules (docs/DATA.md, "Import rules"):

- Thai digits ๐-๙ and full-width digits count as digits everywhere.
- ``1,234,567.5`` is a number with thousands separators; ``2,5`` is not a number -- except in a
  semicolon-separated CSV file (``decimal_comma=True``), where ``2,5`` is two and a half and
  ``1.234,5`` has a dot for thousands, as Excel writes numbers in decimal-comma locales.
- A year of 2400 or more is Buddhist Era and becomes CE by subtracting 543; a date gives its year.
- An apostrophe in front of ``= + - @`` (how the app's own downloads neutralise formulas) is
  removed, so a downloaded file imports back unchanged.
"""

from __future__ import annotations

import math
import re
import unicodedata

from geo.data.contract import ASSISTANCE_LABELS, ASSISTANCE_STATUSES, LEVELS

Parsed = tuple[object, str | None]

_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙０１２３４５６７８９", "01234567890123456789")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")
_NEUTRALISED = re.compile(r"^'(?=[=+\-@\t\r＝＋－＠])")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
_COMMA_DECIMAL = re.compile(r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+),\d+")
_UNITS = re.compile(
    r"\s*(?:บาท/คน/ปี|บาทต่อคนต่อปี|บาท|บ\.|฿|thb|baht|คน|ราย|people|persons?|คะแนน|points?)\s*$",
    re.IGNORECASE,
)
_CURRENCY_PREFIX = re.compile(r"^\s*(?:฿|thb)\s*", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")
_CE_MARK = re.compile(r"ค\.?\s*ศ\.?|\bce\b|\bad\b", re.IGNORECASE)
_LEVEL_PREFIX = re.compile(r"^(?:ระดับ(?:ที่)?|level)\s*", re.IGNORECASE)
_VILLAGE_PREFIX = re.compile(r"^(?:หมู่บ้าน|หมู่ที่|หมู่|ม\.|moo|village(?:\s*no\.?)?)\s*", re.IGNORECASE)

#: Text read as True / False in a yes-no column (compared in lower case, spaces removed).
TRUE_WORDS = frozenset({
    "true", "t", "yes", "y", "1", "1.0", "ใช่", "มี", "จริง", "ถูก", "ผ่าน", "ยืนยัน", "ยืนยันแล้ว",
    "ตรวจสอบแล้ว", "ขาดแคลน", "✓", "✔", "✔️", "☑", "☑️", "✅", "/",
})
FALSE_WORDS = frozenset({
    "false", "f", "no", "n", "0", "0.0", "ไม่ใช่", "ไม่มี", "ไม่", "เท็จ", "ผิด", "ไม่ผ่าน",
    "ยังไม่ตรวจสอบ", "ยังไม่ยืนยัน", "ไม่ขาดแคลน", "✗", "✘", "☐", "❌",
})
#: Marks that show a column is a checkbox column: there, a blank cell means "no".
CHECK_MARKS = frozenset({"✓", "✔", "✔️", "☑", "☑️", "✅", "/", "✗", "✘", "☐", "❌"})

_STATUS_WORDS: dict[str, str] = {
    **{s: s for s in ASSISTANCE_STATUSES},
    **{ASSISTANCE_LABELS[s]["en"].lower(): s for s in ASSISTANCE_STATUSES},
    **{ASSISTANCE_LABELS[s]["th"]: s for s in ASSISTANCE_STATUSES},
    "ช่วยเหลือแล้ว": "helped",
    "ได้รับความช่วยเหลือแล้ว": "helped",
    "อยู่ระหว่างดำเนินการ": "in_progress",
    "ระหว่างดำเนินการ": "in_progress",
    "กำลังดำเนินการ": "in_progress",
    "in progress": "in_progress",
    "inprogress": "in_progress",
    "แก้ไขได้ด้วยตนเอง": "self_resolved",
    "แก้ไขเอง": "self_resolved",
    "self resolved": "self_resolved",
    "self-resolved": "self_resolved",
    "ส่งต่อ": "referred",
    "ส่งต่อแล้ว": "referred",
    "ไม่มี": "none",
    "ยังไม่ได้รับ": "none",
    "ยังไม่ได้รับความช่วยเหลือ": "none",
    "ยังไม่ช่วยเหลือ": "none",
    "-": "none",
    "–": "none",
}
_STATUS_INDEX = {re.sub(r"\s+", " ", k.lower().strip()): v for k, v in _STATUS_WORDS.items()}

_LEVEL_WORDS: dict[str, int] = {
    **{v["th"]: k for k, v in LEVELS.items()},
    **{v["en"].lower(): k for k, v in LEVELS.items()},
    "พออยู่ได้": 3,
}


def clean_cell(text: object) -> str:
    """Return a cell's text in one form: NFC, no invisible characters, single spaces, trimmed.

    Also removes the apostrophe the app's downloads put in front of formula-like text, and writes
    the Thai vowel ``ำ`` in its one-character form.

    Example
    -------
    >>> clean_cell("  ทุน\u200bมนุษย์  "), clean_cell("'=1+1"), clean_cell(None)
    ('ทุนมนุษย์', '=1+1', '')
    """
    if text is None:
        return ""
    value = unicodedata.normalize("NFC", str(text))
    value = _INVISIBLE.sub("", value).replace("\u0e4d\u0e32", "\u0e33")
    value = " ".join(value.split())
    return _NEUTRALISED.sub("", value)


def to_ascii_digits(text: str) -> str:
    """Replace Thai (๐-๙) and full-width digits with ASCII digits.

    Example
    -------
    >>> to_ascii_digits("๒๕๖๗")
    '2567'
    """
    return text.translate(_DIGITS)


def parse_number(text: str, *, decimal_comma: bool = False) -> Parsed:
    """Read a number: Thai digits, thousands separators, ``฿``/``บาท``/``คน`` units allowed.

    Returns ``(float, None)`` or ``(None, "not_a_number")``; blank gives ``(None, None)``.
    With ``decimal_comma`` (a semicolon-separated CSV file), one comma between digits is the
    decimal mark (``1,75``), with dots for thousands before it (``12.500,50``); a dot alone is
    still a decimal point (``1.75``).

    Example
    -------
    >>> parse_number("๑๒,๕๐๐ บาท"), parse_number("2,5"), parse_number("")
    ((12500.0, None), (None, 'not_a_number'), (None, None))
    >>> parse_number("1,75", decimal_comma=True), parse_number("12.500,5", decimal_comma=True)
    ((1.75, None), (12500.5, None))
    """
    value = to_ascii_digits(clean_cell(text)).replace("\u2212", "-")
    if not value:
        return None, None
    value = _CURRENCY_PREFIX.sub("", _UNITS.sub("", value)).replace(" ", "")
    if decimal_comma and _COMMA_DECIMAL.fullmatch(value):
        value = value.replace(".", "").replace(",", ".")
    elif _GROUPED.fullmatch(value):
        value = value.replace(",", "")
    if not _NUMBER.fullmatch(value):
        return None, "not_a_number"
    number = float(value)
    if not math.isfinite(number):
        return None, "not_a_number"
    return number, None


def parse_whole_number(text: str, prefix: re.Pattern[str] | None = None, *, decimal_comma: bool = False) -> Parsed:
    """Read a whole number (``"4"``, ``"4.0"``, ``"๔ คน"``); ``"4.5"`` gives ``not_a_whole_number``.

    ``decimal_comma`` as for :func:`parse_number` (``"4,0"`` is 4).

    Example
    -------
    >>> parse_whole_number("๔ คน"), parse_whole_number("4.5")
    ((4, None), (None, 'not_a_whole_number'))
    """
    value = clean_cell(text)
    if prefix is not None:
        value = prefix.sub("", value)
    number, error = parse_number(value, decimal_comma=decimal_comma)
    if error or number is None:
        return None, error
    if not float(number).is_integer() or abs(number) > 2**31:
        return None, "not_a_whole_number"
    return int(number), None


def parse_village(text: str, *, decimal_comma: bool = False) -> Parsed:
    """Read a village number: ``"5"``, ``"หมู่ 5"``, ``"ม.๕"``, ``"Moo 5"``.

    Example
    -------
    >>> parse_village("ม.๕")
    (5, None)
    """
    return parse_whole_number(text, _VILLAGE_PREFIX, decimal_comma=decimal_comma)


def parse_year(text: str) -> Parsed:
    """Read a survey year in CE: a year or a date, Buddhist Era (>= 2400) or Common Era.

    Exactly one four-digit group must appear. Returns ``(int, None)``, ``(None, "bad_year")``;
    the range is checked by the caller.

    Example
    -------
    >>> parse_year("๒๕๖๗"), parse_year("15/06/2567"), parse_year("2024-06-15"), parse_year("67")
    ((2024, None), (2024, None), (2024, None), (None, 'bad_year'))
    """
    value = to_ascii_digits(clean_cell(text))
    if not value:
        return None, None
    found = _YEAR.findall(value)
    if len(found) != 1:
        return None, "bad_year"
    year = int(found[0])
    if year >= 2400 and not _CE_MARK.search(value):
        year -= 543
    return year, None


def parse_boolean(text: str) -> Parsed:
    """Read yes/no: ใช่/ไม่ใช่, มี/ไม่มี, 1/0, true/false, yes/no, ✓/✗.

    Example
    -------
    >>> parse_boolean("ใช่"), parse_boolean("✓"), parse_boolean("ไม่มี"), parse_boolean("maybe")
    ((True, None), (True, None), (False, None), (None, 'bad_boolean'))
    """
    value = to_ascii_digits(clean_cell(text)).lower().replace(" ", "")
    if not value:
        return None, None
    if value in TRUE_WORDS:
        return True, None
    if value in FALSE_WORDS:
        return False, None
    return None, "bad_boolean"


def is_check_mark(text: str) -> bool:
    """True when a cell holds a tick or cross mark, the sign of a checkbox column."""
    return clean_cell(text).lower().replace(" ", "") in CHECK_MARKS


def parse_status(text: str) -> Parsed:
    """Read an assistance status; blank, ``-`` and ``ไม่มี`` mean ``"none"``.

    Example
    -------
    >>> parse_status("ช่วยเหลือแล้ว"), parse_status(""), parse_status("In progress")
    (('helped', None), ('none', None), ('in_progress', None))
    """
    value = re.sub(r"\s+", " ", clean_cell(text).lower())
    if not value:
        return "none", None
    found = _STATUS_INDEX.get(value) or _STATUS_INDEX.get(value.replace(" ", ""))
    if found is None:
        return None, "bad_status"
    return found, None


def parse_level(text: str) -> Parsed:
    """Read a household level 1-4: a number, ``ระดับ 2``, or a name (``อยู่ยาก``, ``Hard``).

    Example
    -------
    >>> parse_level("ระดับ ๒"), parse_level("อยู่พอได้"), parse_level("5")
    ((2, None), (3, None), (None, 'level_out_of_range'))
    """
    value = clean_cell(text)
    if not value:
        return None, None
    named = _LEVEL_WORDS.get(value) or _LEVEL_WORDS.get(value.lower())
    if named:
        return named, None
    number, error = parse_whole_number(value, _LEVEL_PREFIX)
    if error or number is None:
        return None, "level_out_of_range"
    if not 1 <= int(number) <= 4:  # type: ignore[call-overload]
        return None, "level_out_of_range"
    return number, None


_HEX64 = re.compile(r"[0-9a-f]{64}")


def parse_id_hash(text: str) -> Parsed:
    """Accept an already hashed ID (64 hex characters, as the store writes it).

    Example
    -------
    >>> parse_id_hash("ab" * 32)[1] is None, parse_id_hash("1101700203450")
    (True, (None, 'bad_id_hash'))
    """
    value = clean_cell(text).lower()
    if not value:
        return None, None
    if not _HEX64.fullmatch(value):
        return None, "bad_id_hash"
    return value, None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_ID_LENGTH = 64


def parse_household_id(text: str) -> Parsed:
    """Read a household ID: any text up to 64 characters without control characters.

    Whole-number IDs typed as ``"123.0"`` by a spreadsheet become ``"123"``.

    Example
    -------
    >>> parse_household_id(" KS-0001 "), parse_household_id("123.0")
    (('KS-0001', None), ('123', None))
    """
    value = clean_cell(text)
    if not value:
        return None, None
    if _CONTROL.search(value) or len(value) > MAX_ID_LENGTH:
        return None, "bad_household_id"
    if re.fullmatch(r"[0-9]+\.0+", value):
        value = value.split(".")[0]
    return value, None


def parse_text(text: str) -> Parsed:
    """Free text (pilot IDs): cleaned, blank is missing."""
    value = clean_cell(text)
    return (value or None), None
