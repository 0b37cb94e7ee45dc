"""Area codes: DOPA province (2 digits), district (4) and subdistrict (6) codes, ``""`` for
everything. The one home of "which level is this code" and "which areas enclose it"."""

from __future__ import annotations




#: Admin level of an area code by its length.
AREA_LEVEL_BY_WIDTH: dict[int, str] = {0: "all", 2: "province", 4: "district", 6: "subdistrict"}


def is_valid_area(code: object) -> bool:
    """True for ``""`` (everything) or a 2-, 4- or 6-digit DOPA code; never raises."""
    return (isinstance(code, str) and len(code) in AREA_LEVEL_BY_WIDTH and code.isascii()
            and (code == "" or code.isdigit()))


def area_level(code: str) -> str:
    """``"all"``, ``"province"``, ``"district"`` or ``"subdistrict"`` for an area code."""
    if not is_valid_area(code):
        raise ValueError(f"code must be '' or a 2-, 4- or 6-digit DOPA code, got {code!r}")
    return AREA_LEVEL_BY_WIDTH[len(code)]


def area_parents(code: str) -> list[str]:
    """The breadcrumb from everything to ``code``: ``"4609" -> ["", "46", "4609"]``."""
    area_level(code)
    return [code[:width] for width in range(0, len(code) + 1, 2)]
