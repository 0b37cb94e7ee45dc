"""Tests for the audit log's defences added after the security review: truncation and deletion are
detected and recorded, never re-sealed (the anchor apart from the log, the keyed checkpoints);
every record says who (an anonymous visitor's session id) and what (page, area, filters, format);
failed imports, expiries and anonymous denial floods (rate-limited, summarised)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from geo.access import audit
from geo.access.roles import User, public_viewer
from geo.errors import AccessDenied
from geo.access.audit import (
    LEGACY_RECORD_FIELDS,
    RECORD_FIELDS,
    DenialBudget,
    anchor_path,
    check_audit_log,
    log_denied,
    log_event,
    log_export,
    log_import_failed,
    read_audit,
    sha256_hex,
    verify_audit_log,
    view_fields,
)
from geo.errors import AuditError
from geo.cli import main as cli_main
from geo.views.viewstate import ViewState

ADMIN = User("admin", "administrator", session_id="adm1")
KALASIN = User("kalasin", "provincial_officer", provinces=("46",), session_id="k46s")
T0 = dt.datetime(2026, 11, 21, 3, 4, 5, 123000, tzinfo=dt.timezone.utc)


@pytest.fixture(autouse=True)
def _no_key(monkeypatch):
    monkeypatch.delenv(audit.AUDIT_KEY_ENV, raising=False)
    monkeypatch.delenv(audit.AUDIT_ANCHOR_ENV, raising=False)


@pytest.fixture
def log(tmp_path) -> Path:
    return tmp_path / "audit" / "audit.jsonl"


def write_some(log: Path, n: int = 9) -> list[dict]:
    return [log_event("household_view", KALASIN, what=f"view {i}", rows=i, path=log, now=T0) for i in range(n)]


def records(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_bytes().splitlines()]


def cut_end(log: Path, keep: int, *, reseal_head: bool = False) -> None:
    """What someone cleaning the log quietly does: drop records off the end (and fix the head)."""
    lines = log.read_bytes().splitlines(keepends=True)[:keep]
    log.write_bytes(b"".join(lines))
    if reseal_head:
        last = lines[-1].rstrip(b"\n")
        log.with_name(log.name + ".head").write_text(
            json.dumps({"lines": keep, "last_line_sha256": hashlib.sha256(last).hexdigest()}))


# ---------------------------------------------------------------------------------------------
# Truncation and deletion
# ---------------------------------------------------------------------------------------------


def test_anchor_is_kept_apart_from_the_log(log, tmp_path, monkeypatch):
    write_some(log, 2)
    anchor = anchor_path(log)
    assert anchor == tmp_path / "audit-anchor" / "audit.jsonl.anchor" and anchor.is_file()
    assert anchor.parent != log.parent
    assert json.loads(anchor.read_text())["lines"] == 2
    monkeypatch.setenv(audit.AUDIT_ANCHOR_ENV, str(tmp_path / "elsewhere"))
    assert anchor_path(log) == tmp_path / "elsewhere" / "audit.jsonl.anchor"


def test_cut_end_then_next_event_is_recorded_as_a_break_not_resealed(log):
    write_some(log, 9)
    cut_end(log, 6)
    log_event("login", ADMIN, path=log, now=T0)  # today's code chained on and reported "ok"
    written = records(log)
    assert [r["event"] for r in written[6:]] == ["audit_break", "login"]
    assert "3 records removed from the end" in written[6]["detail"]
    assert written[6]["username"] == "(audit)"
    check = check_audit_log(log)
    assert not check.ok and check.first_bad_line == 7 and check.breaks == (7,)
    assert "break" in check.problem
    # ... and it stays reported: more events do not wash it out.
    log_event("logout", ADMIN, path=log, now=T0)
    assert not check_audit_log(log).ok


def test_cut_end_with_a_resealed_head_is_caught_by_the_anchor(log):
    write_some(log, 9)
    cut_end(log, 6, reseal_head=True)
    check = check_audit_log(log)
    assert not check.ok and check.first_bad_line == 7
    assert "removed" in check.problem and "anchor" in check.problem


def test_deleted_log_and_head_are_reported_not_ok_zero_records(log):
    write_some(log, 4)
    log.unlink()
    log.with_name("audit.jsonl.head").unlink()
    check = check_audit_log(log)  # today's code: "ok, 0 records"
    assert not check.ok and check.first_bad_line == 1
    assert "log is missing but 4 records were written" in check.problem
    table = read_audit(ADMIN, log)
    assert table.empty and not table.attrs["check"].ok


def test_deleted_log_then_next_event_starts_with_a_break(log):
    write_some(log, 4)
    log.unlink()
    log.with_name("audit.jsonl.head").unlink()
    log_event("login", ADMIN, path=log, now=T0)
    first, second = records(log)
    assert first["event"] == "audit_break" and first["seq"] == 1 and "deleted" in first["detail"]
    assert second["event"] == "login" and second["seq"] == 2
    assert not check_audit_log(log).ok


def test_deleted_anchor_is_reported_and_recorded(log):
    write_some(log, 3)
    anchor_path(log).unlink()
    assert not check_audit_log(log).ok
    log_event("login", ADMIN, path=log, now=T0)
    assert records(log)[3]["event"] == "audit_break"
    assert "anchor is missing" in records(log)[3]["detail"]


def test_cli_reports_deletion(log, capsys):
    write_some(log, 2)
    log.unlink()
    log.with_name("audit.jsonl.head").unlink()
    assert cli_main(["access", "verify-audit", str(log)]) == 1
    assert "NOT OK" in capsys.readouterr().out


def test_intact_log_stays_ok(log):
    write_some(log, 5)
    check = check_audit_log(log)
    assert check.ok and check.lines == 5 and check.breaks == () and not check.keyed


# ---------------------------------------------------------------------------------------------
# Keyed checkpoints
# ---------------------------------------------------------------------------------------------


def test_keyed_checkpoints_cannot_be_forged_without_the_key(log, monkeypatch):
    monkeypatch.setenv(audit.AUDIT_KEY_ENV, "k" * 32)
    write_some(log, 6)
    assert check_audit_log(log).keyed and check_audit_log(log).ok
    # Truncate and rewrite both checkpoints consistently, but without the key.
    cut_end(log, 4)
    last = log.read_bytes().splitlines()[-1]
    forged = json.dumps({"lines": 4, "last_line_sha256": hashlib.sha256(last).hexdigest(), "mac": None})
    log.with_name("audit.jsonl.head").write_text(forged)
    anchor_path(log).write_text(forged)
    check = check_audit_log(log)
    assert not check.ok and "not signed" in check.problem
    log_event("login", ADMIN, path=log, now=T0)
    assert records(log)[4]["event"] == "audit_break"
    # ... or signed with another key
    monkeypatch.setenv(audit.AUDIT_KEY_ENV, "z" * 32)
    assert "signature does not match" in check_audit_log(log).problem


def test_signed_log_without_the_key_refuses_to_write(log, monkeypatch):
    monkeypatch.setenv(audit.AUDIT_KEY_ENV, "k" * 32)
    write_some(log, 2)
    monkeypatch.delenv(audit.AUDIT_KEY_ENV)
    assert "cannot be checked" in check_audit_log(log).problem
    with pytest.raises(AuditError, match="PPAP_AUDIT_KEY"):
        log_event("login", ADMIN, path=log, now=T0)


def test_short_key_is_refused(log, monkeypatch):
    monkeypatch.setenv(audit.AUDIT_KEY_ENV, "short")
    with pytest.raises(AuditError, match="at least 16"):
        log_event("login", ADMIN, path=log, now=T0)


def test_legacy_records_still_check(log):
    previous = audit.GENESIS
    lines = []
    for seq in (1, 2):
        record = {"seq": seq, "time": "2026-11-21T03:04:05.123Z", "event": "login", "username": "admin",
                  "role": "administrator", "scope": "administrator|all", "what": "", "rows": None,
                  "file_sha256": None, "detail": "", "prev": previous}
        record["hash"] = audit._record_hash(record)
        assert tuple(record) == LEGACY_RECORD_FIELDS
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
        lines.append(line)
        previous = hashlib.sha256(line).hexdigest()
    log.parent.mkdir(parents=True)
    log.write_bytes(b"\n".join(lines) + b"\n")
    audit._write_checkpoint(log.with_name("audit.jsonl.head"), 2, previous, None)
    audit._write_checkpoint(anchor_path(log), 2, previous, None)
    assert check_audit_log(log).ok
    log_event("logout", ADMIN, path=log, now=T0)
    assert tuple(records(log)[2]) == RECORD_FIELDS and check_audit_log(log).ok


# ---------------------------------------------------------------------------------------------
# Who and what
# ---------------------------------------------------------------------------------------------


def test_anonymous_visitors_are_told_apart_by_session(log):
    log_event("export", public_viewer("a1b2c3"), what="x", path=log, now=T0)
    log_event("export", public_viewer("d4e5f6"), what="x", path=log, now=T0)
    log_event("login_failed", None, session="g7h8", detail="login", path=log, now=T0)
    got = [(r["username"], r["session"]) for r in records(log)]
    assert got == [("public", "a1b2c3"), ("public", "d4e5f6"), ("(unknown)", "g7h8")]
    assert "session" in read_audit(ADMIN, log).columns


def test_table_export_carries_page_area_filters_and_format(log):
    view = ViewState(provinces=("46",), levels=(1, 2), by="district", area="4609", min_count=12)
    data = b"area,households\n4609,120\n"
    record = log_export(KALASIN, page="households", fmt="csv", data=data, view=view, rows=1,
                        what="households_by_district", path=log, now=T0)
    assert record["event"] == "export" and record["page"] == "households" and record["format"] == "csv"
    assert record["area"] == "4609"
    assert "prov=46" in record["filters"] and "level=1,2" in record["filters"] and "by=district" in record["filters"]
    assert "k=12" in record["filters"]
    assert record["file_sha256"] == sha256_hex(data) and record["session"] == "k46s"
    table = read_audit(ADMIN, log)
    assert table.loc[0, ["page", "area", "format"]].tolist() == ["households", "4609", "csv"]


def test_view_fields_of_the_opening_view():
    assert view_fields(ViewState()) == {"area": "all", "filters": ""}
    with pytest.raises(TypeError, match="ViewState"):
        view_fields({"prov": "46"})


def test_failed_import_is_logged_without_the_file_name(log):
    record = log_import_failed(KALASIN, error=ValueError("no header row in นายสมชาย.csv"), data=b"garbage",
                               file_name="นายสมชาย ใจดี 1101700203450.xlsx", mode="append", path=log, now=T0)
    assert record["event"] == "import_failed" and record["format"] == "xlsx" and record["page"] == "data"
    assert record["file_sha256"] == sha256_hex(b"garbage")
    text = log.read_text(encoding="utf-8")
    assert "สมชาย" not in text and "1101700203450" not in text
    assert check_audit_log(log).ok


def test_expired_and_logout_are_events(log):
    log_event("expired", KALASIN, detail="idle 30 min", path=log, now=T0)
    log_event("logout", KALASIN, path=log, now=T0)
    assert [r["event"] for r in records(log)] == ["expired", "logout"]


def test_callers_cannot_write_system_events(log):
    for event in audit.SYSTEM_EVENTS:
        with pytest.raises(ValueError, match="event must be one of"):
            log_event(event, ADMIN, path=log)


def test_bad_format_and_session_are_refused(log):
    with pytest.raises(ValueError, match="fmt"):
        log_event("export", ADMIN, fmt="CSV; DROP", path=log)
    with pytest.raises(ValueError, match="session"):
        log_event("export", ADMIN, session="x" * 65, path=log)


# ---------------------------------------------------------------------------------------------
# Anonymous denial floods
# ---------------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_anonymous_denial_flood_is_counted_and_summarised(log):
    clock = Clock()
    budget = DenialBudget(burst=5, per_minute=6, clock=clock)
    flooder = public_viewer("flood1")
    denied = AccessDenied("ไม่อนุญาต", "not allowed", reason="scope")
    written = [log_denied(flooder, denied, what="overview ?prov=34", path=log, budget=budget, now=T0)
               for _ in range(200)]
    assert sum(r is not None for r in written) == 5
    assert len(records(log)) == 5  # not 200
    clock.now += 10.0  # one token back (6 a minute)
    log_denied(flooder, denied, what="overview ?prov=34", path=log, budget=budget, now=T0)
    summary, last = records(log)[-2:]
    assert summary["event"] == "denials_summarised" and summary["rows"] == 195
    assert summary["session"] == "flood1" and last["event"] == "denied"
    assert check_audit_log(log).ok


def test_another_anonymous_session_and_logged_in_users_are_not_held_back(log):
    budget = DenialBudget(burst=2, per_minute=0.01, clock=Clock())
    denied = AccessDenied("ไม่อนุญาต", "not allowed", reason="scope")
    for _ in range(10):
        log_denied(public_viewer("a"), denied, path=log, budget=budget)
    assert log_denied(public_viewer("b"), denied, path=log, budget=budget) is not None
    assert all(log_denied(KALASIN, denied, path=log, budget=budget) is not None for _ in range(10))
    events = [(r["session"], r["event"]) for r in records(log)]
    assert events.count(("a", "denied")) == 2 and events.count(("k46s", "denied")) == 10


def test_all_anonymous_sessions_share_a_ceiling():
    budget = DenialBudget(burst=5, per_minute=1, shared_burst=20, shared_per_minute=0.01, clock=Clock())
    admitted = sum(budget.admit(f"s{i}")[0] for i in range(100))
    assert admitted == 20


def test_household_view_carries_page_area_and_filters(log):
    import pandas as pd

    from geo.access.roles import ROW_COLUMNS

    frame = pd.DataFrame({c: [] for c in ROW_COLUMNS})
    view = ViewState(provinces=("46",), districts=("4609",), levels=(1,))
    audit.view_household_rows(frame, KALASIN, what="households page", page="households", view=view, path=log,
                              now=T0)
    record = records(log)[-1]
    assert (record["event"], record["page"], record["area"]) == ("household_view", "households", "4609")
    assert "dist=4609" in record["filters"] and "level=1" in record["filters"]


def test_a_missing_head_alone_is_harmless_the_anchor_vouches(log):
    write_some(log, 3)
    log.with_name("audit.jsonl.head").unlink()
    assert check_audit_log(log).ok
    log_event("login", ADMIN, path=log, now=T0)
    assert [r["event"] for r in records(log)][-1] == "login" and len(records(log)) == 4
    assert check_audit_log(log).ok
