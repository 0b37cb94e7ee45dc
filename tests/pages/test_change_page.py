"""The Change page, the round picker and meeting mode's "what changed" slide through AppTest from
the entry point, on the tiny world with two rounds (2021 and 2023: tests/pages/tiny_world.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit import dataframe_util

from geo.engine.mobility import mobility_totals, pair_rounds
from tests.pages import tiny_world
from tests.pages.conftest import decks, log_in, metrics, open_app, page_text, rerun


@pytest.fixture
def two_round_dir(tmp_path, monkeypatch):
    """``PPAP_DATA_DIR`` holding the tiny world with rounds 2021 and 2023."""
    tiny_world.write_data_dir(tmp_path, rounds=2)
    monkeypatch.setenv("PPAP_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PPAP_ID_HASH_KEY", raising=False)
    return tmp_path


def exact_totals():
    return mobility_totals(pair_rounds(tiny_world.two_rounds(), 2021, 2023), exact=True, min_count=1)


def test_the_public_sees_the_change_page_with_withheld_figures(two_round_dir):
    at = open_app("change")
    assert at.title[0].value == "การเปลี่ยนแปลง"
    text = page_text(at)
    assert "สัดส่วนที่ระดับดีขึ้น · รายจังหวัด" in text
    assert "รอบสำรวจ พ.ศ. 2564 → พ.ศ. 2566" in text  # the subtitle
    shown = metrics(at)
    assert list(shown)[:3] == ["ติดตามได้ทั้งสองรอบ", "ครัวเรือนใหม่", "ไม่พบในรอบหลัง"]
    assert shown["ระดับลดลง"] == "ปกปิด"  # fewer than 10: withheld, not a number
    followed = int(shown["ติดตามได้ทั้งสองรอบ"].replace(",", ""))
    assert abs(followed - int(exact_totals()["followed"])) <= 3  # the public release: a small noise
    assert len(decks(at)) == 3  # the change map, before and after
    charts = at.get("vega_lite_chart")
    assert charts, "the transition chart"
    cells = dataframe_util.convert_arrow_bytes_to_pandas_df(charts[0].proto.datasets[0].data.data)
    assert len(cells) == 16 and "ปกปิด" in set(cells["label"])


def test_an_administrator_sees_exact_counts_and_the_transition_matrix(two_round_dir, access_users):
    at = open_app("change", {"area": "46"}, login="admin")
    totals = exact_totals()
    kalasin = mobility_totals(pair_rounds(tiny_world.two_rounds().query("province_code == '46'"), 2021, 2023),
                              exact=True, min_count=1)
    assert metrics(at)["ติดตามได้ทั้งสองรอบ"] == str(int(kalasin["followed"]))
    assert int(kalasin["followed"]) < int(totals["followed"])
    cells = dataframe_util.convert_arrow_bytes_to_pandas_df(at.get("vega_lite_chart")[0].proto.datasets[0].data.data)
    counts = pd.to_numeric(cells["households"], errors="coerce").fillna(0)
    assert counts.sum() == int(kalasin["followed"])  # every followed household is in one cell
    assert "ปกปิด" not in set(cells["label"])  # the exact release withholds small areas, not small cells
    table = at.dataframe[0].value
    assert set(table["code"]) == {"4601", "4609"} and "followed" in table.columns


def test_the_round_in_the_url_round_trips(two_round_dir):
    at = open_app("change", {"round": "2023", "from": "2564", "change": "share_escaped", "lang": "en"})
    assert not at.warning
    assert dict(at.query_params) == {"round": "2566", "from": "2564", "change": "share_escaped", "lang": "en"}
    assert at.selectbox(key="sidebar_round").value == 2023
    assert at.selectbox(key="change_from").value == 2021
    assert "Survey rounds BE 2564 → BE 2566" in page_text(at)
    at.toggle(key="sidebar_era").set_value(True)
    rerun(at)
    assert dict(at.query_params)["round"] == "2023" and dict(at.query_params)["from"] == "2021"


def test_an_unknown_round_falls_back_to_the_latest_with_a_notice(two_round_dir):
    at = open_app("overview", {"round": "2550"})
    assert any("round=2550" in w.value for w in at.warning)
    assert "round" not in dict(at.query_params)
    assert at.selectbox(key="sidebar_round").value == 0  # the latest


def test_every_page_shows_the_latest_round_unless_another_is_picked(two_round_dir):
    at = open_app("overview")
    latest = metrics(at)["ครัวเรือน"]
    assert "รอบสำรวจ 2566" in page_text(at) or "พ.ศ. 2566" in page_text(at)
    at.selectbox(key="sidebar_round").set_value(2021)
    rerun(at)
    assert dict(at.query_params)["round"] == "2564"
    assert metrics(at)["ครัวเรือน"] != latest
    assert "รอบสำรวจ พ.ศ. 2564" in page_text(at)  # the map's subtitle says which round
    at.switch_page("pages/capitals.py")
    rerun(at)
    assert at.selectbox(key="sidebar_round").value == 2021  # the picked round follows to other pages


def test_one_round_says_the_change_page_needs_two(tiny_dir):
    at = open_app("change")
    assert any("ต้องมีอย่างน้อยสองรอบ" in i.value for i in at.info)


def test_meeting_mode_shows_what_changed(two_round_dir):
    at = open_app("meeting", {"area": "46"})
    at.toggle(key="meeting_change").set_value(True)
    rerun(at)
    assert list(metrics(at)) == ["ติดตามได้ทั้งสองรอบ", "ระดับดีขึ้น", "พ้นความยากจน", "กลับสู่ความยากจน"]
    text = page_text(at)
    assert "อะไรเปลี่ยนไปในจังหวัดนี้" in text and "รอบสำรวจ พ.ศ. 2564 → พ.ศ. 2566" in text
    assert "สัดส่วนที่ระดับดีขึ้น" in text  # the map's legend


def test_pilot_impact_on_the_pilots_page(two_round_dir, access_users):
    at = open_app("pilots", login="admin")
    assert "ผลของโครงการนำร่อง: ผู้เข้าร่วมเทียบกับครัวเรือนใกล้เคียง" in page_text(at)
    assert "ไม่ใช่การพิสูจน์ว่าโครงการเป็นสาเหตุ" in page_text(at)  # a comparison, not proof of cause
    impact = at.dataframe[-1].value
    assert "ช่วงความเชื่อมั่น 95%" in impact.columns and "เห็ดทดสอบ" in set(impact["โครงการนำร่อง"])


def test_the_layer_control_draws_pilots_over_the_change_map(two_round_dir):
    at = open_app("change", {"area": "46"})
    assert "pilots" not in {layer.get("id") for layer in decks(at)[0]["layers"]}
    at.toggle(key="change_layers").set_value(True)
    rerun(at)
    assert at.query_params.get("layers") == "pilots"
    change, before, after = decks(at)
    assert {"pilots", "rings"} <= {layer.get("id") for layer in change["layers"]}
    assert "pilots" not in {layer.get("id") for layer in after["layers"]}  # before and after: the metric alone
    again = open_app("change", {"area": "46", "layers": "pilots"})  # the state is in the link
    assert again.toggle(key="change_layers").value is True
    assert "pilots" in {layer.get("id") for layer in decks(again)[0]["layers"]}


def legend_sections(at) -> list[str]:
    return [element.proto.body for element in at.get("html") if "background:#" in element.proto.body]


def test_national_classes_are_the_same_in_every_round(two_round_dir):
    # The legend set "national" takes its classes from the latest round, whatever round is shown.
    latest, earlier = (open_app("overview", {"area": "46", "classes": "national", "round": year})
                       for year in ("2023", "2021"))
    assert not latest.exception and not earlier.exception
    assert legend_sections(latest) and legend_sections(latest) == legend_sections(earlier)
    assert "พ.ศ. 2564" in page_text(earlier)  # the earlier round is the one shown


@pytest.mark.parametrize("page", ["change", "overview", "capitals"])
def test_the_layer_control_hides_the_area_names(two_round_dir, page):
    def ids(at):
        return [{layer.get("id") for layer in spec["layers"]} for spec in decks(at)]

    at = open_app(page, {"area": "46"})
    assert all("labels" in shown for shown in ids(at)[:1 if page != "capitals" else 2])
    at.toggle(key=f"{page}_names").set_value(False)
    rerun(at)
    assert at.query_params.get("names") == "off"
    assert not any("labels" in shown for shown in ids(at)[:1 if page != "capitals" else 2])
    again = open_app(page, {"area": "46", "names": "off"})  # the state is in the link
    assert again.toggle(key=f"{page}_names").value is False
