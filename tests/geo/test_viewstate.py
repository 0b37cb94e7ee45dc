"""The dashboard's view state: URL round trips, bad values as notices, drill-down and back."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.access.roles import User, public_viewer
from geo.errors import AccessDenied
from geo.data.contract import ASSISTANCE_STATUSES, CAPITALS, DEPRIVATIONS
from geo.access.roles import limit_min_count
from geo.views.metrics import OVERVIEW_METRICS
from geo.views.viewstate import (
    LANGS,
    MAP_BY,
    MAX_MIN_COUNT,
    MAP_RESOLUTIONS,
    PAGE_FIELDS,
    QUERY_KEYS,
    REACH_KM,
    TPMAP_CHOICES,
    VERIFIED_CHOICES,
    ViewState,
    drill_down,
    drill_up,
    limit_resolution,
    markdown_literal,
    normalise,
    parse_query,
    restrict,
    restrict_area,
    selected_code,
    shown_level,
    to_query,
)
from geo.data.areas import area_level, area_parents, is_valid_area

PROVINCES = ("46", "34", "30", "94")
codes2 = st.sampled_from(PROVINCES)


def sorted_unique(strategy, **kwargs):
    return st.lists(strategy, unique=True, **kwargs).map(lambda xs: tuple(sorted(xs)))


def in_order(choices):
    return st.lists(st.sampled_from(choices), unique=True).map(lambda xs: tuple(c for c in choices if c in xs))


@st.composite
def views(draw) -> ViewState:
    provinces = draw(sorted_unique(codes2, max_size=3))
    districts = ()
    if provinces:
        districts = draw(sorted_unique(st.builds(lambda p, n: f"{p}{n:02d}", st.sampled_from(provinces),
                                                 st.integers(1, 30)), max_size=3))
    area = draw(st.sampled_from(["", "46", "4609", "460901", "34", "3401"]))
    return ViewState(
        provinces=provinces,
        districts=districts,
        levels=draw(sorted_unique(st.integers(1, 4))),
        capitals_in_deficit=draw(in_order(CAPITALS)),
        tpmap=draw(st.sampled_from(TPMAP_CHOICES)),
        verified=draw(st.sampled_from(VERIFIED_CHOICES)),
        assistance=draw(in_order(ASSISTANCE_STATUSES)),
        pilots=draw(sorted_unique(st.sampled_from(["none", "P01-4609", "P02-4602", "X_9"]))),
        deprivations=draw(in_order(DEPRIVATIONS)),
        lang=draw(st.sampled_from(LANGS)),
        era=draw(st.sampled_from(("BE", "CE"))),
        metric=draw(st.sampled_from(OVERVIEW_METRICS)),
        by=draw(st.sampled_from(MAP_BY)),
        res=draw(st.none() | st.sampled_from(MAP_RESOLUTIONS)),
        area=area,
        capital=draw(st.sampled_from(CAPITALS)),
        km=draw(st.sampled_from(REACH_KM)),
        min_count=draw(st.integers(1, MAX_MIN_COUNT)),
        **draw(legend_sets()),
    )


@st.composite
def legend_sets(draw) -> dict:
    classes = draw(st.sampled_from(("", "national", "quantile", "equal", "custom")))
    if classes != "custom":
        return {"classes": classes}
    cuts = draw(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=4, unique=True))
    return {"classes": classes, "breaks": tuple(sorted(cuts))}


@given(views())
def test_every_view_survives_the_url(view):
    query = to_query(view)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in query.items())
    assert set(query) <= QUERY_KEYS
    back, notices = parse_query(query)
    assert notices == []
    assert back == view


@given(views())
def test_repeated_keys_read_like_comma_lists(view):
    query = {key: value.split(",") for key, value in to_query(view).items()}
    assert parse_query(query) == (view, [])


@given(views(), st.sampled_from(sorted(PAGE_FIELDS)))
def test_a_page_url_keeps_filters_and_its_own_fields_only(view, page):
    query = to_query(view, page)
    back, _ = parse_query(query)
    for name in ("provinces", "districts", "levels", "tpmap", "lang", "era", "min_count"):
        assert getattr(back, name) == getattr(view, name)
    for name in ("metric", "by", "res", "area", "capital", "km"):
        expected = getattr(view, name) if name in PAGE_FIELDS[page] else getattr(ViewState(), name)
        assert getattr(back, name) == expected


def test_the_opening_view_has_an_empty_query():
    assert to_query(ViewState()) == {}
    assert parse_query({}) == (ViewState(), [])


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(sorted(QUERY_KEYS) + ["embed", "x"]),
                       st.one_of(st.text(max_size=30), st.lists(st.text(max_size=12), max_size=4)),
                       max_size=8))
def test_any_query_parses_without_raising(params):
    view, notices = parse_query(params)
    assert isinstance(view, ViewState)
    assert normalise(view) == view  # what is kept is canonical
    assert all(n.param in QUERY_KEYS for n in notices)


@pytest.mark.parametrize(
    ("params", "expected", "ignored"),
    [
        ({"prov": "46,4x,460"}, ViewState(provinces=("46",)), [("prov", "4x"), ("prov", "460")]),
        ({"level": "2,9,1"}, ViewState(levels=(1, 2)), [("level", "9")]),
        ({"by": "county"}, ViewState(), [("by", "county")]),
        ({"res": "12"}, ViewState(), [("res", "12")]),
        ({"res": ""}, ViewState(), [("res", "")]),
        ({"area": "TH46"}, ViewState(), [("area", "TH46")]),
        ({"km": "7"}, ViewState(), [("km", "7")]),
        ({"lang": "fr"}, ViewState(), [("lang", "fr")]),
        ({"pilot": "<script>"}, ViewState(), [("pilot", "<script>")]),
        ({"prov": "46", "dist": "4609,3401"}, ViewState(provinces=("46",), districts=("4609",)), [("dist", "3401")]),
        ({"deficit": "natural,wealth"}, ViewState(capitals_in_deficit=("natural",)), [("deficit", "wealth")]),
        ({"embed": "true", "metric": "mpi"}, ViewState(metric="mpi"), []),
    ],
)
def test_bad_values_are_dropped_with_a_notice(params, expected, ignored):
    view, notices = parse_query(params)
    assert view == expected
    assert [(n.param, n.value) for n in notices] == ignored


def test_filters_become_the_engine_filter():
    assert ViewState().to_filter() is None
    flt = ViewState(provinces=("46",), levels=(1, 2), tpmap="out", verified="yes", pilots=("none",)).to_filter()
    assert flt.provinces == ("46",) and flt.levels == (1, 2)
    assert flt.in_tpmap is False and flt.verified is True and flt.pilots == ("none",)
    assert ViewState(levels=(1,), area="46").has_filters
    assert not ViewState(area="46", metric="mpi").has_filters
    assert ViewState(levels=(1,), area="46").without_filters() == ViewState(area="46")


def test_drill_down_and_back():
    top = ViewState(by="province")
    province = drill_down(top, "46")
    district = drill_down(province, "4609")
    subdistrict = drill_down(district, "460901")
    assert [shown_level(v) for v in (top, province, district, subdistrict)] == [
        "province", "district", "subdistrict", "subdistrict"]
    assert drill_up(subdistrict) == district and drill_up(district) == province and drill_up(province) == top
    assert drill_up(top) == top
    assert drill_down(top, "not a code") == top and drill_down(top, "") == top
    assert shown_level(ViewState(by="district")) == "district"
    assert shown_level(ViewState(by="h3", area="46")) == "district"
    assert area_parents("460901") == ["", "46", "4609", "460901"]
    assert area_level("") == "all" and area_level("4609") == "district"
    with pytest.raises(ValueError, match="code must be"):
        area_level("123")


@pytest.mark.parametrize("code", ["", "46", "4609", "460901"])
def test_valid_areas(code):
    assert is_valid_area(code)


@pytest.mark.parametrize("code", [None, 46, "4", "46a", "๔๖", "4609011", " 46"])
def test_invalid_areas_are_false_never_raise(code):
    assert not is_valid_area(code)


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        ({"indices": {"areas": [3]}, "objects": {"areas": [{"properties": {"code": "4609"}}]}}, "4609"),
        ({"objects": {"areas": [{"code": "46"}]}}, "46"),
        ({"objects": {"areas": []}}, None),
        ({"objects": {"cells": [{"h3_cell": "8765a2e4cffffff"}]}}, None),
        ({"objects": {"areas": [{"properties": {"code": "<b>"}}]}}, None),
        ({}, None),
        (None, None),
        ("junk", None),
    ],
)
def test_selected_code_reads_a_map_click(selection, expected):
    assert selected_code(selection) == expected


def test_restrict_drops_codes_not_in_the_data():
    view = ViewState(provinces=("46", "99"), districts=("4609", "9901"), pilots=("none", "P99"))
    kept, notices = restrict(view, provinces=["46"], districts=["4609"], pilots=["P01"])
    assert kept == ViewState(provinces=("46",), districts=("4609",), pilots=("none",))
    assert {(n.param, n.value, n.reason) for n in notices} == {
        ("prov", "99", "url_not_in_data"), ("dist", "9901", "url_not_in_data"), ("pilot", "P99", "url_not_in_data")}


def test_to_query_refuses_an_unknown_page():
    with pytest.raises(ValueError, match="page must be one of"):
        to_query(ViewState(), "maps")


# ---------------------------------------------------------------------------------------------
# Minimum count (k)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, expected, ignored", [
    ("25", 25, False), ("1", 1, False), (str(MAX_MIN_COUNT), MAX_MIN_COUNT, False), (["5", "30"], 30, False),
    ("0", 10, True), ("-3", 10, True), ("2.5", 10, True), ("ten", 10, True), (str(MAX_MIN_COUNT + 1), 10, True),
    ("", 10, True),
])
def test_k_in_the_url(raw, expected, ignored):
    view, notices = parse_query({"k": raw})
    assert view.min_count == expected
    assert [(n.param, n.reason) for n in notices] == ([("k", "url_bad_choice")] if ignored else [])


def test_k_is_on_every_page_url_and_left_out_at_the_default():
    for page in PAGE_FIELDS:
        assert to_query(ViewState(min_count=25), page) == {"k": "25"}
        assert "k" not in to_query(ViewState(), page)
    assert not ViewState(min_count=25).has_filters  # k is not a household filter
    assert ViewState(min_count=25).without_filters().min_count == 25


@pytest.mark.parametrize("user, k, shown", [
    (User("a", "administrator"), 1, 1),
    (User("a", "administrator"), 10, 10),
    (User("k", "provincial_officer", provinces=("46",)), 25, 25),
    (User("r", "researcher"), 10, 10),
])
def test_limit_min_count_keeps_what_the_role_may_use(user, k, shown):
    view, denied = limit_min_count(ViewState(min_count=k), user)
    assert (view.min_count, denied) == (shown, None)


@pytest.mark.parametrize("user", [public_viewer(), User("v", "viewer"), User("r", "researcher"),
                                  User("k", "provincial_officer", provinces=("46",)),
                                  User("d", "district_officer", districts=("4609",))])
@pytest.mark.parametrize("k", [1, 5, 9])
def test_limit_min_count_refuses_below_the_floor_and_gives_the_floor(user, k):
    asked = ViewState(min_count=k, provinces=("46",), area="46")
    view, denied = limit_min_count(asked, user)
    assert view.min_count == 10 and view.provinces == ("46",) and view.area == "46"
    assert isinstance(denied, AccessDenied) and denied.reason == "min_count"
    assert f"k={k}" in denied.message_en and "10" in denied.message_th


# ---------------------------------------------------------------------------------------------
# Areas the data or the boundaries do not hold
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("area, data, boundaries, kept, reason", [
    ("", {"46"}, {"46"}, "", None),
    ("46", {"46", "4609"}, {"46", "4609"}, "46", None),
    ("99", {"46"}, {"46", "99"}, "", "url_not_in_data"),
    ("4699", {"46", "4609"}, None, "", "url_not_in_data"),
    ("469999", {"46", "469999"}, {"46"}, "", "url_not_in_boundaries"),
    ("460901", {"460901"}, None, "460901", None),  # no boundaries installed: the data decides
])
def test_restrict_area(area, data, boundaries, kept, reason):
    view = ViewState(area=area, provinces=("46",), by="district")
    out, notices = restrict_area(view, data_areas=data, boundary_areas=boundaries)
    assert out == ViewState(area=kept, provinces=("46",), by="district")
    assert [(n.param, n.value, n.reason) for n in notices] == ([("area", area, reason)] if reason else [])


# ---------------------------------------------------------------------------------------------
# Values from a link, shown literally
# ---------------------------------------------------------------------------------------------


def _rendered(markdown: str):
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("gfm-like", {"html": False}).parse(markdown)
    inline = [child for token in tokens for child in (token.children or ())]
    return [t.type for t in tokens], inline


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.text(max_size=120), st.sampled_from([
    "[log in](http://evil.invalid)", "![x](http://evil.invalid/x.png)", "`", "``", "` x `", " `x` ",
    "x\n\n[y](http://evil.invalid)", "<img src=x onerror=alert(1)>", "www.evil.invalid", "a@evil.invalid",
    ":red[x] **b** $x$", "\u202e[x](y)", "   ", ""])))
def test_markdown_literal_shows_exactly_the_text(value):
    markdown = f"by={markdown_literal(value)} from the link"
    blocks, inline = _rendered(markdown)
    assert blocks == ["paragraph_open", "inline", "paragraph_close"]
    kinds = [t.type for t in inline]
    assert not {"link_open", "image", "html_inline", "softbreak", "hardbreak"} & set(kinds), (value, kinds)
    cut = value if len(value) <= 80 else value[:80] + "…"
    # control and format characters (line breaks, bidi overrides) become U+FFFD, the rest is kept
    expected = "".join("\ufffd" if unicodedata.category(ch)[0] == "C" else ch for ch in cut)
    code = [t.content for t in inline if t.type == "code_inline"]
    if not expected.strip():
        assert code == []
        return
    if expected.isascii() and expected.isalnum():  # letters and digits: plain text, nothing to render
        assert code == [] and [t.content for t in inline] == [f"by={expected} from the link"]
        return
    assert code == [expected]
    assert [t.content for t in inline if t.type == "text"] == ["by=", " from the link"]


def test_markdown_literal_examples():
    assert markdown_literal("[x](http://evil.invalid)") == "` [x](http://evil.invalid) `"
    assert markdown_literal("a``b") == "``` a``b ```"
    assert markdown_literal("x\n\ny") == "` x\ufffd\ufffdy `"
    assert markdown_literal("\u202eabc") == "` \ufffdabc `"
    assert markdown_literal("") == markdown_literal("  ") == ""
    assert markdown_literal("a" * 100) == "` " + "a" * 80 + "… `"
    assert markdown_literal(46) == markdown_literal("46") == "46"
    assert markdown_literal("county") == "county" and markdown_literal("www.evil.invalid") == "` www.evil.invalid `"


@pytest.mark.parametrize("spelling", ["share_levels_1_2", "share_level_1_2"])
def test_old_and_new_metric_links_open_the_same_view(spelling):
    view, notices = parse_query({"metric": spelling})
    assert view.metric == "share_levels_1_2" and notices == []
    assert to_query(view)["metric"] == "share_levels_1_2"


# --- legend sets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "classes", "breaks", "ignored"),
    [
        ({"classes": "national"}, "national", (), []),
        ({"classes": "equal"}, "equal", (), []),
        ({"breaks": "10,20,30"}, "custom", (10.0, 20.0, 30.0), []),
        ({"classes": "custom", "breaks": "0.5, 2.25"}, "custom", (0.5, 2.25), []),
        ({"classes": "custom"}, "", (), [("classes", "url_custom_needs_breaks")]),
        ({"classes": "custom", "breaks": "30,20"}, "", (),
         [("breaks", "url_bad_breaks"), ("classes", "url_custom_needs_breaks")]),
        ({"breaks": "1,2,3,4,5"}, "", (), [("breaks", "url_bad_breaks")]),
        ({"breaks": "x,nan"}, "", (), [("breaks", "url_bad_breaks")]),
        ({"classes": "equal", "breaks": "10"}, "equal", (), [("breaks", "url_breaks_not_custom")]),
        ({"classes": "jenks"}, "", (), [("classes", "url_bad_choice")]),
    ],
)
def test_legend_set_in_the_url(params, classes, breaks, ignored):
    view, notices = parse_query(params)
    assert (view.classes, view.breaks) == (classes, breaks)
    assert sorted((n.param, n.reason) for n in notices) == sorted(ignored)
    assert parse_query(to_query(view, "overview"))[0] == view


def test_legend_set_is_in_map_pages_urls_only():
    view = ViewState(classes="custom", breaks=(10.0, 20.5))
    assert to_query(view, "meeting") == {"classes": "custom", "breaks": "10,20.5"}
    assert to_query(view, "households") == {} and to_query(ViewState(), "overview") == {}


def test_deprivation_filter_in_the_url_and_in_words():
    view, notices = parse_query({"dep": "income,health,wealth"})
    assert view.deprivations == ("health", "income") and [(n.param, n.value) for n in notices] == [("dep", "wealth")]
    assert view.to_filter().deprivations == ("health", "income")
    assert to_query(view, "overview") == {"dep": "health,income"}
    from geo.views.viewstate import describe_filters

    assert describe_filters(view, "en") == "Deprived in Health, Income (TPMAP)"


def test_pilot_filter_in_words_never_reads_pilot_project_in_no_pilot():
    from geo.views.viewstate import describe_filters

    assert describe_filters(ViewState(pilots=("none",)), "en") == "In no pilot"
    assert describe_filters(ViewState(pilots=("P1", "none")), "en") == "Pilot project P1, In no pilot"


def test_the_breadcrumb_follows_the_sidebar_s_province():
    from geo.views.dashboard import view_breadcrumb

    assert view_breadcrumb(ViewState(provinces=("46",)), "en") == [("46", "Kalasin")]
    assert view_breadcrumb(ViewState(provinces=("46",), area="4609"), "en")[0] == ("46", "Kalasin")
    assert view_breadcrumb(ViewState(provinces=("34", "46")), "en")[0][1] == "Ubon Ratchathani, Kalasin"
    assert view_breadcrumb(ViewState(), "en")[0][0] == ""


@pytest.mark.parametrize(("role", "res", "shown", "said"), [
    ("administrator", 10, 10, False), ("provincial_officer", 10, 9, True), ("researcher", 9, 8, True),
    ("viewer", 10, 7, True), ("viewer", 7, 7, False), ("viewer", None, None, False),
])
def test_res_10_for_administrators_and_a_finer_link_is_said(role, res, shown, said):
    from geo.access.roles import ROLE_CAPABILITIES

    assert 10 in MAP_RESOLUTIONS and parse_query({"res": ["10"]})[0].res == 10
    view, notices = limit_resolution(ViewState(by="h3", res=res), ROLE_CAPABILITIES[role].max_h3_res)
    assert view.res == shown
    assert [(n.param, n.reason) for n in notices] == ([("res", "url_res_capped")] if said else [])
