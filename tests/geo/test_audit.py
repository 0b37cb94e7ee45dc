"""Tests for ``geo.access.audit``: appending, the hash chain and what breaks it (edits, deletions, cut-off
ends), concurrent writers, reading and exporting for administrators only, redaction (hypothesis:
no ID, name or position ever reaches the file) and the export scanners."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.access import audit
from geo.access.roles import User, public_viewer
from geo.errors import AccessDenied
from geo.access.audit import (
    AUDIT_COLUMNS,
    EVENTS,
    GENESIS,
    RECORD_FIELDS,
    USER_EVENTS,
    check_audit_log,
    contains_valid_national_id,
    export_audit,
    find_national_ids,
    log_denied,
    log_event,
    max_coordinate_decimals,
    read_audit,
    redact_text,
    scan_output,
    sha256_hex,
    verify_audit_log,
    view_household_rows,
)
from geo.errors import AuditError
from geo.cli import main as cli_main
from geo.data.national_id import national_id_check_digit
from geo.data.spreadsheet import to_csv_bytes, to_xlsx_bytes

ADMIN = User("admin", "administrator")
KALASIN = User("kalasin", "provincial_officer", provinces=("46",))
RESEARCHER = User("res", "researcher")
T0 = dt.datetime(2026, 11, 21, 3, 4, 5, 123000, tzinfo=dt.timezone.utc)
VALID_ID = "1101700203450"


def make_id(first12: str) -> str:
    return first12 + str(national_id_check_digit(first12))


@pytest.fixture
def log(tmp_path) -> Path:
    return tmp_path / "audit" / "audit.jsonl"


def write_some(log: Path, n: int = 5) -> list[dict]:
    return [log_event("household_view", KALASIN, what=f"view {i}", rows=i, path=log, now=T0) for i in range(n)]


# ---------------------------------------------------------------------------------------------
# Appending and the chain
# ---------------------------------------------------------------------------------------------


def test_append_and_verify(log):
    first = log_event("login", KALASIN, path=log, now=T0)
    assert list(first) == list(RECORD_FIELDS)
    assert first["seq"] == 1 and first["prev"] == GENESIS
    assert first["time"] == "2026-11-21T03:04:05.123Z"
    who = (first["username"], first["role"], first["scope"])
    assert who == ("kalasin", "provincial_officer", "provincial_officer|p:46")
    second = log_event("import", ADMIN, what="upload kalasin.xlsx", rows=958, file_sha256="sha256:" + "A" * 64,
                       path=log, now=T0)
    lines = log.read_bytes().splitlines()
    assert len(lines) == 2
    assert second["seq"] == 2 and second["prev"] == sha256_hex(lines[0])
    assert second["file_sha256"] == "a" * 64
    assert json.loads(lines[1]) == second
    assert verify_audit_log(log) == (True, None)
    assert check_audit_log(log).lines == 2
    assert oct(log.stat().st_mode & 0o777) == "0o600"


def test_unknown_user_is_not_named(log):
    record = log_event("login_failed", None, detail="login", path=log)
    assert (record["username"], record["role"], record["scope"]) == ("(unknown)", "", "")


def test_empty_or_missing_log_is_ok(log):
    assert verify_audit_log(log) == (True, None)
    assert read_audit(ADMIN, log).empty
    assert list(read_audit(ADMIN, log).columns) == list(AUDIT_COLUMNS)


def _rewrite(log: Path, change) -> None:
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(change(lines)))


def test_edited_line_fails_at_that_line(log):
    write_some(log)

    def edit(lines):
        record = json.loads(lines[2])
        record["rows"] = 0
        lines[2] = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        return lines

    _rewrite(log, edit)
    assert verify_audit_log(log) == (False, 3)
    assert "changed" in check_audit_log(log).problem


def test_edited_line_with_recomputed_hash_fails_at_the_next_line(log):
    write_some(log)

    def forge(lines):
        record = json.loads(lines[2])
        record["username"] = "someone-else"
        record["hash"] = audit._record_hash(record)
        lines[2] = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        return lines

    _rewrite(log, forge)
    assert verify_audit_log(log) == (False, 4)


@pytest.mark.parametrize("deleted", [0, 2, 3])
def test_deleted_line_fails_at_that_line(log, deleted):
    write_some(log)
    _rewrite(log, lambda lines: lines[:deleted] + lines[deleted + 1:])
    assert verify_audit_log(log) == (False, deleted + 1)


def test_deleted_last_line_is_caught_by_the_head(log):
    write_some(log)
    _rewrite(log, lambda lines: lines[:-1])
    ok, bad = verify_audit_log(log)
    assert (ok, bad) == (False, 5)
    assert "removed" in check_audit_log(log).problem
    log.with_name("audit.jsonl.head").unlink()
    assert verify_audit_log(log) == (False, 5)  # without the head, truncation cannot be ruled out


def test_swapped_lines_and_garbage_fail(log):
    write_some(log)
    _rewrite(log, lambda lines: [lines[1], lines[0], *lines[2:]])
    assert verify_audit_log(log) == (False, 1)
    log.unlink()
    log.with_name("audit.jsonl.head").unlink()
    audit.anchor_path(log).unlink()  # a fresh start: the log, its head and its anchor all go
    write_some(log, 3)
    _rewrite(log, lambda lines: [lines[0], b"not json\n", *lines[2:]])
    assert verify_audit_log(log) == (False, 2)


def test_removed_log_with_head_fails(log):
    write_some(log, 2)
    log.unlink()
    assert verify_audit_log(log) == (False, 1)


def test_damaged_last_line_stops_writing(log):
    write_some(log, 2)
    with log.open("ab") as handle:
        handle.write(b'{"seq": 3, "half a rec')
    assert verify_audit_log(log) == (False, 3)
    with pytest.raises(AuditError, match="last line is damaged"):
        log_event("login", ADMIN, path=log)


def test_unwritable_log_raises_audit_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(AuditError, match="cannot be written"):
        log_event("login", ADMIN, path=blocker / "audit.jsonl")


def test_default_path_and_env(tmp_path, monkeypatch):
    monkeypatch.delenv(audit.AUDIT_LOG_ENV, raising=False)
    monkeypatch.setenv("PPAP_DATA_DIR", str(tmp_path / "data"))
    assert audit.audit_log_path() == (tmp_path / "data").resolve() / "audit" / "audit.jsonl"
    log_event("login", ADMIN)
    assert (tmp_path / "data" / "audit" / "audit.jsonl").is_file()
    monkeypatch.setenv(audit.AUDIT_LOG_ENV, str(tmp_path / "elsewhere.jsonl"))
    log_event("logout", ADMIN)
    assert (tmp_path / "elsewhere.jsonl").is_file()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"event": "view"}, ValueError, "event must be one of"),
        ({"user": "admin"}, TypeError, "user must be a geo.access.roles.User"),
        ({"rows": -1}, ValueError, "rows must be a whole number"),
        ({"rows": True}, ValueError, "rows must be a whole number"),
        ({"file_sha256": "abc"}, ValueError, "file_sha256 must be 64 hex"),
        ({"detail": 12}, TypeError, "detail must be str"),
        ({"what": None}, TypeError, "what must be str"),
    ],
)
def test_log_event_checks_arguments(log, kwargs, error, message):
    args = {"event": "login", "user": ADMIN, **kwargs}
    with pytest.raises(error, match=message):
        log_event(args.pop("event"), args.pop("user"), path=log, **args)
    assert not log.exists()


APPENDER = """
import sys
from geo.access.roles import User
from geo.access.audit import log_event
user = User(sys.argv[2], "administrator")
for i in range(int(sys.argv[3])):
    log_event("export", user, what=f"record {i}", rows=i, path=sys.argv[1])
