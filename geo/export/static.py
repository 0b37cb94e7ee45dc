"""Static exports drawn with matplotlib: PNG at presentation and print sizes, and a one-page PDF brief.

Everything drawn comes from a :class:`geo.views.mapview.MapFigure` (protected aggregates, their
geometry, fills and legend): no household row reaches this module.

Layout (landscape; the same proportions at every size, so a 4K export looks like the 1080p one,
only sharper)::

    +-----------------------------------------------------------+
    | title (bold, wrapped to two lines)      [synthetic sample] |
    | subtitle                                                  |
    +--------------------------------------+--------------------+
    |                                  N ^ | legend             |
    |            map (north up)            | headline figures   |
    |                                      | (brief: filters,   |
    | |0___10 km|                          |  highest areas)    |
    +--------------------------------------+--------------------+
    | credit line                                date BE (CE)   |
    +-----------------------------------------------------------+

The map is drawn in longitude/latitude with the aspect ``1 / cos(latitude)`` at the map's centre
(a local equirectangular projection: distances east-west and north-south agree there), so the
scale bar's kilometres are measured along the bar's own latitude (great circle).
"""

from __future__ import annotations

import io
import math
from dataclasses import replace

import numpy as np

from geo.engine.aggregate import haversine_km
from geo.export.common import SIZES, PageSize
from geo.export.fonts import PDF_LOCK, THAI_FONT_FAMILY, pdf_text_fix, register_thai_font
from geo.views.text import text
from geo.views.mapview import MapFigure

BACKGROUND = "#ffffff"
INK = "#1a1a1a"
MUTED = "#555555"
SYNTHETIC_FILL = "#fff1cc"
SYNTHETIC_EDGE = "#b35900"
CONTEXT_FILL = (0.95, 0.95, 0.95, 1.0)
CONTEXT_EDGE = (0.73, 0.73, 0.73, 1.0)
#: Design width (inches) the font sizes below are for; other sizes scale with their width.
DESIGN_WIDTH_IN = 19.2


#: The PDF brief's page: A4 landscape.
BRIEF_SIZE = SIZES["a4"]


def _rgba(fill: np.ndarray) -> np.ndarray:
    return np.asarray(fill, dtype="float64") / 255.0


class _Canvas:
    """A figure with the helpers the layout needs (sizes in design points, text fitting)."""

    def __init__(self, size: PageSize):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        register_thai_font()
        self.size = size
        self.fig = Figure(figsize=size.inches, dpi=size.dpi, facecolor=BACKGROUND)
        FigureCanvasAgg(self.fig)
        self.unit = size.inches[0] / DESIGN_WIDTH_IN
        self.renderer = self.fig.canvas.get_renderer()

    def pt(self, points: float) -> float:
        """A design size in points at this canvas's scale."""
        return points * self.unit

    def text(self, x: float, y: float, s: str, size: float, **kw):
        kw.setdefault("family", THAI_FONT_FAMILY)
        kw.setdefault("color", INK)
        return self.fig.text(x, y, s, fontsize=self.pt(size), **kw)

    def extent(self, artist):
        """The drawn box of a text (pixels)."""
        return artist.get_window_extent(self.renderer)

    def bottom_of(self, *artists) -> float:
        """The lowest edge of the drawn ``artists``, in figure fraction."""
        return min(self.extent(a).y0 for a in artists) / self.fig.bbox.height

    def gap(self, points: float) -> float:
        """A vertical gap of ``points`` design points, in figure fraction."""
        return self.pt(points) / 72 / self.size.inches[1]

    def stack(self, x: float, y: float, s: str, size: float, *, after: float = 3.0, **kw) -> float:
        """Draw ``s`` with its top at ``y`` and return the y just below its drawn box (Thai marks
        above and below the line included), ``after`` design points lower."""
        artist = self.text(x, y, s, size, va="top", **kw)
        return self.bottom_of(artist) - self.gap(after)

    def width_of(self, s: str, size: float, weight: str = "normal") -> float:
        """Width of ``s`` in figure fraction."""
        t = self.fig.text(0, 0, s, fontsize=self.pt(size), family=THAI_FONT_FAMILY, weight=weight)
        width = t.get_window_extent(self.renderer).width / self.fig.bbox.width
        t.remove()
        return width

    def wrap(self, s: str, size: float, max_width: float, *, weight: str = "normal", max_lines: int = 2,
             min_size: float = 9.0) -> tuple[list[str], float]:
        """Break ``s`` at spaces into at most ``max_lines`` lines of ``max_width`` (figure fraction),
        shrinking the type down to ``min_size`` until it fits; return the lines and the size."""
        words = s.split(" ")
        while True:
            lines: list[str] = []
            for word in words:
                if lines and self.width_of(f"{lines[-1]} {word}", size, weight) <= max_width:
                    lines[-1] = f"{lines[-1]} {word}"
                else:
                    lines.append(word)
            fits = len(lines) <= max_lines and all(self.width_of(line, size, weight) <= max_width for line in lines)
            if fits or size <= min_size:
                if len(lines) > max_lines:
                    lines = lines[: max_lines - 1] + [" ".join(lines[max_lines - 1:])]
                return lines, size
            size = max(size * 0.92, min_size)


