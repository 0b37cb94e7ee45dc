"""The audit log, and the scanners that keep national IDs, names and positions out of what leaves.

Audit log
---------
An append-only JSON Lines file, :func:`audit_log_path` (``$PPAP_AUDIT_LOG``, else
``<data>/audit/audit.jsonl``), one record per event::

    {"seq": 7, "time": "2026-11-21T03:04:05.123Z", "event": "household_view",
     "username": "kalasin", "role": "provincial_officer", "scope": "provincial_officer|p:46",
     "what": "households page", "rows": 958, "file_sha256": null, "detail": "",
     "prev": "<sha256 of line 6>", "hash": "<sha256 of this record without hash>"}

Events are :data:`EVENTS`. Writers take an exclusive ``flock`` on ``audit.jsonl.lock``, read the
last line, append one line with ``O_APPEND``, ``fsync`` it, and record the line count and the last
line's hash in ``audit.jsonl.head`` (written to a new file and renamed). So concurrent writers
(several app processes, the CLI) never interleave, and :func:`verify_audit_log` finds the first
line that was edited (its ``hash``), deleted or inserted (``seq`` and ``prev``), or cut off the end
(the head). Detection, not prevention: someone who can rewrite the whole file and the head can
forge a consistent log; ship the log elsewhere too if that matters (docs/ACCESS.md).

``what`` and ``detail`` go through :func:`redact_text`: long digit runs (national IDs, phone
numbers), numbers with two or more decimals (positions), titled names (นาย…, Mr …), names the
caller lists and emails never reach the file.

Scanners
--------
:func:`contains_valid_national_id`, :func:`max_coordinate_decimals` and :func:`scan_output` look
for what must never be in an export or a log; tests run them over every export path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import html
import io
import json
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from geo.access import AccessDenied, User, household_rows, scope_key
from geo.contract import THAILAND_LAT_RANGE, THAILAND_LON_RANGE
from geo.errors import PPAPError
from geo.national_id import is_valid_national_id, mask_national_id, normalise_national_id
from geo.paths import data_dir
from geo.spreadsheet import to_csv_bytes, to_xlsx_bytes

#: Environment variable that moves the audit log.
AUDIT_LOG_ENV = "PPAP_AUDIT_LOG"
#: What is logged.
EVENTS: tuple[str, ...] = ("login", "login_failed", "logout", "household_view", "import", "export", "denied")
#: Fields of a record, in the order written.
RECORD_FIELDS: tuple[str, ...] = (
    "seq", "time", "event", "username", "role", "scope", "what", "rows", "file_sha256", "detail", "prev", "hash",
)
#: Columns of :func:`read_audit`.
AUDIT_COLUMNS: tuple[str, ...] = RECORD_FIELDS[:-2]
#: ``prev`` of the first record.
GENESIS = "0" * 64
#: Longest ``what`` / ``detail`` kept (after redaction).
MAX_TEXT_CHARS = 500
#: Username recorded when an event has no known user (a failed login with an unknown name).
UNKNOWN_USERNAME = "(unknown)"

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class AuditError(PPAPError):
    """The audit log cannot be written or read (damaged last line, permissions, disk)."""


def audit_log_path() -> Path:
    """The audit log: ``$PPAP_AUDIT_LOG`` when set, else ``<data>/audit/audit.jsonl``."""
    override = os.environ.get(AUDIT_LOG_ENV)
    return Path(override) if override else data_dir() / "audit" / "audit.jsonl"


def _log_path(path: str | os.PathLike[str] | None) -> Path:
    return Path(path) if path is not None else audit_log_path()


def _head_path(path: Path) -> Path:
    return path.with_name(path.name + ".head")


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data`` as 64 lower-case hex characters (for ``file_sha256``).

    Example
    -------
    >>> sha256_hex(b"")[:8]
    'e3b0c442'
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------
# Scanners: what must never leave
# ---------------------------------------------------------------------------------------------

_D = r"[0-9\u0E50-\u0E59\uFF10-\uFF19]"  # ASCII, Thai and full-width digits
_ID_PLAIN = re.compile(rf"(?<!{_D}){_D}{{13}}(?!{_D})")
_ID_GROUPED = re.compile(rf"(?<!{_D}){_D}[ \-]{_D}{{4}}[ \-]{_D}{{5}}[ \-]{_D}{{2}}[ \-]{_D}(?!{_D})")
_ID_THOUSANDS = re.compile(rf"(?<![0-9,]){_D},{_D}{{3}},{_D}{{3}},{_D}{{3}},{_D}{{3}}(?![0-9]|,[0-9])")
_ID_SCIENTIFIC = re.compile(r"(?<![0-9.])([1-9])\.([0-9]{1,12})[eE]\+?12(?![0-9])")
_HEX = re.compile(r"[0-9a-fA-F]")
_HEX_TOKEN_MIN = 32
_DECIMAL = re.compile(r"(?<![0-9.])-?([0-9]{1,3})\.([0-9]+)(?![0-9.])")
_ASCII_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙０１２３４５６７８９", "01234567890123456789")


def _in_hash(text: str, start: int, end: int) -> bool:
    # Digits inside a long hex token (a SHA-256, an H3 cell) are not an ID.
    left, right = start, end
    while left > 0 and _HEX.match(text[left - 1]):
        left -= 1
    while right < len(text) and _HEX.match(text[right]):
        right += 1
    token = text[left:right]
    return right - left >= _HEX_TOKEN_MIN and any(c in "abcdefABCDEF" for c in token)


def _in_decimal_fraction(text: str, start: int) -> bool:
    return start >= 2 and text[start - 1] == "." and text[start - 2].isdigit()


def find_national_ids(text: str) -> list[tuple[int, int, str]]:
    """Valid national IDs in ``text``: ``(start, end, digits)`` per match.

    Forms found: 13 digits in a row (ASCII, Thai or full-width), the printed ``1-2345-67890-12-3``
    form (dashes or spaces), thousands separators (``1,101,700,203,450``) and Excel's scientific
    form (``1.10170020345E+12``). Digits inside a long hex token (hashes) or after a decimal point
    are not IDs. Only numbers passing the check digit count.

    Example
    -------
    >>> [m[2] for m in find_national_ids("id 1-1017-00203-45-0, not 1101700203452")]
    ['1101700203450']
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    found: list[tuple[int, int, str]] = []
    for pattern in (_ID_PLAIN, _ID_GROUPED, _ID_THOUSANDS):
        for match in pattern.finditer(text):
            start, end = match.span()
            if pattern is _ID_PLAIN and (_in_hash(text, start, end) or _in_decimal_fraction(text, start)):
                continue
            digits = normalise_national_id(match.group().replace(",", ""))
            if is_valid_national_id(digits):
                found.append((start, end, digits))
    for match in _ID_SCIENTIFIC.finditer(text):
        digits = (match.group(1) + match.group(2)).ljust(13, "0")
        if is_valid_national_id(digits):
            found.append((match.start(), match.end(), digits))
    return sorted(set(found))


