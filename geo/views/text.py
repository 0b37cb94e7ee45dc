"""Thai-first labels and number and date formats, with English beside them.

Every user-facing word of the app, its legends, tooltips and exports comes from the registry
(:mod:`geo.text`, here as :data:`TEXT`)
through :func:`text`, so the Thai/English switch changes all of them at once.

Numbers use the comma thousands separator that Thai official documents use, in Arabic digits by
default (``thai_digits=True`` gives ๐-๙). Dates are shown in the Buddhist Era (BE = CE + 543)
with the Common Era available.
"""

from __future__ import annotations

from functools import lru_cache

import datetime as dt
import math

from geo.data.areas import dopa_name
from geo.data.contract import ASSISTANCE_LABELS, CAPITAL_LABELS, DEPRIVATION_LABELS, LEVELS
from geo.errors import EngineInputError
from geo.text.views import TEXT as VIEWS_TEXT

LANGUAGES: tuple[str, ...] = ("th", "en")
BE_OFFSET = 543
_THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
_THAI_MONTHS_SHORT = ("ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.")
_EN_MONTHS_SHORT = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: Labels by key, each in Thai and English: the registry's views catalogue (:mod:`geo.text.views`).
TEXT = VIEWS_TEXT


def text(key: str, lang: str = "th", **values: object) -> str:
    """Return the label ``key`` in ``lang``, with ``{placeholders}`` filled from ``values``.

    Raises
    ------
    KeyError
        When ``key`` is not a known label (a missing translation is a bug, not a fallback).
    ValueError
        When ``lang`` is not ``"th"`` or ``"en"``.

    Example
    -------
    >>> text("suppressed", "en", k=10)
    'Fewer than 10 households (withheld)'
    """
    _check_lang(lang)
    return TEXT[key][lang].format(**values) if values else TEXT[key][lang]


def _check_lang(lang: str) -> None:
    if lang not in LANGUAGES:
        raise EngineInputError(f"lang must be one of {LANGUAGES}, got {lang!r}")


def capital_label(capital: str, lang: str = "th") -> str:
    """Name of a capital (``"human"`` ...) in ``lang``."""
    _check_lang(lang)
    return CAPITAL_LABELS[capital][lang]


def level_label(level: int, lang: str = "th") -> str:
    """Name of a household level (1-4) in ``lang``, e.g. ``"อยู่ยาก"``."""
    _check_lang(lang)
    return LEVELS[int(level)][lang]


def deprivation_label(dimension: str, lang: str = "th") -> str:
    """Name of a TPMAP deprivation dimension in ``lang``."""
    _check_lang(lang)
    return DEPRIVATION_LABELS[dimension][lang]


def assistance_label(status: str, lang: str = "th") -> str:
    """Name of an assistance status in ``lang``."""
    _check_lang(lang)
    return ASSISTANCE_LABELS[status][lang]


def format_number(value: float | int | None, lang: str = "th", *, decimals: int = 0, thai_digits: bool = False) -> str:
    """Format a number with thousands separators; ``"–"`` for a missing value.

    Example
    -------
    >>> format_number(1039584)
    '1,039,584'
    >>> format_number(231021, thai_digits=True)
    '๒๓๑,๐๒๑'
    """
    _check_lang(lang)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    out = f"{value:,.{decimals}f}"
    return out.translate(_THAI_DIGITS) if thai_digits else out


def format_percent(share: float | None, lang: str = "th", *, decimals: int = 1) -> str:
    """Format a share in 0..1 as a percentage, e.g. ``0.4235 -> '42.4%'``; ``"–"`` when missing."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "–"
    return f"{format_number(100 * share, lang, decimals=decimals)}%"


def to_be(year_ce: int) -> int:
    """Buddhist Era year of a Common Era year (2024 -> 2567)."""
    return int(year_ce) + BE_OFFSET


def format_date(day: dt.date, lang: str = "th", *, era: str = "BE") -> str:
    """Format a date the way Thai documents do (``21 พ.ย. 2569``), or in CE when asked.

    Parameters
    ----------
    day : datetime.date
    lang : {"th", "en"}
    era : {"BE", "CE"}
        Buddhist Era (default) or Common Era year.

    Example
    -------
    >>> format_date(dt.date(2026, 11, 21))
    '21 พ.ย. 2569'
    >>> format_date(dt.date(2026, 11, 21), "en", era="CE")
    '21 Nov 2026'
    """
    _check_lang(lang)
    if era not in ("BE", "CE"):
        raise EngineInputError(f"era must be 'BE' or 'CE', got {era!r}")
    year = to_be(day.year) if era == "BE" else day.year
    months = _THAI_MONTHS_SHORT if lang == "th" else _EN_MONTHS_SHORT
    suffix = "" if lang == "th" or era == "CE" else " BE"
    return f"{day.day} {months[day.month - 1]} {year}{suffix}"


def format_date_both(day: dt.date, lang: str = "th") -> str:
    """A date in BE with CE in brackets, as exports print it: ``21 พ.ย. 2569 (2026)``."""
    return f"{format_date(day, lang)} ({day.year})" if lang == "th" else f"{format_date(day, lang, era='CE')} (BE {to_be(day.year)})"


def shown_count(value: object, lang: str = "th") -> str:
    """A protected ``households_shown`` value for people: numbers with separators, ``<10`` as it
    is, complementary suppression as "withheld" in ``lang``."""
    value = str(value)
    if value == "suppressed":
        return text("withheld", lang)
    return format_number(int(value), lang) if value.isdigit() else value


@lru_cache(maxsize=20_000)
def area_name(code: str, lang: str = "th") -> str:
    """The DOPA name of an area code in ``lang`` (``"4609" -> "สหัสขันธ์"``); the code if unknown.

    ``""`` is every province shown (:data:`PILOT_PROVINCES` or all). The lookup is
    :func:`geo.data.areas.dopa_name`.
    """
    code = str(code)
    if code == "":
        return text("all_pilot_provinces", lang)
    return dopa_name(code, lang) or code
