"""Tests for ``geo.access.roles``: the role x capability matrix, scopes and their hierarchy, enforcement
(masks, filters, resolution, k, rows, imports), the configuration loader, passwords, the failed-login
limit and the ``python -m geo access`` commands."""

from __future__ import annotations

import dataclasses
import io
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from geo.access import roles as access
from geo.access.roles import (
    ROLE_CAPABILITIES,
    ROLES,
    AccessConfig,
    LoginLimiter,
    Scope,
    User,
    authenticate_local,
    cap_resolution,
    check_import,
    check_min_count,
    frame_scope_mask,
    hash_password,
    household_rows,
    imports_in_scope,
    load_access_config,
    parse_access_config,
    parse_password_hash,
    public_viewer,
    resolve_oidc_user,
    scope_filter,
    scope_key,
    scope_mask,
    scoped_mask,
    user_from_scope_key,
    verify_password,
)
from geo.errors import AccessConfigError, AccessDenied
from geo.engine.aggregate import aggregate, index_households
from geo.access.audit import max_coordinate_decimals, scan_output
from geo.synth.households import random_households
from geo.errors import EngineInputError
from geo.cli import main as cli_main
from geo.engine.filters import HouseholdFilter, filter_mask, filter_rows, select_rows
from geo.data.store import entries_with_areas, load_provenance, save_households

ADMIN = User("admin", "administrator")
KALASIN = User("kalasin", "provincial_officer", provinces=("46",))
UBON = User("ubon", "provincial_officer", provinces=("34",))
TWO_PROVINCES = User("two", "provincial_officer", provinces=["46", "34"])
DISTRICTS = User("dist", "district_officer", districts=("4609", "4602"))
RESEARCHER = User("res", "researcher")
VIEWER = User("view", "viewer")
EVERY_USER = (ADMIN, KALASIN, DISTRICTS, RESEARCHER, VIEWER)

SUBDISTRICTS = ("460101", "460901", "460902", "460201", "340101")


@pytest.fixture(scope="module")
def households() -> pd.DataFrame:
    frame = random_households(400, seed=7, subdistricts=SUBDISTRICTS)
    frame["national_id_hash"] = [f"{i:064x}" for i in range(len(frame))]
    frame["head_name"] = [f"นายทดสอบ{i} นามสกุล" for i in range(len(frame))]
    return frame


@pytest.fixture(scope="module")
def index(households):
    return index_households(households)


# ---------------------------------------------------------------------------------------------
# Roles and capabilities
# ---------------------------------------------------------------------------------------------

# role: rows, import, replace, precise, decimals, max res, min k, audit, names, national
MATRIX = {
    "administrator": (True, True, True, True, None, 10, 1, True, True, True),
    "provincial_officer": (True, True, False, False, 3, 9, 10, False, False, False),
    "district_officer": (True, True, False, False, 3, 9, 10, False, False, False),
    "researcher": (False, False, False, False, 3, 8, 10, False, False, True),
    "viewer": (False, False, False, False, 3, 7, 10, False, False, True),
}


@pytest.mark.parametrize("role", ROLES)
def test_capability_matrix(role):
    caps = ROLE_CAPABILITIES[role]
    assert (
        caps.may_see_household_rows, caps.may_import, caps.may_replace_store, caps.may_see_precise_positions,
        caps.position_decimals, caps.max_h3_res, caps.min_count, caps.may_read_audit, caps.may_keep_names,
        caps.national,
    ) == MATRIX[role]


def test_matrix_covers_every_role_and_is_read_only():
    assert set(MATRIX) == set(ROLES) == set(ROLE_CAPABILITIES)
    with pytest.raises(TypeError):
        ROLE_CAPABILITIES["viewer"] = ROLE_CAPABILITIES["administrator"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        KALASIN.role = "administrator"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"username": "a", "role": "officer"}, "role must be one of"),
        ({"username": "", "role": "viewer"}, "username must be"),
        ({"username": "a b", "role": "viewer"}, "username must be"),
        ({"username": "a", "role": "provincial_officer"}, "needs at least one province"),
        ({"username": "a", "role": "provincial_officer", "provinces": ("4",)}, "2-digit province codes"),
        ({"username": "a", "role": "provincial_officer", "provinces": (46,)}, "2-digit province codes"),
        ({"username": "a", "role": "provincial_officer", "provinces": "46"}, "must be a list"),
        ({"username": "a", "role": "provincial_officer", "provinces": ("99",)}, "'99' is not a current Thai province"),
        ({"username": "a", "role": "provincial_officer", "provinces": ("46",), "districts": ("4609",)},
         "give districts to a district_officer"),
        ({"username": "a", "role": "district_officer"}, "needs at least one district"),
        ({"username": "a", "role": "district_officer", "districts": ("4699",)},
         "'4699' is not a current Thai district"),
        ({"username": "a", "role": "district_officer", "districts": ("4609",), "provinces": ("46",)},
         "takes districts only"),
        ({"username": "a", "role": "researcher", "provinces": ("46",)}, "sees every area"),
    ],
)
def test_invalid_users(kwargs, message):
    with pytest.raises(AccessConfigError, match=re.escape(message)):
        User(**kwargs)


