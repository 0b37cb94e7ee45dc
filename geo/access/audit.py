"""The audit log, and the scanners that keep national IDs, names and positions out of what leaves.

Audit log
---------
An append-only JSON Lines file, :func:`audit_log_path` (``$PPAP_AUDIT_LOG``, else
``<data>/audit/audit.jsonl``), one record per event::

    {"seq": 7, "time": "2026-11-21T03:04:05.123Z", "event": "export",
     "username": "public", "role": "viewer", "scope": "viewer|all", "session": "3f9c0a1b7d2e",
     "page": "households", "area": "46", "filters": "prov=46 level=1,2 by=district", "format": "csv",
     "what": "households_by_district", "rows": 18, "file_sha256": "<sha256 of the file>", "detail": "",
     "prev": "<sha256 of line 6>", "hash": "<sha256 of this record without hash>"}

Who: ``username`` (``public`` for anonymous visitors) and ``session``, the browser session's
anonymous id (``User.session_id``), so two anonymous visitors are told apart. What: ``page``,
``area``, ``filters`` and ``format`` (:func:`log_export` fills them from the view), ``what``.

Events are :data:`EVENTS`. Writers take an exclusive ``flock`` on ``audit.jsonl.lock``, read the
last line, append one line with ``O_APPEND``, ``fsync`` it, and record a **checkpoint** — the
record count and the last line's hash — twice: in ``audit.jsonl.head`` beside the log and in the
**anchor**, a file kept apart from the log (:func:`anchor_path`: ``$PPAP_AUDIT_ANCHOR_DIR``, else
the folder ``<log folder>-anchor`` beside the log's folder), both written to a new file and renamed.
With ``$PPAP_AUDIT_KEY`` set, each checkpoint carries an HMAC-SHA256 of its content under that key.

**Truncation and deletion are detected, never re-sealed.** Before appending, a writer compares the
log with its checkpoints; when records were cut off the end, the log was deleted or replaced, or a
checkpoint is missing or forged, it first appends an ``audit_break`` record saying what it expected
and what it found, chained to whatever is left, and only then the event. The break stays in the
chain, so :func:`check_audit_log` reports the log as tampered from then on (``breaks``), as it does
for a log that disagrees with its checkpoints before anything is written. It also finds the first
line that was edited (its ``hash``), deleted or inserted (``seq`` and ``prev``). Detection, not
prevention: someone who can rewrite the log, the head *and* the anchor — and who holds the key, if
one is set — can forge a consistent log; keep the anchor where the app's other files are not
(another mount, another owner) and the key out of the data folder (docs/ACCESS.md).

Anonymous denial floods are rate-limited (:class:`DenialBudget`): past a burst, further ``denied``
records of one anonymous session are counted and written as one ``denials_summarised`` record.

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
import hmac
import html
import io
import json
import os
import re
import tempfile
import threading
import time
import unicodedata
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from geo.access import audit_db
from geo.access.roles import User, household_rows, scope_key
from geo.errors import AccessDenied, ArgumentError, ArgumentTypeError, AuditError
from geo.data.contract import THAILAND_LAT_RANGE, THAILAND_LON_RANGE
from geo.data.national_id import is_valid_national_id, mask_national_id, normalise_national_id
from geo.data.paths import data_dir
from geo.data.spreadsheet import to_csv_bytes, to_xlsx_bytes
from geo.text import th_en

#: Environment variable that moves the audit log.
AUDIT_LOG_ENV = "PPAP_AUDIT_LOG"
#: Environment variable naming the folder of the anchor (:func:`anchor_path`).
AUDIT_ANCHOR_ENV = "PPAP_AUDIT_ANCHOR_DIR"
#: Environment variable holding the key of the checkpoints' HMAC (at least 16 characters).
AUDIT_KEY_ENV = "PPAP_AUDIT_KEY"
#: What callers log (:func:`log_event`).
USER_EVENTS: tuple[str, ...] = (
    "login", "login_failed", "logout", "expired", "household_view", "import", "import_failed", "export", "denied",
    "setting",
)
#: Written by the log itself: a break found before appending, and a count of rate-limited denials.
SYSTEM_EVENTS: tuple[str, ...] = ("audit_break", "denials_summarised")
#: Everything a record's ``event`` may be.
EVENTS: tuple[str, ...] = USER_EVENTS + SYSTEM_EVENTS
#: Fields of a record, in the order written.
RECORD_FIELDS: tuple[str, ...] = (
    "seq", "time", "event", "username", "role", "scope", "session", "page", "area", "filters", "format",
    "what", "rows", "file_sha256", "detail", "prev", "hash",
)
#: Fields of records written before ``session`` ... ``format`` existed (still accepted by the check).
LEGACY_RECORD_FIELDS: tuple[str, ...] = (
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
#: Username of the records the log writes itself (``audit_break``).
AUDIT_USERNAME = "(audit)"

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def audit_log_path() -> Path:
    """The audit log: ``$PPAP_AUDIT_LOG`` when set, else ``<data>/audit/audit.jsonl``."""
    override = os.environ.get(AUDIT_LOG_ENV)
    return Path(override) if override else data_dir() / "audit" / "audit.jsonl"


def _log_path(path: str | os.PathLike[str] | None) -> Path:
    return Path(path) if path is not None else audit_log_path()


def _head_path(path: Path) -> Path:
    return path.with_name(path.name + ".head")


def anchor_path(path: str | os.PathLike[str] | None = None) -> Path:
    """Where the anchor of the log at ``path`` is kept, apart from the log.

    ``$PPAP_AUDIT_ANCHOR_DIR/<log name>.anchor`` when the variable is set, else
    ``<log folder>-anchor/<log name>.anchor`` (``data/audit-anchor/audit.jsonl.anchor`` for the
    default log). Point the variable at a folder the app can write but an operator cleaning
    ``data/`` would not touch — best another mount or owner.

    Example
    -------
    >>> anchor_path("/srv/ppap/data/audit/audit.jsonl").as_posix()  # doctest: +SKIP
    '/srv/ppap/data/audit-anchor/audit.jsonl.anchor'
    """
    log = _log_path(path)
    folder = os.environ.get(AUDIT_ANCHOR_ENV)
    base = Path(folder) if folder else log.parent.with_name(log.parent.name + "-anchor")
    return base / (log.name + ".anchor")


def audit_key() -> bytes | None:
    """The checkpoints' HMAC key from ``$PPAP_AUDIT_KEY`` (``None`` when unset: checkpoints are
    then plain hashes, which whoever can write them can recompute).

    Raises
    ------
    AuditError
        When the variable is set but shorter than 16 characters.
    """
    value = os.environ.get(AUDIT_KEY_ENV, "")
    if not value:
        return None
    if len(value) < 16:
        raise AuditError(f"${AUDIT_KEY_ENV} must be at least 16 characters (a long random string), got {len(value)}")
    return value.encode("utf-8")


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
        raise ArgumentTypeError(f"data must be bytes, got {type(data).__name__}")
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
        raise ArgumentTypeError(f"text must be str, got {type(text).__name__}")
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
        raise ArgumentTypeError(f"text must be str, got {type(text).__name__}")
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
        raise ArgumentTypeError(f"data must be str or bytes, got {type(data).__name__}")
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
            raise ArgumentTypeError(f"names must hold str, got {type(name).__name__}")
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
        raise ArgumentTypeError(f"text must be str, got {type(text).__name__}")
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


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint (the head beside the log, or the anchor apart from it): how many records the
    log held and the SHA-256 of its last line when it was last written, and their HMAC."""

    lines: int
    last_line_sha256: str
    mac: str | None = None


