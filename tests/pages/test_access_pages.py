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

from geo import dashboard as D
from geo.access import PUBLIC_NOTICE, User, public_viewer, scope_key
from geo.aggregate import index_households
from geo.audit import scan_output, verify_audit_log
from geo.i18n import text
from geo.viewstate import ViewState
from tests.pages.conftest import PASSWORDS, decks, log_in, metrics, open_app, page_text, rerun
from tests.pages.tiny_world import households

PAGES = ("overview", "capitals", "pilots", "households", "data", "audit")
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
            assert set(top["พื้นที่"]) == {names[p] for p in provinces}, (role, top)
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
    totals = D.selection_totals(index, D.view_mask(index, ViewState(provinces=("46",))))
    assert metrics(at) == dict(D.headline_items(totals, "th"))
    top = frame_by_key(at, "overview_top10")
    assert set(top["พื้นที่"]) == {"กาฬสินธุ์"}
    goto(at, "capitals")
    assert set(frame_by_key(at, "capitals_table").iloc[:, 0].astype(str)) <= {"กาฬสินธุ์", "46"}


@pytest.mark.parametrize(("username", "finest"), [("viewer", 7), ("research", 8), ("kalasin", 9), ("admin", 9)])
def test_h3_resolution_is_capped_for_the_role(username, finest, tiny_dir, access_users):
    import h3

    at = open_app("overview", {"by": "h3", "res": "9"}, login=username)
    assert at.session_state["overview_res"] == finest
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