def test_user_normalises_codes_and_display_name():
    user = User("x", "district_officer", districts=["4609", "4602", "4609"])
    assert user.districts == ("4602", "4609")
    assert user.display_name == "x"
    assert user.scope == Scope(provinces=("46",), districts=("4602", "4609"))


def test_public_viewer():
    user = public_viewer()
    assert (user.role, user.is_public, user.scope.is_national) == ("viewer", True, True)
    assert not VIEWER.is_public
    assert "10" in access.PUBLIC_NOTICE["en"] and access.PUBLIC_NOTICE["th"]


# ---------------------------------------------------------------------------------------------
# Scope hierarchy and keys
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "code", "includes", "overlaps"),
    [
        (KALASIN, "46", True, True),
        (KALASIN, "4609", True, True),
        (KALASIN, "460901", True, True),
        (KALASIN, "34", False, False),
        (KALASIN, "3401", False, False),
        (KALASIN, "340101", False, False),
        (DISTRICTS, "46", False, True),  # part of the province only
        (DISTRICTS, "4609", True, True),
        (DISTRICTS, "460901", True, True),
        (DISTRICTS, "4601", False, False),
        (DISTRICTS, "460101", False, False),
        (ADMIN, "340101", True, True),
        (RESEARCHER, "34", True, True),
        (KALASIN, "4", False, False),
        (KALASIN, None, False, False),
    ],
)
def test_scope_hierarchy(user, code, includes, overlaps):
    assert user.scope.includes(code) is includes
    assert user.scope.overlaps(code) is overlaps


def test_scope_keys_differ_exactly_when_role_or_scope_differ():
    keys = {u.username: scope_key(u) for u in (*EVERY_USER, UBON, TWO_PROVINCES)}
    assert len(set(keys.values())) == len(keys)
    assert keys["kalasin"] == "provincial_officer|p:46"
    assert keys["two"] == "provincial_officer|p:34,46"
    assert keys["dist"] == "district_officer|d:4602,4609"
    assert keys["admin"] == "administrator|all"
    same = User("other-name", "provincial_officer", provinces=("46",), display_name="Someone else")
    assert scope_key(same) == scope_key(KALASIN)
    assert scope_key(User("z", "provincial_officer", provinces=["34", "46"])) == keys["two"]
    assert scope_key(public_viewer()) == scope_key(VIEWER) != scope_key(RESEARCHER)


@pytest.mark.parametrize("user", [*EVERY_USER, UBON, TWO_PROVINCES])
def test_scope_key_round_trip(user):
    rebuilt = user_from_scope_key(scope_key(user))
    assert (rebuilt.role, rebuilt.scope, scope_key(rebuilt)) == (user.role, user.scope, scope_key(user))


@pytest.mark.parametrize("key", ["", "viewer", "viewer|", "viewer|x:1", "boss|all", "provincial_officer|p:46,34",
                                 "provincial_officer|all", "viewer|p:46", 7])
def test_bad_scope_keys(key):
    with pytest.raises(AccessConfigError):
        user_from_scope_key(key)


# ---------------------------------------------------------------------------------------------
# Masks and filters
# ---------------------------------------------------------------------------------------------


def test_two_scopes_give_different_masks(index, households):
    kalasin = scope_mask(index, KALASIN)
    ubon = scope_mask(index, UBON)
    districts = scope_mask(index, DISTRICTS)
    province = households["province_code"].to_numpy()[index.order]
    district = households["district_code"].to_numpy()[index.order]
    assert kalasin.sum() > 0 and ubon.sum() > 0
    assert not (kalasin & ubon).any()
    assert (kalasin == (province == "46")).all()
    assert (ubon == (province == "34")).all()
    assert (districts == np.isin(district, ["4609", "4602"])).all()
    assert districts.sum() < kalasin.sum()  # 4601 is in Kalasin but not in the districts
    assert scope_mask(index, TWO_PROVINCES).all()
    for user in (ADMIN, RESEARCHER, VIEWER):
        assert scope_mask(index, user).all()


def test_frame_mask_agrees_with_index_mask(index, households):
    for user in (*EVERY_USER, UBON):
        frame_mask = frame_scope_mask(households, user)
        assert (frame_mask[index.order] == scope_mask(index, user)).all()


