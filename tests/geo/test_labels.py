"""Area names on the live map (geo.views.labels): shaped Thai in a PNG atlas, largest areas first,
overlaps hidden by deck.gl's collision filter or, for the HTML export, dropped at the fitted zoom."""

import base64
import io
import json

import numpy as np
import pydeck as pdk
import pytest
import shapely
from PIL import Image, features

from geo.errors import EngineInputError
from geo.views import labels as L


def squares(n: int, side: float = 1.0):
    return [shapely.box(i * 2.0, 0, i * 2.0 + side * (1 + i / 10), side * (1 + i / 10)) for i in range(n)]


def test_thai_marks_are_shaped_not_advanced():
    # With libraqm a tone mark over a consonant takes no room of its own: "ที่" is as wide as "ท".
    assert features.check("raqm")
    assert abs(L.render_label("ที่").width - L.render_label("ท").width) <= 1
    image = L.render_label("สหัสขันธ์")
    assert image.mode == "LA" and image.height == L.label_height()
    alpha = np.asarray(image)[:, :, 1]
    assert (alpha == 255).any() and (alpha == 0).any()  # letters, halo and clear background


def test_largest_areas_first_at_most_max_labels_and_inside_their_area():
    shapes = squares(5)
    labels = L.area_labels([f"a{i}" for i in range(5)], shapes, max_labels=3)
    assert labels["text"].tolist() == ["a4", "a3", "a2"]
    for row in labels.itertuples():
        assert shapes[int(row.text[1])].contains(shapely.Point(row.lon, row.lat))
    assert L.area_labels(["", "b"], squares(2))["text"].tolist() == ["b"]
    with pytest.raises(EngineInputError, match="one entry per area"):
        L.area_labels(["a"], squares(2))


def test_collision_pass_keeps_the_first_of_overlapping_boxes():
    keep = L.collision_free([100.0, 100.001, 100.3, 100.3], [15.0, 15.0, 15.0, 15.0001], [60] * 4, [20] * 4, zoom=9)
    assert keep.tolist() == [True, False, True, False]


def test_layer_is_offline_unpickable_and_its_atlas_holds_every_name():
    names = ["กาฬสินธุ์", "ภูสิงห์", "Kalasin"]
    layer = L.label_layer(names, squares(3))
    payload = json.loads(pdk.Deck(layers=[layer], map_provider=None).to_json())["layers"][0]
    assert payload["@@type"] == "IconLayer" and payload["pickable"] is False
    assert payload["extensions"] == [{"@@type": "CollisionFilterExtension"}]
    assert payload["getCollisionPriority"] == "@@=priority" and payload["sizeUnits"] == "pixels"
    assert "http" not in json.dumps(payload["iconMapping"]) and payload["iconAtlas"].startswith("data:image/png;base64,")
    atlas = Image.open(io.BytesIO(base64.b64decode(payload["iconAtlas"].split(",", 1)[1])))
    assert len(payload["data"]) == 3
    for box in payload["iconMapping"].values():
        assert box["x"] + box["width"] <= atlas.width and box["y"] + box["height"] <= atlas.height
    priorities = [d["priority"] for d in payload["data"]]
    assert priorities == sorted(priorities, reverse=True) and priorities[0] == 1000


def test_static_layer_drops_overlaps_and_needs_a_zoom():
    close = [shapely.box(100 + i * 0.001, 15, 100.001 + i * 0.001, 15.001) for i in range(4)]
    layer = L.label_layer(["ก", "ข", "ค", "ง"], close, collision="static", zoom=6)
    assert len(layer.data) == 1 and not hasattr(layer, "extensions")
    with pytest.raises(EngineInputError, match="zoom"):
        L.label_layer(["ก"], close[:1], collision="static")
    with pytest.raises(EngineInputError, match="collision"):
        L.label_layer(["ก"], close[:1], collision="css")
    assert L.label_layer([], []) is None
