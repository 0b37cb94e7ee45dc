"""The Thai font every export uses, installed from PyPI and registered with matplotlib by path.

The font is **Sarabun** (SIL Open Font Licence), the typeface of Thai government documents, from
the ``fontpkg-sarabun`` package pinned in ``requirements.txt``: nothing is looked up on the
system, so an export looks the same on every machine. Sarabun also covers Latin, digits and the
symbols the exports print (``– · × ≥ ฿``), so one family serves both languages.

Thai shaping
------------
Thai stacks vowels and tone marks above and below consonants (``ที่``, ``ผู้``, ``ลำบาก``). The
pinned matplotlib (3.11) lays text out with libraqm (HarfBuzz), which applies the font's mark
positioning, so marks sit where the font puts them in PNG and PDF alike.

Extractable PDF text
--------------------
Shaping turns one cluster of characters (``ที่``: three characters) into several glyphs, and
matplotlib's PDF backend writes the *whole cluster* as the text of *each* glyph, so a PDF reader
extracts ``ที่ที่ที่``. :func:`pdf_text_fix` (a context manager around ``savefig``) gives the
cluster's text to its first glyph only (the others map to no text) and writes the ToUnicode maps
as ``bfchar`` pairs, the form readers accept for a glyph with no text of its own. The PDF's text
then extracts back to the string drawn (checked in ``tests/geo/test_export.py``).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator

from geo.text.fonts import FONT_FILES, THAI_FONT_FAMILY, thai_font_path  # noqa: F401 - the exports' API

_registered = False


def register_thai_font() -> str:
    """Register Sarabun (regular and bold) with matplotlib's font manager; return the family name.

    Idempotent and cheap after the first call. Also makes PDFs embed TrueType (Type 42) fonts, so
    their text is Unicode and can be searched and copied.

    Example
    -------
    >>> register_thai_font()
    'Sarabun'
    """
    global _registered
    if _registered:
        return THAI_FONT_FAMILY
    import matplotlib
    from matplotlib import font_manager

    for weight in FONT_FILES:
        font_manager.fontManager.addfont(str(thai_font_path(weight)))
    matplotlib.rcParams["pdf.fonttype"] = 42
    _registered = True
    return THAI_FONT_FAMILY


def _first_glyph_only(tracker, fontname, subset, charcode):  # noqa: ANN001 - matplotlib's private types
    """The text of one PDF glyph: its cluster's text for the cluster's first glyph, else ``""``."""
    from matplotlib import _text_helpers
    from matplotlib.font_manager import get_font

    chars, glyph = tracker.glyph_maps[fontname].iget(subset, charcode)
    if len(chars) <= 1:
        return chars
    first = next(iter(_text_helpers.layout(chars, get_font(fontname))), None)
    return chars if first is None or first.glyph_index == glyph else ""


_BFRANGE = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*\[([^\]]*)\]")
_HEX = re.compile(rb"<([0-9a-fA-F]*)>")


def _bfchar_cmap(data: bytes) -> bytes:
    """A ToUnicode CMap with its array ``bfrange`` entries rewritten as ``bfchar`` pairs.

    Glyphs with no text of their own map to ``<>``, which readers accept in ``bfchar`` but not
    always inside a ``bfrange`` array.
    """
    if b"<>" not in data or b"beginbfrange" not in data:
        return data
    pairs = []
    for match in _BFRANGE.finditer(data):
        start, width = int(match.group(1), 16), len(match.group(1))
        for offset, target in enumerate(_HEX.findall(match.group(3))):
            pairs.append(b"<%s> <%s>" % (f"{start + offset:0{width}x}".encode(), target))
    blocks = [
        b"%d beginbfchar\n" % len(pairs[i:i + 100]) + b"\n".join(pairs[i:i + 100]) + b"\nendbfchar"
        for i in range(0, len(pairs), 100)
    ]
    head, _, rest = data.partition(b"endcodespacerange")
    tail = rest[rest.index(b"endbfrange") + len(b"endbfrange"):]
    return head + b"endcodespacerange\n" + b"\n".join(blocks) + tail


@contextlib.contextmanager
def pdf_text_fix() -> Iterator[None]:
    """While active, PDFs matplotlib writes give each shaped cluster's text to its first glyph.

    Use around ``figure.savefig(..., format="pdf")``. It swaps two methods of matplotlib's PDF
    backend for the duration (the pinned 3.11; ``tests/geo/test_export.py`` checks the text
    extracts back), so it is not thread-safe: exports take :data:`PDF_LOCK` around it.

    Example
    -------
    >>> with PDF_LOCK, pdf_text_fix():  # doctest: +SKIP
    ...     figure.savefig(buffer, format="pdf")
    """
    from matplotlib.backends import _backend_pdf_ps, backend_pdf

    tracker = _backend_pdf_ps.CharacterTracker
    pdf_file = backend_pdf.PdfFile
    original_text, original_stream = tracker.subset_to_unicode, pdf_file.outputStream

    def output_stream(self, ref, data, *args, **kwargs):  # noqa: ANN001, ANN202 - matplotlib's signature
        if isinstance(data, bytes) and data.startswith(b"/CIDInit"):
            data = _bfchar_cmap(data)
        return original_stream(self, ref, data, *args, **kwargs)

    tracker.subset_to_unicode = _first_glyph_only
    pdf_file.outputStream = output_stream
    try:
        yield
    finally:
        tracker.subset_to_unicode = original_text
        pdf_file.outputStream = original_stream


#: Held while a PDF is written under :func:`pdf_text_fix` (Streamlit runs sessions in threads).
PDF_LOCK = threading.Lock()