def _draw_geometries(ax, geometries, facecolors, edgecolor, linewidth, zorder):
    """Polygons (with holes, multi-parts) as one PatchCollection."""
    from matplotlib.collections import PathCollection
    from matplotlib.path import Path as MplPath

    paths, colours = [], []
    for geom, colour in zip(geometries, facecolors if facecolors is not None else [None] * len(geometries)):
        if geom is None or geom.is_empty:
            continue
        parts = getattr(geom, "geoms", [geom])
        vertices, codes = [], []
        for part in parts:
            if part.geom_type != "Polygon":
                continue
            for ring in [part.exterior, *part.interiors]:
                coords = np.asarray(ring.coords)
                if len(coords) < 3:
                    continue
                ring_codes = np.full(len(coords), MplPath.LINETO, dtype=np.uint8)
                ring_codes[0] = MplPath.MOVETO
                ring_codes[-1] = MplPath.CLOSEPOLY
                vertices.append(coords)
                codes.append(ring_codes)
        if vertices:
            paths.append(MplPath(np.concatenate(vertices), np.concatenate(codes)))
            colours.append(colour)
    if not paths:
        return None
    collection = PathCollection(paths, facecolors=colours if facecolors is not None else "none",
                                edgecolors=edgecolor, linewidths=linewidth, zorder=zorder)
    ax.add_collection(collection)
    return collection


def _nice_length(km: float) -> float:
    """The largest 1, 2 or 5 x 10^n not above ``km``."""
    if km <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(km))
    for step in (5, 2, 1):
        if step * power <= km:
            return step * power
    return power


def _scale_bar(canvas: _Canvas, ax, lang: str) -> None:
    from matplotlib.patches import Rectangle

    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    left = x0 + 0.04 * (x1 - x0)
    lat = y0 + 0.06 * (y1 - y0)
    km_per_degree = float(haversine_km(lat, left, lat, left + 1.0))
    length_km = _nice_length(0.22 * (x1 - x0) * km_per_degree)
    length_deg = length_km / km_per_degree
    height = 0.012 * (y1 - y0)
    halves = 2
    for i in range(halves):
        ax.add_patch(Rectangle((left + i * length_deg / halves, lat), length_deg / halves, height,
                               facecolor=INK if i % 2 == 0 else BACKGROUND, edgecolor=INK,
                               linewidth=canvas.pt(1.0), zorder=10))
    label = f"{length_km:g} {text('km', lang)}"
    style = {"fontsize": canvas.pt(13), "family": THAI_FONT_FAMILY, "color": INK, "zorder": 10}
    ax.text(left, lat + 2.2 * height, "0", ha="center", va="bottom", **style)
    ax.text(left + length_deg, lat + 2.2 * height, label, ha="center", va="bottom", **style)


