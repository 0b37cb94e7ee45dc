"""Links as input: every URL parameter, fuzzed, on every page; and links to areas that do not exist.

Nothing from a link may render as Markdown: a notice repeats an ignored value through
``geo.views.viewstate.markdown_literal`` (an inline code span), so ``?by=[Session expired - log
in](http://evil.invalid)`` shows that text, not a link, and ``![x](http://...)`` makes the browser
fetch nothing. The rendering is judged by ``tests/pages/markdown_check.py`` (Markdown as the
browser's GFM renderer would read it, autolinks included). A well-formed code of no area
(``?area=99``) is ignored with a notice, like any bad value, and the session goes on working.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.views.text import text
from geo.views.viewstate import QUERY_NAMES, markdown_literal
from tests.pages.conftest import APP_PATH, TIMEOUT_S, log_in, PASSWORDS, rerun
from tests.pages.markdown_check import links, page_links

PAGES = ("overview", "capitals", "pilots", "change", "meeting", "households", "data", "audit")
MAP_PAGES = ("overview", "capitals", "pilots", "change", "meeting")
#: Values that would link, fetch, format or break out of a code span if rendered as Markdown.
PAYLOADS = (
    "[Session expired - log in](http://evil.invalid)",
    "![x](http://evil.invalid/x.png)",
    "<http://evil.invalid>", "http://evil.invalid/login", "www.evil.invalid", "help@evil.invalid",
    "<img src=x onerror=alert(1)>", "<a href='http://evil.invalid'>x</a>",
    "`", "``[x](http://evil.invalid)``", "x` [y](http://evil.invalid) `z",
    "x\n\n[y](http://evil.invalid)", "[x]\n\n[x]: http://evil.invalid", "x\r\n![y](http://evil.invalid/y.png)",
    ":red[x] :material/home: $x^2$ **b** _i_ # h", "\u202e[x](http://evil.invalid)", "46,[x](http://evil.invalid)",
    "[x](javascript:alert(1))", "a" * 200 + "[x](http://evil.invalid)",
)
#: Values each parameter may really take (and near misses), so fuzzed links reach deep paths too.
GOOD = {
    "prov": ("46", "34", "46,34", "99", "10"), "dist": ("4601", "4609", "3401", "4699"),
    "level": ("1", "1,2", "4", "5"), "deficit": ("natural", "human,social"), "tpmap": ("in", "out"),
    "verified": ("yes", "no"), "assist": ("none", "helped"), "pilot": ("P1", "none", "P9"),
    "lang": ("th", "en"), "era": ("BE", "CE"), "metric": ("mpi", "not_in_tpmap"),
    "by": ("province", "district", "subdistrict", "h3"), "res": ("5", "9", "12"),
    "area": ("46", "4609", "460901", "460902", "34", "99", "4699", "469999"),
    "capital": ("natural", "social"), "km": ("2", "30", "7"), "k": ("10", "20", "5", "1000"),
    "round": ("2566", "2023", "2564", "2550", "99999"), "from": ("2564", "2021", "2566"),
    "change": ("share_up", "change_natural", "mpi"),
    "dep": ("health", "income,access", "wealth"), "layers": ("pilots", "roads"), "names": ("off", "on", "hide"),
    "classes": ("national", "equal", "custom", "jenks"), "breaks": ("10,20,30", "5", "30,10", "x"),
}
assert set(GOOD) == set(QUERY_NAMES.values())

single = st.one_of(st.sampled_from(PAYLOADS), st.text(max_size=40),
                   st.builds(lambda a, b: a + b, st.text(max_size=10), st.sampled_from(PAYLOADS)))


@st.composite
def queries(draw) -> dict[str, object]:
    keys = draw(st.lists(st.sampled_from(sorted(GOOD)), min_size=1, max_size=5, unique=True))
    query: dict[str, object] = {}
    for key in keys:
        value = draw(st.one_of(st.sampled_from(GOOD[key]), single, st.lists(single, min_size=2, max_size=3)))
        query[key] = value
    return query


def open_session(page: str, login: str | None = None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S)
    rerun(at)
    if login:
        log_in(at, login, PASSWORDS[login])
    at.switch_page(f"pages/{page}.py")
    return rerun(at)


def open_link(at, page: str, query: dict[str, object]):
    at.switch_page(f"pages/{page}.py")
    at.query_params.clear()
    at.query_params.update(query)
    at.run()
    return at


def test_the_checker_sees_what_a_browser_would_link():
    assert links("by=[Session expired - log in](http://evil.invalid)") == ["link http://evil.invalid"]
    assert links("![x](http://evil.invalid/x.png)") == ["image http://evil.invalid/x.png"]
    assert links("see www.evil.invalid") == ["autolink www.evil.invalid"]
    for payload in PAYLOADS:
        assert links(f"by={markdown_literal(payload)} from the link") == [], payload


@pytest.mark.parametrize("page", PAGES)
def test_any_link_on_any_page_renders_no_link_and_never_raises(page, tiny_dir):
    sessions = {}

    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(query=queries())
    def check(query):
        if "at" not in sessions:
            sessions["at"] = open_session(page)
        at = open_link(sessions["at"], page, query)
        assert not at.exception, (query, [e.value for e in at.exception])
        assert page_links(at) == [], query

    check()


@pytest.mark.parametrize("page", PAGES)
def test_the_reported_payloads_are_shown_as_text(page, tiny_dir):
    at = open_session(page)
    for payload in ("[Session expired - log in](http://evil.invalid)", "![x](http://evil.invalid/x.png)"):
        open_link(at, page, {"by": payload, "area": payload, "prov": payload})
        assert not at.exception
        assert page_links(at) == []
        warnings = [w.value for w in at.warning]
        assert any(markdown_literal(payload) in w for w in warnings), warnings


# ---------------------------------------------------------------------------------------------
# Areas that do not exist
# ---------------------------------------------------------------------------------------------


def ignored(at, area: str, reason: str = "url_not_in_data", lang: str = "th") -> bool:
    notice = text("url_ignored", lang, param="area", value=markdown_literal(area), why=text(reason, lang))
    return any(w.value == notice for w in at.warning)


@pytest.mark.parametrize("area", ["99", "4699", "469999", "3499"])
@pytest.mark.parametrize("page", PAGES)
def test_an_unknown_area_is_ignored_with_a_notice_on_every_page(page, area, tiny_dir):
    at = open_session(page)
    open_link(at, page, {"area": area, "by": "district"})
    assert not at.exception, [e.value for e in at.exception]
    assert ignored(at, area), [w.value for w in at.warning]
    if page == "meeting":  # meeting mode shows a province: the first, as without a link
        assert at.session_state["ppap_view"].area == at.query_params["area"] == "46"
    else:
        assert at.session_state["ppap_view"].area == "" and "area" not in at.query_params
    for other in PAGES if area == "99" else ():  # and the session goes on working everywhere
        at.switch_page(f"pages/{other}.py")
        rerun(at)
        assert at.session_state["ppap_view"].area in ("", "46", "34")  # meeting mode picks a province


@pytest.mark.parametrize("page", MAP_PAGES)
def test_an_area_with_households_but_no_boundary_is_ignored(page, tiny_dir):
    import geopandas as gpd

    path = tiny_dir / "boundaries" / "subdistrict.parquet"
    frame = gpd.read_parquet(path)
    frame[frame["code"] != "460901"].to_parquet(path)
    at = open_session(page)
    open_link(at, page, {"area": "460901"})
    assert not at.exception, [e.value for e in at.exception]
    assert ignored(at, "460901", "url_not_in_boundaries")
    open_link(at, page, {"area": "460902"})  # its neighbour is there: drawn as asked
    assert not at.exception and not ignored(at, "460902", "url_not_in_boundaries")
    if page != "meeting":
        assert at.session_state["ppap_view"].area == "460902"


def test_an_officer_linking_to_a_missing_district_of_their_province_gets_a_notice(tiny_dir, access_users):
    at = open_session("overview", login="kalasin")
    open_link(at, "overview", {"area": "4699"})
    assert not at.exception
    assert ignored(at, "4699") and at.session_state["ppap_view"].area == ""
    open_link(at, "overview", {"area": "34"})  # outside the scope: still a denial, not a notice
    assert not at.exception and at.error and not ignored(at, "34")


def test_the_english_notice(tiny_dir):
    at = open_session("overview")
    open_link(at, "overview", {"area": "99", "lang": "en"})
    assert ignored(at, "99", lang="en")
