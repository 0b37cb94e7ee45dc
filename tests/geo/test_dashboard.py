"""What the dashboard shows, on a tiny known world: headline figures, metrics, top 10, profiles,
gaps, titles and legends, and the decks the pages build (golden JSON)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo.views import dashboard as D
from geo.views import dashboard_maps as M
from geo.views import mapview
from geo.engine.aggregate import index_households, pilot_reach
from geo.engine.gaps import nearest_pilot_km, pilot_gaps, reached_mask
from geo.views.deck import display_geometry
from geo.views.style import Legend, LegendItem
from geo.engine.protect import protect
from geo.views.headline import headline
from geo.views.metrics import OVERVIEW_METRICS, metric_values
from geo.views.viewstate import ViewState, describe_filters
from tests.pages import tiny_world

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return tiny_world.households()


@pytest.fixture(scope="module")
def index(frame):
    return index_households(frame)


@pytest.fixture(scope="module")
def boundaries():
    out = {level: f.set_geometry(display_geometry(f.geometry)) for level, f in tiny_world.boundaries().items()}
    out["context"] = mapview.context_geometry(tiny_world.boundaries()["province"])
    return out


@pytest.fixture(scope="module")
def pilots():
    return tiny_world.pilots()


def select(frame: pd.DataFrame, view: ViewState) -> pd.DataFrame:
    """The households a view keeps, computed with pandas from the definitions."""
    keep = pd.Series(True, index=frame.index)
    if view.provinces:
        keep &= frame["province_code"].isin(view.provinces)
    if view.levels:
        keep &= frame["poverty_level"].isin(view.levels)
    if view.tpmap != "any":
        keep &= frame["in_tpmap"] == (view.tpmap == "in")
    if view.area:
        keep &= frame["subdistrict_code"].astype(str).str.startswith(view.area)
    return frame[keep.to_numpy(bool)]


# ---------------------------------------------------------------------------------------------
# Headline figures
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("view", [ViewState(), ViewState(levels=(1, 2)), ViewState(area="46", tpmap="out"),
                                  ViewState(provinces=("34",))])
def test_headline_figures_equal_pandas_from_the_definitions(frame, index, view):
    expected = select(frame, view)
    totals = D.selection_totals(index, D.view_mask(index, view), exact=True)
    assert len(totals) == 1
    row = totals.iloc[0]
    assert not row["suppressed"]
    assert row["households"] == len(expected)
    assert row["people"] == expected["members"].sum()
    assert row["households_level_1"] + row["households_level_2"] == expected["poverty_level"].isin([1, 2]).sum()
    assert row["not_in_tpmap"] == (~expected["in_tpmap"]).sum()
    assert row["verified"] == expected["verified"].sum()
    assert row["helped"] == (expected["assistance_status"] == "helped").sum()
    assert row["mean_capital_natural"] == pytest.approx(expected["capital_natural"].mean())
    items = {h.label: h.text for h in headline(totals, "en")}
    assert items["Households"] == f"{len(expected):,}"


def test_a_small_selection_shows_only_fewer_than_k(index):
    totals = D.selection_totals(index, D.view_mask(index, ViewState(area="460902")), exact=True)
    row = totals.iloc[0]
    assert row["suppressed"] and row["households_shown"] == "<10"
    assert pd.isna(row["households"]) and pd.isna(row["people"]) and pd.isna(row["helped"])
    items = [(h.label, h.text) for h in headline(totals, "th")]
    assert items[0] == ("ครัวเรือน", "<10")
    assert all(value == "–" for _, value in items[1:])


def test_an_empty_selection_shows_zero(index):
    totals = D.selection_totals(index, D.view_mask(index, ViewState(provinces=("34",), area="46")), exact=True)
    assert totals.iloc[0]["households"] == 0 and not totals.iloc[0]["suppressed"]


# ---------------------------------------------------------------------------------------------
# Area tables, metrics, top 10
# ---------------------------------------------------------------------------------------------


def test_area_table_is_protected_and_named(index):
    table = D.area_table(index, "subdistrict", D.view_mask(index, ViewState(area="4609")), exact=True)
    by_code = table.set_index("code")
    assert by_code.loc["460902", "households_shown"] == "<10"
    # 460902's 4 households could be recovered from district 4609's total: its neighbour goes too.
    assert by_code.loc["460901", "households_shown"] == "suppressed"
    assert (by_code.loc["460901", "name_th"], by_code.loc["460901", "name_en"]) == ("ภูสิงห์", "Phu Sing")
    assert table["suppressed"].all()


@pytest.mark.parametrize("metric", [m for m in OVERVIEW_METRICS if m != "off_district"])  # needs boundaries
def test_metric_values_follow_their_definitions(frame, index, metric):
    table = D.area_table(index, "district", None, exact=True)
    values = dict(zip(table["code"], metric_values(table, metric)))
    for code, group in frame.groupby("district_code"):
        expected = {
            "poor_households": group["poverty_level"].isin([1, 2]).sum(),
            "share_levels_1_2": group["poverty_level"].isin([1, 2]).mean(),
            "not_in_tpmap": (~group["in_tpmap"]).sum(),
            "assistance_coverage": (group["assistance_status"] == "helped").mean(),
            "assistance_referred": (group["assistance_status"] == "referred").mean(),
            "households": len(group),
            # a TPMAP deprivation's share is of the households in TPMAP
            "dep_health": group.loc[group["in_tpmap"], "dep_health"].fillna(False).astype(bool).mean(),
            "dep_income": group.loc[group["in_tpmap"], "dep_income"].fillna(False).astype(bool).mean(),
        }.get(metric)
        if metric == "density":  # households per km²: the area comes with the map's boundaries
            assert np.isnan(values[code])
        elif expected is None:
            assert 0 <= values[code] <= 1
        else:
            assert values[code] == pytest.approx(expected)


def test_top_areas_rank_by_the_metric_and_never_rank_withheld(index):
    table = D.area_table(index, "subdistrict", None, exact=True)
    top = D.top_areas(table, "poor_households", lang="en")
    assert top["code"].tolist() == ["460101", "340101"]  # 4609's two are withheld
    assert top["rank"].tolist() == [1, 2]
    assert top["area"].iloc[0] == D.area_name("460101", "en")
    assert top["households"].tolist() == ["30", "12"]
    assert D.shown_count("suppressed", "en") == "withheld" and D.shown_count("1234") == "1,234"
    assert D.shown_count("<10") == "<10"
    assert D.top_areas(table, "mpi", n=1)["code"].tolist() in (["460101"], ["340101"])


def test_capital_profile_compares_area_province_and_pilot_provinces(frame, index):
    profile = D.capital_profile(index, ViewState(area="4601"), exact=True)
    assert set(profile["group"]) == {"area", "province", "pilot_provinces"}
    area = profile[(profile["group"] == "area") & (profile["capital"] == "human")]["mean_score"].item()
    assert area == pytest.approx(frame.loc[frame["district_code"] == "4601", "capital_human"].mean())
    province = profile[(profile["group"] == "province") & (profile["capital"] == "social")]["mean_score"].item()
    assert province == pytest.approx(frame.loc[frame["province_code"] == "46", "capital_social"].mean())
    everywhere = profile[(profile["group"] == "pilot_provinces") & (profile["capital"] == "natural")]
    assert everywhere["mean_score"].item() == pytest.approx(frame["capital_natural"].mean())
    # A province filter does not narrow the 20-province reference.
    filtered = D.capital_profile(index, ViewState(provinces=("34",)), exact=True)
    reference = filtered[(filtered["group"] == "pilot_provinces") & (filtered["capital"] == "natural")]
    assert reference["mean_score"].item() == pytest.approx(frame["capital_natural"].mean())
    withheld = D.capital_profile(index, ViewState(area="460902"), exact=True)
    assert withheld[withheld["group"] == "area"]["mean_score"].isna().all()
    chart = D.profile_chart_data(withheld, ViewState(area="460902"), "en")
    assert D.area_name("460902", "en") not in set(chart["group"])


def test_tables_for_reading_and_download_keep_withheld_rows_as_text(index):
    table = D.area_table(index, "subdistrict", None, exact=True)
    research = D.research_table(table, "en")
    assert research.loc[research["Code"] == "460902", "Households"].item() == "<10"
    assert research.loc[research["Code"] == "460902", "People"].item() == "<10"  # never "None"
    download = D.download_table(table)
    assert {"code", "name_th", "name_en", "households_shown", "households_count", "min_count"} <= set(download)
    assert "geometry" not in download and "suppressed" not in download
    capitals = D.capitals_table(table, "th")
    assert capitals.columns[0] == "พื้นที่" and len(capitals) == len(table)
    with pytest.raises(ValueError, match="protect"):
        D.download_table(table.drop(columns=["households_shown"]))


# ---------------------------------------------------------------------------------------------
# Gaps
# ---------------------------------------------------------------------------------------------


def test_reached_households_are_those_near_a_pilot(frame, index, pilots):
    reached = reached_mask(index, pilots, radius_km=5)
    by_row = np.zeros(index.n, dtype=bool)
    by_row[index.order] = reached
    subdistricts = set(frame.loc[by_row, "subdistrict_code"])
    assert subdistricts == {"460101", "340101"}
    assert reached.sum() == 30 + 12
    assert not reached_mask(index, pilots.iloc[:0], radius_km=5).any()
    assert nearest_pilot_km(np.array([16.5]), np.array([103.25]), pilots)[0] == pytest.approx(0.0)


def test_gaps_are_areas_in_need_with_no_pilot_in_reach_and_protected(index, pilots):
    gaps = pilot_gaps(index, pilots, radius_km=5, exact=True)
    assert set(gaps["code"]) == {"460901", "460902"}
    assert gaps.attrs["gaps"] == 2 and gaps.attrs["areas_in_need"] == 4
    assert gaps["suppressed"].all()  # 3 in need in 460902, and the neighbour that would reveal it
    assert gaps["lat"].isna().all()
    open_gaps = pilot_gaps(index, pilots, radius_km=5, k=1, exact=True)
    row = open_gaps.set_index("code").loc["460901"]
    assert row["households"] == 15  # levels 1-2: three in every five
    assert row["lat"] == pytest.approx(16.25, abs=0.01) and row["lon"] == pytest.approx(103.75, abs=0.01)
    assert row["nearest_pilot_km"] == pytest.approx(59.4, abs=1.0)
    assert pilot_gaps(index, pilots, radius_km=100, exact=True)["code"].tolist() == []
    with pytest.raises(ValueError, match="by must be one of"):
        pilot_gaps(index, pilots, by="province", exact=True)


# ---------------------------------------------------------------------------------------------
# Words
# ---------------------------------------------------------------------------------------------


def test_titles_say_what_where_and_which_filter(index, boundaries):
    view = ViewState(area="4609", levels=(1, 2), tpmap="out", lang="en")
    figure = M.metric_map(index, boundaries, view).figure
    title, subtitle = figure.title, figure.subtitle
    assert title == "Poor households (levels 1-2) · by subdistrict · Sahatsakhan district, Kalasin"
    assert "Level 1 Destitute, 2 Hard" in subtitle and "Not in TPMAP" in subtitle  # once, not in the title
    assert D.where_label(ViewState(provinces=("34", "46")), "th") == "อุบลราชธานี, กาฬสินธุ์"
    assert D.where_label(ViewState(), "en") == "20 pilot provinces"
    assert describe_filters(ViewState()) == ""
    assert D.year_label(2023) == "พ.ศ. 2566" and D.year_label(2023, "en", "CE") == "2023 CE"


def test_legend_html_escapes_every_label():
    legend = Legend('<img src=x onerror="alert(1)">', (LegendItem((255, 0, 0), "<script>x</script>"),),
                    (LegendItem((150, 150, 150), "a & b"),))
    out = D.legend_html(legend)
    assert "<img" not in out and "<script>" not in out
    assert "&lt;script&gt;" in out and "a &amp; b" in out and "#ff0000" in out


def test_area_names_and_province_order():
    assert D.area_name("46") == "กาฬสินธุ์" and D.area_name("4609", "en") == "Sahatsakhan"
    assert D.area_name("99") == "99" and D.area_name("") == "20 จังหวัดนำร่อง"
    ordered = D.ordered_provinces(["10", "34", "46"], "en")
    assert ordered == ["46", "34", "10"]  # pilot provinces first, by name


# ---------------------------------------------------------------------------------------------
# Decks (golden JSON)
# ---------------------------------------------------------------------------------------------


def decks(index, boundaries, pilots) -> dict[str, M.DashboardMap]:
    reach = protect(pilot_reach(index, pilots, radius_km=5), exact=True)
    gaps = pilot_gaps(index, pilots, radius_km=5, k=1, exact=True)
    return {
        "overview_province": M.metric_map(index, boundaries, ViewState()),
        "overview_drill_4609": M.metric_map(index, boundaries, ViewState(area="4609", metric="share_level_1_2")),
        "overview_h3": M.metric_map(index, boundaries, ViewState(by="h3", res=7, lang="en")),
        "capitals_dominant": M.capital_map(index, boundaries, ViewState(by="district"), dominant=True),
        "capitals_natural": M.capital_map(index, boundaries, ViewState(by="district", capital="natural")),
        "pilots": M.pilot_map(index, boundaries, ViewState(km=5), pilots, reach, gaps),
    }


def test_decks_match_golden_json(index, boundaries, pilots):
    for name, figure in decks(index, boundaries, pilots).items():
        got = json.loads(figure.deck.to_json())
        path = GOLDEN / f"dashboard_{name}.json"
        if os.environ.get("PPAP_UPDATE_GOLDEN"):
            path.write_text(json.dumps(got, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        assert got == json.loads(path.read_text(encoding="utf-8")), name


def test_decks_are_offline_pickable_by_id_and_show_only_protected_figures(index, boundaries, pilots):
    for name, figure in decks(index, boundaries, pilots).items():
        payload = figure.deck.to_json()
        assert '"mapStyle":"__MAP_STYLE__"' in payload and "http" not in payload, name
        ids = [layer.id for layer in figure.deck.layers]
        assert all(ids) and len(set(ids)) == len(ids), name
    drill = decks(index, boundaries, pilots)["overview_drill_4609"]
    features = json.loads(drill.deck.to_json())["layers"][1]["data"]["features"]
    tips = {f["properties"]["code"]: {k: v for k, v in f["properties"].items() if k.startswith("tt_")}
            for f in features}
    assert set(tips) == {"460901", "460902"}
    assert tips["460902"] == {"tt_title": "สหัสขันธ์", "tt_1": "ครัวเรือน: <10", "tt_2": "", "tt_3": "", "tt_4": ""}
    # The public release needs no complementary suppression (its figures carry cell-key noise, so a
    # total minus the visible parts is not the withheld count): the neighbour is shown, perturbed.
    assert tips["460901"]["tt_title"] == "ภูสิงห์" and tips["460901"]["tt_2"].startswith("ครัวเรือน: ")
    assert tips["460901"]["tt_2"] != "ครัวเรือน: ปกปิด"
    assert json.loads(drill.deck.to_json())["layers"][1]["data"]["features"][0]["properties"].keys() >= {"code", "fill"}


def test_h3_map_rolls_small_cells_up_and_caps_resolution(index, boundaries, monkeypatch):
    figure = M.metric_map(index, boundaries, ViewState(by="h3", res=9))
    visible = figure.table[~figure.table["suppressed"]]
    assert (visible["households"] >= 10).all()
    assert figure.table["households"].sum() <= index.n
    monkeypatch.setattr(mapview, "MAX_CELLS", 1)
    capped = M.metric_map(index, boundaries, ViewState(by="h3", res=9))
    assert capped.res == 5 and capped.notices == ("res_capped",)
    assert mapview.auto_resolution((103.0, 16.0, 104.0, 17.0)) in (7, 8)
    assert mapview.resolution_label(8, "en") == "res 8 (~0.74 km²)"


def test_legends_and_titles_follow_the_language(index, boundaries):
    th = M.metric_map(index, boundaries, ViewState(metric="mpi"))
    en = M.metric_map(index, boundaries, ViewState(metric="mpi", lang="en"))
    assert th.legend.title == "ดัชนีความยากจนหลายมิติ (MPI)"
    assert en.legend.title == "Multidimensional poverty index (MPI)"
    assert en.legend.notes[0].label == "None or fewer than 10 households (withheld)"
    assert en.title.startswith("Multidimensional poverty index (MPI) · by province · 20 pilot provinces")


def test_pilot_map_without_pilots_draws_the_need_alone(index, boundaries, pilots):
    none = pilots.iloc[:0]
    reach = protect(pilot_reach(index, none, radius_km=5), exact=True)
    gaps = pilot_gaps(index, none, radius_km=5, exact=True)
    figure = M.pilot_map(index, boundaries, ViewState(), none, reach, gaps)
    ids = [layer.id for layer in figure.deck.layers]
    assert "pilots" not in ids and "areas" in ids
    assert figure.legend.items == () and gaps.attrs["gaps"] == 4
    assert D.pilots_table(none, reach, 5).empty


def test_bench_dashboard_runs_on_a_small_world(tmp_path, monkeypatch):
    from bench import dashboard as bench_dashboard
    from bench.__main__ import build_parser as bench_parser

    tiny_world.write_data_dir(tmp_path)
    monkeypatch.setenv("PPAP_DATA_DIR", str(tmp_path))
    report = bench_dashboard.run(repeat=1, apptest=False)
    assert report["households"] == 71
    assert [row["mode"] for row in report["pipeline"]] == [label for label, _ in bench_dashboard.MODES]
    assert all(row["engine_ms_median"] > 0 and row["deck_mb_max"] > 0 for row in report["pipeline"])
    text = bench_dashboard.format_report(report)
    assert "baseline" in text and "deck MB" in text
    args = bench_parser().parse_args(["dashboard", "--repeat", "1", "--no-apptest"])
    assert args.func is bench_dashboard._cmd


def test_times_from_manifests_show_in_be_with_ce_available():
    assert D.format_timestamp("2026-11-21T05:17:19+00:00") == "21 พ.ย. 2569 05:17"
    assert D.format_timestamp("2026-11-21T05:17:19+00:00", "en", "CE") == "21 Nov 2026 05:17"
    assert D.format_timestamp("not a time") == "not a time"
    table = D.provenance_table([{"file": "a.csv", "imported_at": "2024-06-13T10:00:00+00:00", "mode": "append",
                                 "rows_in": 3, "accepted": 2, "warnings": 0, "rejected": 1}], "th")
    assert table["นำเข้าเมื่อ"].tolist() == ["13 มิ.ย. 2567 10:00"]


def test_pilot_layers_go_over_any_metric_map_and_its_exports(index, boundaries, pilots):
    from geo.views.viewstate import parse_query

    view, notices = parse_query({"layers": "pilots,roads", "metric": "mpi"})
    assert view.layers == ("pilots",) and [(n.param, n.value) for n in notices] == [("layers", "roads")]
    base = M.metric_map(index, boundaries, view)
    layered = M.pilot_layers(base, index, view, pilots)
    assert base.figure.pilots is None and layered.figure.pilots is not None
    assert layered.figure.legends[-1] == base.figure.legend  # the metric's legend stays, the pilots' first
    assert layered.figure.view.metric == "mpi" and layered.table is base.table
    ids = {layer.id for layer in layered.deck.layers}
    assert {"areas", "pilots"} <= ids
