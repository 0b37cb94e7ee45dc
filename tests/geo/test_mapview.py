"""Map views and figures: input checks, protection of everything a figure holds, metric values
equal to the engine's columns, words (title, credit, date) and the pydeck deck."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from geo.views import style as mapstyle
from geo.engine.aggregate import aggregate
from geo.errors import EngineInputError
from geo.errors import BoundaryError
from geo.engine.filters import HouseholdFilter
from geo.views.mapview import (
    PILOT_PROVINCES,
    MapFigure,
    MapView,
    build_map,
    next_province,
)
from geo.views.metrics import METRICS, format_value, metric_label, metric_values
from geo.engine.protect import released_values_ok
from tests.geo import export_world as world
from tests.geo.export_world import boundaries_fixture, index  # noqa: F401 (fixtures "boundaries", "index")

DAY = dt.date(2026, 11, 21)


@pytest.fixture(scope="module")
def kalasin(index, boundaries) -> MapFigure:
    return build_map(index, boundaries, MapView(province_code="46", metric="poor_households", exact=True), now=DAY,
                     synthetic=True, attribution=world.ATTRIBUTION)


# --- the view ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"metric": "poverty"}, "metric"),
        ({"level": "village"}, "level"),
        ({"province_code": "4"}, "province_code"),
        ({"province_code": 46}, "province_code"),
        ({"district_code": "46090"}, "district_code"),
        ({"province_code": "34", "district_code": "4609"}, "district_code"),
        ({"level": "district", "res": 8}, "res"),
        ({"level": "h3", "res": 11}, "res"),
        ({"level": "h3", "res": True}, "res"),
        ({"district_code": "4609", "level": "province"}, "level"),
        ({"lang": "fr"}, "lang"),
        ({"min_count": 0}, "min_count"),
        ({"filters": {"levels": [1]}}, "filters"),
    ],
)
def test_bad_views_name_the_field(kwargs, named):
    with pytest.raises(EngineInputError, match=named):
        MapView(**kwargs, exact=True)


def test_view_normalises_and_is_a_cache_key():
    view = MapView(metric="share_level_1_2", district_code="4609", level="h3", exact=True)
    assert view.metric == "share_levels_1_2" and view.province_code == "46" and view.scope_code == "4609"
    same = MapView(metric="share_levels_1_2", province_code="46", district_code="4609", level="h3", exact=True)
    assert view == same and len({view, same}) == 1
    assert view.with_province("34").scope_code == "34"


def test_view_from_dashboard_state():
    from geo.views.viewstate import ViewState

    view = MapView.from_viewstate(ViewState(area="460901", by="district", metric="mpi", levels=(1, 2), lang="en"), exact=True)
    assert (view.district_code, view.level, view.metric, view.lang) == ("4609", "subdistrict", "mpi", "en")
    assert view.filters == HouseholdFilter(levels=(1, 2))
    h3 = MapView.from_viewstate(ViewState(provinces=("46",), by="h3", res=7), exact=True)
    assert (h3.province_code, h3.level, h3.res) == ("46", "h3", 7)


def test_next_province_walks_the_pilots_round():
    walked = [PILOT_PROVINCES[0]]
    for _ in range(len(PILOT_PROVINCES)):
        walked.append(next_province(walked[-1]))
    assert walked[-1] == walked[0] and sorted(walked[:-1]) == sorted(PILOT_PROVINCES)
    assert next_province("46", -1) == "34" and next_province(None) == "46" and next_province("10", -1) == "34"


def test_labels_for_every_metric_in_both_languages():
    for metric in METRICS:
        assert metric_label(metric, "th") and metric_label(metric, "en")
    assert format_value(np.nan, "mpi") == "–" and format_value(None, "dominant_deficit") == "–"


# --- what a figure holds ---------------------------------------------------------------------


def test_small_district_is_withheld_and_cannot_be_recovered(kalasin):
    areas = kalasin.areas.set_index("key")
    assert areas.loc["4602", "status"] == "withheld"
    assert areas.loc["4609", "status"] == "withheld"  # complementary: 28 households hidden, not 3
    assert areas.loc["4601", "status"] == "shown"
    assert released_values_ok(kalasin.table, 10)
    for key in ("4602", "4609"):
        assert np.isnan(areas.loc[key, "value"]) and areas.loc[key, "value_text"] == ""
        assert "<10" in areas.loc[key, "households_text"] or "ปกปิด" in areas.loc[key, "households_text"]
    withheld_fill = kalasin.fill[kalasin.areas["status"].to_numpy() == "withheld", :3]
    assert (withheld_fill == mapstyle.WITHHELD_COLOUR).all()
    assert mapstyle.WITHHELD_COLOUR in [item.colour for item in kalasin.legend.notes]


def test_figure_text_never_carries_the_small_area_s_values(index, boundaries):
    raw = aggregate(index, "district", mask=None).set_index("code")
    small = raw.loc[world.SMALL_DISTRICT]
    assert small["households"] == 3 and small["share_level_1_2"] == 1.0
    for metric in ("share_levels_1_2", "mpi", "poor_households"):
        figure = build_map(index, boundaries, MapView(province_code="46", metric=metric, exact=True), now=DAY, synthetic=True)
        secret = format_value(float(metric_values(raw.loc[[world.SMALL_DISTRICT]], metric)[0]), metric)
        words = json.dumps(figure.areas.drop(columns="geometry").to_dict("records"), ensure_ascii=False, default=str)
        deck = figure.deck().to_json()
        row = figure.areas.set_index("key").loc[world.SMALL_DISTRICT]
        assert secret not in " ".join(row[["value_text", "tt_1", "tt_2", "tt_3", "tt_4"]].astype(str))
        assert "3" not in row["households_text"].replace("<10", "")
        assert secret not in words or metric == "poor_households"  # "3" may be another area's digit
        assert '"households":3' not in deck


@pytest.mark.parametrize("metric", [m for m in METRICS if m != "off_district"])  # off_district: below
def test_metric_values_are_the_engine_columns_on_shown_areas(index, boundaries, metric):
    figure = build_map(index, boundaries, MapView(level="province", metric=metric, exact=True), now=DAY, synthetic=True)
    raw = aggregate(index, "province").set_index("code")
    shown = figure.areas[figure.areas["status"] == "shown"].set_index("key")
    assert len(shown) == 2
    if METRICS[metric].denominator == "area_km2":  # density: the area from the boundaries
        from geo.views.mapview import areas_km2

        frame = boundaries["province"].set_index("code")
        raw = raw.assign(area_km2=pd.Series(areas_km2(frame.geometry), index=frame.index))
    expected = metric_values(raw.loc[shown.index], metric)
    if METRICS[metric].kind == "category":
        assert list(shown["value"]) == list(expected)
    else:
        np.testing.assert_allclose(shown["value"].to_numpy(float), expected)


def test_households_are_conserved_and_empty_areas_are_no_data(index, boundaries):
    view = MapView(level="subdistrict", metric="households", filters=HouseholdFilter(levels=(3, 4)), exact=True)
    figure = build_map(index, boundaries, view, now=DAY, synthetic=False)
    selected = int(np.isin(index.level, [3, 4]).sum())
    assert int(pd.to_numeric(figure.table["households"], errors="coerce").fillna(0).sum()) <= selected
    raw = aggregate(index, "subdistrict", mask=np.isin(index.level, [3, 4]))
    assert int(raw["households"].sum()) == selected
    statuses = dict(zip(figure.areas["key"], figure.areas["status"]))
    assert statuses["460201"] == "no_data"  # Na Mon has no level 3-4 household
    assert figure.synthetic_text == "" and figure.synthetic is False


def test_h3_cells_are_rolled_up_and_protected(index, boundaries):
    figure = build_map(index, boundaries, MapView(province_code="46", level="h3", res=9, metric="mpi", exact=True),
                       now=DAY, synthetic=True)
    assert figure.level == "h3" and figure.res == 9
    shown = pd.to_numeric(figure.table["households"], errors="coerce").dropna()
    assert (shown >= 10).all() and released_values_ok(figure.table, 10)
    assert set(figure.areas["key"]).isdisjoint({""}) and figure.areas["key"].str.len().eq(15).all()
    deck = json.loads(figure.deck().to_json())
    assert [layer["id"] for layer in deck["layers"]] == ["context", "cells", "outline"]
    auto = build_map(index, boundaries, MapView(province_code="46", level="h3", exact=True), now=DAY, synthetic=True)
    assert 5 <= auto.res <= 9


def test_words_title_credit_date_and_headline(index, boundaries, kalasin):
    assert kalasin.title == "ครัวเรือนยากจน (ระดับ 1-2) · รายอำเภอ · จังหวัดกาฬสินธุ์"
    assert world.ATTRIBUTION in kalasin.credit and "ที่มา" in kalasin.credit
    assert kalasin.date_text == "21 พ.ย. 2569 (2026)" and kalasin.synthetic_text
    headline = {h.key: h for h in kalasin.headline}
    assert headline["households"].text == "68" and headline["households"].value == 68
    en = build_map(index, boundaries, MapView(district_code="4609", level="subdistrict", lang="en", metric="mpi",
                                              filters=HouseholdFilter(levels=(1, 2), in_tpmap=False), exact=True),
                   now=DAY, synthetic=True)
    assert en.title.startswith("Multidimensional poverty index (MPI) · by subdistrict · Sahatsakhan district")
    # The filters are said once, in the subtitle, not in the title too.
    assert "Not in TPMAP" not in en.title and en.subtitle.count("Not in TPMAP") == 1
    assert "21 Nov 2026 (BE 2569)" == en.date_text
    assert en.filters_text and all(h.text == "–" for h in en.headline[1:])  # 25 -> fewer than 10 selected


def test_file_stems(index, boundaries, kalasin):
    assert kalasin.file_stem() == "46_kalasin_poor_households_2026-11-21"
    h3 = build_map(index, boundaries, MapView(district_code="4609", level="h3", res=8, lang="en", exact=True), now=DAY,
                   synthetic=True)
    assert h3.file_stem(size="a4") == "46_kalasin_4609_sahatsakhan_poor_households_h3r8_en_a4_2026-11-21"


def test_deck_has_fixed_layers_and_plain_text_tooltips(kalasin):
    deck = json.loads(kalasin.deck().to_json())
    assert deck["mapStyle"] == "__MAP_STYLE__"
    assert [layer["id"] for layer in deck["layers"]] == ["context", "areas", "outline", "labels"]
    names = deck["layers"][3]
    assert names["@@type"] == "IconLayer" and names["iconAtlas"].startswith("data:image/png;base64,")
    assert names["extensions"] == [{"@@type": "CollisionFilterExtension"}] and names["pickable"] is False
    assert [layer["id"] for layer in json.loads(kalasin.deck(labels=None).to_json())["layers"]] == [
        "context", "areas", "outline"]
    features = {f["properties"]["code"]: f["properties"] for f in deck["layers"][1]["data"]["features"]}
    assert features["4601"]["tt_1"].startswith("ครัวเรือนยากจน") and features["4602"]["tt_title"] == world.SMALL_NAME_TH
    assert features["4602"]["tt_1"].endswith("<10") and features["4602"]["tt_2"] == ""


def test_build_map_checks_its_inputs(index, boundaries):
    view = MapView(province_code="46", exact=True)
    with pytest.raises(EngineInputError, match="index"):
        build_map(None, boundaries, view, now=DAY, synthetic=True)
    with pytest.raises(EngineInputError, match="now"):
        build_map(index, boundaries, view, now="2026-11-21", synthetic=True)
    with pytest.raises(EngineInputError, match="synthetic"):
        build_map(index, boundaries, view, now=DAY, synthetic="yes")
    with pytest.raises(EngineInputError, match="mask"):
        build_map(index, boundaries, view, now=DAY, synthetic=True, mask=np.ones(3, dtype=bool))
    with pytest.raises(BoundaryError, match="subdistrict"):
        build_map(index, {"province": boundaries["province"]}, MapView(province_code="46", level="subdistrict", exact=True),
                  now=DAY, synthetic=True)


def test_an_extra_mask_narrows_like_a_scope(index, boundaries):
    scope = np.asarray(index.district == list(index.district_codes).index("4601"))
    figure = build_map(index, boundaries, MapView(province_code="46", exact=True), now=DAY, synthetic=True, mask=scope)
    assert {h.key: h.value for h in figure.headline}["households"] == 40


def test_real_sample_kalasin_is_quick(sample_households_path):
    import time

    from geo.views.mapview import load_map_inputs

    inputs = load_map_inputs(sample_households_path)
    start = time.perf_counter()
    figure = inputs.build(MapView(province_code="46", level="subdistrict", exact=True), now=DAY)
    assert time.perf_counter() - start < 2.0
    assert {h.key: h.text for h in figure.headline}["households"] == "18,000" and figure.synthetic
    assert released_values_ok(figure.table, 10)


def test_screen_decks_carry_the_detail_their_view_can_show(sample_households_path):
    """On the real boundaries: a map of every district is thinned to a quarter of a pixel, and a
    map of one district draws only its neighbours as context, not every province of Thailand."""
    from geo.views.mapview import load_map_inputs

    inputs = load_map_inputs(sample_households_path)
    national = inputs.build(MapView(level="district", exact=True), now=DAY)
    deck = json.loads(national.deck(width_px=600, height_px=600).to_json())
    layers = {layer["id"]: layer for layer in deck["layers"]}
    drawn = {f["properties"]["code"] for f in layers["areas"]["data"]["features"]}
    assert drawn == set(national.areas["key"])  # thinned, not dropped
    vertices = sum(len(json.dumps(f["geometry"])) for f in layers["areas"]["data"]["features"])
    full = sum(len(json.dumps(g)) for g in json.loads(national.areas.geometry.to_json())["features"])
    assert vertices < 0.8 * full
    assert len(layers["context"]["data"]["features"]) == len(national.context)  # all of Thailand is in view

    district = inputs.build(MapView(district_code="4609", level="subdistrict", exact=True), now=DAY)
    context = json.loads(district.deck(width_px=600, height_px=600).to_json())["layers"][0]
    assert context["id"] == "context" and 0 < len(context["data"]["features"]) < 15


# --- legend sets -------------------------------------------------------------------------------


def _legend_of(index, boundaries, province, reference=None, **kwargs):
    figure = build_map(index, boundaries, MapView(province_code=province, metric="share_levels_1_2", **kwargs),
                       now=DAY, synthetic=True, attribution=world.ATTRIBUTION, reference=reference)
    return figure.legend_set()


def test_national_classes_are_the_same_for_every_province(index, boundaries):
    kalasin, ubon = (_legend_of(index, boundaries, p, classes="national") for p in ("46", "34"))
    assert kalasin == ubon and kalasin["method"] == "national"
    # Quantiles of each map differ: Ubon has one district, Kalasin two shown.
    assert _legend_of(index, boundaries, "46")["breaks"] != _legend_of(index, boundaries, "34")["breaks"]


def test_national_classes_are_the_same_for_every_round_with_one_reference(index, boundaries):
    from geo.engine.aggregate import index_households

    # An earlier round: a different share of households at levels 1-2 in every district.
    frame = world.households()
    earlier = index_households(frame.assign(poverty_level=np.where(np.arange(len(frame)) % 3 == 0, 3,
                                                                   frame["poverty_level"])))
    own = {(which, p): _legend_of(i, boundaries, p, classes="national")
           for which, i in (("earlier", earlier), ("latest", index)) for p in ("46", "34")}
    assert own[("earlier", "46")]["breaks"] != own[("latest", "46")]["breaks"]  # each round's own classes differ
    # With the latest round as the one reference, every round and every province share one legend.
    shared = {(which, p): _legend_of(i, boundaries, p, classes="national", reference=index)
              for which, i in (("earlier", earlier), ("latest", index)) for p in ("46", "34")}
    assert len({json.dumps(legend, sort_keys=True) for legend in shared.values()}) == 1
    assert shared[("latest", "46")] == own[("latest", "46")]
    with pytest.raises(EngineInputError, match="reference"):
        _legend_of(index, boundaries, "46", classes="national", reference="2023")


def test_national_values_are_kept_per_index(index):
    from geo.views.mapview import national_values

    view = MapView(province_code="46", metric="share_levels_1_2")
    first = national_values(index, view, level="district")
    assert national_values(index, view.with_province("34"), level="district") is first
    assert not first.flags.writeable


def test_national_classes_come_from_the_public_release_of_every_area(index, boundaries):
    from geo.views.mapview import national_values

    values = national_values(index, MapView(province_code="46", metric="share_levels_1_2", exact=True),
                             level="district")
    public = build_map(index, boundaries, MapView(metric="share_levels_1_2", level="district"), now=DAY,
                       synthetic=True, attribution=world.ATTRIBUTION)
    shown = public.areas.loc[public.areas["status"] == "shown", "value"].to_numpy(dtype=float)
    assert sorted(values.tolist()) == pytest.approx(sorted(shown.tolist()))
    assert len(values) == 3  # 4601, 4609 and 3401; Na Mon (3 households) is withheld


def test_custom_and_equal_classes(index, boundaries):
    custom = _legend_of(index, boundaries, "46", classes="custom", breaks=(0.5, 0.6))
    assert custom["breaks"] == [None, 0.5, 0.6, None] and custom["labels"] == ["≤ 50%", "50% – 60%", "> 60%"]
    equal = _legend_of(index, boundaries, "46", classes="equal")
    assert equal["method"] == "equal" and len(equal["colours"]) == len(equal["labels"]) == len(equal["breaks"]) - 1
    with pytest.raises(EngineInputError, match="breaks"):
        MapView(classes="quantile", breaks=(1.0,))
    with pytest.raises(EngineInputError, match="classes"):
        MapView(classes="jenks")


def test_view_state_breaks_are_read_in_the_legend_s_units():
    from geo.views.viewstate import ViewState

    view = ViewState(metric="share_levels_1_2", classes="custom", breaks=(50.0, 60.0))
    assert MapView.from_viewstate(view).breaks == (0.5, 0.6)
    assert MapView.from_viewstate(ViewState(), classes="national").classes == "national"
    assert MapView.from_viewstate(ViewState(classes="equal"), classes="national").classes == "equal"
    # Custom with nothing typed yet draws the page's default.
    assert MapView.from_viewstate(ViewState(classes="custom"), classes="national").classes == "national"


# --- metrics beyond the counts -----------------------------------------------------------------


def test_density_uses_an_equal_area_measure():
    from pyproj import Geod
    from shapely.geometry import box

    from geo.views.mapview import areas_km2

    square = box(103.0, 16.0, 103.4, 17.0)
    geodesic = abs(Geod(ellps="WGS84").geometry_area_perimeter(square)[0]) / 1e6
    assert areas_km2([square])[0] == pytest.approx(geodesic, rel=0.002)


def test_new_metrics_read_the_engine_columns(index):
    raw = aggregate(index, "district")
    in_tpmap = raw["in_tpmap"].to_numpy(float)  # a TPMAP deprivation's share is of the households in TPMAP
    np.testing.assert_allclose(metric_values(raw, "dep_health"),
                               np.where(in_tpmap > 0, raw["dep_health"].to_numpy(float) / in_tpmap, np.nan))
    np.testing.assert_allclose(metric_values(raw, "mpi_h"), raw["af_h"].to_numpy(float))
    np.testing.assert_allclose(metric_values(raw, "mpi_a"), raw["af_a"].to_numpy(float))
    np.testing.assert_allclose(metric_values(raw, "assistance_referred"),
                               raw["assistance_referred_share"].to_numpy(float))
    contributions = sum(metric_values(raw, f"mpi_contribution_{c}") for c in ("human", "physical", "natural",
                                                                             "financial", "social"))
    poor = raw["af_mpi"].to_numpy(float) > 0
    np.testing.assert_allclose(contributions[poor], 1.0)
    assert np.isnan(metric_values(raw, "density")).all()  # no area in a table without geometry
    crossed = pd.DataFrame({"dep_income": [3], "in_tpmap": [2]})  # perturbed counts can cross
    assert metric_values(crossed, "dep_income").tolist() == [1.0]


def test_every_overview_metric_has_a_label_and_maps(index, boundaries):
    from geo.views.metrics import OVERVIEW_METRICS

    for metric in OVERVIEW_METRICS:
        assert metric_label(metric, "th") != metric_label(metric, "en")
        figure = build_map(index, boundaries, MapView(province_code="46", metric=metric,
                                                      exact=METRICS[metric].restricted), now=DAY,
                           synthetic=True)
        assert figure.legend.title == metric_label(metric) and metric in figure.file_stem()


def test_off_district_share_is_for_exact_releases_and_counts_households_outside(index, boundaries):
    from geo.views.mapview import outside_declared
    from geo.views.metrics import allowed_metrics

    with pytest.raises(EngineInputError, match="officers and administrators"):
        MapView(metric="off_district")
    with pytest.raises(EngineInputError, match="by area"):
        MapView(metric="off_district", level="h3", exact=True)
    assert "off_district" not in allowed_metrics(exact=False) and "off_district" in allowed_metrics(exact=True)
    # Move Mueang Kalasin's box: its 40 households now stand outside their declared district.
    moved = dict(boundaries)
    district = boundaries["district"].copy()
    district.loc[district["code"] == "4601", "geometry"] = district.loc[district["code"] == "3401", "geometry"].iloc[0]
    moved["district"] = district
    assert outside_declared(index, boundaries).sum() == 0
    assert outside_declared(index, moved).sum() == 40
    view = MapView(province_code="46", metric="off_district", exact=True, level="district")
    shown = build_map(index, moved, view, now=DAY, synthetic=True).areas.set_index("key")
    assert shown.loc["4601", "value"] == pytest.approx(1.0) and shown.loc["4609", "value"] == 0 or \
        np.isnan(shown.loc["4609", "value"])