def contains_valid_national_id(text: str) -> bool:
    """True when ``text`` holds a 13-digit number passing the national-ID check digit.

    See :func:`find_national_ids` for the forms recognised.

    Example
    -------
    >>> contains_valid_national_id("a,1101700203450,b"), contains_valid_national_id("1101700203452")
    (True, False)
    """
    return bool(find_national_ids(text))


def _coordinates(text: str) -> Iterator[tuple[int, float, int]]:
    for match in _DECIMAL.finditer(text.translate(_ASCII_DIGITS)):
        value = abs(float(f"{match.group(1)}.{match.group(2)}"))
        lat_like = THAILAND_LAT_RANGE[0] <= value <= THAILAND_LAT_RANGE[1]
        if lat_like or THAILAND_LON_RANGE[0] <= value <= THAILAND_LON_RANGE[1]:
            yield match.start(), value, len(match.group(2))


def max_coordinate_decimals(text: str) -> int:
    """Most decimals of any number in ``text`` that could be a Thai latitude or longitude.

    A number counts when its value lies in Thailand's latitude (5.6-20.5) or longitude
    (97.3-105.7) range. A heuristic that errs on the safe side: a percentage like 12.34567 counts
    too. 0 when there is none.

    Example
    -------
    >>> max_coordinate_decimals('{"lat": 16.433, "lon": 103.50712, "share": 0.123456}')
    5
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    return max((decimals for _, _, decimals in _coordinates(text)), default=0)


@dataclass(frozen=True)
class Finding:
    """Something :func:`scan_output` found. ``excerpt`` never repeats an ID or a name."""

    kind: str  # "national_id", "name" or "coordinate"
    offset: int  # character offset in the scanned text
    excerpt: str


def output_text(data: str | bytes) -> str:
    """The text inside an output: ``str`` as is; a ZIP (XLSX, DOCX) as its XML parts, unescaped;
    other bytes decoded (UTF-8, UTF-16 with a byte-order mark, else cp874). PDFs and PNGs must
    be turned into text by the caller (their text layers)."""
    if isinstance(data, str):
        return data
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"data must be str or bytes, got {type(data).__name__}")
    data = bytes(data)
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = [archive.read(name).decode("utf-8", errors="replace") for name in archive.namelist()]
        return html.unescape("\n".join(parts))
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp874", errors="replace")


def scan_output(data: str | bytes, *, names: Iterable[str] = (), max_decimals: int | None = 4) -> list[Finding]:
    """Look through an output for national IDs, given names and over-precise positions.

    Parameters
    ----------
    data : str or bytes
        Text, CSV, JSON, HTML, or XLSX bytes (see :func:`output_text`).
    names : iterable of str
        Names from the input that must not appear (case-insensitive; shorter than 2 characters
        ignored).
    max_decimals : int or None, default 4
        Report numbers in Thailand's latitude/longitude ranges with more decimals than this;
        ``None`` skips the check (for roles that may see exact positions).

    Returns
    -------
    list of Finding
        Empty when the output is clean.

    Example
    -------
    >>> [f.kind for f in scan_output("x,1101700203450,16.4331234", names=["สมชาย"])]
    ['national_id', 'coordinate']
    """
    text = unicodedata.normalize("NFC", output_text(data))
    findings = [Finding("national_id", start, mask_national_id(digits)) for start, _, digits in find_national_ids(text)]
    folded = text.casefold()
    for number, name in enumerate(names):
        if not isinstance(name, str):
            raise TypeError(f"names must hold str, got {type(name).__name__}")
        wanted = unicodedata.normalize("NFC", name).strip().casefold()
        if len(wanted) >= 2 and (at := folded.find(wanted)) >= 0:
            findings.append(Finding("name", at, f"name #{number} from the input"))
    if max_decimals is not None:
        for start, value, decimals in _coordinates(text):
            if decimals > max_decimals:
                findings.append(Finding("coordinate", start, f"about {value:.1f} with {decimals} decimals"))
    return sorted(findings, key=lambda f: f.offset)


_LONG_NUMBER = re.compile(rf"{_D}(?:[\s\-.,/]?{_D}){{8,}}")
_SCIENTIFIC = re.compile(r"[0-9]\.[0-9]+[eE][+\-]?[0-9]+")
_PRECISE_DECIMAL = re.compile(r"[0-9]*\.[0-9]{2,}")
_THAI_TITLE = re.compile(
    r"(?:นางสาว|นาย|นาง|น\.ส\.|ด\.ช\.|ด\.ญ\.|เด็กชาย|เด็กหญิง)\s*[\u0E01-\u0E4F]+(?:\s+[\u0E01-\u0E4F]+)?"
)
_EN_TITLE = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?\s+[A-Z][\w'\-]*(?:\s+[A-Z][\w'\-]*)?")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def redact_text(text: str, *, names: Iterable[str] = (), limit: int = MAX_TEXT_CHARS) -> str:
    """``text`` made safe for the audit log: no IDs, long numbers, positions, titled names or emails.

    Replaced: any run of 9 or more digits (with spaces, dashes, dots, commas or slashes between
    them) by ``[number]``; numbers in scientific form by ``[number]``; numbers with two or more
    decimals by ``[decimal]``; names after a title (นาย, นาง, นางสาว, ด.ช., ด.ญ., Mr, Mrs, Ms, ...)
    and every string in ``names`` by ``[name]``; emails by ``[email]``. Thai digits become ASCII,
    control characters spaces; the result is cut to ``limit`` characters.

    Example
    -------
    >>> redact_text("นายสมชาย ใจดี 1-1017-00203-45-0 at 16.4331, 103.5071 k=10")
    '[name] [number] at [decimal], [decimal] k=10'
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    out = unicodedata.normalize("NFC", text[: limit * 20]).translate(_ASCII_DIGITS)
    out = _CONTROL.sub(" ", out)
    for name in sorted({unicodedata.normalize("NFC", n).strip() for n in names if isinstance(n, str)}, key=len,
                       reverse=True):
        if len(name) >= 2:
            out = re.sub(re.escape(name), "[name]", out, flags=re.IGNORECASE)
    out = _EMAIL.sub("[email]", out)
    out = _THAI_TITLE.sub("[name]", out)
    out = _EN_TITLE.sub("[name]", out)
    out = _SCIENTIFIC.sub("[number]", out)
    out = _LONG_NUMBER.sub("[number]", out)
    out = _PRECISE_DECIMAL.sub("[decimal]", out)
    return out if len(out) <= limit else out[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _canonical(record: dict) -> bytes:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _record_hash(record: dict) -> str:
    return hashlib.sha256(_canonical({k: v for k, v in record.items() if k != "hash"})).hexdigest()


@contextlib.contextmanager
def _locked(path: Path, *, shared: bool = False) -> Iterator[None]:
    """Hold the log's lock: exclusive for writers; shared for readers, who also read a copy of a
    log in a folder they cannot write to (without a lock then)."""
    try:
        fd = os.open(_lock_path(path), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        if not shared:
            raise
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _last_line(fd: int) -> bytes | None:
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    end = size - 1 if os.pread(fd, 1, size - 1) == b"\n" else size
    start, chunk = end, 65536
    while start > 0:
        start = max(0, start - chunk)
        block = os.pread(fd, end - start, start)
        cut = block.rfind(b"\n")
        if cut >= 0:
            return block[cut + 1:]
    return os.pread(fd, end, 0)


def _write_head(path: Path, lines: int, last_sha256: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.head.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"lines": lines, "last_line_sha256": last_sha256}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, _head_path(path))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _utc_iso(now: dt.datetime | None) -> str:
    now = now or dt.datetime.now(dt.timezone.utc)
    if not isinstance(now, dt.datetime):
        raise TypeError(f"now must be a datetime, got {type(now).__name__}")
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    return now.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _check_sha(file_sha256: object) -> str | None:
    if file_sha256 is None:
        return None
    text = file_sha256.removeprefix("sha256:").lower() if isinstance(file_sha256, str) else None
    if text is None or not _HEX64.match(text):
        raise ValueError(
            f"file_sha256 must be 64 hex characters (or 'sha256:' + 64, as geo.ingest.content_hash gives), "
            f"got {str(file_sha256)[:80]!r}"
        )
    return text


def log_event(
    event: str,
    user: User | None,
    *,
    what: str = "",
    rows: int | None = None,
    file_sha256: str | None = None,
    detail: str = "",
    redact: Iterable[str] = (),
    path: str | os.PathLike[str] | None = None,
    now: dt.datetime | None = None,
) -> dict:
    """Append one record to the audit log and return it.

    Parameters
    ----------
    event : str
        One of :data:`EVENTS`.
    user : User or None
        Who; ``None`` when not known (a failed login with an unknown username is recorded as
        ``"(unknown)"``: the typed name is not logged, it may be a password typed in the wrong box).
    what : str
        What was seen, imported or exported ("households page, district 4609"); redacted.
    rows : int, optional
        How many rows (households) were shown, imported or exported.
    file_sha256 : str, optional
        SHA-256 of the imported or exported file (64 hex, or ``geo.ingest.content_hash``'s form).
    detail : str
        Anything else; redacted by :func:`redact_text` (no IDs, names, positions).
    redact : iterable of str
        Names (or other strings) known to be personal, removed from ``what`` and ``detail``.
    path : path, optional
        The log; :func:`audit_log_path` when omitted.
    now : datetime, optional
        The time (UTC now by default; naive means UTC).

    Returns
    -------
    dict
        The record as written (with ``seq``, ``prev`` and ``hash``).

    Raises
    ------
    AuditError
        When the log cannot be written, or its last line is damaged (run ``python -m geo access
        verify-audit``). Callers showing household rows must not show them then.
    ValueError, TypeError
        When an argument is not allowed; the message names it.

    Example
    -------
    >>> log_event("login", user, path=tmp / "audit.jsonl")["seq"]  # doctest: +SKIP
    1
    """
    if event not in EVENTS:
        raise ValueError(f"event must be one of {', '.join(EVENTS)}; got {str(event)[:40]!r}")
    if user is not None and not isinstance(user, User):
        raise TypeError(f"user must be a geo.access.User or None, got {type(user).__name__}")
    for name, value in (("what", what), ("detail", detail)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be str, got {type(value).__name__}")
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 0):
        raise ValueError(f"rows must be a whole number of at least 0 or None, got {rows!r}")
    names = tuple(redact)
    record = {
        "seq": 0,
        "time": _utc_iso(now),
        "event": event,
        "username": user.username if user else UNKNOWN_USERNAME,
        "role": user.role if user else "",
        "scope": scope_key(user) if user else "",
        "what": redact_text(what, names=names),
        "rows": rows,
        "file_sha256": _check_sha(file_sha256),
        "detail": redact_text(detail, names=names),
    }
    log = _log_path(path)
    try:
        log.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _locked(log):
            fd = os.open(log, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                last = _last_line(fd)
                if last is None:
                    record["seq"], record["prev"] = 1, GENESIS
                else:
                    try:
                        previous = json.loads(last)
                        record["seq"] = int(previous["seq"]) + 1
                    except (ValueError, KeyError, TypeError):
                        raise AuditError(
                            f"audit log {log}: its last line is damaged, so no record can be chained to it; "
                            "run `python -m geo access verify-audit` and move the file aside"
                        ) from None
                    record["prev"] = hashlib.sha256(last).hexdigest()
                record["hash"] = _record_hash(record)
                line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
                payload = memoryview(line + b"\n")
                while payload:
                    payload = payload[os.write(fd, payload):]
                os.fsync(fd)
            finally:
                os.close(fd)
            _write_head(log, record["seq"], hashlib.sha256(line).hexdigest())
    except OSError as exc:
        raise AuditError(f"audit log {log}: cannot be written: {exc.strerror or exc}") from exc
    return record


def log_denied(user: User | None, exc: AccessDenied, *, what: str = "", path: str | os.PathLike[str] | None = None,
               now: dt.datetime | None = None) -> dict:
    """Record an :class:`~geo.access.AccessDenied` (``event = "denied"``, its reason and message).

    Example
    -------
    >>> try:
    ...     rows = view_household_rows(frame, user, what="households page")  # doctest: +SKIP
    ... except AccessDenied as exc:  # doctest: +SKIP
    ...     log_denied(user, exc, what="households page")  # doctest: +SKIP
    """
    if not isinstance(exc, AccessDenied):
        raise TypeError(f"exc must be an AccessDenied, got {type(exc).__name__}")
    return log_event("denied", user, what=what, detail=f"{exc.reason}: {exc.message_en}", path=path, now=now)


#: Most household rows one view shows: a larger selection asks for a smaller area first (a table of
#: millions of rows helps nobody, and at national scale reading them costs seconds and gigabytes).
MAX_HOUSEHOLD_ROWS = 50_000


def view_household_rows(frame: pd.DataFrame, user: User, *, what: str, redact: Iterable[str] = (),
                        path: str | os.PathLike[str] | None = None, now: dt.datetime | None = None) -> pd.DataFrame:
    """:func:`geo.access.household_rows`, with the view written to the audit log first.

    The rows are returned only after the ``household_view`` record is on disk; a refusal is
    recorded as ``denied`` and re-raised.

    Parameters
    ----------
    frame : pandas.DataFrame
        Households in the data contract.
    user : User
    what : str
        What is shown, for the log ("households page, filter: district 4609, level 1-2").
    redact, path, now
        As for :func:`log_event`.

    Raises
    ------
    AccessDenied
        From :func:`geo.access.household_rows`.
    AuditError
        When the view cannot be logged (nothing is shown then).

    Example
    -------
    >>> rows = view_household_rows(households, user, what="households page")  # doctest: +SKIP
    """
    try:
        rows = household_rows(frame, user)
    except AccessDenied as exc:
        log_denied(user, exc, what=what, path=path, now=now)
        raise
    log_event("household_view", user, what=what, rows=len(rows), redact=redact, path=path, now=now)
    return rows


# ---------------------------------------------------------------------------------------------
# Checking and reading
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditCheck:
    """Result of :func:`check_audit_log`."""

    ok: bool
    first_bad_line: int | None  # 1-based; one past the end when lines are missing at the end
    lines: int
    problem: str  # "" when ok


def _read_lines(path: Path) -> tuple[list[bytes], bool]:
    data = path.read_bytes()
    if not data:
        return [], True
    complete = data.endswith(b"\n")
    lines = data[:-1].split(b"\n") if complete else data.split(b"\n")
    return lines, complete


def check_audit_log(path: str | os.PathLike[str] | None = None) -> AuditCheck:
    """Check the whole chain: every line parses, ``seq`` counts 1, 2, ..., each ``prev`` is the
    SHA-256 of the line before, each ``hash`` matches its record, and the head agrees.

    Example
    -------
    >>> check_audit_log(tmp / "audit.jsonl").ok  # doctest: +SKIP
    True
    """
    log = _log_path(path)
    head_file = _head_path(log)
    if not log.is_file() and not head_file.is_file():
        return AuditCheck(True, None, 0, "")
    with _locked(log, shared=True):
        lines, complete = _read_lines(log) if log.is_file() else ([], True)
        head = None
        if head_file.is_file():
            try:
                stored = json.loads(head_file.read_text(encoding="utf-8"))
                head = (int(stored["lines"]), str(stored["last_line_sha256"]))
            except (ValueError, KeyError, TypeError):
                return AuditCheck(False, 1, len(lines), f"{head_file.name} is damaged")
    previous = GENESIS
    for number, raw in enumerate(lines, start=1):
        try:
            record = json.loads(raw)
        except ValueError:
            return AuditCheck(False, number, len(lines), f"line {number} is not JSON")
        if not isinstance(record, dict) or tuple(record) != RECORD_FIELDS:
            return AuditCheck(False, number, len(lines), f"line {number} does not have the record's fields")
        if record["seq"] != number:
            return AuditCheck(False, number, len(lines),
                              f"line {number} has seq {record['seq']!r}: a line was deleted or inserted")
        if record["prev"] != previous:
            return AuditCheck(False, number, len(lines), f"line {number} does not follow the line before it")
        if record["hash"] != _record_hash(record):
            return AuditCheck(False, number, len(lines), f"line {number} was changed after it was written")
        if record["event"] not in EVENTS:
            return AuditCheck(False, number, len(lines), f"line {number} has an unknown event")
        previous = hashlib.sha256(raw).hexdigest()
    if not complete:
        return AuditCheck(False, len(lines), len(lines), f"line {len(lines)} has no line end (cut off)")
    if head is None:
        if lines:
            return AuditCheck(False, len(lines) + 1, len(lines),
                              f"{head_file.name} is missing: lines cut off the end cannot be ruled out")
        return AuditCheck(True, None, 0, "")
    if len(lines) < head[0]:
        return AuditCheck(False, len(lines) + 1, len(lines),
                          f"the log ends at line {len(lines)} but {head[0]} records were written: lines were removed")
    if head[0] and hashlib.sha256(lines[head[0] - 1]).hexdigest() != head[1]:
        return AuditCheck(False, head[0], len(lines),
                          f"line {head[0]} differs from the one recorded in {head_file.name}")
    return AuditCheck(True, None, len(lines), "")


def verify_audit_log(path: str | os.PathLike[str] | None = None) -> tuple[bool, int | None]:
    """``(ok, first_bad_line)`` for the audit log; see :func:`check_audit_log` for the reason.

    Example
    -------
    >>> verify_audit_log(tmp / "audit.jsonl")  # doctest: +SKIP
    (True, None)
    """
    check = check_audit_log(path)
    return check.ok, check.first_bad_line


def _require_audit_reader(user: User) -> None:
    if not isinstance(user, User):
        raise TypeError(f"user must be a geo.access.User, got {type(user).__name__}")
    if not user.capabilities.may_read_audit:
        raise AccessDenied("เฉพาะผู้ดูแลระบบเท่านั้นที่อ่านบันทึกการใช้งานได้",
                           "Only administrators may read the audit log", reason="audit")


def read_audit(
    user: User,
    path: str | os.PathLike[str] | None = None,
    *,
    since: dt.datetime | str | None = None,
    event: str | Iterable[str] | None = None,
    username: str | None = None,
) -> pd.DataFrame:
    """The audit log as a table, for administrators.

    Parameters
    ----------
    user : User
        Must be an administrator.
    path : path, optional
    since : datetime or ISO text, optional
        Only records at or after this time (naive means UTC).
    event : str or list of str, optional
        Only these events (:data:`EVENTS`).
    username : str, optional
        Only this user's records (any case).

    Returns
    -------
    pandas.DataFrame
        :data:`AUDIT_COLUMNS`, ``time`` as UTC datetimes, oldest first. ``attrs["check"]`` holds
        the :class:`AuditCheck` of the whole log, so a page can warn when it was tampered with.

    Raises
    ------
    AccessDenied
        ``reason == "audit"`` unless the role may read the audit log.
    ValueError
        When a filter is not allowed.
    """
    _require_audit_reader(user)
    events = (event,) if isinstance(event, str) else (tuple(event) if event is not None else None)
    if events is not None and any(e not in EVENTS for e in events):
        raise ValueError(f"event must be among {', '.join(EVENTS)}; got {list(events)[:5]}")
    if since is not None:
        try:
            since = pd.Timestamp(since)
        except (ValueError, TypeError):
            raise ValueError(f"since must be a datetime or ISO 8601 text, got {str(since)[:40]!r}") from None
        since = since.tz_localize("UTC") if since.tzinfo is None else since.tz_convert("UTC")
    log = _log_path(path)
    records: list[dict] = []
    if log.is_file():
        with _locked(log, shared=True):
            lines, _ = _read_lines(log)
        for raw in lines:
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append({c: record.get(c) for c in AUDIT_COLUMNS})
    frame = pd.DataFrame.from_records(records, columns=list(AUDIT_COLUMNS))
    frame["seq"] = pd.array(frame["seq"], dtype="Int64")
    frame["rows"] = pd.array(frame["rows"], dtype="Int64")
    frame["time"] = pd.to_datetime(frame["time"], utc=True, errors="coerce", format="ISO8601")
    for column in ("event", "username", "role", "scope", "what", "file_sha256", "detail"):
        frame[column] = frame[column].astype("string")
    keep = pd.Series(True, index=frame.index)
    if since is not None:
        keep &= frame["time"] >= since
    if events is not None:
        keep &= frame["event"].isin(events)
    if username is not None:
        keep &= frame["username"].str.casefold() == str(username).strip().casefold()
    out = frame.loc[keep.fillna(False).to_numpy(bool)].reset_index(drop=True)
    out.attrs["check"] = check_audit_log(log)
    return out


def export_audit(
    user: User,
    *,
    fmt: str = "csv",
    path: str | os.PathLike[str] | None = None,
    since: dt.datetime | str | None = None,
    event: str | Iterable[str] | None = None,
    username: str | None = None,
    now: dt.datetime | None = None,
) -> bytes:
    """The audit log (filtered as :func:`read_audit`) as CSV or XLSX bytes; the export is logged.

    Cells are formula-neutralised by :mod:`geo.spreadsheet`; times are written in UTC.

    Parameters
    ----------
    fmt : {"csv", "xlsx"}

    Raises
    ------
    AccessDenied
        Unless the role may read the audit log.

    Example
    -------
    >>> data = export_audit(admin, fmt="xlsx")  # doctest: +SKIP
    """
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"fmt must be 'csv' or 'xlsx', got {str(fmt)[:20]!r}")
    table = read_audit(user, path, since=since, event=event, username=username)
    table["time"] = table["time"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    data = to_csv_bytes(table) if fmt == "csv" else to_xlsx_bytes(table, sheet_name="audit")
    log_event("export", user, what=f"audit log ({fmt})", rows=len(table), file_sha256=sha256_hex(data), path=path,
              now=now)
    return data