def _north_arrow(canvas: _Canvas, ax) -> None:
    from matplotlib.patches import Polygon

    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    cx = x1 - 0.05 * (x1 - x0)
    top = y1 - 0.05 * (y1 - y0)
    height = 0.09 * (y1 - y0)
    half = 0.35 * height * (x1 - x0) / (y1 - y0) * (ax.bbox.height / ax.bbox.width)
    base = top - height
    ax.add_patch(Polygon([(cx, top), (cx - half, base), (cx, base + 0.25 * height)], closed=True,
                         facecolor=INK, edgecolor=INK, linewidth=canvas.pt(1), zorder=10))
    ax.add_patch(Polygon([(cx, top), (cx + half, base), (cx, base + 0.25 * height)], closed=True,
                         facecolor=BACKGROUND, edgecolor=INK, linewidth=canvas.pt(1), zorder=10))
    ax.text(cx, base - 0.02 * (y1 - y0), "N", ha="center", va="top", fontsize=canvas.pt(18),
            family=THAI_FONT_FAMILY, weight="bold", color=INK, zorder=10)


def _draw_map(canvas: _Canvas, figure: MapFigure, rect: tuple[float, float, float, float]) -> None:

    ax = canvas.fig.add_axes(rect)
    ax.set_axis_off()
    minx, miny, maxx, maxy = figure.bounds
    mid_lat = (miny + maxy) / 2
    # Local equirectangular projection: one degree of latitude is 1 / cos(lat) degrees of longitude
    # on screen. The limits are widened to the axes' shape, so the scale is the same both ways.
    aspect = 1.0 / math.cos(math.radians(mid_lat))
    dx, dy = max(maxx - minx, 0.01) * 1.08, max(maxy - miny, 0.01) * 1.08
    box_w = rect[2] * canvas.size.inches[0]
    box_h = rect[3] * canvas.size.inches[1]
    if dy * aspect / dx < box_h / box_w:
        dy = dx * box_h / (box_w * aspect)
    else:
        dx = dy * aspect * box_w / box_h
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    x0, x1, y0, y1 = cx - dx / 2, cx + dx / 2, cy - dy / 2, cy + dy / 2
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)

    if figure.context is not None and len(figure.context):
        from shapely.geometry import box

        window = box(x0, y0, x1, y1)
        context = [g for g in figure.context.geometry if g is not None and g.intersects(window)]
        _draw_geometries(ax, context, [CONTEXT_FILL] * len(context), CONTEXT_EDGE, canvas.pt(0.8), 1)
    edge = (1, 1, 1, 0.7) if figure.level == "h3" else (0.31, 0.31, 0.31, 1.0)
    _draw_geometries(ax, list(figure.areas.geometry), _rgba(figure.fill), edge,
                     canvas.pt(0.5 if figure.level == "h3" else 0.8), 2)
    if figure.outlines is not None and len(figure.outlines):
        _draw_geometries(ax, list(figure.outlines.geometry), None, (0.16, 0.16, 0.16, 1.0), canvas.pt(2.0), 3)
    if figure.selected is not None and len(figure.selected):
        _draw_geometries(ax, list(figure.selected.geometry), None, (0.08, 0.08, 0.08, 1.0), canvas.pt(4.0), 4)
    if figure.pilots is not None:
        _draw_pilots(canvas, ax, figure.pilots)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    _north_arrow(canvas, ax)
    _scale_bar(canvas, ax, figure.view.lang)
    inset = _inset_locator(canvas, ax, figure)
    if figure.labelled:
        _label_areas(canvas, ax, figure, avoid=[inset] if inset is not None else [])


#: The inset locator is drawn when the mapped area's extent is at most this share of the country's.
INSET_MAX_SHARE = 0.15
#: Colour of the mapped area's frame on the inset locator map.
INSET_FRAME = "#c0392b"


