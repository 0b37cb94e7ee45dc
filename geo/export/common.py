"""What every export format shares: the check that it was given a protected map figure, and the
sizes a PNG can be exported at (:data:`SIZES`, the one list)."""

from __future__ import annotations

from dataclasses import dataclass

from geo.errors import ExportError
from geo.views.mapview import MapFigure


def check_figure(figure: object) -> MapFigure:
    """``figure`` if it is a :class:`~geo.views.mapview.MapFigure`; else :class:`~geo.errors.ExportError`."""
    if not isinstance(figure, MapFigure):
        raise ExportError(f"figure must be a MapFigure from geo.views.mapview.build_map(), got {type(figure).__name__}")
    return figure


@dataclass(frozen=True)
class PageSize:
    """An output size: pixels and the dots per inch that give the design's type sizes."""

    name: str
    width_px: int
    height_px: int
    dpi: int

    @property
    def inches(self) -> tuple[float, float]:
        # A quarter pixel more: Agg truncates the canvas size, and w / dpi * dpi can fall short.
        return (self.width_px + 0.25) / self.dpi, (self.height_px + 0.25) / self.dpi


def _mm_to_px(mm: float, dpi: int) -> int:
    return int(round(mm / 25.4 * dpi))


#: Sizes a PNG can be exported at: presentation (16:9) and print (ISO landscape at 300 dpi).
SIZES: dict[str, PageSize] = {
    "1920x1080": PageSize("1920x1080", 1920, 1080, 100),
    "3840x2160": PageSize("3840x2160", 3840, 2160, 200),
    "a4": PageSize("a4", _mm_to_px(297, 300), _mm_to_px(210, 300), 300),
    "a3": PageSize("a3", _mm_to_px(420, 300), _mm_to_px(297, 300), 300),
}
