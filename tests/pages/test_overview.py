"""The Overview page through AppTest from the entry point: headline figures equal the engine's for
each filter, drill-down and back, map modes, the language switch, the URL, and missing data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from geo.views import dashboard as D
from geo.engine.aggregate import index_households
from geo.views.headline import headline
from geo.views.viewstate import ViewState
from tests.pages.conftest import decks, metrics, open_app, page_text, rerun
from tests.pages.tiny_world import households

SYNTHETIC = "ข้อมูลตัวอย่างสังเคราะห์ / synthetic sample"
MAX_DECK_BYTES = 3_000_000


def expected_headline(frame: pd.DataFrame, view: ViewState, lang: str = "th") -> dict[str, str]:
    index = index_households(frame)
    return {h.label: h.text for h in headline(D.selection_totals(index, D.view_mask(index, view)), lang)}


def near(shown: str, truth: int) -> bool:
    """A public figure is the true count plus at most MAX_NOISE (geo.engine.cellkey)."""
    from geo.engine.cellkey import MAX_NOISE

    return abs(int(shown.replace(",", "")) - truth) <= MAX_NOISE


def top10(at) -> pd.DataFrame:
    return at.dataframe[0].value


def test_overview_on_the_sample_shows_the_engines_figures(sample_households_path: Path):
    frame = pd.read_parquet(sample_households_path)
    frame = frame[frame["survey_year"] == frame["survey_year"].max()].reset_index(drop=True)

    at = open_app()

    assert at.title[0].value == "ภาพรวม"
    shown = metrics(at)
    # The public release: the published 231,021 households and 1,039,584 people, within the noise.
    assert near(shown["ครัวเรือน"], len(frame)) and near(shown["คน"], int(frame["members"].sum()))
    assert shown == expected_headline(frame, ViewState())
    assert SYNTHETIC in page_text(at)
    assert "Boundaries: RTSD / OCHA (CC BY-IGO)" in page_text(at)

    at.multiselect(key="sidebar_levels").set_value([1, 2])
    at.radio(key="sidebar_tpmap").set_value("out")
    rerun(at)
    assert metrics(at) == expected_headline(frame, ViewState(levels=(1, 2), tpmap="out"))
    assert at.query_params == {"level": "1,2", "tpmap": "out"}

    for by in ("province", "district", "h3"):
        at.radio(key="overview_by").set_value(by)
        rerun(at)
        (spec,) = decks(at)
        size = len(at.get("deck_gl_json_chart")[0].proto.json.encode("utf-8"))
        assert size < MAX_DECK_BYTES, (by, size)
        kinds = [layer["@@type"] for layer in spec["layers"]]
        assert ("H3HexagonLayer" in kinds) == (by == "h3"), kinds


def test_drill_down_by_link_and_back(tiny_dir):
    at = open_app(query={"area": "4609", "by": "province"})

    assert near(metrics(at)["ครัวเรือน"], 29)
    assert "รายตำบล · อำเภอสหัสขันธ์ จังหวัดกาฬสินธุ์" in page_text(at)
    assert [b.label for b in at.button if b.key and b.key.startswith("overview_crumb")] == [
        "20 จังหวัดนำร่อง", "กาฬสินธุ์", "สหัสขันธ์"]
    province_box = next(m for m in at.multiselect if m.key == "sidebar_provinces")
    assert province_box.proto.placeholder == "กาฬสินธุ์ (เลือกจากแผนที่)"  # the sidebar agrees with the map
    assert next(m for m in at.multiselect if m.key == "sidebar_districts").proto.placeholder == \
        "สหัสขันธ์ (เลือกจากแผนที่)"
    (spec,) = decks(at)
    areas = next(layer for layer in spec["layers"] if layer["id"] == "areas")
    assert sorted(f["properties"]["code"] for f in areas["data"]["features"]) == ["460901", "460902"]
    assert any(layer["id"] == "selected" for layer in spec["layers"])

    at.button(key="overview_back").click()
    rerun(at)
    assert at.query_params.get("area") == "46"
    assert near(metrics(at)["ครัวเรือน"], 59)
    assert set(top10(at)["พื้นที่"]) == {"เมืองกาฬสินธุ์", "สหัสขันธ์"}  # close counts: noise may reorder

    at.button(key="overview_crumb_all").click()
    rerun(at)
    assert "area" not in at.query_params
    assert next(m for m in at.multiselect if m.key == "sidebar_provinces").proto.placeholder == "20 จังหวัดนำร่อง"
    assert near(metrics(at)["ครัวเรือน"], 71)


def test_a_small_area_is_withheld_everywhere(tiny_dir):
    at = open_app(query={"area": "460902"})

    shown = metrics(at)
    assert shown["ครัวเรือน"] == "<10"
    assert set(list(shown.values())[1:]) == {"–"}
    assert "น้อยกว่า 10 ครัวเรือน" in page_text(at)
    # Its district's map leaves it out; the public release needs no complementary suppression
    # (the neighbour's figure carries noise), so the neighbour is ranked alone.
    assert top10(at)["พื้นที่"].tolist() == ["ภูสิงห์"]


def test_language_switch_changes_labels_legend_and_url(tiny_dir):
    at = open_app()
    at.radio(key="sidebar_lang").set_value("en")
    rerun(at)

    assert at.title[0].value == "Overview"
    assert "Households" in metrics(at) and "People" in metrics(at)
    text = page_text(at)
    assert "Poor households (levels 1-2) · by province · 20 pilot provinces" in text
    assert "None or fewer than 10 households (withheld)" in text  # the legend (public release)
    assert at.query_params == {"lang": "en"}
    assert at.multiselect(key="sidebar_provinces").label == "Province"
    (spec,) = decks(at)
    areas = next(layer for layer in spec["layers"] if layer["id"] == "areas")
    assert areas["data"]["features"][0]["properties"]["tt_2"].startswith("Households: ")


def test_metric_and_resolution_live_in_the_url(tiny_dir):
    at = open_app()
    at.selectbox(key="overview_metric").set_value("mpi")
    at.radio(key="overview_by").set_value("h3")
    rerun(at)
    assert at.query_params == {"metric": "mpi", "by": "h3"}
    assert at.selectbox(key="overview_res").value == 0  # automatic
    at.selectbox(key="overview_res").set_value(6)
    rerun(at)
    assert at.query_params == {"metric": "mpi", "by": "h3", "res": "6"}
    assert "ระดับ 6 (~36 ตร.กม.)" in page_text(at)  # the subtitle: H3 resolution and cell size

    reopened = open_app(query={"metric": "mpi", "by": "h3", "res": "6"})
    assert reopened.selectbox(key="overview_metric").value == "mpi"
    assert reopened.radio(key="overview_by").value == "h3"
    assert reopened.selectbox(key="overview_res").value == 6


def test_bad_link_values_are_named_not_raised(tiny_dir):
    at = open_app(query={"prov": "46,zz", "by": "county", "area": "TH46"})

    warnings = "\n".join(w.value for w in at.warning)
    for bad in ("prov=zz", "by=county", "area=TH46"):
        assert bad in warnings
    assert at.multiselect(key="sidebar_provinces").value == ["46"]
    assert at.query_params == {"prov": "46"}


def test_other_query_parameters_are_kept(tiny_dir):
    at = open_app(query={"embed": "true", "prov": "46"})
    at.multiselect(key="sidebar_levels").set_value([1])
    rerun(at)
    assert at.query_params == {"embed": "true", "prov": "46", "level": "1"}


def test_filters_follow_to_other_pages(tiny_dir):
    at = open_app()
    at.multiselect(key="sidebar_provinces").set_value(["46"])
    at.multiselect(key="sidebar_levels").set_value([2])
    rerun(at)
    at.switch_page("pages/households.py")
    at.query_params.clear()  # a menu link drops the query string; the session keeps the view
    rerun(at)
    assert at.multiselect(key="sidebar_provinces").value == ["46"]
    assert at.multiselect(key="sidebar_levels").value == [2]
    assert at.query_params == {"prov": "46", "level": "2"}


def test_without_data_says_what_to_run(empty_data_dir: Path):
    at = open_app()

    warnings = "\n".join(w.value for w in at.warning)
    assert "python -m geo sample" in warnings
    assert not at.metric and not at.get("deck_gl_json_chart")


def test_a_broken_sample_shows_a_message_not_a_traceback(tiny_dir: Path):
    (tiny_dir / "samples" / "households.parquet").write_bytes(b"not a parquet file")

    at = open_app()

    errors = "\n".join(e.value for e in at.error)
    assert "python -m geo sample" in errors
    assert not at.metric


@pytest.mark.parametrize("page", ["capitals", "pilots", "households", "data"])
def test_every_page_opens_from_the_entry_point(tiny_dir, page):
    at = open_app(page)
    assert at.title and SYNTHETIC in page_text(at)


def test_sample_figures_match_a_fresh_index(tiny_dir):
    frame = households()
    at = open_app(query={"prov": "34"})
    assert metrics(at) == expected_headline(frame, ViewState(provinces=("34",)))


def test_the_sidebar_total_is_the_headlines_figure(tiny_dir):
    """The public sees one figure for all households: the sidebar's data line and the unfiltered
    headline are the same released count, not the exact total beside a perturbed one."""
    at = open_app()
    shown = metrics(at)["ครัวเรือน"]
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert f"({shown} ครัวเรือน)" in captions, (shown, captions)


def test_legend_set_and_pilot_layers_from_the_controls(tiny_dir):
    at = open_app(query={"area": "46", "classes": "national"})
    assert not at.exception and at.session_state["sidebar_classes"] == "national"
    at.toggle(key="overview_layers").set_value(True)
    rerun(at)
    assert not at.exception and at.query_params.get("layers") == "pilots"
    (spec,) = decks(at)
    assert "pilots" in {layer.get("id") for layer in spec["layers"]}
    at.selectbox(key="sidebar_classes").set_value("custom")
    rerun(at)
    at.text_input(key="sidebar_breaks").set_value("20, 40")
    rerun(at)
    assert not at.exception and at.query_params.get("breaks") == "20,40"
    assert "≤ 20" in page_text(at) and "&gt; 40" in page_text(at)  # the legend, as escaped HTML