def _checkpoint_mac(key: bytes, lines: int, last_sha256: str) -> str:
    return hmac.new(key, f"ppap-audit-v1|{lines}|{last_sha256}".encode("ascii"), hashlib.sha256).hexdigest()


def _read_checkpoint(file: Path) -> Checkpoint | None:
    """The checkpoint in ``file``; None when there is none. Raises ValueError when it is damaged."""
    if not file.is_file():
        return None
    stored = json.loads(file.read_text(encoding="utf-8"))
    mac = stored.get("mac")
    if mac is not None and not (isinstance(mac, str) and _HEX64.match(mac)):
        raise ValueError("mac")
    return Checkpoint(int(stored["lines"]), str(stored["last_line_sha256"]), mac)


def _checkpoint_problem(point: Checkpoint, key: bytes | None, name: str) -> str:
    """Why a checkpoint cannot be trusted under ``key`` ("" when it can)."""
    if key is None:
        if point.mac is not None:
            return f"{name} is signed, but ${AUDIT_KEY_ENV} is not set here, so it cannot be checked"
        return ""
    if point.mac is None:
        return f"{name} is not signed although ${AUDIT_KEY_ENV} is set (written without the key, or forged)"
    if not hmac.compare_digest(point.mac, _checkpoint_mac(key, point.lines, point.last_line_sha256)):
        return f"{name}'s signature does not match (forged, or another ${AUDIT_KEY_ENV})"
    return ""