def test_inconsistent_codes_never_slip_in():
    frame = pd.DataFrame({
        "province_code": ["46", "34", "46", None, "46"],
        "district_code": ["3401", "4609", "4609", "4609", "4609"],
        "subdistrict_code": [None, None, "340101", None, None],
    })
    assert frame_scope_mask(frame, KALASIN).tolist() == [False, False, False, False, True]
    assert frame_scope_mask(frame, DISTRICTS).tolist() == [False, False, False, False, True]


def test_scope_filter_narrows_everything_to_the_scope():
    assert scope_filter(None, KALASIN) == HouseholdFilter(provinces=("46",))
    narrowed = scope_filter(HouseholdFilter(levels=[1, 2]), DISTRICTS)
    assert (narrowed.provinces, narrowed.districts, narrowed.levels) == (("46",), ("4602", "4609"), (1, 2))
    # A district officer asking for their province gets their districts in it.
    assert scope_filter(HouseholdFilter(provinces=["46"]), DISTRICTS).districts == ("4602", "4609")
    # In-scope requests are kept as asked.
    expected = HouseholdFilter(provinces=("46",), districts=("4609",))
    assert scope_filter(HouseholdFilter(districts=["4609"]), KALASIN) == expected
    assert scope_filter(HouseholdFilter(districts=["4609"]), DISTRICTS).districts == ("4609",)


@pytest.mark.parametrize("user", [ADMIN, RESEARCHER, VIEWER])
def test_national_scope_keeps_the_filter(user):
    flt = HouseholdFilter(provinces=["34"], levels=[1])
    assert scope_filter(flt, user) is flt
    assert scope_filter(None, user).is_empty


@pytest.mark.parametrize(
    ("user", "flt", "named"),
    [
        (KALASIN, HouseholdFilter(provinces=["34"]), "34"),
        (KALASIN, HouseholdFilter(provinces=["46", "34"]), "34"),
        (KALASIN, HouseholdFilter(districts=["3401"]), "3401"),
        (DISTRICTS, HouseholdFilter(districts=["4601"]), "4601"),
        (DISTRICTS, HouseholdFilter(provinces=["34"]), "34"),
        (UBON, HouseholdFilter(provinces=["46"], districts=["4609"]), "4609"),
    ],
)
def test_out_of_scope_requests_are_denied(user, flt, named):
    with pytest.raises(AccessDenied) as caught:
        scope_filter(flt, user)
    exc = caught.value
    assert exc.reason == "scope"
    assert named in exc.message_en and named in exc.message_th
    assert "outside your area" in exc.message_en and "ไม่มีสิทธิ์" in exc.message_th
    assert str(exc) == f"{exc.message_th} · {exc.message_en}"


def test_scoped_mask(index):
    flt = HouseholdFilter(levels=[1, 2])
    mask = scoped_mask(index, flt, DISTRICTS)
    assert (mask == (filter_mask(index, flt) & scope_mask(index, DISTRICTS))).all()
    assert scoped_mask(index, None, ADMIN) is None
    assert (scoped_mask(index, None, KALASIN) == scope_mask(index, KALASIN)).all()
    with pytest.raises(AccessDenied):
        scoped_mask(index, HouseholdFilter(provinces=["34"]), KALASIN)


def test_scope_functions_check_their_arguments(index):
    with pytest.raises(TypeError, match="user must be a geo.access.roles.User"):
        scope_mask(index, "admin")
    with pytest.raises(TypeError, match="index must be"):
        scope_mask(pd.DataFrame(), ADMIN)
    with pytest.raises(TypeError, match="flt must be"):
        scope_filter({"provinces": ["46"]}, KALASIN)
    with pytest.raises(ValueError, match="missing columns"):
        frame_scope_mask(pd.DataFrame({"province_code": ["46"]}), KALASIN)


# ---------------------------------------------------------------------------------------------
# Resolution, k, rows, imports
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("user", "finest"), [(VIEWER, 7), (RESEARCHER, 8), (KALASIN, 9), (DISTRICTS, 9), (ADMIN, 10)])
def test_cap_resolution(user, finest):
    assert [cap_resolution(r, user) for r in range(5, 11)] == [min(r, finest) for r in range(5, 11)]


@pytest.mark.parametrize("res", [4, 11, "8", 8.0, True])
def test_cap_resolution_rejects_bad_res(res):
    with pytest.raises(EngineInputError, match="res must be one of"):
        cap_resolution(res, VIEWER)


