"""Access control in the app (docs/ACCESS.md, "In the app"): every role on every page, scoped
cached loaders, denials for out-of-scope links, audit records, and scans of every export.

The tiny world (tests/pages/tiny_world.py): province 46 (Kalasin) with districts 4601 (30
households) and 4609 (25 + 4), province 34 (12). Users and passwords: tests/pages/conftest.py.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from geo.views import dashboard as D
from geo.access.roles import PUBLIC_NOTICE, User, public_viewer, scope_key
from geo.engine.aggregate import index_households
from geo.access.audit import scan_output, verify_audit_log
from geo.views.headline import headline
from geo.views.text import text
from geo.views.viewstate import ViewState
from tests.pages.conftest import PASSWORDS, decks, log_in, metrics, open_app, page_text, rerun
from tests.pages.tiny_world import households

PAGES = ("overview", "capitals", "pilots", "households", "data", "audit", "meeting")  # meeting selects a province: last
#: role -> (login username or None for the public viewer, provinces seen, households in scope)
ROLES = {
    "public": (None, {"34", "46"}, 71),
    "administrator": ("admin", {"34", "46"}, 71),
    "provincial_officer": ("kalasin", {"46"}, 59),
    "district_officer": ("district4609", {"46"}, 29),
    "researcher": ("research", {"34", "46"}, 71),
    "viewer": ("viewer", {"34", "46"}, 71),
}
ROWS_ROLES = {"administrator", "provincial_officer", "district_officer"}
SCOPE_DISTRICTS = {"provincial_officer": {"4601", "4609"}, "district_officer": {"4609"}}


def audit_records(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def frame_by_key(at, key: str) -> pd.DataFrame | None:
    """A table by its key (tables drawn without a selection carry no id: found by their place)."""
    found = [d for d in at.dataframe if d.proto.id and key in d.proto.id]
    if found:
        return found[0].value
    place = {"households_rows": 1, "pilots_table": -1, "capitals_table": -1, "audit_table": 0}.get(key)
    if place is None or len(at.dataframe) <= (place if place >= 0 else -place - 1):
        return None
    if key == "audit_table" and not at.success and not at.error:
        return None
    return at.dataframe[place].value


def goto(at, page: str, query: dict[str, str] | None = None):
    at.switch_page(f"pages/{page}.py")
    if query is not None:
        at.query_params.clear()
        at.query_params.update(query)
    return rerun(at)


# ---------------------------------------------------------------------------------------------
# Every role x every page
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_for_every_role(role, tiny_dir, access_users, audit_log):
    username, provinces, in_scope = ROLES[role]
    at = open_app(login=username)
    for page in PAGES:
        goto(at, page)
        shown = page_text(at)
        assert not at.exception, (role, page)
        # The sidebar names the user and role, or carries the public notice.
        if username is None:
            assert PUBLIC_NOTICE["th"] in shown
        else:
            assert f"Test {username}" in "\n".join(m.value for m in at.sidebar.markdown)
        if page == "overview":
            top = frame_by_key(at, "overview_top10")
            names = {"46": "กาฬสินธุ์", "34": "อุบลราชธานี"}
            if role in ("administrator", "provincial_officer", "district_officer"):
                assert set(top["พื้นที่"]) == {names[p] for p in provinces}, (role, top)
            else:  # the public release: Ubon's few poor households (under 10) are not ranked
                assert set(top["พื้นที่"]) == {names["46"]}, (role, top)
            assert len(at.metric) == 6
        if page == "households":
            table = at.dataframe[0].value
            assert {c[:2] for c in table["รหัส"]} == provinces, (role, table)
            rows = frame_by_key(at, "households_rows")
            if role in ROWS_ROLES:
                assert rows is not None and len(rows) == in_scope
                assert not {"national_id_hash", "national_id", "head_name"} & set(rows.columns)
                assert set(rows["province_code"].astype(str)) == provinces
                if role in SCOPE_DISTRICTS:
                    assert set(rows["district_code"].astype(str)) <= SCOPE_DISTRICTS[role]
                    decimals = rows["lat"].astype(str).str.split(".").str[-1].str.len().max()
                    assert decimals <= 3
            else:
                assert rows is None
                assert text("aggregates_only", "th") in shown
        if page == "pilots":
            sites = frame_by_key(at, "pilots_table")
            assert sites is not None
            assert len(sites) == (1 if provinces == {"46"} and role != "district_officer" else
                                  0 if role == "district_officer" else 2), (role, sites)
        if page == "data":
            uploads = [u for u in at.get("file_uploader")]
            if role in ROWS_ROLES:
                assert uploads, role
            else:
                assert not uploads and text("import_not_allowed", "th") in shown
        if page == "audit":
            if role == "administrator":
                log = frame_by_key(at, "audit_table")
                assert log is not None and "login" in set(log["event"])
                assert text("audit_intact", "th", lines="x").split("(")[0] in shown
            else:
                assert text("audit_admin_only", "th") in [e.value for e in at.error]
                assert frame_by_key(at, "audit_table") is None
    assert verify_audit_log(audit_log) == (True, None)


def test_officer_headline_figures_are_the_engines_for_their_province(tiny_dir, access_users):
    at = open_app("overview", login="kalasin")
    index = index_households(households())
    totals = D.selection_totals(index, D.view_mask(index, ViewState(provinces=("46",))), exact=True)
    assert metrics(at) == {h.label: h.text for h in headline(totals, "th")}
    top = frame_by_key(at, "overview_top10")
    assert set(top["พื้นที่"]) == {"กาฬสินธุ์"}
    goto(at, "capitals")
    assert set(frame_by_key(at, "capitals_table").iloc[:, 0].astype(str)) <= {"กาฬสินธุ์", "46"}


@pytest.mark.parametrize(("username", "finest"), [("viewer", 7), ("research", 8), ("kalasin", 9), ("admin", 10)])
def test_h3_resolution_is_capped_for_the_role(username, finest, tiny_dir, access_users):
    """``?res=10``: administrators draw res 10; every other role its finest, and the page says so."""
    import h3

    at = open_app("overview", {"by": "h3", "res": "10"}, login=username)
    assert at.session_state["overview_res"] == finest
    said = " ".join(w.value for w in at.warning)
    assert ("res" in said and "10" in said) == (finest < 10), said
    assert len(at.selectbox(key="overview_res").options) == 1 + len(range(5, finest + 1))
    (deck,) = decks(at)
    (cells,) = [layer for layer in deck["layers"] if layer["id"] == "cells"]
    assert {h3.get_resolution(row["h3_cell"]) for row in cells["data"]} <= set(range(5, finest + 1))


# ---------------------------------------------------------------------------------------------
# Denials
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("username", "page", "query"), [
    ("kalasin", "overview", {"prov": "34"}),
    ("kalasin", "households", {"area": "34"}),
    ("district4609", "capitals", {"prov": "46", "dist": "4601"}),
    ("district4609", "pilots", {"area": "4601"}),
])
def test_an_out_of_scope_link_is_denied(username, page, query, tiny_dir, access_users, audit_log):
    at = open_app(page, query, login=username)
    errors = " ".join(e.value for e in at.error)
    assert "Access denied" in errors or "ไม่มีสิทธิ์" in errors or "นอกพื้นที่" in errors, errors
    assert not at.get("deck_gl_json_chart") and not at.metric
    assert any(r["event"] == "denied" and r["username"] == username for r in audit_records(audit_log))
    # The denial is not sticky: the next run shows the officer's own areas.
    rerun(at)
    assert not at.error


def test_in_scope_link_works_for_the_officer(tiny_dir, access_users):
    at = open_app("households", {"area": "4609"}, login="district4609")
    assert not at.error
    rows = frame_by_key(at, "households_rows")
    assert len(rows) == 29


# ---------------------------------------------------------------------------------------------
# Cached loaders and logins
# ---------------------------------------------------------------------------------------------


def test_the_same_cached_loader_gives_each_scope_its_own_data(tiny_dir):
    from pages import _shared

    officer = User("kalasin", "provincial_officer", provinces=("46",))
    district = User("d", "district_officer", districts=("4609",))
    full = _shared.load_data(scope_key(public_viewer()))
    mine = _shared.load_data(scope_key(officer))
    theirs = _shared.load_data(scope_key(district))
    assert (full.rows, mine.rows, theirs.rows) == (71, 59, 29)
    assert set(D.codes_in(mine.index, "province")) == {"46"}
    assert set(D.codes_in(theirs.index, "district")) == {"4609"}
    assert mine.pilots["pilot_id"].tolist() == ["P1"] and theirs.pilots.empty
    assert _shared.load_data(scope_key(officer)) is mine  # cached per scope
    with pytest.raises(TypeError):
        _shared.load_data()  # type: ignore[call-arg]


def test_two_sessions_with_different_scopes_see_different_data(tiny_dir, access_users):
    kalasin = open_app("households", login="kalasin")
    admin = open_app("households", login="admin")
    rerun(kalasin)
    assert {c[:2] for c in kalasin.dataframe[0].value["รหัส"]} == {"46"}
    assert {c[:2] for c in admin.dataframe[0].value["รหัส"]} == {"34", "46"}


def test_logins_failures_logouts_and_household_views_are_audited(tiny_dir, access_users, audit_log):
    at = open_app()
    log_in(at, "kalasin", "not the password at all")
    assert "auth_user" not in at.session_state
    assert at.error  # a clear refusal
    log_in(at, "kalasin", PASSWORDS["kalasin"])
    goto(at, "households")
    at.button(key="auth_logout").click()
    rerun(at)
    assert "auth_user" not in at.session_state and PUBLIC_NOTICE["th"] in page_text(at)
    events = [(r["event"], r["username"]) for r in audit_records(audit_log)]
    assert ("login_failed", "kalasin") in events
    assert ("login", "kalasin") in events
    assert ("household_view", "kalasin") in events
    assert ("logout", "kalasin") in events
    view = next(r for r in audit_records(audit_log) if r["event"] == "household_view")
    assert view["rows"] == 59 and view["scope"] == "provincial_officer|p:46"
    assert verify_audit_log(audit_log) == (True, None)


def test_a_required_login_shows_only_the_form(tiny_dir, tmp_path, monkeypatch):
    from tests.pages.conftest import write_access_config

    monkeypatch.setenv("PPAP_ACCESS_CONFIG", str(write_access_config(tmp_path / "a.toml", public_access=False)))
    at = open_app()
    assert not at.metric and not at.dataframe and not at.get("deck_gl_json_chart")
    log_in(at, "research", PASSWORDS["research"])
    assert at.metric


def test_no_configuration_means_the_public_viewer(tiny_dir):
    at = open_app("households")
    assert PUBLIC_NOTICE["th"] in page_text(at)
    assert frame_by_key(at, "households_rows") is None


# ---------------------------------------------------------------------------------------------
# Every export path, scanned
# ---------------------------------------------------------------------------------------------

NAMES = ["สมชาย ใจดี", "Somchai Jaidee"]
VALID_ID = "1101700207030"


@pytest.mark.parametrize("role", list(ROLES))
def test_households_downloads_are_clean(role, tiny_dir, access_users, audit_log, download_bytes):
    username, _, _ = ROLES[role]
    at = open_app("households", login=username)
    for by in ("province", "district", "subdistrict"):
        at.radio(key="households_by").set_value(by)
        rerun(at)
        for fmt in ("csv", "xlsx"):
            data = download_bytes(at, f"households_download_{fmt}")
            exact = role == "administrator"
            assert scan_output(data, names=NAMES, max_decimals=None if exact else 4) == [], (role, by, fmt)
            if fmt == "csv":
                table = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype={"code": str})
                counts = pd.to_numeric(table["households_count"], errors="coerce").dropna()
                assert (counts >= 10).all(), (role, by, table)
                if role in SCOPE_DISTRICTS:
                    assert set(table["code"].str[:2]) == {"46"}
    exports = [r for r in audit_records(audit_log) if r["event"] == "export"]
    assert len(exports) == 6 and all(len(r["file_sha256"]) == 64 for r in exports)


def test_rejects_download_is_clean_and_imports_are_logged(tiny_dir, access_users, audit_log, download_bytes):
    new = households().head(6).copy()
    new["household_id"] = [f"R{i}" for i in range(6)]
    new["members"] = 99  # every row rejected
    new["head_name"] = [NAMES[i % 2] for i in range(6)]
    new["national_id"] = VALID_ID
    new = new.drop(columns=["national_id_hash"])
    new.loc[0, "members"] = 3  # one accepted (or rejected for the ID) row
    at = open_app("data", login="kalasin")
    at.file_uploader(key="data_upload").set_value(("r.csv", new.to_csv(index=False).encode(), "text/csv"))
    rerun(at)
    at.button(key="data_import").click()
    rerun(at)
    data = download_bytes(at, "data_rejects")
    assert scan_output(data, names=NAMES, max_decimals=4) == []
    events = [r["event"] for r in audit_records(audit_log)]
    assert "export" in events
    assert "import" in events or "denied" in events


def test_a_display_name_with_html_is_shown_as_text(tiny_dir, tmp_path, monkeypatch):
    from tests.pages.conftest import write_access_config

    path = write_access_config(tmp_path / "x.toml")
    path.write_text(path.read_text(encoding="utf-8").replace(
        'display_name = "Test viewer"', 'display_name = "<img src=x onerror=alert(1)>"'), encoding="utf-8")
    monkeypatch.setenv("PPAP_ACCESS_CONFIG", str(path))
    at = open_app(login="viewer")
    shown = "\n".join(m.value for m in at.sidebar.markdown)
    assert re.search(r"(?<!\\)<", shown) is None  # every "<" escaped for Markdown
    assert "\\<img src=x onerror=alert\\(1\\)\\>" in shown
    assert all(m.proto.allow_html is False for m in at.sidebar.markdown)


def test_a_user_removed_from_the_configuration_loses_the_session(tiny_dir, access_users):
    at = open_app("households", login="kalasin")
    access_users.write_text(access_users.read_text(encoding="utf-8").replace(
        'provinces = ["46"]', 'provinces = ["34"]'), encoding="utf-8")
    os.utime(access_users, ns=(1, 1))  # a new file version, whatever the clock's resolution
    rerun(at)
    assert "auth_user" not in at.session_state
    assert PUBLIC_NOTICE["th"] in page_text(at)


# ---------------------------------------------------------------------------------------------
# Household rows follow every sidebar filter, as the aggregates do
# ---------------------------------------------------------------------------------------------

#: One sidebar widget set at a time (``None``: no filter), and a selected area by link.
SIDEBAR_FILTERS = [
    None,
    ("sidebar_provinces", ["46"]),
    ("sidebar_levels", [1, 2]),
    ("sidebar_tpmap", "out"),
    ("sidebar_tpmap", "in"),
    ("sidebar_deficit", ["natural"]),
    ("sidebar_verified", "yes"),
    ("sidebar_verified", "no"),
    ("sidebar_assistance", ["helped", "referred"]),
    ("sidebar_pilots", ["P1"]),
    ("sidebar_pilots", ["none"]),
    ("area", "4609"),
]


def set_filter(at, flt) -> None:
    if flt is None:
        return
    key, value = flt
    if key == "area":
        goto(at, "households", {"area": value})
        return
    widget = at.radio(key=key) if key in ("sidebar_tpmap", "sidebar_verified") else at.multiselect(key=key)
    widget.set_value(value)
    rerun(at)


def engine_count(view: ViewState, user: User) -> int:
    from geo.access.roles import scope_mask

    index = index_households(households())
    mask = D.combine_masks(D.view_mask(index, view), scope_mask(index, user))
    return int(D.aggregate(index, "province", mask=mask)["households"].sum())


@pytest.mark.parametrize("flt", SIDEBAR_FILTERS, ids=lambda f: "none" if f is None else f"{f[0]}={f[1]}")
def test_household_rows_follow_every_sidebar_filter(flt, tiny_dir, access_users):
    # The administrator with k=1: nothing withheld, so the page's own table must add up to the rows.
    at = open_app("households", login="admin")
    at.number_input(key="sidebar_min_count").set_value(1)
    rerun(at)
    set_filter(at, flt)
    view = at.session_state["ppap_view"]
    table = at.dataframe[0].value
    rows = frame_by_key(at, "households_rows")
    shown = int(pd.to_numeric(table["ครัวเรือน"], errors="raise").sum())
    assert len(rows) == shown == engine_count(view, User("admin", "administrator")), (flt, view)
    if flt is not None and flt[0] == "sidebar_levels":
        assert set(rows["poverty_level"]) <= {1, 2}
    # An officer: the rows are the engine's count for the filter within the scope.
    at = open_app("households", login="kalasin")
    set_filter(at, flt)
    view = at.session_state["ppap_view"]
    rows = frame_by_key(at, "households_rows")
    assert len(rows) == engine_count(view, User("k", "provincial_officer", provinces=("46",))), (flt, view)
    assert set(rows["province_code"].astype(str)) <= {"46"}


# ---------------------------------------------------------------------------------------------
# Minimum count (k)
# ---------------------------------------------------------------------------------------------


def by_subdistrict(at) -> dict[str, str]:
    at.radio(key="households_by").set_value("subdistrict")
    rerun(at)
    table = at.dataframe[0].value
    return dict(zip(table["รหัส"], table["ครัวเรือน"]))


@pytest.mark.parametrize("username", [None, "viewer", "research", "kalasin", "district4609"])
def test_a_link_asking_for_k_below_10_is_denied_and_gets_the_floor(username, tiny_dir, access_users, audit_log):
    at = open_app("households", {"k": "1"}, login=username)
    errors = " ".join(e.value for e in at.error)
    assert "k=1" in errors and "10" in errors, errors
    assert at.session_state["ppap_view"].min_count == 10
    assert "k" not in at.query_params  # the URL now holds the floor (the default)
    # Still withheld: officers see "<10"; the public release leaves the area out altogether.
    assert by_subdistrict(at).get("460902", "<10") == "<10"
    denied = [r for r in audit_records(audit_log) if r["event"] == "denied"]
    assert denied and denied[-1]["detail"].startswith("min_count")
    rerun(at)
    assert not at.error  # said once, not on every run


def test_the_k_control_is_offered_from_the_roles_floor(tiny_dir, access_users):
    assert not open_app("households").get("number_input")  # the public viewer: no control
    for username, floor in (("admin", 1), ("kalasin", 10), ("viewer", 10)):
        at = open_app("households", login=username)
        control = at.number_input(key="sidebar_min_count")
        assert (control.min, control.value) == (floor, 10), username


def test_an_administrator_may_show_small_areas_and_anyone_may_raise_k(tiny_dir, access_users, download_bytes):
    at = open_app("households", login="admin")
    at.number_input(key="sidebar_min_count").set_value(1)
    rerun(at)
    assert not at.error and at.query_params["k"] == "1"
    assert by_subdistrict(at) == {"340101": "12", "460101": "30", "460901": "25", "460902": "4"}
    csv = pd.read_csv(io.BytesIO(download_bytes(at, "households_download_csv")), encoding="utf-8-sig")
    assert (csv["min_count"] == 1).all()
    goto(at, "capitals", {"area": "4609", "k": "1"})
    assert "4" in frame_by_key(at, "capitals_table").astype(str).to_numpy().ravel().tolist()

    officer = open_app("households", {"k": "26"}, login="kalasin")
    assert not officer.error and officer.session_state["sidebar_min_count"] == 26
    shown = by_subdistrict(officer)
    assert shown["460101"] == "30" and shown["460901"] != "25" and shown["460902"] in ("<10", "<26")
    goto(officer, "capitals", {"area": "4609", "k": "26"})
    assert "25" not in frame_by_key(officer, "capitals_table").astype(str).to_numpy().ravel().tolist()


# ---------------------------------------------------------------------------------------------
# Import history in scope
# ---------------------------------------------------------------------------------------------


def test_import_history_shows_an_officer_only_imports_in_their_areas(tiny_dir, access_users):
    frame = households()
    for username, province, name in (("admin", "34", "ubon.csv"), ("kalasin", "46", "kalasin.csv")):
        new = frame[frame["province_code"] == province].head(3).copy()
        new["household_id"] = [f"{name[:2]}{i}" for i in range(3)]
        at = open_app("data", login=username)
        at.file_uploader(key="data_upload").set_value((name, new.to_csv(index=False).encode(), "text/csv"))
        rerun(at)
        at.button(key="data_import").click()
        rerun(at)
        assert not at.error, [e.value for e in at.error]
    admin = open_app("data", login="admin")
    assert sorted(admin.dataframe[-1].value["ไฟล์"]) == ["kalasin.csv", "ubon.csv"]
    kalasin = open_app("data", login="kalasin")
    assert kalasin.dataframe[-1].value["ไฟล์"].tolist() == ["kalasin.csv"]
    assert text("provenance_scope_note", "th", areas="x", hidden=1).split("(")[0] in page_text(kalasin)
    district = open_app("data", login="district4609")
    assert all(d.value.columns[0] != "ไฟล์" for d in district.dataframe)  # no import of 4609
    assert "ไม่แสดง 2 รายการ" in page_text(district)


# ---------------------------------------------------------------------------------------------
# Hardening: HTML in data values, formulas in downloads, the server's settings
# ---------------------------------------------------------------------------------------------

XSS = '<img src=x onerror=alert(1)>'


def plant_html(root: Path) -> None:
    """Data values that would run as HTML: pilot names and university, the boundaries' manifest."""
    pilots = pd.read_csv(root / "samples" / "pilots.csv", dtype=str)
    for column in ("name_th", "name_en", "university"):
        pilots[column] = XSS
    pilots.to_csv(root / "samples" / "pilots.csv", index=False)
    manifest = json.loads((root / "boundaries" / "manifest.json").read_text(encoding="utf-8"))
    manifest.update({"source": XSS, "attribution": f"Boundaries: RTSD / OCHA (CC BY-IGO) {XSS}", "licence": XSS})
    (root / "boundaries" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def assert_no_live_html(at, where) -> None:
    for element in (*at.markdown, *at.caption, *at.sidebar.markdown, *at.sidebar.caption):
        if element.proto.allow_html:
            assert "<img" not in element.proto.body, where
    for element in at.get("html"):
        assert "<img" not in element.proto.body, where
    for deck in decks(at):
        assert "<img" not in json.dumps(deck.get("tooltip", "")), where  # the template; values are escaped


def test_html_in_data_values_never_reaches_a_page_unescaped(tiny_dir, access_users):
    plant_html(tiny_dir)
    new = households().head(3).copy()
    new["household_id"] = ["X1", "X2", "X3"]
    at = open_app("data", login="admin")
    at.file_uploader(key="data_upload").set_value((f"{XSS}.csv", new.to_csv(index=False).encode(), "text/csv"))
    rerun(at)
    at.button(key="data_import").click()
    rerun(at)
    reached = []
    for lang in ("th", "en"):
        at.radio(key="sidebar_lang").set_value(lang)
        rerun(at)
        for page in PAGES:
            goto(at, page)
            assert_no_live_html(at, (lang, page))
            reached.append(XSS in page_text(at) or any(
                XSS in str(option) for box in at.multiselect for option in box.options)
                or any(XSS in d.value.astype(str).to_csv() for d in at.dataframe))
    assert any(reached)  # the values did reach the pages, as text


def test_downloads_neutralise_formulas(tiny_dir, access_users, download_bytes):
    import openpyxl

    from geo.data.spreadsheet import is_formula_like

    corpus = Path(__file__).resolve().parents[1] / "fixtures" / "import_corpus" / "formula_injection.csv"
    at = open_app("data", login="admin")
    at.file_uploader(key="data_upload").set_value(("=cmd.csv", corpus.read_bytes(), "text/csv"))
    rerun(at)
    at.button(key="data_import").click()
    rerun(at)
    book = openpyxl.load_workbook(io.BytesIO(download_bytes(at, "data_rejects")), read_only=True)
    cells = [v for row in book.active.iter_rows(values_only=True) for v in row if isinstance(v, str)]
    assert any(c.startswith("'+SUM") or c.startswith("'=1+1") for c in cells), cells
    assert not any(is_formula_like(c) for c in cells)
    goto(at, "audit")  # the log's own export (formula-like text in it: tests/geo/test_audit.py)
    log = pd.read_csv(io.BytesIO(download_bytes(at, "audit_download")), encoding="utf-8-sig", dtype=str)
    cells = [v for v in log.to_numpy().ravel().tolist() if isinstance(v, str)]
    assert not any(is_formula_like(c) for c in cells)


def test_streamlit_settings_hide_errors_limit_uploads_and_check_xsrf():
    import tomllib

    settings = tomllib.loads((Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text())
    # "none": no message or traceback in the browser (the boolean false means "stacktrace" now)
    assert settings["client"]["showErrorDetails"] == "none"
    assert settings["server"]["enableXsrfProtection"] is True
    assert 0 < settings["server"]["maxUploadSize"] <= 50
    assert settings["browser"]["gatherUsageStats"] is False
    assert settings["client"]["toolbarMode"] == "viewer"


# ---------------------------------------------------------------------------------------------
# The audit log: who, role, scope, what, rows, file hash, when; readable and exportable
# ---------------------------------------------------------------------------------------------


def test_audit_records_carry_every_field_and_the_log_exports(tiny_dir, access_users, audit_log, download_bytes):
    from geo.access.audit import sha256_hex

    new = households()
    new = new[new["province_code"] == "46"].head(4).copy()
    new["household_id"] = [f"A{i}" for i in range(4)]
    upload = new.to_csv(index=False).encode()
    at = open_app("data", login="kalasin")
    at.file_uploader(key="data_upload").set_value(("a.csv", upload, "text/csv"))
    rerun(at)
    at.button(key="data_import").click()
    rerun(at)
    goto(at, "households")
    download_bytes(at, "households_download_csv")
    records = audit_records(audit_log)
    kinds = {r["event"]: r for r in records}
    assert {"login", "import", "household_view", "export"} <= set(kinds)
    for record in records:
        assert {"username", "role", "scope", "event", "what", "rows", "file_sha256", "time"} <= set(record)
        assert record["username"] == "kalasin" and record["role"] == "provincial_officer"
        assert record["scope"] == "provincial_officer|p:46"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["time"])
    assert kinds["import"]["rows"] == 4 and kinds["import"]["file_sha256"] == sha256_hex(upload)
    assert kinds["household_view"]["rows"] == 4 and kinds["household_view"]["what"]  # the store: 4 households
    assert len(kinds["export"]["file_sha256"]) == 64

    admin = open_app("audit", login="admin")
    table = frame_by_key(admin, "audit_table")
    assert {"import", "household_view", "export"} <= set(table["event"])
    exported = download_bytes(admin, "audit_download")
    log = pd.read_csv(io.BytesIO(exported), encoding="utf-8-sig", dtype=str)
    assert sha256_hex(upload) in set(log["file_sha256"].dropna())
    last = audit_records(audit_log)[-1]
    assert (last["event"], last["username"], last["file_sha256"]) == ("export", "admin", sha256_hex(exported))
    assert verify_audit_log(audit_log) == (True, None)


def test_logging_out_forgets_the_administrators_k(tiny_dir, access_users):
    at = open_app("households", login="admin")
    at.number_input(key="sidebar_min_count").set_value(1)
    rerun(at)
    at.button(key="auth_logout").click()
    rerun(at)
    assert not at.error and at.session_state["ppap_view"].min_count == 10
    assert "k" not in at.query_params
    assert "460902" not in by_subdistrict(at)  # the public release after logging out: left out


#: Links outside each officer's scope (inside for the national roles).
OUTSIDE = {
    "kalasin": [{"prov": "34"}, {"area": "3401"}, {"area": "340101"}, {"prov": "46,34"}],
    "district4609": [{"prov": "34"}, {"prov": "46", "dist": "4601"}, {"area": "4601"}, {"area": "460101"}],
}


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("username", list(OUTSIDE))
def test_every_page_denies_links_outside_the_officers_scope(username, page, tiny_dir, access_users, audit_log):
    at = open_app(login=username)
    for query in OUTSIDE[username]:
        goto(at, page, query)
        errors = " ".join(e.value for e in at.error)
        assert "Access denied" in errors or "นอกพื้นที่" in errors or "ไม่มีสิทธิ์" in errors, (page, query, errors)
        assert not at.get("deck_gl_json_chart") and not at.metric, (page, query)
        for frame in (d.value for d in at.dataframe):
            for column in ("รหัส", "province_code", "district_code"):
                if column in frame.columns:
                    assert not frame[column].astype(str).str.startswith("34").any(), (page, query, frame)
        at.query_params.clear()
        rerun(at)  # not sticky
    denied = [r for r in audit_records(audit_log) if r["event"] == "denied" and r["username"] == username]
    assert len(denied) >= len(OUTSIDE[username])


@pytest.mark.parametrize("username", ["admin", "research", "viewer", None])
def test_the_same_links_are_in_scope_for_national_roles(username, tiny_dir, access_users):
    at = open_app(login=username)
    for query in OUTSIDE["kalasin"]:
        goto(at, "households", query)
        assert not at.error, (username, query)
        assert "34" in {c[:2] for c in at.dataframe[0].value["รหัส"]}
