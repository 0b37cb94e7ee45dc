"""Map snapshots: PNG (presentation and print sizes), a one-page PDF brief, and offline HTML.

Every export is drawn from a :class:`geo.views.mapview.MapFigure`, which holds only protected
aggregates (:func:`geo.engine.protect.protect`), their display geometry and the words around them. No
household row, no position finer than an area or a rolled-up H3 cell, reaches an export.

API for pages and scripts::

    from geo.views.mapview import MapView, build_map
    from geo.export import export_png, export_pdf, export_html, export_bytes, file_name, write_exports

    figure = build_map(index, boundaries, MapView(province_code="46", metric="mpi"),
                       now=date.today(), synthetic=True, attribution=credit)
    png = export_png(figure, size="1920x1080")        # bytes; sizes: SIZES
    pdf = export_pdf(figure)                          # bytes; A4 landscape brief
    page = export_html(figure)                        # str; self-contained, offline
    data, mime = export_bytes(figure, "png", size="a4")   # one call for a download button
    name = file_name(figure, "png", size="a4")        # 46_kalasin_mpi_a4_2026-11-21.png
    paths = write_exports(figure, out_dir, formats=("png", "pdf", "html"))
    legend = legend_json(figure)                      # str; also written as <file>.legend.json

The command line is ``python -m geo export`` (:mod:`geo.cli.export`).
"""

from __future__ import annotations

from pathlib import Path

from geo.errors import ExportError, PPAPError
from geo.export.common import SIZES  # PNG sizes by name: "1920x1080", "3840x2160", "a4", "a3"
from geo.export.common import check_figure as _check_figure
from geo.views.mapview import MapFigure

#: Export formats and their MIME types.
FORMATS: dict[str, str] = {"png": "image/png", "pdf": "application/pdf", "html": "text/html; charset=utf-8"}
#: The PNG size used when none is given.
DEFAULT_SIZE = "1920x1080"


__all__ = ["ExportError", "FORMATS", "SIZES", "EXPORT_CHOICES", "export_png", "export_pdf", "export_html",
           "export_bytes", "file_name", "write_exports"]


def _check_format(fmt: object) -> str:
    if fmt not in FORMATS:
        raise ExportError(f"format must be one of {list(FORMATS)}, got {fmt!r}")
    return str(fmt)


def export_png(figure: MapFigure, *, size: str = DEFAULT_SIZE) -> bytes:
    """PNG bytes of exactly ``size`` (:data:`SIZES`); see :func:`geo.export.static.export_png`."""
    from geo.export.static import export_png as _png

    return _png(figure, size=size)


def export_pdf(figure: MapFigure) -> bytes:
    """A one-page PDF brief (A4 landscape); see :func:`geo.export.static.export_pdf`."""
    from geo.export.static import export_pdf as _pdf

    return _pdf(figure)


def export_html(figure: MapFigure) -> str:
    """A self-contained offline HTML page; see :func:`geo.export.html.export_html`."""
    from geo.export.html import export_html as _html

    return _html(figure)


#: What an export menu offers, by name (``geo.views.text`` label ``export_<name>``): (format, PNG size).
EXPORT_CHOICES: dict[str, tuple[str, str]] = {
    "png_1920x1080": ("png", "1920x1080"),
    "png_3840x2160": ("png", "3840x2160"),
    "png_a4": ("png", "a4"),
    "png_a3": ("png", "a3"),
    "pdf": ("pdf", DEFAULT_SIZE),
    "html": ("html", DEFAULT_SIZE),
}


def file_name(figure: MapFigure, fmt: str, *, size: str = DEFAULT_SIZE) -> str:
    """The export's file name: province, metric, (level,) (size,) date and extension.

    The size is named only for PNGs other than 1920x1080.

    Example
    -------
    >>> file_name(figure, "png")  # doctest: +SKIP
    '46_kalasin_poor_households_2026-11-21.png'
    """
    _check_figure(figure)
    fmt = _check_format(fmt)
    if size not in SIZES:
        raise ExportError(f"size must be one of {list(SIZES)}, got {size!r}")
    shown_size = size if fmt == "png" and size != DEFAULT_SIZE else None
    return f"{figure.file_stem(size=shown_size)}.{fmt}"


def export_bytes(figure: MapFigure, fmt: str, *, size: str = DEFAULT_SIZE) -> tuple[bytes, str]:
    """One export as ``(data, mime_type)``, e.g. for ``st.download_button(data=..., mime=...)``.

    Parameters
    ----------
    figure : MapFigure
    fmt : {"png", "pdf", "html"}
    size : str, default "1920x1080"
        PNG only (:data:`SIZES`); the PDF is always A4 and the HTML fills the window.

    Raises
    ------
    ExportError
        When ``fmt`` or ``size`` is not allowed.
    """
    _check_figure(figure)
    fmt = _check_format(fmt)
    if size not in SIZES:
        raise ExportError(f"size must be one of {list(SIZES)}, got {size!r}")
    if fmt == "png":
        return export_png(figure, size=size), FORMATS[fmt]
    if fmt == "pdf":
        return export_pdf(figure), FORMATS[fmt]
    return export_html(figure).encode("utf-8"), FORMATS[fmt]


def legend_json(figure: MapFigure) -> str:
    """The figure's legend set as JSON (:meth:`geo.views.mapview.MapFigure.legend_set`: metric,
    level, method, breaks, colours, labels), the same text for two maps that share one legend.

    Example
    -------
    >>> json.loads(legend_json(figure))["method"]  # doctest: +SKIP
    'national'
    """
    import json

    _check_figure(figure)
    return json.dumps(figure.legend_set(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def write_exports(figure: MapFigure, out_dir: str | Path, *, formats=("png", "pdf", "html"),
                  size: str = DEFAULT_SIZE) -> list[Path]:
    """Write the figure in each format to ``out_dir`` (created if missing); return the paths.

    Beside each PNG and PDF, ``<file>.legend.json`` (:func:`legend_json`; one for files of the same
    stem) records the legend, so a series of slides can be checked to share one. Files are
    written to a temporary name and renamed, so a reader never sees half a file.

    Raises
    ------
    ExportError
        When a format or the size is not allowed, or ``out_dir`` is a file.
    """
    _check_figure(figure)
    formats = tuple(_check_format(f) for f in formats)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ExportError(f"out_dir {str(out)!r} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        data, _ = export_bytes(figure, fmt, size=size)
        path = out / file_name(figure, fmt, size=size)
        _write_atomic(path, data)
        written.append(path)
        legend = path.with_suffix(".legend.json")
        if fmt in ("png", "pdf") and legend not in written:
            _write_atomic(legend, legend_json(figure).encode("utf-8"))
            written.append(legend)
    return written


__all__ = [
    "DEFAULT_SIZE", "EXPORT_CHOICES", "FORMATS", "SIZES", "ExportError", "export_bytes", "export_html", "export_pdf", "export_png",
    "file_name", "legend_json", "write_exports",
]