def test_check_min_count():
    assert check_min_count(1, ADMIN) == 1
    assert check_min_count(25, VIEWER) == 25
    for user in (KALASIN, DISTRICTS, RESEARCHER, VIEWER):
        assert check_min_count(10, user) == 10
        with pytest.raises(AccessDenied) as caught:
            check_min_count(9, user)
        assert caught.value.reason == "min_count"
    with pytest.raises(EngineInputError):
        check_min_count(0, ADMIN)


@pytest.mark.parametrize("user", [RESEARCHER, VIEWER, public_viewer()])
def test_rows_denied_for_aggregate_roles(households, user):
    with pytest.raises(AccessDenied) as caught:
        household_rows(households, user)
    assert caught.value.reason == "rows"


def test_officer_rows_are_in_scope_without_ids_or_names(households):
    rows = household_rows(households, DISTRICTS)
    assert len(rows) == int(households["district_code"].isin(["4609", "4602"]).sum())
    assert set(rows["district_code"]) == {"4609", "4602"}
    assert not {"national_id_hash", "head_name", "national_id"} & set(rows.columns)
    assert set(rows.columns) <= set(access.ROW_COLUMNS)
    text = rows.to_csv(index=False)
    assert max_coordinate_decimals(text) <= access.OFFICER_POSITION_DECIMALS
    assert scan_output(text, names=households["head_name"].tolist(), max_decimals=3) == []
    assert "นายทดสอบ" not in text
    shown = rows["lat"].to_numpy(dtype=float, na_value=np.nan)
    original = households.loc[households["district_code"].isin(["4609", "4602"]), "lat"].to_numpy(dtype=float)
    assert np.nanmax(np.abs(shown - original)) <= 0.0005 + 1e-12


def test_admin_rows_keep_precise_positions_but_never_ids(households):
    rows = household_rows(households, ADMIN)
    assert len(rows) == len(households)
    assert np.allclose(rows["lat"].to_numpy(float, na_value=np.nan), households["lat"].to_numpy(float),
                       equal_nan=True)
    assert "national_id_hash" not in rows.columns and "head_name" not in rows.columns
    assert households["national_id_hash"].notna().all()  # the input is untouched


def test_check_import(households):
    inside = households[households["province_code"] == "46"].drop(columns=["head_name"])
    check_import(KALASIN, inside)
    check_import(ADMIN, households, mode="replace_all")
    with pytest.raises(AccessDenied, match="outside your area") as caught:
        check_import(KALASIN, households.drop(columns=["head_name"]))
    assert caught.value.reason == "scope" and "3401" in caught.value.message_en
    with pytest.raises(AccessDenied) as caught:
        check_import(KALASIN, inside, mode="replace_all")
    assert caught.value.reason == "import"
    with pytest.raises(AccessDenied, match="names"):
        check_import(KALASIN, households[households["province_code"] == "46"])
    for user in (RESEARCHER, VIEWER):
        with pytest.raises(AccessDenied) as caught:
            check_import(user, inside)
        assert caught.value.reason == "import"
    with pytest.raises(ValueError, match="mode must be"):
        check_import(ADMIN, inside, mode="merge")


# ---------------------------------------------------------------------------------------------
# Household rows follow every filter, exactly as the aggregates do
# ---------------------------------------------------------------------------------------------

EVERY_FILTER = [
    None,
    HouseholdFilter(provinces=["46"]),
    HouseholdFilter(provinces=["46"], districts=["4609"]),
    HouseholdFilter(levels=[1, 2]),
    HouseholdFilter(capitals_in_deficit=["natural", "financial"]),
    HouseholdFilter(in_tpmap=True),
    HouseholdFilter(in_tpmap=False),
    HouseholdFilter(verified=True),
    HouseholdFilter(verified=False),
    HouseholdFilter(assistance=["helped", "none"]),
    HouseholdFilter(pilots=["P01"]),
    HouseholdFilter(pilots=["none"]),
    HouseholdFilter(pilots=["P02", "none"]),
    HouseholdFilter(provinces=["46"], levels=[1], in_tpmap=False, verified=True, assistance=["referred"],
                    capitals_in_deficit=["human"], pilots=["P01", "none"]),
]


@pytest.mark.parametrize("flt", EVERY_FILTER, ids=lambda f: "none" if f is None else repr(f)[16:60])
def test_rows_and_aggregates_agree_for_every_filter(households, index, flt):
    rows = filter_rows(households, flt, index=index)
    counted = int(aggregate(index, "province", mask=filter_mask(index, flt))["households"].sum())
    assert len(rows) == counted
    # the rows are the ones the filter names, field by field
    if flt is not None and flt.levels:
        assert rows["poverty_level"].isin(flt.levels).all()
    if flt is not None and flt.in_tpmap is not None:
        assert (rows["in_tpmap"] == flt.in_tpmap).all()
    if flt is not None and flt.pilots == ("none",):
        assert rows["pilot_id"].isna().all()
    if flt is not None and flt.capitals_in_deficit:
        scores = rows[[f"capital_{c}" for c in flt.capitals_in_deficit]]
        assert (scores < flt.deficit_cutoff).any(axis=1).all()
    # and, through the scope, an officer's rows equal the scoped aggregate
    for user in (KALASIN, DISTRICTS, ADMIN):
        try:
            mask = scoped_mask(index, flt, user)
        except AccessDenied:
            continue  # a province asked for outside the scope: denied (tested above)
        shown = household_rows(select_rows(households, index, mask), user)
        assert len(shown) == int(aggregate(index, "province", mask=mask)["households"].sum()), user