def _inset_locator(canvas: _Canvas, ax, figure: MapFigure):
    """A small map of every province in the lower right corner of the map, with the mapped area
    framed, so a reader sees where in Thailand the map lies. Only for a map of one province or
    district (a map of every province is its own locator); returns its box (pixels) or None."""
    from matplotlib.patches import Rectangle

    import shapely

    context = figure.context
    if context is None or not len(context) or not figure.view.province_code:
        return None
    cminx, cminy, cmaxx, cmaxy = context.total_bounds
    x0, y0, x1, y1 = figure.bounds
    if (x1 - x0) * (y1 - y0) > INSET_MAX_SHARE * (cmaxx - cminx) * (cmaxy - cminy):
        return None  # the map is most of the country: a locator would say nothing
    box = ax.get_position()
    width, height = box.width * 0.17, box.height * 0.3
    # The lower right corner, or the upper left when that covers less of the mapped areas (the
    # north arrow holds the upper right, the scale bar the lower left).
    corners = {"SE": (box.x1 - width - 0.004, box.y0 + 0.008), "NW": (box.x0 + 0.004, box.y1 - height - 0.008)}
    to_data = (canvas.fig.transFigure + ax.transData.inverted()).transform
    mapped = shapely.union_all([g for g in figure.areas.geometry if g is not None and not g.is_empty])

    def covered(corner):
        (a, b), (c, d) = to_data([corners[corner], (corners[corner][0] + width, corners[corner][1] + height)])
        return mapped.intersection(shapely.box(a, b, c, d)).area

    anchor = min(corners, key=covered)
    inset = canvas.fig.add_axes((*corners[anchor], width, height), gid="inset")
    inset.set_xticks([])
    inset.set_yticks([])
    inset.set_facecolor(BACKGROUND)
    for spine in inset.spines.values():
        spine.set_edgecolor(MUTED)
        spine.set_linewidth(canvas.pt(0.8))
    geometries = [g for g in context.geometry if g is not None and not g.is_empty]
    _draw_geometries(inset, geometries, [CONTEXT_FILL] * len(geometries), CONTEXT_EDGE, canvas.pt(0.3), 1)
    inset.set_xlim(cminx, cmaxx)
    inset.set_ylim(cminy, cmaxy)
    inset.set_aspect(1.0 / math.cos(math.radians((cminy + cmaxy) / 2)), adjustable="box", anchor=anchor)
    inset.apply_aspect()  # the box shrinks to Thailand's shape, in the corner, before it is measured
    inset.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor=(0.75, 0.22, 0.17, 0.35),
                              edgecolor=INSET_FRAME, linewidth=canvas.pt(1.6), zorder=5))
    return inset.get_window_extent(canvas.renderer)


def _marker_boxes(ax, overlay, canvas: _Canvas) -> list:
    """The boxes (pixels) of the pilot sites' and candidate sites' circles, which labels keep clear of."""
    from matplotlib.transforms import Bbox

    if overlay is None:
        return []
    boxes = []
    for frame, diameter in ((overlay.sites, 24 + 2 * 1.8), (overlay.gaps, 15 + 2 * 2.5)):
        if not len(frame):
            continue
        half = canvas.pt(diameter) / 2 * canvas.size.dpi / 72
        for x, y in ax.transData.transform(np.column_stack([frame["lon"], frame["lat"]])):
            boxes.append(Bbox.from_extents(x - half, y - half, x + half, y + half))
    return boxes


#: Area labels' type size (design points), and the smaller one for maps of many areas.
LABEL_SIZE = 11.5
LABEL_SIZE_MANY = 9.5
#: Above this many areas, labels use :data:`LABEL_SIZE_MANY`.
MANY_AREAS = 60


