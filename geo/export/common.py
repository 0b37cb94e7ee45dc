"""What every export format checks first: that it was given a protected map figure."""

from __future__ import annotations

from geo.errors import ExportError
from geo.views.mapview import MapFigure


def check_figure(figure: object) -> MapFigure:
    """``figure`` if it is a :class:`~geo.views.mapview.MapFigure`; else :class:`~geo.errors.ExportError`."""
    if not isinstance(figure, MapFigure):
        raise ExportError(f"figure must be a MapFigure from geo.views.mapview.build_map(), got {type(figure).__name__}")
    return figure
