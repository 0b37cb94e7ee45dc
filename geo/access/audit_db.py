"""The audit log in the database (``audit_log``), when ``$PPAP_DATABASE_URL`` is set.

The same records and the same chain as the file log of :mod:`geo.access.audit`: each record's
``prev`` is the SHA-256 of the line before, ``hash`` the SHA-256 of the record without it. Each
line is one row (``seq``, ``line``, ``prev``). The app's role (``ppap_app``) may only INSERT into
the table: it cannot change or delete a record, so the file log's checkpoints (head and anchor,
which detect truncation) are not needed; a trigger refuses a record that does not follow the last
one (wrong ``seq`` or ``prev``), and reading goes through ``ppap_audit_tail()`` and
``ppap_audit_lines()`` (``geo/data/migrations/0001_schema.sql``). Writers take turns with an
advisory lock held until their transaction commits.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from geo.data import database
from geo.errors import AuditError, StoreError

#: pg_advisory_xact_lock key, the same the trigger takes (hashtext('ppap_audit_log')).
_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('ppap_audit_log'))"


def enabled(path: object = None) -> bool:
    """True when the default audit log (``path`` None) is the database's."""
    return path is None and database.enabled()


def append(record: dict, *, record_hash: Callable[[dict], str], genesis: str) -> dict:
    """Chain ``record`` (without ``seq``/``prev``/``hash``) to the last record, insert it, return it.

    ``record_hash`` and ``genesis`` are :mod:`geo.access.audit`'s (which calls this), so both logs
    hash alike.

    Raises
    ------
    AuditError
        When the database cannot be written (callers showing household rows must not show them).
    """
    import psycopg

    try:
        with database.connect() as conn, conn.transaction():
            conn.execute(_LOCK_SQL)
            tail = conn.execute("SELECT seq, line_sha256 FROM ppap_audit_tail()").fetchone()
            last_seq, last_sha = (int(tail[0]), tail[1]) if tail and tail[0] is not None else (0, genesis)
            record["seq"], record["prev"] = last_seq + 1, last_sha
            record["hash"] = record_hash(record)
            line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
            conn.execute("INSERT INTO audit_log (seq, line, prev) VALUES (%s, %s, %s)",
                         (record["seq"], line, record["prev"]))
    except (psycopg.Error, StoreError) as exc:
        raise AuditError(f"audit log (database): cannot be written: {str(exc).strip().splitlines()[0][:300]}") from None
    return record


def lines() -> list[bytes]:
    """Every record's line, oldest first (as the file log's lines, without line ends)."""
    import psycopg

    try:
        with database.connect(autocommit=True) as conn:
            rows = conn.execute("SELECT line FROM ppap_audit_lines(0)").fetchall()
    except (psycopg.Error, StoreError) as exc:
        raise AuditError(f"audit log (database): cannot be read: {str(exc).strip().splitlines()[0][:300]}") from None
    return [r[0].encode("utf-8") for r in rows]


def check(*, record_hash: Callable[[dict], str], genesis: str, fields: tuple[tuple[str, ...], ...],
          events: tuple[str, ...]) -> tuple:
    """The database log checked as :func:`geo.access.audit.check_audit_log` checks a file: every
    line parses and has ``fields``, ``seq`` counts 1, 2, …, each ``prev`` is the SHA-256 of the
    line before, each ``hash`` matches, no ``audit_break``. Returns the fields of an
    ``AuditCheck``: ``(ok, first_bad_line, lines, problem, breaks)``."""
    found = lines()
    previous = genesis
    breaks = []
    for number, raw in enumerate(found, start=1):
        try:
            record = json.loads(raw)
        except ValueError:
            return False, number, len(found), f"record {number} is not JSON", ()
        if not isinstance(record, dict) or tuple(record) not in fields:
            return False, number, len(found), f"record {number} does not have the record's fields", ()
        if record["seq"] != number:
            return False, number, len(found), f"record {number} has seq {record['seq']!r}", ()
        if record["prev"] != previous:
            return False, number, len(found), f"record {number} does not follow the record before it", ()
        if record["hash"] != record_hash(record):
            return False, number, len(found), f"record {number} was changed after it was written", ()
        if record["event"] not in events:
            return False, number, len(found), f"record {number} has an unknown event", ()
        if record["event"] == "audit_break":
            breaks.append(number)
        previous = hashlib.sha256(raw).hexdigest()
    if breaks:
        return False, breaks[0], len(found), f"record {breaks[0]} records a break in the log", tuple(breaks)
    return True, None, len(found), "", ()
