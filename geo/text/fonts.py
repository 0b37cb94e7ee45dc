"""The Thai font every drawn label uses: Sarabun, from the ``fontpkg-sarabun`` package pinned in
``requirements.txt`` (nothing is looked up on the system or fetched). The live map's area names
(:mod:`geo.views.labels`) and the exports (:mod:`geo.export.fonts`) both draw with it; it lives
here, at the bottom of the library beside the label text, so that both layers can read it."""

from __future__ import annotations

from pathlib import Path

from geo.errors import FontError

#: Family name every drawn label uses.
THAI_FONT_FAMILY = "Sarabun"
#: Files of the family used, by weight.
FONT_FILES: dict[str, str] = {"regular": "Sarabun-Regular.ttf", "bold": "Sarabun-Bold.ttf"}



def thai_font_path(weight: str = "regular") -> Path:
    """Path of the Sarabun TrueType file of ``weight``.

    Parameters
    ----------
    weight : {"regular", "bold"}

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FontError
        When ``weight`` is unknown or the font package is not installed.

    Example
    -------
    >>> thai_font_path("bold").name
    'Sarabun-Bold.ttf'
    """
    if weight not in FONT_FILES:
        raise FontError(f"weight must be one of {list(FONT_FILES)}, got {weight!r}")
    try:
        import fontpkg_sarabun
    except ImportError as exc:  # pragma: no cover - the package is a pinned requirement
        raise FontError("the Thai font is missing: pip install -r requirements.txt (fontpkg-sarabun)") from exc
    path = Path(fontpkg_sarabun.__file__).resolve().parent / "files" / FONT_FILES[weight]
    if not path.is_file():  # pragma: no cover
        raise FontError(f"the Thai font file {path} is missing; reinstall fontpkg-sarabun")
    return path