def _write_checkpoint(file: Path, lines: int, last_sha256: str, key: bytes | None) -> None:
    file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = {"lines": lines, "last_line_sha256": last_sha256,
            "mac": _checkpoint_mac(key, lines, last_sha256) if key is not None else None}
    fd, tmp = tempfile.mkstemp(prefix=f".{file.name}.", dir=file.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(body, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _break_found(log: Path, last_seq: int, last_sha: str | None, key: bytes | None) -> str:
    """What is wrong with the log before a record is appended ("" when it is as last written)."""
    found = f"found {last_seq} record{'s' if last_seq != 1 else ''}" if last_seq else "found no log"
    problems = []
    for name, file in (("the anchor", anchor_path(log)), (_head_path(log).name, _head_path(log))):
        try:
            point = _read_checkpoint(file)
        except (ValueError, KeyError, TypeError, OSError):
            problems.append(f"{name} is damaged")
            continue
        if point is None:
            if last_seq and name == "the anchor":
                problems.append(f"the anchor is missing ({found}): records cut off the end cannot be ruled out")
            continue
        why = _checkpoint_problem(point, key, name)
        if why and point.mac is not None and key is None:
            raise AuditError(f"audit log {log}: {why}; set it before anything is logged")
        if why:
            problems.append(why)
        elif point.lines != last_seq or (point.lines and point.last_line_sha256 != last_sha):
            cut = point.lines - last_seq
            detail = (f"{cut} record{'s' if cut != 1 else ''} removed from the end" if cut > 0 and last_seq
                      else "the log was deleted" if not last_seq
                      else "the last record was replaced" if cut == 0
                      else f"{-cut} record{'s' if cut != -1 else ''} added without a checkpoint")
            problems.append(f"{name} records {point.lines} records ending in {point.last_line_sha256[:12]}, "
                            f"{found}: {detail}")
    return "; ".join(dict.fromkeys(problems))


def _append(fd: int, record: dict) -> bytes:
    record["hash"] = _record_hash(record)
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    payload = memoryview(line + b"\n")
    while payload:
        payload = payload[os.write(fd, payload):]
    os.fsync(fd)
    return line


def _utc_iso(now: dt.datetime | None) -> str:
    now = now or dt.datetime.now(dt.timezone.utc)
    if not isinstance(now, dt.datetime):
        raise ArgumentTypeError(f"now must be a datetime, got {type(now).__name__}")
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    return now.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _check_sha(file_sha256: object) -> str | None:
    if file_sha256 is None:
        return None
    text = file_sha256.removeprefix("sha256:").lower() if isinstance(file_sha256, str) else None
    if text is None or not _HEX64.match(text):
        raise ArgumentError(
            f"file_sha256 must be 64 hex characters (or 'sha256:' + 64, as geo.ingest.content_hash gives), "
            f"got {str(file_sha256)[:80]!r}"
        )
    return text


_FORMAT = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,15}$")


def log_event(
    event: str,
    user: User | None,
    *,
    what: str = "",
    rows: int | None = None,
    file_sha256: str | None = None,
    detail: str = "",
    redact: Iterable[str] = (),
    page: str = "",
    area: str = "",
    filters: str = "",
    fmt: str = "",
    session: str | None = None,
    path: str | os.PathLike[str] | None = None,
    now: dt.datetime | None = None,
) -> dict:
    """Append one record to the audit log and return it.

    When the log does not match its checkpoints (records cut off the end, the log deleted or
    replaced, a checkpoint missing or forged), an ``audit_break`` record saying what was expected
    and what was found is appended first: the log is never re-sealed as if nothing happened, and
    :func:`check_audit_log` reports the break from then on.

    Parameters
    ----------
    event : str
        One of :data:`USER_EVENTS`.
    user : User or None
        Who; ``None`` when not known (a failed login with an unknown username is recorded as
        ``"(unknown)"``: the typed name is not logged, it may be a password typed in the wrong box).
        An anonymous visitor is the public viewer carrying its ``session_id``.
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
    page, area, filters : str
        Where: the page ("households"), the area shown ("46", "4609", "all") and the filters
        (``prov=46 level=1,2``); redacted like ``what``. :func:`view_fields` makes them from a view.
    fmt : str
        The file format of an export or import ("csv", "xlsx", "png", ...).
    session : str, optional
        The browser session's anonymous id; ``user.session_id`` when omitted.
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
        When the log or its anchor cannot be written, its last line is damaged (run ``python -m geo
        access verify-audit``), or its checkpoints are signed but ``$PPAP_AUDIT_KEY`` is not set.
        Callers showing household rows must not show them then.
    ValueError, TypeError
        When an argument is not allowed; the message names it.

    Example
    -------
    >>> log_event("login", user, path=tmp / "audit.jsonl")["seq"]  # doctest: +SKIP
    1
    """
    if event not in USER_EVENTS:
        raise ArgumentError(f"event must be one of {', '.join(USER_EVENTS)}; got {str(event)[:40]!r}")
    return _write_event(event, user, what=what, rows=rows, file_sha256=file_sha256, detail=detail, redact=redact,
                        page=page, area=area, filters=filters, fmt=fmt, session=session, path=path, now=now)


def _write_event(event, user, *, what="", rows=None, file_sha256=None, detail="", redact=(), page="", area="",
                 filters="", fmt="", session=None, path=None, now=None) -> dict:
    if user is not None and not isinstance(user, User):
        raise ArgumentTypeError(f"user must be a geo.access.roles.User or None, got {type(user).__name__}")
    for name, value in (("what", what), ("detail", detail), ("page", page), ("area", area), ("filters", filters)):
        if not isinstance(value, str):
            raise ArgumentTypeError(f"{name} must be str, got {type(value).__name__}")
    if not isinstance(fmt, str) or (fmt and not _FORMAT.match(fmt)):
        raise ArgumentError(f"fmt must be a short lower-case format name like 'csv', got {str(fmt)[:20]!r}")
    if session is None:
        session = user.session_id if user is not None else ""
    if not isinstance(session, str) or len(session) > 64:
        raise ArgumentError(f"session must be text of at most 64 characters, got {str(session)[:70]!r}")
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 0):
        raise ArgumentError(f"rows must be a whole number of at least 0 or None, got {rows!r}")
    names = tuple(redact)
    time_text = _utc_iso(now)
    record = {
        "seq": 0,
        "time": time_text,
        "event": event,
        "username": user.username if user else (AUDIT_USERNAME if event == "audit_break" else UNKNOWN_USERNAME),
        "role": user.role if user else "",
        "scope": scope_key(user) if user else "",
        "session": redact_text(session, limit=64),
        "page": redact_text(page, names=names, limit=100),
        "area": redact_text(area, names=names, limit=100),
        "filters": redact_text(filters, names=names),
        "format": fmt,
        "what": redact_text(what, names=names),
        "rows": rows,
        "file_sha256": _check_sha(file_sha256),
        "detail": redact_text(detail, names=names),
    }
    if audit_db.enabled(path):  # $PPAP_DATABASE_URL: the audit_log table, insert-only (geo.access.audit_db)
        return audit_db.append(record, record_hash=_record_hash, genesis=GENESIS)
    log = _log_path(path)
    key = audit_key()
    try:
        log.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _locked(log):
            fd = os.open(log, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                last = _last_line(fd)
                last_seq = 0
                if last is not None:
                    try:
                        last_seq = int(json.loads(last)["seq"])
                    except (ValueError, KeyError, TypeError):
                        raise AuditError(
                            f"audit log {log}: its last line is damaged, so no record can be chained to it; "
                            "run `python -m geo access verify-audit` and move the file aside"
                        ) from None
                last_sha = hashlib.sha256(last).hexdigest() if last is not None else None
                broken = _break_found(log, last_seq, last_sha, key)
                if broken:
                    found = {"seq": last_seq + 1, "time": time_text, "event": "audit_break",
                             "username": AUDIT_USERNAME, "role": "", "scope": "", "session": "", "page": "",
                             "area": "", "filters": "", "format": "", "what": "audit log checked before writing",
                             "rows": None, "file_sha256": None, "detail": broken[:MAX_TEXT_CHARS],
                             "prev": last_sha or GENESIS}
                    last = _append(fd, found)
                    last_seq, last_sha = found["seq"], hashlib.sha256(last).hexdigest()
                record["seq"], record["prev"] = last_seq + 1, last_sha or GENESIS
                line = _append(fd, record)
            finally:
                os.close(fd)
            line_sha = hashlib.sha256(line).hexdigest()
            _write_checkpoint(_head_path(log), record["seq"], line_sha, key)
            _write_checkpoint(anchor_path(log), record["seq"], line_sha, key)
    except OSError as exc:
        raise AuditError(f"audit log {log}: cannot be written: {exc.strerror or exc}") from exc
    return record


def view_fields(view: object) -> dict[str, str]:
    """``area`` and ``filters`` for :func:`log_event` from a view that describes itself
    (:meth:`geo.views.viewstate.ViewState.audit_fields`); the audit log imports no view code."""
    fields = getattr(view, "audit_fields", None)
    if not callable(fields):
        raise ArgumentTypeError(f"view must be a geo.views.viewstate.ViewState, got {type(view).__name__}")
    return fields()


def log_export(user: User, *, page: str, fmt: str, data: bytes, view: object = None, rows: int | None = None,
               what: str = "", path: str | os.PathLike[str] | None = None, now: dt.datetime | None = None) -> dict:
    """Record an export: who, the page, the area and filters of the view, the format, the file's hash.

    Parameters
    ----------
    user : User
    page : str
        The page the export was made on ("households").
    fmt : str
        "csv", "xlsx", "png", "pdf", "html", ...
    data : bytes
        The exported file (only its SHA-256 is kept).
    view : geo.views.viewstate.ViewState, optional
        The view exported; gives ``area`` and ``filters`` (:func:`view_fields`).
    rows : int, optional
        Rows (areas) in the file.
    what : str
        Which table or map ("households_by_district").

    Example
    -------
    >>> log_export(user, page="households", fmt="csv", data=csv, view=view, rows=len(table),
    ...            what="households_by_district")  # doctest: +SKIP
    """
    where = view_fields(view) if view is not None else {"area": "", "filters": ""}
    return log_event("export", user, page=page, fmt=fmt, what=what, rows=rows, file_sha256=sha256_hex(data),
                     path=path, now=now, **where)


def log_import_failed(user: User, *, error: BaseException | str, data: bytes | None = None, file_name: str = "",
                      mode: str = "", path: str | os.PathLike[str] | None = None,
                      now: dt.datetime | None = None) -> dict:
    """Record an import that failed (a file that could not be read, checked or saved).

    Only the file's SHA-256 and its format (from ``file_name``'s ending) are kept, never the name
    itself (it may hold a person's name); the error text is redacted.

    Example
    -------
    >>> log_import_failed(user, error=exc, data=upload.getvalue(), file_name=upload.name,
    ...                   mode="append")  # doctest: +SKIP
    """
    suffix = Path(str(file_name)).suffix.lower().lstrip(".")
    message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return log_event("import_failed", user, page="data", what=f"import {mode}".strip(), detail=message,
                     fmt=suffix if _FORMAT.match(suffix or "-") else "",
                     file_sha256=sha256_hex(data) if data is not None else None, path=path, now=now)


class DenialBudget:
    """How many ``denied`` records anonymous visitors may cause: a token bucket per browser session
    and one shared by all anonymous sessions.

    Each key may write ``burst`` records at once, then ``per_minute`` more a minute; all anonymous
    keys together ``shared_burst`` / ``shared_per_minute``. A denial past either budget is counted,
    not written; the next one admitted for that key is preceded by one ``denials_summarised``
    record with the count (:func:`log_denied`). Thread-safe; in memory, per process.

    Example
    -------
    >>> budget = DenialBudget(burst=2, per_minute=0.001, clock=lambda: 0.0)
    >>> [budget.admit("s")[0] for _ in range(4)]
    [True, True, False, False]
    """

    def __init__(self, burst: int = 10, per_minute: float = 6.0, *, shared_burst: int = 200,
                 shared_per_minute: float = 120.0, clock: Callable[[], float] = time.monotonic,
                 max_tracked: int = 10_000) -> None:
        for name, value in (("burst", burst), ("shared_burst", shared_burst), ("max_tracked", max_tracked)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ArgumentError(f"{name} must be a whole number of at least 1, got {value!r}")
        for name, value in (("per_minute", per_minute), ("shared_per_minute", shared_per_minute)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ArgumentError(f"{name} must be a positive number, got {value!r}")
        self.burst, self.rate = burst, per_minute / 60.0
        self.shared_burst, self.shared_rate = shared_burst, shared_per_minute / 60.0
        self._clock = clock
        self._max = max_tracked
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()  # key -> [tokens, last, suppressed, first]
        self._shared = [float(shared_burst), clock()]
        self._lock = threading.Lock()

    def admit(self, key: str) -> tuple[bool, int, float | None]:
        """``(write it, denials suppressed before it, clock time of the first suppressed)``."""
        with self._lock:
            now = self._clock()
            bucket = self._buckets.pop(key, None) or [float(self.burst), now, 0, -1.0]
            bucket[0] = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
            self._shared[0] = min(self.shared_burst, self._shared[0] + (now - self._shared[1]) * self.shared_rate)
            self._shared[1] = now
            allowed = bucket[0] >= 1 and self._shared[0] >= 1
            suppressed, first = 0, None
            if allowed:
                bucket[0] -= 1
                self._shared[0] -= 1
                suppressed, first = int(bucket[2]), (bucket[3] if bucket[2] else None)
                bucket[2], bucket[3] = 0, -1.0
            else:
                if not bucket[2]:
                    bucket[3] = now
                bucket[2] += 1
            self._buckets[key] = bucket
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
            return allowed, suppressed, first


#: The process's budget for anonymous denials (:func:`log_denied`).
DENIAL_BUDGET = DenialBudget()


def log_denied(user: User | None, exc: AccessDenied, *, what: str = "", path: str | os.PathLike[str] | None = None,
               now: dt.datetime | None = None, budget: DenialBudget | None = None, page: str = "",
               area: str = "", filters: str = "") -> dict | None:
    """Record an :class:`~geo.access.roles.AccessDenied` (``event = "denied"``, its reason and message).

    Denials of anonymous visitors (the public viewer, or no user) are rate-limited per browser
    session by ``budget`` (:data:`DENIAL_BUDGET` when omitted): past it they are counted, and the
    next one written is preceded by a ``denials_summarised`` record holding the count (``rows``).
    Logged-in users' denials are always written.

    Returns
    -------
    dict or None
        The record written, or None when the denial was only counted.

    Example
    -------
    >>> try:
    ...     rows = view_household_rows(frame, user, what="households page")  # doctest: +SKIP
    ... except AccessDenied as exc:  # doctest: +SKIP
    ...     log_denied(user, exc, what="households page")  # doctest: +SKIP
    """
    if not isinstance(exc, AccessDenied):
        raise ArgumentTypeError(f"exc must be an AccessDenied, got {type(exc).__name__}")
    if user is None or (isinstance(user, User) and user.is_public):
        session = user.session_id if user is not None else ""
        allowed, suppressed, _ = (budget or DENIAL_BUDGET).admit(session or "(no session)")
        if not allowed:
            return None
        if suppressed:
            _write_event("denials_summarised", user, what=what, rows=suppressed, path=path, now=now,
                         detail=f"{suppressed} earlier denied request{'s' if suppressed != 1 else ''} of this "
                                "anonymous session were counted, not written one by one (rate limit)")
    return log_event("denied", user, what=what, detail=f"{exc.reason}: {exc.message_en}", path=path, now=now,
                     page=page, area=area, filters=filters)


#: Most household rows one view shows: a larger selection asks for a smaller area first (a table of
#: millions of rows helps nobody, and at national scale reading them costs seconds and gigabytes).
MAX_HOUSEHOLD_ROWS = 50_000


def view_household_rows(frame: pd.DataFrame, user: User, *, what: str, redact: Iterable[str] = (),
                        page: str = "", view: object = None, path: str | os.PathLike[str] | None = None,
                        now: dt.datetime | None = None) -> pd.DataFrame:
    """:func:`geo.access.roles.household_rows`, with the view written to the audit log first.

    The rows are returned only after the ``household_view`` record is on disk; a refusal is
    recorded as ``denied`` and re-raised.

    Parameters
    ----------
    frame : pandas.DataFrame
        Households in the data contract.
    user : User
    what : str
        What is shown, for the log ("households page, filter: district 4609, level 1-2").
    page : str
        The page showing the rows ("households").
    view : geo.views.viewstate.ViewState, optional
        The view shown: its area and filters go into the record (:func:`view_fields`).
    redact, path, now
        As for :func:`log_event`.

    Raises
    ------
    AccessDenied
        From :func:`geo.access.roles.household_rows`.
    AuditError
        When the view cannot be logged (nothing is shown then).

    Example
    -------
    >>> rows = view_household_rows(households, user, what="households page")  # doctest: +SKIP
    """
    where = view_fields(view) if view is not None else {"area": "", "filters": ""}
    try:
        rows = household_rows(frame, user)
    except AccessDenied as exc:
        log_denied(user, exc, what=what, path=path, now=now, page=page, **where)
        raise
    log_event("household_view", user, what=what, rows=len(rows), redact=redact, path=path, now=now, page=page,
              **where)
    return rows


# ---------------------------------------------------------------------------------------------
# Checking and reading
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditCheck:
    """Result of :func:`check_audit_log`.

    ``breaks`` lists the lines of ``audit_break`` records (a truncation, deletion or forged
    checkpoint found by a writer); ``keyed`` says the checkpoints were verified with
    ``$PPAP_AUDIT_KEY``.
    """

    ok: bool
    first_bad_line: int | None  # 1-based; one past the end when lines are missing at the end
    lines: int
    problem: str  # "" when ok
    breaks: tuple[int, ...] = ()
    keyed: bool = False


def _read_lines(path: Path) -> tuple[list[bytes], bool]:
    data = path.read_bytes()
    if not data:
        return [], True
    complete = data.endswith(b"\n")
    lines = data[:-1].split(b"\n") if complete else data.split(b"\n")
    return lines, complete


def check_audit_log(path: str | os.PathLike[str] | None = None) -> AuditCheck:
    """Check the whole log: every line parses, ``seq`` counts 1, 2, ..., each ``prev`` is the
    SHA-256 of the line before, each ``hash`` matches its record, no ``audit_break`` was recorded,
    and both checkpoints — the head beside the log and the anchor apart from it
    (:func:`anchor_path`) — agree with its end and, with ``$PPAP_AUDIT_KEY`` set, carry its HMAC.

    A log cut short, or deleted while its anchor remains, is reported as tampered, as is a log
    with a recorded break.

    Example
    -------
    >>> check_audit_log(tmp / "audit.jsonl").ok  # doctest: +SKIP
    True
    """
    if audit_db.enabled(path):
        return AuditCheck(*audit_db.check(record_hash=_record_hash, genesis=GENESIS, events=EVENTS,
                                          fields=(RECORD_FIELDS, LEGACY_RECORD_FIELDS)))
    log = _log_path(path)
    key = audit_key()
    head_file, anchor_file = _head_path(log), anchor_path(log)
    if not log.is_file() and not head_file.is_file() and not anchor_file.is_file():
        return AuditCheck(True, None, 0, "")
    points: dict[str, Checkpoint | None] = {}
    with _locked(log, shared=True):
        lines, complete = _read_lines(log) if log.is_file() else ([], True)
        for name, file in ((head_file.name, head_file), ("the anchor", anchor_file)):
            try:
                points[name] = _read_checkpoint(file)
            except (ValueError, KeyError, TypeError, OSError):
                return AuditCheck(False, 1, len(lines), f"{name} ({file}) is damaged")
    previous = GENESIS
    breaks: list[tuple[int, str]] = []
    for number, raw in enumerate(lines, start=1):
        try:
            record = json.loads(raw)
        except ValueError:
            return AuditCheck(False, number, len(lines), f"line {number} is not JSON")
        if not isinstance(record, dict) or tuple(record) not in (RECORD_FIELDS, LEGACY_RECORD_FIELDS):
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
        if record["event"] == "audit_break":
            breaks.append((number, str(record.get("detail", ""))))
        previous = hashlib.sha256(raw).hexdigest()
    if not complete:
        return AuditCheck(False, len(lines), len(lines), f"line {len(lines)} has no line end (cut off)")
    break_lines = tuple(n for n, _ in breaks)
    problems: list[tuple[int, str]] = [(n, f"line {n} records a break in the log: {why}") for n, why in breaks]
    last_sha = previous if lines else None
    for name, point in points.items():
        if point is None:
            # The anchor vouches for the log; a missing head alone is rewritten by the next writer.
            if lines and name == "the anchor":
                problems.append((len(lines) + 1, f"{name} is missing: records cut off the end cannot be ruled out"))
            continue
        why = _checkpoint_problem(point, key, name)
        if why:
            problems.append((len(lines) + 1, why))
        elif len(lines) < point.lines:
            what = "the log is missing" if not log.is_file() else f"the log ends at line {len(lines)}"
            problems.append((len(lines) + 1, f"{what} but {point.lines} records were written ({name}): "
                                             "records were removed"))
        elif len(lines) > point.lines:
            problems.append((point.lines + 1, f"lines after {point.lines} were added without a checkpoint ({name})"))
        elif point.lines and point.last_line_sha256 != last_sha:
            problems.append((point.lines, f"line {point.lines} differs from the one recorded in {name}"))
    keyed = key is not None and all(p is not None and p.mac is not None for p in points.values())
    if problems:
        first = min(n for n, _ in problems)
        return AuditCheck(False, first, len(lines), "; ".join(dict.fromkeys(p for _, p in problems)),
                          break_lines, keyed)
    return AuditCheck(True, None, len(lines), "", break_lines, keyed)


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
        raise ArgumentTypeError(f"user must be a geo.access.roles.User, got {type(user).__name__}")
    if not user.capabilities.may_read_audit:
        raise AccessDenied(*th_en("access.audit_admin_only"), reason="audit")


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
        raise ArgumentError(f"event must be among {', '.join(EVENTS)}; got {list(events)[:5]}")
    if since is not None:
        try:
            since = pd.Timestamp(since)
        except (ValueError, TypeError):
            raise ArgumentError(f"since must be a datetime or ISO 8601 text, got {str(since)[:40]!r}") from None
        since = since.tz_localize("UTC") if since.tzinfo is None else since.tz_convert("UTC")
    log = _log_path(path)
    records: list[dict] = []
    lines: list[bytes] = []
    if audit_db.enabled(path):
        lines = audit_db.lines()
    elif log.is_file():
        with _locked(log, shared=True):
            lines, _ = _read_lines(log)
    if lines:
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
    for column in ("event", "username", "role", "scope", "session", "page", "area", "filters", "format", "what",
                   "file_sha256", "detail"):
        frame[column] = frame[column].astype("string")
    keep = pd.Series(True, index=frame.index)
    if since is not None:
        keep &= frame["time"] >= since
    if events is not None:
        keep &= frame["event"].isin(events)
    if username is not None:
        keep &= frame["username"].str.casefold() == str(username).strip().casefold()
    out = frame.loc[keep.fillna(False).to_numpy(bool)].reset_index(drop=True)
    out.attrs["check"] = check_audit_log(path if audit_db.enabled(path) else log)
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

    Cells are formula-neutralised by :mod:`geo.data.spreadsheet`; times are written in UTC.

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
        raise ArgumentError(f"fmt must be 'csv' or 'xlsx', got {str(fmt)[:20]!r}")
    table = read_audit(user, path, since=since, event=event, username=username)
    table["time"] = table["time"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    data = to_csv_bytes(table) if fmt == "csv" else to_xlsx_bytes(table, sheet_name="audit")
    filters = " ".join(f"{k}={v}" for k, v in (("since", since), ("event", event), ("username", username)) if v)
    log_event("export", user, what="audit log", page="audit", area="all", filters=filters[:MAX_TEXT_CHARS],
              fmt=fmt, rows=len(table), file_sha256=sha256_hex(data), path=path,
              now=now)
    return data
