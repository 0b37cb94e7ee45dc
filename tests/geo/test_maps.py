"""Map styling and decks as data: colours, breaks, legends, escaped tooltips, golden deck JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from geo.views import deck as maps
from geo.errors import EngineInputError

from geo.views import style as mapstyle

GOLDEN = Path(__file__).parent / "golden"


def test_quantile_breaks_are_increasing_and_cover_the_values():
    values = np.array([1, 2, 2, 3, 5, 8, 13, 21, 34, 55, np.nan])
    edges = mapstyle.class_breaks(values)
    assert (np.diff(edges) > 0).all()
    assert edges[0] <= 1 and edges[-1] >= 55
    classes = mapstyle.classify(values, edges)
    assert classes[-1] == -1 and classes[:-1].min() == 0 and classes[:-1].max() == edges.size - 2


@pytest.mark.parametrize("values", [np.array([]), np.array([np.nan, np.nan])])
def test_breaks_of_nothing_are_empty(values):
    assert mapstyle.class_breaks(values).size == 0


def test_equal_breaks_over_a_fixed_domain():
    edges = mapstyle.class_breaks(np.array([0.2, 0.3]), method="equal", domain=(0, 1), n_classes=5)
    assert edges.tolist() == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert mapstyle.classify(np.array([0.0, 0.2, 0.21, 1.0]), edges).tolist() == [0, 0, 1, 4]


def test_fill_colours_grey_out_withheld_and_empty_areas():
    edges = np.array([0.0, 10.0, 20.0])
    fill = mapstyle.fill_colours(np.array([5.0, 15.0, np.nan, 15.0]), edges, withheld=np.array([False, False, False, True]))
    palette = mapstyle.sequential_palette(2)
    assert tuple(fill[0, :3]) == palette[0] and tuple(fill[1, :3]) == palette[1]
    assert tuple(fill[2, :3]) == mapstyle.NO_DATA_COLOUR
    assert tuple(fill[3, :3]) == mapstyle.WITHHELD_COLOUR
    assert mapstyle.WITHHELD_COLOUR not in mapstyle.SEQUENTIAL_YLORRD


def test_sequential_scale_gets_darker_and_categories_are_distinct():
    lightness = [sum(c) for c in mapstyle.SEQUENTIAL_YLORRD]
    assert lightness == sorted(lightness, reverse=True)
    assert len(set(mapstyle.CAPITAL_COLOURS.values())) == 5


def test_legends_label_each_class():
    legend = mapstyle.sequential_legend("ครัวเรือน", np.array([0.0, 10.0, 20.0]), lambda v: f"{v:,.0f}",
                                        withheld_label="<10", no_data_label="none")
    assert [i.label for i in legend.items] == ["0 – 10", "10 – 20"]
    assert [n.label for n in legend.notes] == ["<10", "none"]


def test_tooltips_are_plain_text_in_a_fixed_template():
    # Streamlit escapes each value it fills in (tests/e2e checks it), so the markup is only in the
    # template and data text travels as plain fields, never as HTML.
    assert maps.TOOLTIP["html"] == "<b>{tt_title}</b><div>{tt_1}</div><div>{tt_2}</div><div>{tt_3}</div><div>{tt_4}</div>"
    fields = maps.tooltip_fields('<img src=x onerror="alert(1)">', [("a", "1")] * 6)
    assert fields["tt_title"] == '<img src=x onerror="alert(1)">'
    assert fields["tt_4"] == "a: 1" and len(fields) == 5
    assert maps.tooltip_fields("x", [])["tt_1"] == ""


def test_view_fits_bounds_and_resolution_follows_zoom():
    country = maps.view_for_bounds((97.3, 5.6, 105.7, 20.5))
    province = maps.view_for_bounds((103.0, 16.0, 104.0, 17.0))
    assert 4 <= country.zoom < province.zoom <= 10
    assert province.latitude == pytest.approx(16.5, abs=0.01) and province.longitude == pytest.approx(103.5)
    assert maps.resolution_for_zoom(country.zoom) == 5
    assert maps.resolution_for_zoom(12) == 9 and maps.resolution_for_zoom(12, max_res=7) == 7
    assert maps.view_for_bounds((np.nan, 0, 1, 1)) == maps.THAILAND_VIEW


def test_layers_refuse_mismatched_lengths():
    areas = gpd.GeoDataFrame({"code": ["46"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4326")
    with pytest.raises(ValueError, match="one entry per area"):
        maps.area_layer(areas, np.zeros((2, 4), dtype="uint8"), [maps.tooltip_fields("x", [])])


def tiny_deck():
    areas = gpd.GeoDataFrame(
        {"code": ["4609", "4602"]},
        geometry=[box(103.0, 16.0, 103.5, 16.5), box(103.5, 16.5, 104.0, 17.0)], crs="EPSG:4326",
    )
    edges = np.array([0.0, 50.0, 100.0])
    fill = mapstyle.fill_colours(np.array([20.0, 80.0]), edges)
    tips = [maps.tooltip_fields("สหัสขันธ์", [("ครัวเรือน", "20")]), maps.tooltip_fields("นามน", [("ครัวเรือน", "80")])]
    pilots = pd.DataFrame({"lon": [103.3], "lat": [16.3]})
    layers = [
        maps.area_layer(areas, fill, tips),
        maps.outline_layer(areas),
        maps.h3_layer(["8965a2e4c6bffff"], fill[:1], tips[:1]),
        maps.point_layer(pilots, fill=fill[:1], tooltips=tips[:1]),
        maps.ring_layer(pilots, radius_m=5000),
    ]
    return maps.make_deck(layers, maps.view_for_bounds(areas.total_bounds))


def test_tiny_deck_matches_golden_json():
    got = json.loads(tiny_deck().to_json())
    path = GOLDEN / "tiny_deck.json"
    if os.environ.get("PPAP_UPDATE_GOLDEN"):
        path.write_text(json.dumps(got, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    assert got == json.loads(path.read_text(encoding="utf-8"))


def test_decks_are_offline_and_compact():
    text = tiny_deck().to_json()
    assert '"mapStyle":"__MAP_STYLE__"' in text  # Streamlit mounts no basemap for this
    assert "http" not in text
    assert "\n" not in text


# --- detail that follows the view -------------------------------------------------------------


def test_degrees_per_pixel_halves_with_each_zoom_level():
    assert maps.degrees_per_pixel(0) == pytest.approx(360 / 512)
    assert maps.degrees_per_pixel(6) == pytest.approx(maps.degrees_per_pixel(5) / 2)


def _wiggly_polygon(n: int = 2000):
    """A ring of ``n`` vertices about 0.5 degrees across with 100 m wiggles on its edge."""
    from shapely.geometry import Polygon

    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    radius = 0.25 + 0.001 * np.sin(angles * 200)
    return Polygon(np.column_stack([103.5 + radius * np.cos(angles), 16.5 + radius * np.sin(angles)]))


def test_geometry_for_a_wide_view_is_thinned_within_a_fraction_of_a_pixel():
    import shapely

    shape = _wiggly_polygon()
    zoom = 4.6  # every district of Thailand on a 600-pixel map
    [thin] = maps.geometry_for_zoom(gpd.GeoSeries([shape]), zoom)
    tolerance = maps.degrees_per_pixel(zoom) * maps.VIEW_DETAIL_PX
    assert shapely.get_num_coordinates(thin) < shapely.get_num_coordinates(shape) / 10
    # Never further from the original than the tolerance (plus the 3-decimal rounding).
    assert shape.hausdorff_distance(thin) <= tolerance + 0.001
    assert thin.is_valid and not thin.is_empty


def test_geometry_for_a_close_view_is_the_display_geometry_unchanged():
    shape = _wiggly_polygon()
    [same] = maps.geometry_for_zoom([shape], 11.0)
    assert same is shape
    assert maps.geometry_for_zoom([], 3.0).size == 0


def test_visible_bounds_cover_the_fitted_extent_and_widen_with_the_margin():
    bounds = (103.0, 16.0, 104.2, 17.0)
    view = maps.view_for_bounds(bounds, width_px=600, height_px=600)
    seen = maps.visible_bounds(view, width_px=600, height_px=600, margin=0)
    assert seen[0] <= bounds[0] and seen[1] <= bounds[1] and seen[2] >= bounds[2] and seen[3] >= bounds[3]
    wide = maps.visible_bounds(view, width_px=600, height_px=600, margin=1.0)
    assert wide[2] - wide[0] == pytest.approx(3 * (seen[2] - seen[0]))


def test_a_deck_is_written_once_and_its_cache_never_reaches_the_json():
    deck = tiny_deck()
    first = deck.to_json()
    assert deck.to_json() is first
    assert "ppap" not in first.lower() and "_DECK_JSON" not in first
    assert tiny_deck().to_json() == first  # a new deck with the same content: the same JSON


def test_geometry_text_goes_into_the_json_as_geos_wrote_it_and_nothing_else_is_touched():
    """Polygons are written into a deck's JSON from GEOS's text (kept per geometry), numbers and
    all, while every other value is encoded as json does; a string of the data shaped like the
    placeholder stays a string."""
    import shapely

    areas = gpd.GeoDataFrame({"code": ["4609"]}, geometry=[box(103.0, 16.0, 103.5, 16.5)], crs="EPSG:4326")
    tricky = "\x000:0\x00 นามน"
    layer = maps.area_layer(areas, np.zeros((1, 4), dtype="uint8"), [maps.tooltip_fields(tricky, [])])
    [geometry] = maps.geojson_geometries(areas.geometry)
    assert geometry["type"] == "Polygon" and dict(geometry) == shapely.geometry.mapping(areas.geometry[0]) | {
        "coordinates": json.loads(shapely.to_geojson(areas.geometry[0]))["coordinates"]}
    assert maps.geojson_geometries(areas.geometry)[0] is geometry  # kept, not written again
    text = maps.make_deck([layer]).to_json()
    assert geometry.text in text and "\\u0000" + "0:0" in text
    [feature] = json.loads(text)["layers"][0]["data"]["features"]
    assert feature["geometry"] == json.loads(geometry.text)
    assert feature["properties"]["tt_title"] == tricky


def test_thinning_is_done_once_per_polygon_and_tolerance():
    shape, other = _wiggly_polygon(), _wiggly_polygon(1000)
    [first] = maps.geometry_for_zoom([shape], 4.6)
    [again, different] = maps.geometry_for_zoom([shape, other], 4.6)
    assert again is first  # kept, not thinned again
    assert different is not first and different.equals(maps.geometry_for_zoom([_wiggly_polygon(1000)], 4.6)[0])
    [coarser] = maps.geometry_for_zoom([shape], 3.0)
    assert coarser is not first  # another tolerance, another thinning


# --- legend sets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edges", "kept"),
    [
        ([0.03, 0.06, 0.064, 0.07], [0.03, 0.06, 0.07]),  # "3% – 6% · 6% · 6% – 7%" was drawn
        ([0.03, 0.06, 0.064], [0.03, 0.064]),  # the last edge stays, so the top value has a class
        ([0.06, 0.064], [0.06, 0.064]),  # one class ("6%"), never none
        ([-np.inf, 0.061, 0.062, np.inf], [-np.inf, 0.061, np.inf]),
    ],
)
def test_distinct_edges_never_leave_a_collapsed_class(edges, kept):
    percent = lambda v: f"{v:.0%}"  # noqa: E731
    out = mapstyle.distinct_edges(np.array(edges), percent)
    assert out.tolist() == kept
    labels = [i.label for i in mapstyle.sequential_legend("x", out, percent).items]
    assert all(a != b for label in labels if " – " in label for a, b in [label.split(" – ")]) or len(labels) == 1


def test_custom_edges_are_open_at_both_ends_and_checked():
    edges = mapstyle.custom_edges((10, 20))
    assert mapstyle.classify(np.array([-5.0, 10.0, 10.5, 20.0, 99.0]), edges).tolist() == [0, 0, 1, 1, 2]
    legend = mapstyle.sequential_legend("x", edges, lambda v: f"{v:g}")
    assert [i.label for i in legend.items] == ["≤ 10", "10 – 20", "> 20"]
    for bad in ((), (1, 2, 3, 4, 5), (2, 1), (1, np.nan)):
        with pytest.raises(EngineInputError, match="breaks"):
            mapstyle.custom_edges(bad)