def _label_areas(canvas: _Canvas, ax, figure: MapFigure, *, avoid=()) -> list:
    """Label every area that has room: name and value, else the name alone, else nothing.

    Areas are labelled largest first, at a point inside each; a label is kept only when its drawn
    box lies inside the map and clear of every text already there (the north arrow, the scale
    bar, pilot letters and the labels placed before it), so labels never overlap however many
    areas the map has. Returns the labels kept.
    """
    import matplotlib.patheffects as pe
    from matplotlib.transforms import Bbox

    areas = figure.areas
    geometries = list(areas.geometry)
    order = sorted((i for i, g in enumerate(geometries) if g is not None and not g.is_empty),
                   key=lambda i: -geometries[i].area)
    size = LABEL_SIZE if len(order) <= MANY_AREAS else LABEL_SIZE_MANY
    pad = canvas.pt(2.0) * canvas.size.dpi / 72
    frame = ax.get_window_extent(canvas.renderer)
    taken = [canvas.extent(t) for t in ax.texts]  # north arrow, scale bar, pilot letters
    taken += _marker_boxes(ax, figure.pilots, canvas) + list(avoid)  # and the inset locator
    halo = [pe.Stroke(linewidth=canvas.pt(3.5), foreground="white")]
    style = {"ha": "center", "va": "center", "fontsize": canvas.pt(size), "family": THAI_FONT_FAMILY,
             "linespacing": 1.05}
    kept = []
    for i in order:
        name, status, value_text = areas["name"].iloc[i], areas["status"].iloc[i], areas["value_text"].iloc[i]
        geometry = geometries[i]
        anchor = geometry.representative_point()
        forms = [f"{name}\n{value_text}", name] if status == "shown" and value_text else [name]
        placed = False
        for label in forms:
            artist = ax.text(anchor.x, anchor.y, label, color=INK, zorder=8.6, **style)  # over the reach rings
            for point in _label_points(ax, geometry, anchor, canvas.extent(artist)):
                artist.set_position((point.x, point.y))
                box = canvas.extent(artist)
                padded = Bbox.from_extents(box.x0 - pad, box.y0 - pad, box.x1 + pad, box.y1 + pad)
                inside = (box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0 and box.y1 <= frame.y1)
                if inside and not any(padded.overlaps(other) for other in taken):
                    taken.append(box)
                    # The halo is a separate artist (drawn as outlines), so the label itself stays
                    # real text in the PDF: searchable, and checked by the tests.
                    ax.text(point.x, point.y, label, color="white", path_effects=halo, zorder=8.5, gid="halo",
                            **style)
                    kept.append(artist)
                    placed = True
                    break
            if placed:
                break
            artist.remove()
    return kept


def _label_points(ax, geometry, anchor, box):
    """Where a label of drawn size ``box`` may sit in an area: a point inside it, then that point
    moved by half the label's height or width, when the moved point is still inside the area."""
    from shapely.geometry import Point

    yield anchor
    (x0, y0), (x1, y1) = ax.transData.inverted().transform([[box.x0, box.y0], [box.x1, box.y1]])
    half_w, half_h = (x1 - x0) / 2, (y1 - y0) / 2
    for dx, dy in ((0, half_h), (0, -half_h), (half_w, 0), (-half_w, 0),
                   (half_w, half_h), (-half_w, half_h), (half_w, -half_h), (-half_w, -half_h)):
        point = Point(anchor.x + dx, anchor.y + dy)
        if geometry.contains(point):
            yield point