def test_select_rows_keeps_frame_order_and_checks_its_arguments(households, index):
    mask = filter_mask(index, HouseholdFilter(levels=[1]))
    rows = select_rows(households, index, mask)
    assert rows.index.is_monotonic_increasing and rows["household_id"].tolist() == households.loc[
        households["poverty_level"] == 1, "household_id"].tolist()
    assert len(select_rows(households, index, None)) == len(households)
    with pytest.raises(EngineInputError, match="index was built from"):
        select_rows(households.head(5), index, mask)
    with pytest.raises(EngineInputError, match="mask must be a bool array"):
        select_rows(households, index, mask[:5])
    with pytest.raises(EngineInputError, match="index must be a HouseholdIndex"):
        select_rows(households, "index", mask)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Import history in scope
# ---------------------------------------------------------------------------------------------

IMPORTS = [
    {"file": "old.csv", "mode": "replace", "accepted": 5},  # before areas were recorded
    {"file": "kalasin.csv", "mode": "append", "accepted": 3, "provinces": ["46"], "districts": ["4601", "4609"]},
    {"file": "ubon.csv", "mode": "append", "accepted": 2, "provinces": ["34"], "districts": ["3401"]},
    {"file": "both.csv", "mode": "append", "accepted": 9, "provinces": ["34", "46"], "districts": ["3401", "4602"]},
]


@pytest.mark.parametrize("user, files", [
    (ADMIN, ["old.csv", "kalasin.csv", "ubon.csv", "both.csv"]),
    (RESEARCHER, ["old.csv", "kalasin.csv", "ubon.csv", "both.csv"]),
    (public_viewer(), ["old.csv", "kalasin.csv", "ubon.csv", "both.csv"]),
    (KALASIN, ["kalasin.csv", "both.csv"]),
    (UBON, ["ubon.csv", "both.csv"]),
    (DISTRICTS, ["kalasin.csv", "both.csv"]),
    (User("d4601", "district_officer", districts=("4601",)), ["kalasin.csv"]),
    (User("d3402", "district_officer", districts=("3402",)), []),
])
def test_imports_in_scope(user, files):
    shown = imports_in_scope(IMPORTS, user)
    assert [e["file"] for e in shown] == files
    if not user.scope.is_national:
        for entry in shown:  # areas narrowed to the scope: other provinces are not named
            assert all(user.scope.includes(d) for d in entry["districts"])
            assert set(entry["provinces"]) == {d[:2] for d in entry["districts"]}
    assert IMPORTS[3]["districts"] == ["3401", "4602"]  # the input is untouched


def test_imports_in_scope_checks_its_arguments():
    with pytest.raises(TypeError, match="imports must be a list"):
        imports_in_scope("old.csv", ADMIN)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        imports_in_scope(IMPORTS, "admin")  # type: ignore[arg-type]


def test_provenance_records_each_files_areas(households, tmp_path):
    first = households[households["district_code"] == "4609"]
    second = households[households["province_code"] == "34"]
    both = pd.concat([first, second], ignore_index=True).drop(columns=["head_name"])
    entries = [{"file": "a.csv", "content_hash": "a", "accepted": len(first)},
               {"file": "b.csv", "content_hash": "b", "accepted": len(second)}]
    save_households(both, entries, store=tmp_path)
    stored = load_provenance(tmp_path)
    assert [(e["provinces"], e["districts"]) for e in stored] == [(["46"], ["4609"]), (["34"], ["3401"])]
    assert [e["file"] for e in imports_in_scope(stored, KALASIN)] == ["a.csv"]
    assert [e["file"] for e in imports_in_scope(stored, UBON)] == ["b.csv"]
    assert "provinces" not in entries[0]  # the caller's entries are not changed
    # counts that do not add up: every file gets the whole import's areas
    loose = entries_with_areas(both, [{"file": "a.csv", "accepted": 1}, {"file": "b.csv"}])
    assert all(e["districts"] == ["3401", "4609"] for e in loose)


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------

HASH = hash_password("kalasin-password-1", salt=b"\x01" * 16)


