"""Household import: messy real files in, a clear report out, nothing lost.

Public API (pure: nothing here imports Streamlit, and nothing is written until
:func:`save_import`)::

    result = import_households(files, mode="upsert", store=store_dir(), id_key=key, boundaries=b)
    result.report()            # the JSON report
    rejects_to_bytes(result)   # rejected rows with reasons, XLSX or CSV
    save_import(result)        # accepted rows and provenance into the store

Each file is read within :class:`ImportLimits` (rows, columns, unpacked size, memory; checked while
reading, :mod:`geo.ingest.limits`). :func:`import_households_isolated` runs the same import in a
child process with a hard memory ceiling, at a lower priority: what the app's data page should call
so that one user's import neither slows nor grows the server (:mod:`geo.ingest.isolated`).

The command line is ``python -m geo households import FILE [FILE ...]`` (:mod:`geo.cli.ingest`).
Rules, reason codes and the alias table are in ``docs/DATA.md``.
"""

from geo.ingest.pipeline import (
    FileSummary,
    ImportResult,
    content_hash,
    households_to_bytes,
    import_households,
    rejects_to_bytes,
    save_import,
)
from geo.ingest.limits import ImportLimits
from geo.errors import ImportLimitError
from geo.ingest.reasons import REASONS, Reason


def import_households_isolated(files, **options) -> ImportResult:
    """:func:`import_households` in a child process; see :mod:`geo.ingest.isolated`."""
    from geo.ingest.isolated import import_households_isolated as _run

    return _run(files, **options)


__all__ = [
    "REASONS",
    "FileSummary",
    "ImportLimitError",
    "ImportLimits",
    "ImportResult",
    "Reason",
    "content_hash",
    "households_to_bytes",
    "import_households",
    "import_households_isolated",
    "rejects_to_bytes",
    "save_import",
]