def _draw_pilots(canvas: _Canvas, ax, overlay) -> None:
    """Reach rings, candidate sites (hollow circles) and pilot sites (a colour and a letter)."""
    from geo.views.pilot_overlay import GAP_COLOUR, RING_COLOUR, ring_polygon

    ring = tuple(c / 255 for c in RING_COLOUR)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()

    def inside(frame):  # only what the map's window shows: a site beyond it would draw over the panel
        keep = frame["lon"].between(x0, x1) & frame["lat"].between(y0, y1)
        return frame[keep.to_numpy()]

    overlay = replace(overlay, sites=inside(overlay.sites), gaps=inside(overlay.gaps) if len(overlay.gaps) else overlay.gaps)
    for lon, lat in zip(overlay.sites["lon"], overlay.sites["lat"]):
        xy = ring_polygon(lon, lat, overlay.km)
        ax.fill(xy[:, 0], xy[:, 1], facecolor=(*ring, 0.08), edgecolor=(*ring, 0.9), linewidth=canvas.pt(1.5),
                zorder=8)
    if len(overlay.gaps):
        ax.scatter(overlay.gaps["lon"], overlay.gaps["lat"], s=canvas.pt(15) ** 2, facecolors="none",
                   edgecolors=[tuple(c / 255 for c in GAP_COLOUR)], linewidths=canvas.pt(2.5), zorder=9)
    for row in overlay.sites.itertuples(index=False):
        ax.scatter([row.lon], [row.lat], s=canvas.pt(24) ** 2, color=[tuple(c / 255 for c in row.colour)],
                   edgecolors=[(0.08, 0.08, 0.08)], linewidths=canvas.pt(1.8), zorder=10)
        ax.text(row.lon, row.lat, row.letter, ha="center", va="center", color="white", fontsize=canvas.pt(12),
                fontweight="bold", family=THAI_FONT_FAMILY, zorder=11)


def _legends(canvas: _Canvas, figure: MapFigure, x: float, y: float, width: float, scale: float = 1.0) -> float:
    """Draw every legend of the figure from ``y`` (top, figure fraction) down; return the y below them."""
    for i, legend in enumerate(figure.legends):
        y = _legend(canvas, legend, x, y - (canvas.gap(12 * scale) if i else 0), width, scale)
    return y


def _legend(canvas: _Canvas, legend, x: float, y: float, width: float, scale: float = 1.0) -> float:
    """Draw one legend from ``y`` (top, figure fraction) down; return the y below it."""
    from matplotlib.patches import Rectangle

    lines, size = canvas.wrap(legend.title, 17 * scale, width, weight="bold", max_lines=3, min_size=12 * scale)
    for line in lines:
        y = canvas.stack(x, y, line, size, weight="bold", after=2)
    y -= canvas.gap(4 * scale)
    swatch_h = canvas.gap(15 * scale * 1.3)
    swatch_w = swatch_h * canvas.size.inches[1] / canvas.size.inches[0] * 1.6
    for item in (*legend.items, *legend.notes):
        colour = tuple(c / 255 for c in item.colour[:3])
        canvas.fig.add_artist(Rectangle((x, y - swatch_h), swatch_w, swatch_h, transform=canvas.fig.transFigure,
                                        facecolor=colour, edgecolor=MUTED, linewidth=canvas.pt(0.8)))
        label, label_size = canvas.wrap(item.label, 15 * scale, width - swatch_w - 0.01, max_lines=1,
                                        min_size=10 * scale)
        artist = canvas.text(x + swatch_w + 0.008, y - swatch_h / 2, label[0], label_size, va="center")
        y = min(y - swatch_h * 1.35, canvas.bottom_of(artist) - canvas.gap(3 * scale))
    return y


def _block(canvas: _Canvas, title: str, rows: list[tuple[str, str]], x: float, y: float, width: float,
           size: float = 14) -> float:
    """A titled list of ``label  value`` rows, each row below the drawn one; return the y below it."""
    y = canvas.stack(x, y, title, size + 1.5, weight="bold", after=size * 0.4)
    for label, value in rows:
        label_lines, label_size = canvas.wrap(label, size, width * (0.62 if value else 1.0), max_lines=2, min_size=9)
        drawn = [canvas.text(x, y, "\n".join(label_lines), label_size, va="top", color=MUTED if value else INK,
                             linespacing=1.3)]
        if value:
            drawn.append(canvas.text(x + width, y, value, size, va="top", ha="right", weight="bold"))
        y = canvas.bottom_of(*drawn) - canvas.gap(size * 0.35)
    return y


