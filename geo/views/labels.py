"""Area names on the live map: drawn as small pictures, shaped by Pillow, so Thai reads right offline.

deck.gl's ``TextLayer`` draws text through a font atlas of single characters: Thai vowels and tone
marks (``ที่``, ``ผู้``) are combining marks that need shaping (HarfBuzz, through libraqm), which a
character atlas cannot do, and its default font would be fetched from a CDN. Instead each name is
shaped and drawn here with Pillow (libraqm layout, the exports' Sarabun from ``fontpkg-sarabun``),
dark on a light halo, into one small PNG *atlas* (grey and alpha), and an ``IconLayer`` draws the
names from it. The atlas travels inside the deck as a ``data:`` URL: nothing is fetched.

Which names show:

* at most :data:`MAX_LABELS`, the largest areas first (:func:`area_labels`);
* on screen (Streamlit's deck.gl), the ``CollisionFilterExtension`` hides a name that would overlap
  a larger area's, and shows it again when a zoom makes room (``collision="gpu"``);
* pydeck's standalone bundle (the offline HTML export) has no deck.gl extensions, so there the
  names that overlap at the map's fitted zoom are dropped here instead (``collision="static"``,
  :func:`collision_free`).

Coordinate order: positions are (lon, lat) like every pydeck position. Pure Python: no Streamlit.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd
import shapely
import shapely.ops

from geo.errors import EngineInputError
from geo.text.fonts import thai_font_path

#: Most names one map draws (the largest areas).
MAX_LABELS = 150
#: Font size of a name, CSS pixels.
LABEL_FONT_PX = 14
#: Width of the light halo around each letter, pixels.
HALO_PX = 2
#: Text and halo colours (grey levels: the atlas is grey and alpha).
TEXT_GREY = 26
HALO_GREY, HALO_ALPHA = 255, 225
#: Widest row of the atlas, pixels.
ATLAS_WIDTH = 1024
#: Names kept by :func:`collision_free` have this much room around them (a share of their size).
COLLISION_MARGIN = 1.15
#: deck.gl's collision filter hides an object when its *anchor* (the name's centre) falls on a
#: higher-priority object drawn into the collision map, not when two boxes overlap. Drawing each
#: name twice its size there (its whole box: no alpha cutoff) hides a name whose centre is within
#: one width and one height of a larger area's name, which is when their boxes would overlap
#: (unless the hidden name is much the longer).
COLLISION_TEST_PROPS = {"sizeScale": 2.0, "alphaCutoff": 0}
#: How a map hides names that would overlap (see the module docstring).
COLLISION_MODES: tuple[str, ...] = ("gpu", "static")


def area_labels(names: Sequence[str], geometry, *, max_labels: int = MAX_LABELS) -> pd.DataFrame:
    """Where each area's name goes, largest areas first, at most ``max_labels`` of them.

    Parameters
    ----------
    names : sequence of str
        One name per area (empty names are skipped).
    geometry : sequence of shapely geometries
        The areas (lon, lat), in the order of ``names``.
    max_labels : int, default 150

    Returns
    -------
    pandas.DataFrame
        ``text``, ``lon``, ``lat`` (the pole of inaccessibility of the area's largest part:
        inside it, far from its edges) and ``size`` (the area in square degrees, scaled by the
        cosine of the latitude), sorted by ``size`` descending.

    Example
    -------
    >>> labels = area_labels(["เล็ก", "ใหญ่"], [shapely.box(0, 0, 1, 1), shapely.box(2, 0, 5, 3)])
    >>> labels["text"].tolist(), labels["lon"].tolist()
    (['ใหญ่', 'เล็ก'], [3.5, 0.5])
    """
    values = np.asarray(getattr(geometry, "values", geometry), dtype=object)
    if len(values) != len(names):
        raise EngineInputError(f"names and geometry must have one entry per area: got {len(names)}, {len(values)}")
    rows = []
    for name, shape in zip(names, values):
        if not name or shape is None or shape.is_empty:
            continue
        part = max(getattr(shape, "geoms", [shape]), key=lambda g: g.area)
        lat = part.centroid.y
        rows.append((str(name), part, shape.area * math.cos(math.radians(lat))))
    rows.sort(key=lambda r: -r[2])
    rows = rows[:max(int(max_labels), 0)]
    points = [_anchor(part) for _, part, _ in rows]
    return pd.DataFrame({"text": [r[0] for r in rows], "lon": [round(p[0], 4) for p in points],
                         "lat": [round(p[1], 4) for p in points], "size": [r[2] for r in rows]})


def _anchor(polygon) -> tuple[float, float]:
    """A point well inside ``polygon``: its pole of inaccessibility, to about 1/50 of its size."""
    minx, miny, maxx, maxy = polygon.bounds
    tolerance = max(maxx - minx, maxy - miny) / 50 or 1e-6
    point = shapely.ops.polylabel(polygon, tolerance=tolerance) if polygon.geom_type == "Polygon" else \
        polygon.representative_point()
    return float(point.x), float(point.y)


@lru_cache(maxsize=4)
def _font(font_px: int):
    from PIL import ImageFont, features

    layout = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
    return ImageFont.truetype(str(thai_font_path()), font_px, layout_engine=layout)


def label_height(font_px: int = LABEL_FONT_PX, halo_px: int = HALO_PX) -> int:
    """Height in pixels of every drawn name (the font's ascent and descent with the halo)."""
    ascent, descent = _font(font_px).getmetrics()
    return ascent + descent + 2 * halo_px


def render_label(text: str, *, font_px: int = LABEL_FONT_PX, halo_px: int = HALO_PX):
    """One name as a grey-and-alpha Pillow image (``"LA"``): dark letters on a light halo, the
    height of :func:`label_height`, shaped by libraqm (Thai marks stacked where the font puts them).

    Example
    -------
    >>> render_label("ที่นี่").mode, render_label("ที่นี่").height == label_height()
    ('LA', True)
    """
    return _rendered(str(text), int(font_px), int(halo_px)).copy()


@lru_cache(maxsize=4096)
def _rendered(text: str, font_px: int, halo_px: int):
    """:func:`render_label`, kept: the same names come back on every map of an area (about 1 ms each)."""
    from PIL import Image, ImageDraw

    font = _font(font_px)
    left, _, right, _ = font.getbbox(text, stroke_width=halo_px)
    width = max(int(math.ceil(right - left)), 1) + 2
    image = Image.new("LA", (width, label_height(font_px, halo_px)), (HALO_GREY, 0))
    ImageDraw.Draw(image).text((1 - left, halo_px), text, font=font, fill=(TEXT_GREY, 255),
                               stroke_width=halo_px, stroke_fill=(HALO_GREY, HALO_ALPHA))
    return image


def label_atlas(texts: Sequence[str], *, font_px: int = LABEL_FONT_PX,
                halo_px: int = HALO_PX) -> tuple[bytes, list[dict]]:
    """Every name drawn into one PNG (rows of at most :data:`ATLAS_WIDTH` pixels) and where each is.

    Returns
    -------
    (bytes, list of dict)
        The PNG, and per text its box in it: ``x``, ``y``, ``width``, ``height`` (deck.gl's icon mapping).
    """
    from PIL import Image

    images = [_rendered(str(t), int(font_px), int(halo_px)) for t in texts]
    height = label_height(font_px, halo_px)
    boxes, x, y = [], 0, 0
    for image in images:
        width = min(image.width, ATLAS_WIDTH)
        if x and x + width > ATLAS_WIDTH:
            x, y = 0, y + height
        boxes.append({"x": x, "y": y, "width": width, "height": height})
        x += width
    atlas = Image.new("LA", (ATLAS_WIDTH if y else max(x, 1), y + height), (HALO_GREY, 0))
    for image, box in zip(images, boxes):
        atlas.paste(image.crop((0, 0, box["width"], height)), (box["x"], box["y"]))
    buffer = io.BytesIO()
    atlas.save(buffer, format="PNG", compress_level=6)  # optimize=True: 1% smaller, 7 times slower
    return buffer.getvalue(), boxes


def _pixels(lon: np.ndarray, lat: np.ndarray, zoom: float) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator pixel coordinates at ``zoom`` (a 512-pixel world at zoom 0, as deck.gl)."""
    scale = 512.0 * 2.0 ** float(zoom)
    lat = np.radians(np.clip(lat, -85.0, 85.0))
    x = (np.asarray(lon, dtype="float64") + 180.0) / 360.0 * scale
    y = (1.0 - np.log(np.tan(lat) + 1.0 / np.cos(lat)) / math.pi) / 2.0 * scale
    return x, y


def collision_free(lon, lat, widths, heights, *, zoom: float, margin: float = COLLISION_MARGIN) -> np.ndarray:
    """Which labels to keep so none overlaps another at ``zoom``, in the given (priority) order.

    Each label is a box of ``widths`` x ``heights`` pixels (times ``margin``) centred on its
    position; a box that overlaps one already kept is dropped.

    Example
    -------
    >>> collision_free([100.0, 100.0001, 101.0], [15.0, 15.0, 15.0], [40, 40, 40], [16, 16, 16], zoom=8).tolist()
    [True, False, True]
    """
    x, y = _pixels(np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64"), zoom)
    half_w = np.asarray(widths, dtype="float64") * margin / 2
    half_h = np.asarray(heights, dtype="float64") * margin / 2
    keep = np.zeros(len(x), dtype=bool)
    for i in range(len(x)):
        kept = keep[:i]
        overlaps = kept & (np.abs(x[:i] - x[i]) < half_w[:i] + half_w[i]) & (np.abs(y[:i] - y[i]) < half_h[:i] + half_h[i])
        keep[i] = not overlaps.any()
    return keep


def label_layer(names: Sequence[str], geometry, *, collision: str = "gpu", zoom: float | None = None,
                max_labels: int = MAX_LABELS, layer_id: str = "labels"):
    """An ``IconLayer`` of area names (see the module docstring), or ``None`` when there is none.

    Parameters
    ----------
    names, geometry
        The areas, as for :func:`area_labels`.
    collision : {"gpu", "static"}, default "gpu"
        ``"gpu"``: deck.gl's ``CollisionFilterExtension`` hides overlapping names at every zoom
        (larger areas win); ``"static"``: the names overlapping at ``zoom`` are dropped here
        (for a deck.gl bundle without extensions).
    zoom : float, optional
        The map's fitted zoom; needed with ``collision="static"``.
    max_labels : int, default 150
    layer_id : str, default "labels"

    Returns
    -------
    pydeck.Layer or None
        Not pickable, so clicks and tooltips reach the areas under the names.
    """
    if collision not in COLLISION_MODES:
        raise EngineInputError(f"collision must be one of {list(COLLISION_MODES)}, got {collision!r}")
    if collision == "static" and zoom is None:
        raise EngineInputError("zoom is needed with collision='static', got None")
    # A filter change redraws the same areas: the layer is kept per names and polygons (the same
    # display polygons, checked by identity, so a reused id() can never match another polygon).
    shapes = list(getattr(geometry, "values", geometry))
    key = (collision, zoom if collision == "static" else None, int(max_labels), layer_id, tuple(map(str, names)),
           tuple(map(id, shapes)))
    kept = _LAYERS.get(key)
    if kept is not None and all(a is b for a, b in zip(kept[0], shapes)):
        return kept[1]
    layer = _label_layer(names, shapes, collision=collision, zoom=zoom, max_labels=max_labels, layer_id=layer_id)
    if len(_LAYERS) >= _LAYERS_MAX:
        _LAYERS.clear()
    _LAYERS[key] = (shapes, layer)
    return layer


#: Label layers by (mode, zoom, cap, id, names, polygon ids), with the polygons they came from.
_LAYERS: dict[tuple, tuple[list, object]] = {}
_LAYERS_MAX = 64


def _label_layer(names, geometry, *, collision, zoom, max_labels, layer_id):
    import pydeck as pdk

    labels = area_labels(names, geometry, max_labels=max_labels)
    if labels.empty:
        return None
    if collision == "static":
        images = [_rendered(t, LABEL_FONT_PX, HALO_PX) for t in labels["text"]]
        keep = collision_free(labels["lon"], labels["lat"], [i.width for i in images], [i.height for i in images],
                              zoom=zoom)
        labels = labels[keep].reset_index(drop=True)
    png, boxes = label_atlas(labels["text"].tolist())
    height = boxes[0]["height"]
    mapping = {str(i): {**box, "mask": False} for i, box in enumerate(boxes)}
    # Collision priority: -1000..1000, higher kept first; the largest area is 1000.
    data = [{"lon": float(lon), "lat": float(lat), "icon": str(i), "priority": max(1000 - 10 * i, -1000)}
            for i, (lon, lat) in enumerate(zip(labels["lon"], labels["lat"]))]
    options = {}
    if collision == "gpu":
        options = {"extensions": [{"@@type": "CollisionFilterExtension"}], "get_collision_priority": "priority",
                   "collision_test_props": dict(COLLISION_TEST_PROPS)}
    atlas_url = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return pdk.Layer("IconLayer", data=data, id=layer_id, pickable=False, icon_atlas=pdk.types.String(atlas_url),
                     icon_mapping=mapping, get_icon="icon", get_position=["lon", "lat"], get_size=height,
                     size_units=pdk.types.String("pixels"), size_scale=1, billboard=True, **options)