"""


def test_concurrent_writers_keep_the_chain(log, repo_root):
    procs = [
        subprocess.Popen([sys.executable, "-c", APPENDER, str(log), name, "200"], cwd=repo_root,
                         stderr=subprocess.PIPE)
        for name in ("writer-a", "writer-b")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    lines = log.read_bytes().splitlines()
    assert len(lines) == 400
    assert verify_audit_log(log) == (True, None)
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == list(range(1, 401))
    for name in ("writer-a", "writer-b"):
        mine = [r["rows"] for r in records if r["username"] == name]
        assert mine == list(range(200))  # each writer's records in its own order, none lost


# ---------------------------------------------------------------------------------------------
# Nothing personal reaches the file
# ---------------------------------------------------------------------------------------------

digits12 = st.text(alphabet="0123456789", min_size=12, max_size=12).filter(lambda s: s[0] != "0")
id_forms = st.sampled_from(["plain", "dashed", "spaced", "thai", "commas", "excel"])
filler = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
thai_names = st.sampled_from(["นายสมชาย ใจดี", "นางสาวมาลี ศรีสุข", "นางบุญมี แก้วใส", "ด.ช.ต้น ดีงาม"])
latitudes = st.floats(min_value=5.7, max_value=20.4)
longitudes = st.floats(min_value=97.4, max_value=105.6)


def dress(national_id: str, form: str) -> str:
    if form == "dashed":
        return f"{national_id[0]}-{national_id[1:5]}-{national_id[5:10]}-{national_id[10:12]}-{national_id[12]}"
    if form == "spaced":
        return f"{national_id[0]} {national_id[1:5]} {national_id[5:10]} {national_id[10:12]} {national_id[12]}"
    if form == "thai":
        return national_id.translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))
    if form == "commas":
        return f"{int(national_id):,}"
    if form == "excel":
        return f"{int(national_id):.12E}".replace("E+12", "E+12")
    return national_id


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first12=digits12, form=id_forms, before=filler, after=filler, name=thai_names, lat=latitudes, lon=longitudes,
       listed=st.text(alphabet="abcdefghijklmnopqrstuvwxyzกขคงจฉ", min_size=3, max_size=12))
def test_log_never_holds_ids_names_or_positions(first12, form, before, after, name, lat, lon, listed):
    national_id = make_id(first12)
    shown_id = dress(national_id, form)
    assert contains_valid_national_id(shown_id), shown_id
    detail = f"{before}{shown_id} {name} ที่ {lat:.6f},{lon:.6f} ({lon:.5f} {lat:.5f}) {listed}{after}"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "audit.jsonl"
        log_event("import", KALASIN, what=f"file of {name} {shown_id}", detail=detail, redact=[listed], path=path,
                  now=T0)
        text = path.read_text(encoding="utf-8")
    record = json.loads(text)
    written = record["what"] + " " + record["detail"]
    assert not contains_valid_national_id(text)
    assert national_id not in text
    assert name.split()[0] not in text and name.split()[-1] not in text
    assert listed.casefold() not in written.casefold()
    assert max_coordinate_decimals(text) <= 1
    assert f"{lat:.3f}" not in text and f"{lon:.3f}" not in text
    assert scan_output(text, names=[name], max_decimals=1) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("k=10 res 8 district 4609 levels 1,2", "k=10 res 8 district 4609 levels 1,2"),
        ("call 081-234-5678", "call [number]"),
        ("Mr John Smith saw it", "[name] saw it"),
        ("email a.b@example.org", "email [email]"),
        ("line\nbreak\x00", "line break "),
        ("POINT (103.50712 16.43312)", "POINT ([number])"),
        ("lon 103.50712, lat 16.43312", "lon [decimal], lat [decimal]"),
        ("1.10170020345E+12", "[number]"),
        ("๑๑๐๑๗๐๐๒๐๓๔๕๐", "[number]"),
    ],
)
def test_redact_text(text, expected):
    assert redact_text(text) == expected


def test_redact_text_limits_length():
    assert len(redact_text("ก" * 5000)) == audit.MAX_TEXT_CHARS
    assert redact_text("ab" * 10, names=["AB"]) == "[name]" * 10


# ---------------------------------------------------------------------------------------------
# Household views, denials, reading and exporting
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "household_id": ["H1", "H2", "H3"],
        "province_code": ["46", "46", "34"],
        "district_code": ["4609", "4602", "3401"],
        "lat": [16.4331234, 16.5512345, 15.2412345],
        "lon": [103.5071234, 103.6012345, 104.8512345],
        "national_id_hash": ["a" * 64, "b" * 64, "c" * 64],
        "head_name": ["นายสมชาย ใจดี", "นางมาลี ศรีสุข", "นายบุญ ดี"],
    })


def test_household_view_is_logged_before_rows_are_returned(log, frame):
    rows = view_household_rows(frame, KALASIN, what="households page", path=log, now=T0)
    assert list(rows["household_id"]) == ["H1", "H2"]
    record = json.loads(log.read_bytes().splitlines()[-1])
    assert (record["event"], record["rows"], record["what"]) == ("household_view", 2, "households page")


def test_household_view_is_not_shown_when_it_cannot_be_logged(tmp_path, frame):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(AuditError):
        view_household_rows(frame, KALASIN, what="households page", path=blocker / "audit.jsonl")


def test_denied_view_is_logged(log, frame):
    with pytest.raises(AccessDenied):
        view_household_rows(frame, RESEARCHER, what="households page", path=log)
    record = json.loads(log.read_bytes().splitlines()[-1])
    assert (record["event"], record["username"]) == ("denied", "res")
    assert record["detail"].startswith("rows: ")


def test_log_denied(log):
    exc = AccessDenied("ไทย", "English text", reason="scope")
    assert log_denied(public_viewer(), exc, what="?province=34", path=log)["detail"] == "scope: English text"
    with pytest.raises(TypeError):
        log_denied(ADMIN, ValueError("x"), path=log)


@pytest.mark.parametrize("user", [KALASIN, RESEARCHER, public_viewer(), User("v", "viewer")])
def test_only_administrators_read_the_log(log, user):
    write_some(log, 2)
    with pytest.raises(AccessDenied) as caught:
        read_audit(user, log)
    assert caught.value.reason == "audit"
    with pytest.raises(AccessDenied):
        export_audit(user, path=log)


def test_read_audit_filters(log):
    log_event("login", KALASIN, path=log, now=T0)
    log_event("household_view", KALASIN, rows=3, path=log, now=T0 + dt.timedelta(hours=1))
    log_event("login", ADMIN, path=log, now=T0 + dt.timedelta(hours=2))
    table = read_audit(ADMIN, log)
    assert list(table.columns) == list(AUDIT_COLUMNS)
    assert list(table["seq"]) == [1, 2, 3]
    assert str(table["time"].dtype).startswith("datetime64") and table["time"].dt.tz is not None
    assert table.attrs["check"].ok
    assert list(read_audit(ADMIN, log, event="login")["username"]) == ["kalasin", "admin"]
    assert list(read_audit(ADMIN, log, event=["household_view"])["rows"]) == [3]
    assert list(read_audit(ADMIN, log, username="KALASIN")["seq"]) == [1, 2]
    assert list(read_audit(ADMIN, log, since="2026-11-21T04:00:00Z")["seq"]) == [2, 3]
    assert list(read_audit(ADMIN, log, since=dt.datetime(2026, 11, 21, 5, 0))["seq"]) == [3]
    with pytest.raises(ValueError, match="event must be among"):
        read_audit(ADMIN, log, event="oops")
    with pytest.raises(ValueError, match="since must be"):
        read_audit(ADMIN, log, since="yesterday-ish")


def test_read_audit_reports_tampering(log):
    write_some(log, 3)
    _rewrite(log, lambda lines: lines[:1] + lines[2:])
    table = read_audit(ADMIN, log)
    assert len(table) == 2 and not table.attrs["check"].ok and table.attrs["check"].first_bad_line == 2


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_audit(log, fmt):
    log_event("export", KALASIN, what="=HYPERLINK(\"http://x\")", rows=4, path=log, now=T0)
    data = export_audit(ADMIN, fmt=fmt, path=log, now=T0)
    text = audit.output_text(data)
    assert "'=HYPERLINK" in text
    assert "kalasin" in text and "2026-11-21T03:04:05.123000Z" in text
    last = json.loads(log.read_bytes().splitlines()[-1])
    assert (last["event"], last["rows"], last["file_sha256"]) == ("export", 1, sha256_hex(data))
    assert verify_audit_log(log) == (True, None)
    with pytest.raises(ValueError, match="fmt must be"):
        export_audit(ADMIN, fmt="pdf", path=log)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_event_records_who_role_scope_what_rows_hash_and_when_and_exports_them(log, fmt):
    digest = sha256_hex(b"the uploaded file")
    for n, event in enumerate(USER_EVENTS):
        log_event(event, KALASIN, what=f"{event} on the households page", rows=n, file_sha256=digest, path=log,
                  now=T0 + dt.timedelta(minutes=n))
    records = [json.loads(line) for line in log.read_bytes().splitlines()]
    assert [r["event"] for r in records] == list(USER_EVENTS)
    for n, record in enumerate(records):
        assert (record["username"], record["role"], record["scope"]) == (
            "kalasin", "provincial_officer", "provincial_officer|p:46")
        assert record["what"].startswith(record["event"]) and record["rows"] == n
        assert record["file_sha256"] == digest
        assert record["time"] == f"2026-11-21T03:{4 + n:02d}:05.123Z"
    data = export_audit(ADMIN, fmt=fmt, path=log, now=T0)
    if fmt == "csv":
        table = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)
    else:
        table = pd.read_excel(io.BytesIO(data), dtype=str)
    assert {"time", "event", "username", "role", "scope", "what", "rows", "file_sha256"} <= set(table.columns)
    mine = table[table["username"] == "kalasin"]
    assert mine["event"].tolist() == list(USER_EVENTS)
    assert set(mine["file_sha256"]) == {digest} and set(mine["scope"]) == {"provincial_officer|p:46"}
    assert mine["rows"].astype(int).tolist() == list(range(len(USER_EVENTS)))


def test_cli_verify_audit(log, capsys):
    write_some(log, 3)
    assert cli_main(["access", "verify-audit", str(log)]) == 0
    assert "ok, 3 records" in capsys.readouterr().out
    _rewrite(log, lambda lines: lines[:1] + lines[2:])
    assert cli_main(["access", "verify-audit", str(log)]) == 1
    assert "NOT OK at line 2" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# Scanners
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (VALID_ID, True),
        ("1-1017-00203-45-0", True),
        ("1 1017 00203 45 0", True),
        ("๑๑๐๑๗๐๐๒๐๓๔๕๐", True),
        ("1,101,700,203,450", True),
        ("1.10170020345E+12", True),
        ("id:" + VALID_ID + ";", True),
        ("ID" + VALID_ID, True),
        ("1101700203452", False),  # wrong check digit
        ("11017002034501", False),  # 14 digits
        ("110170020345", False),  # 12 digits
        ("16." + VALID_ID, False),  # decimals of a number
        ("e3b0c442" + VALID_ID + "98fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", False),  # a hash
        ("", False),
    ],
)
def test_contains_valid_national_id(text, found):
    assert contains_valid_national_id(text) is found


def test_find_national_ids_positions():
    text = f"a {VALID_ID} b 1-1017-00203-45-0"
    assert [(start, digits) for start, _, digits in find_national_ids(text)] == [(2, VALID_ID), (18, VALID_ID)]
    with pytest.raises(TypeError):
        find_national_ids(b"bytes")


@pytest.mark.parametrize(
    ("text", "decimals"),
    [
        ("16.433,103.507", 3),
        ('{"lat": 16.4331234}', 7),
        ("share 0.1234567, mean 2.345678", 0),  # not in Thailand's ranges
        ("-16.43312", 5),
        ("๑๖.๔๓๓๑", 4),
        ("time 03:04:05.123456Z", 0),
        ("no numbers", 0),
    ],
)
def test_max_coordinate_decimals(text, decimals):
    assert max_coordinate_decimals(text) == decimals


def test_scan_output_reads_csv_and_xlsx_bytes():
    table = pd.DataFrame({"id": [VALID_ID], "name": ["นายสมชาย ใจดี"], "lat": [16.4331234], "n": [12]})
    for data in (to_csv_bytes(table), to_xlsx_bytes(table)):
        kinds = sorted(f.kind for f in scan_output(data, names=["สมชาย"]))
        assert kinds == ["coordinate", "name", "national_id"]
        for finding in scan_output(data, names=["สมชาย"]):
            assert VALID_ID not in finding.excerpt and "สมชาย" not in finding.excerpt
    clean = pd.DataFrame({"code": ["4609"], "households_shown": ["<10"], "lat": [16.433]})
    assert scan_output(to_xlsx_bytes(clean), names=["สมชาย"]) == []
    assert scan_output(to_csv_bytes(table), max_decimals=None, names=[]) != []  # the ID is still found
    assert [f.kind for f in scan_output(to_csv_bytes(table.drop(columns=["id"])), max_decimals=None)] == []