def _side_panel(canvas: _Canvas, figure: MapFigure, x: float, top: float, bottom: float, width: float, *,
                brief: bool) -> None:
    """The legends and the headline figures (the brief adds the filters and the highest areas),
    from ``top`` down; the type shrinks (down to 55%) until the legends and figures end above
    ``bottom``. The brief's extra blocks are drawn only where they fit."""
    lang = figure.view.lang
    headline = [(h.label, h.text) for h in figure.headline]
    scale = 1.0
    while True:
        texts, artists = len(canvas.fig.texts), len(canvas.fig.artists)
        y = _legends(canvas, figure, x, top, width, scale)
        y -= canvas.gap(14 * scale)
        y = _block(canvas, text("headline", lang), headline, x, y, width, size=(14 if not brief else 13) * scale)
        if y >= bottom or scale <= 0.55:
            break
        for artist in canvas.fig.texts[texts:] + canvas.fig.artists[artists:]:
            artist.remove()
        scale = max(scale * 0.9, 0.55)
    if not brief:
        return
    filters = [(f, "") for f in figure.filters_text] or [(text("all_households", lang), "")]
    for title, rows, size in ((text("filters_used", lang), filters, 12.5 * scale),
                              (text("top_areas", lang), _top_areas(figure), 12.5 * scale)):
        if not rows:
            continue
        texts = len(canvas.fig.texts)
        below = _block(canvas, title, rows, x, y - canvas.gap(10 * scale), width, size=size)
        if below < bottom:  # no room: leave the block out rather than run it into the footer
            for artist in canvas.fig.texts[texts:]:
                artist.remove()
            break
        y = below


def _top_areas(figure: MapFigure, n: int = 5) -> list[tuple[str, str]]:
    from geo.views.metrics import get_metric

    areas = figure.areas
    if figure.level == "h3" or areas.empty or get_metric(figure.view.metric).scale == "categorical":
        return []
    shown = areas[areas["status"] == "shown"]
    order = np.argsort(-shown["value"].to_numpy(dtype="float64"), kind="stable")[:n]
    return [(str(shown["name"].iloc[i]), str(shown["value_text"].iloc[i])) for i in order]


def render(figure: MapFigure, size: PageSize, *, brief: bool = False):
    """Lay a :class:`MapFigure` out on a matplotlib ``Figure`` of ``size`` (see the module docstring).

    ``brief`` adds the filters, the highest areas and the data notes to the side panel (the PDF).
    """
    canvas = _Canvas(size)
    lang = figure.view.lang
    aspect = size.inches[0] / size.inches[1]
    margin_x = 0.022
    margin_y = margin_x * aspect
    panel_x = 0.705
    panel_w = 1 - margin_x - panel_x

    # Title band: each line below the one drawn (Thai marks above and below the line included).
    title_w = (0.66 if figure.synthetic else 1 - 2 * margin_x)
    lines, title_size = canvas.wrap(figure.title, 30, title_w, weight="bold", max_lines=2, min_size=16)
    y = 1 - margin_y
    for line in lines:
        y = canvas.stack(margin_x, y, line, title_size, weight="bold", after=2)
    sub_lines, sub_size = canvas.wrap(figure.subtitle, 16, 1 - 2 * margin_x if not figure.synthetic else title_w,
                                      max_lines=2, min_size=10)
    y -= canvas.gap(4)
    for line in sub_lines:
        y = canvas.stack(margin_x, y, line, sub_size, color=MUTED, after=2)
    if figure.synthetic:
        badge_lines, badge_size = canvas.wrap(figure.synthetic_text, 17, 1 - margin_x - 0.72 - 0.02, weight="bold",
                                              max_lines=2, min_size=10)
        badge = canvas.text(1 - margin_x - 0.006, 1 - margin_y - 0.004, "\n".join(badge_lines), badge_size,
                            weight="bold", ha="right", va="top", color=SYNTHETIC_EDGE, linespacing=1.25,
                            bbox={"boxstyle": f"round,pad={0.45}", "facecolor": SYNTHETIC_FILL,
                                  "edgecolor": SYNTHETIC_EDGE, "linewidth": canvas.pt(1.5)})
        # The box is drawn with the text: its padding (0.45 of the type size) is below the text's box.
        y = min(y, canvas.bottom_of(badge) - canvas.gap(badge_size * 0.45 + 2))
    top_of_body = y - 0.012

    # Footer band: the credit (up to two lines) at the left, the date at the right.
    footer_size = 13 if not brief else 12
    date_line = f"{text('made_on', lang)} {figure.date_text}"
    date_w = canvas.width_of(date_line, footer_size)
    credit_lines, credit_size = canvas.wrap(figure.credit, footer_size, 1 - 2 * margin_x - date_w - 0.03,
                                            max_lines=2, min_size=8)
    bottom = margin_y
    footer = [canvas.text(margin_x, bottom, "\n".join(credit_lines), credit_size, va="bottom", color=MUTED,
                          linespacing=1.3),
              canvas.text(1 - margin_x, bottom, date_line, footer_size, va="bottom", ha="right", color=INK)]
    bottom_of_body = max(canvas.extent(a).y1 for a in footer) / canvas.fig.bbox.height + 0.015

    # Map and side panel.
    _draw_map(canvas, figure, (margin_x, bottom_of_body, panel_x - margin_x - 0.015, top_of_body - bottom_of_body))
    _side_panel(canvas, figure, panel_x, top_of_body, bottom_of_body, panel_w, brief=brief)
    return canvas.fig