def test_example_config_loads(repo_root):
    config = load_access_config(repo_root / "config" / "access.example.toml")
    assert config.mode == "local" and not config.public_access
    roles = {u.username: u.role for u in config.users}
    assert set(roles.values()) == set(ROLES)
    assert config.user("KALASIN").provinces == ("46",)
    assert config.anonymous_user() is None
    assert config.warnings == ()
    # The example's hashes are of passwords nobody knows: every one is well-formed.
    assert len(config.password_hashes) == len(config.users)


def _toml(tmp_path, text):
    path = tmp_path / "access.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD_USER = (f'[[users]]\nusername = "kalasin"\nrole = "provincial_officer"\nprovinces = ["46"]\n'
             f'password_hash = "{HASH}"\n')


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[auth]\nmode = 'ldap'\n", "auth.mode must be one of oidc, local, none; got 'ldap'"),
        ("users = []\n", "[auth] is required"),
        ("[auth]\nmode = 'none'\n[extra]\n", "unknown key 'extra' at the top level"),
        ("[auth]\nmode = 'local'\nmod = 1\n", "auth: unknown key 'mod'"),
        ("[auth]\nmode = 'local'\npublic_access = 'yes'\n" + GOOD_USER, "auth.public_access must be true or false"),
        ("[auth]\nmode = 'local'\nmax_failed_logins = 0\n" + GOOD_USER,
         "auth.max_failed_logins must be an integer 1-100"),
        ("[auth]\nmode = 'local'\nlockout_seconds = -1\n" + GOOD_USER, "auth.lockout_seconds must be a number"),
        ("[auth]\nmode = 'oidc'\noidc_provider = 'a b'\n", "auth.oidc_provider must be a provider name"),
        ("[auth]\nmode = 'local'\n", "needs at least one [[users]] entry"),
        ("[auth]\nmode = 'local'\n[[users]]\nusername = 'a'\nrole = 'boss'\n", "users[0] ('a').role must be one of"),
        ("[auth]\nmode = 'local'\n[[users]]\nrole = 'viewer'\n", "users[0]: username is required"),
        ("[auth]\nmode = 'local'\n[[users]]\nusername = 'a'\n", "users[0] ('a'): role is required"),
        ("[auth]\nmode = 'none'\n[[users]]\nusername = 'a'\nrole = 'viewer'\nrole2 = 1\n", "unknown key 'role2'"),
        ("[auth]\nmode = 'local'\n[[users]]\nusername = 'a'\nrole = 'viewer'\npassword = 'secret'\n",
         "plain passwords are never accepted"),
        ("[auth]\nmode = 'local'\n[[users]]\nusername = 'a'\nrole = 'provincial_officer'\nprovinces = [46]\n",
         "users[0] ('a').provinces must hold 2-digit province codes (text, in quotes)"),
        ("[auth]\nmode = 'local'\n[[users]]\nusername = 'a'\nrole = 'provincial_officer'\nprovinces = ['460']\n",
         "2-digit province codes"),
        ("[auth]\nmode = 'local'\n[[users]]\nusername = 'a'\nrole = 'provincial_officer'\nprovinces = ['00']\n",
         "'00' is not a current Thai province"),
        ("[auth]\nmode = 'local'\n[[users]]\nusername = 'a'\nrole = 'district_officer'\ndistricts = ['4650']\n",
         "'4650' is not a current Thai district"),
        ("[auth]\nmode = 'local'\n[[users]]\nusername = 'a'\nrole = 'district_officer'\n",
         "users[0] ('a').districts: a district_officer needs at least one district"),
        ("[auth]\nmode = 'local'\n" + GOOD_USER + GOOD_USER.replace("kalasin", "KALASIN", 1),
         "users[1].username: duplicate username 'KALASIN'"),
        ("[auth]\nmode = 'local'\n[[users]]\nusername = 'public'\nrole = 'viewer'\n", "'public' is reserved"),
        ("[auth]\nmode = 'local'\n[[users]]\nusername = 'a'\nrole = 'viewer'\n", "password_hash is required"),
        ("[auth]\nmode = 'local'\n[[users]]\nusername = 'a'\nrole = 'viewer'\npassword_hash = 'md5$abc'\n",
         "password_hash must have the form scrypt$n$r$p$salt_b64$hash_b64"),
        ("[auth]\nmode = 'local'\n[[users]]\nusername = 'a'\nrole = 'viewer'\n"
         "password_hash = 'scrypt$1024$8$1$AAAA$AAAA'\n",
         "n must be a power of two from 16384"),
        ("[auth]\nmode = 'oidc'\n[[users]]\nusername = 'a'\nrole = 'viewer'\n",
         "email is required with mode = \"oidc\""),
        ("[auth]\nmode = 'oidc'\n[[users]]\nusername = 'a'\nrole = 'viewer'\nemail = 'not-an-email'\n",
         "email must be an email address"),
        ("[auth]\nmode = 'oidc'\n[[users]]\nusername = 'a'\nrole = 'viewer'\nemail = 'x@example.org'\n"
         "[[users]]\nusername = 'b'\nrole = 'viewer'\nemail = 'X@Example.org'\n", "also the email of 'a'"),
        ("users = 3\n[auth]\nmode = 'local'\n", "users must be written as [[users]] tables"),
        ("[auth\nmode = 'local'\n", "not valid TOML"),
    ],
)
def test_config_errors_name_the_bad_key(tmp_path, text, message):
    path = _toml(tmp_path, text)
    with pytest.raises(AccessConfigError) as caught:
        load_access_config(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_config_locations(tmp_path, monkeypatch):
    monkeypatch.delenv(access.ACCESS_CONFIG_ENV, raising=False)
    monkeypatch.setattr(access, "DEFAULT_ACCESS_CONFIG", tmp_path / "absent.toml")
    config = load_access_config()
    assert config.mode == "none" and config.anonymous_user() == public_viewer()
    with pytest.raises(AccessConfigError, match="no such access configuration file"):
        load_access_config(tmp_path / "missing.toml")
    monkeypatch.setenv(access.ACCESS_CONFIG_ENV, str(tmp_path / "missing.toml"))
    with pytest.raises(AccessConfigError, match=re.escape("(from $PPAP_ACCESS_CONFIG)")):
        load_access_config()
    monkeypatch.setenv(access.ACCESS_CONFIG_ENV, str(_toml(tmp_path, "[auth]\nmode = 'local'\n" + GOOD_USER)))
    assert load_access_config().user("kalasin") == KALASIN


def test_config_warnings(tmp_path):
    config = load_access_config(_toml(tmp_path, "[auth]\nmode = 'none'\n[[users]]\nusername = 'a'\nrole = 'viewer'\n"))
    assert config.public_access and any("ignored" in w for w in config.warnings)
    config = load_access_config(_toml(tmp_path, "[auth]\nmode = 'local'\n" + GOOD_USER))
    assert any("no administrator" in w for w in config.warnings)


# ---------------------------------------------------------------------------------------------
# Passwords, lockout, logging in
# ---------------------------------------------------------------------------------------------


def test_password_hash_round_trip_and_format():
    stored = hash_password("correct horse battery staple")
    assert re.fullmatch(r"scrypt\$16384\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=", stored)
    n, r, p, salt, digest = parse_password_hash(stored)
    assert (n, r, p, len(salt), len(digest)) == (2**14, 8, 1, 16, 32)
    assert verify_password("correct horse battery staple", stored)
    assert not verify_password("correct horse battery stapl", stored)
    assert not verify_password("", stored)
    assert not verify_password("x" * 5000, stored)


def test_salts_differ():
    first, second = hash_password("same password here"), hash_password("same password here")
    assert first != second
    assert first.split("$")[4] != second.split("$")[4]
    assert verify_password("same password here", first) and verify_password("same password here", second)
    fixed = b"\x02" * 16
    assert hash_password("same password here", salt=fixed) == hash_password("same password here", salt=fixed)


@pytest.mark.parametrize("bad", ["short", "", 12345678901234, "x" * 1025])
def test_hash_password_refuses(bad):
    with pytest.raises(ValueError, match="password must be text of 12-1024 characters"):
        hash_password(bad)


@pytest.mark.parametrize("bad", ["scrypt$16384$8$1$AAAA", "scrypt$x$8$1$AAAA$AAAA", "scrypt$16384$8$1$!!$AAAA",
                                 "scrypt$16384$64$1$" + "A" * 24 + "$" + "A" * 44, None])
def test_parse_password_hash_refuses(bad):
    with pytest.raises(ValueError, match="password_hash"):
        parse_password_hash(bad)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_lockout_with_fake_clock():
    clock = FakeClock()
    limiter = LoginLimiter(5, 60, clock=clock)
    for _ in range(4):
        limiter.failure("Kalasin")
        limiter.check("kalasin")
    limiter.failure("kalasin ")
    assert limiter.seconds_locked("KALASIN") == 60
    with pytest.raises(AccessDenied, match="60 s") as caught:
        limiter.check("kalasin")
    assert caught.value.reason == "locked"
    limiter.check("other")  # per username
    clock.now += 59.5
    with pytest.raises(AccessDenied, match="1 s"):
        limiter.check("kalasin")
    clock.now += 0.5
    limiter.check("kalasin")
    limiter.failure("kalasin")  # the count starts again after a lockout
    assert limiter.seconds_locked("kalasin") == 0
    for _ in range(3):
        limiter.failure("b")
    limiter.success("b")
    for _ in range(4):
        limiter.failure("b")
    limiter.check("b")


def test_limiter_forgets_oldest_names():
    limiter = LoginLimiter(1, 60, clock=FakeClock(), max_tracked=3)
    for name in ("a", "b", "c", "d"):
        limiter.failure(name)
    assert limiter.seconds_locked("a") == 0 and limiter.seconds_locked("d") == 60


@pytest.fixture(scope="module")
def local_config() -> AccessConfig:
    return parse_access_config({
        "auth": {"mode": "local", "max_failed_logins": 5, "lockout_seconds": 60},
        "users": [
            {"username": "kalasin", "role": "provincial_officer", "provinces": ["46"], "password_hash": HASH},
            {"username": "admin", "role": "administrator", "password_hash": hash_password("admin-password-1")},
        ],
    })


def test_authenticate_local(local_config):
    clock = FakeClock()
    limiter = local_config.new_limiter(clock=clock)
    assert authenticate_local(local_config, "Kalasin", "kalasin-password-1", limiter=limiter) == KALASIN
    messages = set()
    for name, password in (("kalasin", "wrong-password-xx"), ("nobody", "kalasin-password-1")):
        with pytest.raises(AccessDenied) as caught:
            authenticate_local(local_config, name, password, limiter=limiter)
        assert caught.value.reason == "login"
        messages.add(str(caught.value))
    assert len(messages) == 1  # a wrong password and an unknown user read the same
    with pytest.raises(AccessDenied, match="Wrong username or password"):
        authenticate_local(local_config, "admin", "kalasin-password-1", limiter=limiter)


def test_lockout_blocks_even_the_right_password(local_config):
    clock = FakeClock()
    limiter = local_config.new_limiter(clock=clock)
    for _ in range(5):
        with pytest.raises(AccessDenied, match="Wrong"):
            authenticate_local(local_config, "kalasin", "guess-guess-guess", limiter=limiter)
    with pytest.raises(AccessDenied) as caught:
        authenticate_local(local_config, "kalasin", "kalasin-password-1", limiter=limiter)
    assert caught.value.reason == "locked"
    clock.now += 61
    assert authenticate_local(local_config, "kalasin", "kalasin-password-1", limiter=limiter) == KALASIN


def test_oidc_mapping():
    data = {
        "auth": {"mode": "oidc"},
        "users": [{"username": "kalasin", "role": "provincial_officer", "provinces": ["46"],
                   "email": "Officer@Example.org"}],
    }
    closed = parse_access_config(data)
    assert resolve_oidc_user(closed, " officer@example.ORG ") == KALASIN
    for email, verified in (("stranger@example.org", None), (None, None), ("officer@example.org", False)):
        with pytest.raises(AccessDenied) as caught:
            resolve_oidc_user(closed, email, email_verified=verified)
        assert caught.value.reason == "unknown_identity"
    assert closed.anonymous_user() is None
    opened = parse_access_config({**data, "auth": {"mode": "oidc", "public_access": True}})
    assert resolve_oidc_user(opened, "stranger@example.org") == public_viewer()
    assert opened.anonymous_user() == public_viewer()
    with pytest.raises(AccessConfigError, match="needs mode"):
        resolve_oidc_user(parse_access_config({"auth": {"mode": "none"}}), "a@b.org")
    with pytest.raises(AccessConfigError, match="needs mode"):
        authenticate_local(closed, "kalasin", "x", limiter=LoginLimiter())


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def test_cli_hash_password_reads_stdin(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    assert cli_main(["access", "hash-password"]) == 0
    out = capsys.readouterr().out.strip()
    assert verify_password("a long enough password", out)
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert cli_main(["access", "hash-password"]) == 2
    assert "at least 12 characters" in capsys.readouterr().err


def test_cli_hash_password_takes_no_password_argument(repo_root):
    result = subprocess.run([sys.executable, "-m", "geo", "access", "hash-password", "secret-on-argv"],
                            cwd=repo_root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "unrecognized arguments" in result.stderr


def test_cli_check_config(repo_root, tmp_path, capsys):
    assert cli_main(["access", "check-config", str(repo_root / "config" / "access.example.toml")]) == 0
    out = capsys.readouterr().out
    assert "mode: local" in out and "kalasin" in out and "46 Kalasin" in out and "scrypt$" not in out
    bad = _toml(tmp_path, "[auth]\nmode = 'local'\n[[users]]\nusername = 'a'\nrole = 'boss'\n")
    assert cli_main(["access", "check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "role must be one of" in err and "Traceback" not in err
