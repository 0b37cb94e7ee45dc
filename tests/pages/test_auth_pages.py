"""Logins and the audit log in the app (AppTest): the idle timeout logs out with an ``expired``
record, one client guessing many usernames is locked out, anonymous visitors are told apart by
their session id, the OpenID Connect button appears only when ``secrets.toml`` configures it, and
the Audit page reports a log cut short or deleted."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo.access import audit
from geo.access.roles import hash_password, public_viewer
from geo.errors import AccessDenied
from tests.pages.conftest import APP_PATH, PASSWORDS, TIMEOUT_S, log_in, open_app, page_text, rerun, write_access_config

OIDC_SECRETS = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "c" * 40,
    "client_id": "ppap-atlas",
    "client_secret": "s3cret",
    "server_metadata_url": "https://login.example.org/.well-known/openid-configuration",
}


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.is_file() else []


@pytest.fixture(autouse=True)
def _no_audit_key(monkeypatch):
    monkeypatch.delenv(audit.AUDIT_KEY_ENV, raising=False)
    monkeypatch.delenv(audit.AUDIT_ANCHOR_ENV, raising=False)


def test_an_idle_session_is_logged_out_and_recorded_as_expired(tiny_dir, access_users, audit_log):
    at = open_app("households", login="kalasin")
    assert at.session_state["auth_user"].username == "kalasin"
    at.session_state["auth_last_seen"] = time.time() - 31 * 60  # default idle timeout: 30 min
    rerun(at)
    assert "auth_user" not in at.session_state
    assert "30 นาที" in page_text(at)  # "your session ended after 30 minutes without use"
    expired = [r for r in records(audit_log) if r["event"] == "expired"]
    assert len(expired) == 1 and expired[0]["username"] == "kalasin" and "idle" in expired[0]["detail"]
    assert expired[0]["session"] == at.session_state["auth_session_id"]


def test_an_active_session_is_not_expired(tiny_dir, access_users, audit_log):
    at = open_app("households", login="kalasin")
    at.session_state["auth_last_seen"] = time.time() - 29 * 60
    rerun(at)
    assert at.session_state["auth_user"].username == "kalasin"
    assert not [r for r in records(audit_log) if r["event"] == "expired"]


def test_one_client_guessing_many_usernames_is_locked_out(tiny_dir, tmp_path, monkeypatch, audit_log):
    config = write_access_config(tmp_path / "access.toml")
    text = config.read_text(encoding="utf-8").replace(
        "public_access = true", "public_access = true\nmax_failed_logins_per_client = 3", 1)
    config.write_text(text, encoding="utf-8")
    monkeypatch.setenv("PPAP_ACCESS_CONFIG", str(config))
    at = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S)
    rerun(at)
    for name in ("alice", "bob", "carol"):  # one wrong guess each: no username is locked
        log_in(at, name, "not the password at all")
        assert "auth_user" not in at.session_state
    log_in(at, "admin", PASSWORDS["admin"])  # the right password, from the same client: refused
    assert "auth_user" not in at.session_state
    assert "Too many failed logins" in str(at.session_state["auth_error"])
    failed = [r for r in records(audit_log) if r["event"] == "login_failed"]
    assert [r["detail"] for r in failed] == ["login", "login", "login", "locked"]
    assert {r["session"] for r in failed} == {at.session_state["auth_session_id"]}
    other = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S)  # another browser session
    rerun(other)
    log_in(other, "admin", PASSWORDS["admin"])
    assert other.session_state["auth_user"].username == "admin"


def test_anonymous_visitors_are_recorded_by_session(tiny_dir, audit_log):
    first, second = open_app("audit"), open_app("audit")  # the public viewer is refused the audit page
    denied = [r for r in records(audit_log) if r["event"] == "denied"]
    assert {r["username"] for r in denied} == {"public"}
    sessions = {r["session"] for r in denied}
    assert sessions == {first.session_state["auth_session_id"], second.session_state["auth_session_id"]}
    assert len(sessions) == 2 and all(len(s) == 12 for s in sessions)
    assert all(r["page"] == "audit" for r in denied)


def _oidc_config(path: Path) -> Path:
    path.write_text("\n".join([
        "[auth]", 'mode = "oidc"', "public_access = false", "",
        "[[users]]", 'username = "admin"', 'role = "administrator"', 'email = "admin@example.org"', "",
    ]), encoding="utf-8")
    return path


def test_oidc_button_only_when_secrets_configure_it(tiny_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PPAP_ACCESS_CONFIG", str(_oidc_config(tmp_path / "access.toml")))
    at = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S)
    rerun(at)
    assert not [b for b in at.button if b.key == "auth_oidc_login"]
    assert any("[auth]" in e.value for e in at.error)  # says what is missing
    assert not [f for f in at.text_input if f.key == "auth_username"]  # and no password form
    configured = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S)
    configured.secrets["auth"] = OIDC_SECRETS
    rerun(configured)
    assert [b for b in configured.button if b.key == "auth_oidc_login"]
    assert not configured.error


def test_oidc_identity_maps_to_the_configured_user(tiny_dir, tmp_path, monkeypatch):
    from geo.access.roles import load_access_config, resolve_oidc_user

    config = load_access_config(_oidc_config(tmp_path / "access.toml"))
    assert resolve_oidc_user(config, "Admin@Example.org", email_verified=True).role == "administrator"
    with pytest.raises(AccessDenied):
        resolve_oidc_user(config, "stranger@example.org")


def test_local_mode_has_no_oidc_button(tiny_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PPAP_ACCESS_CONFIG", str(write_access_config(tmp_path / "access.toml",
                                                                     public_access=False)))
    at = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S)
    at.secrets["auth"] = OIDC_SECRETS
    rerun(at)
    assert [f for f in at.text_input if f.key == "auth_username"]
    assert not [b for b in at.button if b.key == "auth_oidc_login"]


def _write(log: Path, n: int) -> None:
    for i in range(n):
        audit.log_event("household_view", public_viewer("x1"), what=f"view {i}", path=log)


def test_audit_page_reports_a_log_cut_short(tiny_dir, access_users, audit_log):
    _write(audit_log, 6)
    lines = audit_log.read_bytes().splitlines(keepends=True)
    audit_log.write_bytes(b"".join(lines[:3]))
    at = open_app("audit", login="admin")  # the login is written after a recorded break
    shown = page_text(at)
    assert any("break" in e.value for e in at.error), shown
    assert [r["event"] for r in records(audit_log)][3] == "audit_break"


def test_audit_page_reports_a_deleted_log(tiny_dir, access_users, audit_log, tmp_path, monkeypatch):
    _write(audit_log, 4)
    audit_log.unlink()
    audit_log.with_name(audit_log.name + ".head").unlink()
    assert not audit.check_audit_log(audit_log).ok
    at = open_app("audit", login="admin")
    assert at.error and "deleted" in at.error[0].value


def test_audit_key_from_secrets_signs_the_checkpoints(tiny_dir, access_users, audit_log, monkeypatch):
    monkeypatch.setenv(audit.AUDIT_KEY_ENV, "")  # unset, and restored after: the app sets it from secrets
    at = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S)
    at.secrets["ppap_audit_key"] = "a-long-random-audit-key-0123456789"
    rerun(at)
    log_in(at, "admin", PASSWORDS["admin"])
    anchor = json.loads(audit.anchor_path(audit_log).read_text())
    assert anchor["mac"] and audit.check_audit_log(audit_log).keyed
