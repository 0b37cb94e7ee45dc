"""Map exports from the pages (what is on screen, as PNG / PDF / HTML, logged) and meeting mode
(one province at a time, next / previous from the keyboard buttons or the URL)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from geo.views.mapview import meeting_provinces
from tests.pages import tiny_world
from tests.pages.conftest import decks, open_app, page_text, rerun
from tests.pages.test_access_pages import audit_records

MAP_PAGES = {
    "overview": ("overview_export",),
    "capitals": ("capitals_export_deficit", "capitals_export_dominant"),
    "pilots": ("pilots_export",),
    "meeting": ("meeting_export",),
}


def _choose(at, key: str, choice: str):
    at.selectbox(key=f"{key}_format").select(choice)
    return rerun(at)


@pytest.mark.parametrize("page", sorted(MAP_PAGES))
def test_every_map_page_offers_every_export_format(tiny_dir, download_bytes, page):
    at = open_app(page)
    for key in MAP_PAGES[page]:
        options = at.selectbox(key=f"{key}_format").options
        assert len(options) == 6, options
    key = MAP_PAGES[page][0]
    png = download_bytes(at, f"{key}_download")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (1920, 1080)
    assert len(np.unique(np.asarray(image.convert("L").resize((64, 36))))) > 8  # not blank
    at = _choose(at, key, at.selectbox(key=f"{key}_format").options[4])  # PDF
    pdf = download_bytes(at, f"{key}_download")
    assert pdf.startswith(b"%PDF")


def test_export_is_the_map_on_screen_and_is_logged(tiny_dir, download_bytes, audit_log):
    at = open_app("overview", {"area": "46", "metric": "mpi"})
    label = at.selectbox(key="overview_export_format").options[5]  # HTML
    at = _choose(at, "overview_export", label)
    button = [b for b in at.get("download_button") if "overview_export_download" in b.proto.id][0]
    assert button.proto.label.endswith(".html") and "46_kalasin_mpi" in button.proto.label
    page = download_bytes(at, "overview_export_download").decode("utf-8")
    spec = json.loads(page.split('<script type="application/json" id="deck-json">')[1].split("</script>")[0])
    screen = decks(at)[0]
    codes = lambda layers: sorted(f["properties"]["code"] for f in next(
        la for la in layers if la["id"] == "areas")["data"]["features"])
    assert codes(spec["layers"]) == codes(screen["layers"])  # the same districts, the same map
    assert "http://" not in page.split("<script>")[0] and "https://" not in page.split("<script>")[0]
    records = [r for r in audit_records(audit_log) if r["event"] == "export"]
    assert records and records[-1]["what"].startswith("map 46_kalasin_mpi") and len(records[-1]["file_sha256"]) == 64


def test_meeting_mode_walks_the_provinces_from_the_buttons_and_the_url(tiny_dir):
    provinces = meeting_provinces(__import__("geo.engine.aggregate", fromlist=["index_households"]).index_households(
        tiny_world.households()))
    assert len(provinces) >= 2
    at = open_app("meeting")
    assert at.query_params["area"] == [provinces[0]] or at.query_params["area"] == provinces[0]
    first = page_text(at)
    at.button(key="meeting_next").click()
    at = rerun(at)
    assert at.session_state["ppap_view"].area == provinces[1]
    assert page_text(at) != first
    at.button(key="meeting_previous").click()
    at = rerun(at)
    assert at.session_state["ppap_view"].area == provinces[0]
    at.button(key="meeting_previous").click()  # wraps round to the last
    at = rerun(at)
    assert at.session_state["ppap_view"].area == provinces[-1]
    assert at.button(key="meeting_next").proto.shortcut.lower() == "right"
    assert at.button(key="meeting_previous").proto.shortcut.lower() == "left"

    linked = open_app("meeting", {"area": provinces[1], "metric": "mpi"})
    assert linked.session_state["ppap_view"].area == provinces[1]
    assert linked.session_state["ppap_view"].metric == "mpi"
    assert len(decks(linked)) == 1 and len(linked.metric) == 4


def test_meeting_mode_stays_in_an_officers_provinces(tiny_dir, access_users):
    at = open_app("meeting", login="kalasin")
    assert at.session_state["ppap_view"].area == "46"
    at.button(key="meeting_next").click()
    at = rerun(at)
    assert at.session_state["ppap_view"].area == "46"  # one province in scope: next stays there


def test_meeting_mode_offers_a_labelled_slide(tiny_dir):
    at = open_app("meeting", {"area": "46"})
    at.toggle(key="meeting_slide").set_value(True)
    at = rerun(at)
    assert len(decks(at)) == 0 and len(at.image) == 1


def test_the_maps_use_the_views_k(tiny_dir, access_users):
    def tooltips(at) -> dict[str, str]:
        (spec,) = decks(at)
        areas = next(layer for layer in spec["layers"] if layer["id"] == "areas")
        return {f["properties"]["code"]: " | ".join(f["properties"][k] for k in ("tt_1", "tt_2") if f["properties"][k])
                for f in areas["data"]["features"]}

    default = open_app("overview", {"area": "4609"}, login="admin")
    assert tooltips(default)["460902"] == "ครัวเรือน: <10"
    small = open_app("overview", {"area": "4609", "k": "1"}, login="admin")
    assert tooltips(small)["460902"].endswith("ครัวเรือน: 4")  # the administrator lowered k: the 4 households show
    viewer = open_app("overview", {"area": "4609", "k": "1"}, login="viewer")
    assert tooltips(viewer)["460902"] == "ครัวเรือน: <10"  # refused: the viewer's floor is 10


def test_a_view_is_computed_once_for_every_session_of_the_same_scope(tiny_dir, access_users, monkeypatch):
    from geo.views import dashboard_maps
    from pages._shared import _shared_result

    calls = []
    real = dashboard_maps.metric_map

    def counted(*args, **kwargs):
        calls.append(kwargs.get("context"))
        return real(*args, **kwargs)

    monkeypatch.setattr(dashboard_maps, "metric_map", counted)
    _shared_result.clear()
    first = open_app("overview", {"area": "46"})  # the opening view, then Kalasin's
    computed = len(calls)
    assert computed == 2
    second = open_app("overview", {"area": "46"})
    assert len(calls) == computed  # the second session got the first one's maps
    assert decks(first) == decks(second)
    open_app("overview", {"area": "46"}, login="kalasin")
    assert len(calls) > computed  # another scope: computed for it, never served the public's


def test_household_rows_ask_for_a_smaller_area_above_the_limit(tiny_dir, access_users, monkeypatch):
    from geo.access import audit

    monkeypatch.setattr(audit, "MAX_HOUSEHOLD_ROWS", 40)
    at = open_app("households", login="admin")  # 71 households
    assert "เลือกจังหวัด อำเภอ" in page_text(at)
    assert not [d for d in at.dataframe if d.proto.id and "households_rows" in d.proto.id]
    narrowed = open_app("households", {"area": "4609"}, login="admin")  # 29 households
    assert "เลือกจังหวัด อำเภอ" not in page_text(narrowed)
    assert len(narrowed.dataframe) == 2  # the area table and the rows