def _check_size(size: str) -> PageSize:
    from geo.errors import ExportError

    if size not in SIZES:
        raise ExportError(f"size must be one of {list(SIZES)}, got {size!r}")
    return SIZES[size]


def export_png(figure: MapFigure, *, size: str = "1920x1080") -> bytes:
    """The map as a PNG image of exactly the given size.

    Parameters
    ----------
    figure : MapFigure
        From :func:`geo.views.mapview.build_map`.
    size : {"1920x1080", "3840x2160", "a4", "a3"}, default "1920x1080"
        Presentation sizes in pixels, or A4/A3 landscape at 300 dpi (3508x2480, 4961x3508).

    Returns
    -------
    bytes
        PNG data (with the title in its metadata).

    Raises
    ------
    ExportError
        When ``figure`` is not a MapFigure or ``size`` is unknown.

    Example
    -------
    >>> data = export_png(figure, size="a4")  # doctest: +SKIP
    """
    from geo.export.common import check_figure as _check_figure

    _check_figure(figure)
    page = _check_size(size)
    fig = render(figure, page)
    buffer = io.BytesIO()
    import json

    legend = json.dumps(figure.legend_set(), ensure_ascii=False, sort_keys=True)
    fig.savefig(buffer, format="png", dpi=page.dpi, facecolor=BACKGROUND,
                metadata={"Title": figure.title, "Source": figure.credit, "Software": "PPAP Atlas",
                          "Legend": legend})
    return buffer.getvalue()


def export_pdf(figure: MapFigure) -> bytes:
    """A one-page brief (A4 landscape): map, legend, headline figures, filters, highest areas,
    date (BE with CE), data source, boundary credit, and the synthetic label when it applies.

    Text is real text (Sarabun embedded as TrueType), so it can be searched and copied.

    Raises
    ------
    ExportError
        When ``figure`` is not a MapFigure.
    """
    from geo.export.common import check_figure as _check_figure

    _check_figure(figure)
    fig = render(figure, BRIEF_SIZE, brief=True)
    buffer = io.BytesIO()
    metadata = {"Title": figure.title, "Subject": figure.subtitle, "Creator": "PPAP Atlas",
                "Keywords": figure.credit}
    with PDF_LOCK, pdf_text_fix():
        fig.savefig(buffer, format="pdf", facecolor=BACKGROUND, metadata=metadata)
    return buffer.getvalue()
