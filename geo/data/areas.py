"""Area codes: DOPA province (2 digits), district (4) and subdistrict (6) codes, ``""`` for
everything. The one home of "which level is this code" and "which areas enclose it"."""

from __future__ import annotations

from functools import lru_cache
from geo.errors import ArgumentError




#: Admin level of an area code by its length.
AREA_LEVEL_BY_WIDTH: dict[int, str] = {0: "all", 2: "province", 4: "district", 6: "subdistrict"}
#: Code width of each admin level (``{"province": 2, "district": 4, "subdistrict": 6}``).
AREA_WIDTH_BY_LEVEL: dict[str, int] = {level: width for width, level in AREA_LEVEL_BY_WIDTH.items() if width}


def is_valid_area(code: object) -> bool:
    """True for ``""`` (everything) or a 2-, 4- or 6-digit DOPA code; never raises."""
    return (isinstance(code, str) and len(code) in AREA_LEVEL_BY_WIDTH and code.isascii()
            and (code == "" or code.isdigit()))


def area_level(code: str) -> str:
    """``"all"``, ``"province"``, ``"district"`` or ``"subdistrict"`` for an area code."""
    if not is_valid_area(code):
        raise ArgumentError(f"code must be '' or a 2-, 4- or 6-digit DOPA code, got {code!r}")
    return AREA_LEVEL_BY_WIDTH[len(code)]


def area_parents(code: str) -> list[str]:
    """The breadcrumb from everything to ``code``: ``"4609" -> ["", "46", "4609"]``."""
    area_level(code)
    return [code[:width] for width in range(0, len(code) + 1, 2)]


@lru_cache(maxsize=20_000)
def dopa_name(code: str, lang: str = "th") -> str | None:
    """The current DOPA name of a province, district or subdistrict code in ``lang`` (``"th"`` or
    ``"en"``): ``"4609" -> "สหัสขันธ์"``; ``None`` when the code names no current area. Never raises.

    The one lookup of area names (``geothai``); people read them through
    :func:`geo.views.text.area_name`, which also names ``""`` (every pilot province).
    """
    import geothai

    try:
        lookup = {2: geothai.province, 4: geothai.district, 6: geothai.subdistrict}.get(len(code))
        area = lookup(code) if lookup is not None else None
    except Exception:  # a name is decoration: never let it hide the real message
        area = None
    if area is None:
        return None
    return area.name_th if lang == "th" else area.name_en


def coded_name(code: object, lang: str = "th") -> str:
    """``"4609 สหัสขันธ์"`` (``lang="en"``: ``"4609 Sahatsakhan"``), a code with its :func:`dopa_name`,
    for messages and audit text; the code alone when it names no current area. Never raises.

    Example
    -------
    >>> coded_name("4609", "en")
    '4609 Sahatsakhan'
    """
    name = dopa_name(code, lang) if isinstance(code, str) else None
    return str(code) if name is None else f"{code} {name}"
