"""Limits on what one import may read: file size, unpacked size, rows, columns, memory.

A small file can stand for a huge table: a 60 KB Parquet file of 500,000 identical rows, or an
XLSX whose sheet unpacks to a gigabyte. The reader (:mod:`geo.ingest.read`) checks these limits
*while* it reads -- Parquet from its metadata before any row is decoded and then batch by batch,
XLSX from the zip's declared sizes before parsing and then row by row, CSV line by line -- and
stops with an :class:`ImportLimitError` as soon as one is passed, so a refused file never costs
more than a bounded amount of memory.

Defaults are in :class:`ImportLimits`; each can be changed in the environment
(``PPAP_IMPORT_MAX_ROWS`` ...) or by passing ``limits=`` to
:func:`geo.ingest.import_households`. ``docs/DATA.md`` (3.1) explains the figures.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass

from geo.errors import ArgumentError, ConfigError, ImportLimitError
from geo.text import CATALOGUE, en_th, label

MIB = 2**20

#: Estimated working memory of an import per cell of the file's table (bytes). Measured (peak
#: resident memory above the process's start): the 231,021-row, 26-column sample, every row
#: accepted, 0.40 GB (about 67 B per cell); 299,000 copies of one household, all but one rejected
#: as duplicates, 0.96 GB (about 124 B per cell: a rejected row keeps its cells and reasons for
#: the download). The estimate is 1.6 times the larger figure.
BYTES_PER_CELL = 200
#: ... plus this much per character of text (a cell's text is held raw, cleaned and parsed).
BYTES_PER_CHAR = 4

#: Environment variables that override the defaults, by field.
ENV_VARIABLES: dict[str, str] = {
    "max_file_bytes": "PPAP_IMPORT_MAX_FILE_MB",
    "max_unpacked_bytes": "PPAP_IMPORT_MAX_UNPACKED_MB",
    "max_compression_ratio": "PPAP_IMPORT_MAX_COMPRESSION_RATIO",
    "max_rows": "PPAP_IMPORT_MAX_ROWS",
    "max_columns": "PPAP_IMPORT_MAX_COLUMNS",
    "max_cell_chars": "PPAP_IMPORT_MAX_CELL_CHARS",
    "max_memory_bytes": "PPAP_IMPORT_MAX_MEMORY_MB",
}
_IN_MIB = frozenset({"max_file_bytes", "max_unpacked_bytes", "max_memory_bytes"})


@dataclass(frozen=True)
class ImportLimits:
    """What one file of an import may hold. Every check happens while the file is read.

    Attributes
    ----------
    max_file_bytes : int, default 200 MiB
        Size of the file as uploaded.
    max_unpacked_bytes : int, default 512 MiB
        XLSX: the sum of the zip members' declared uncompressed sizes. Parquet: the sum of the
        column chunks' uncompressed sizes. CSV: the decoded text, in characters. The 231,021-row
        sample unpacks to 209 MB as XLSX (a 23 MB file) and 31 MB as CSV.
    max_compression_ratio : float, default 100
        XLSX: the most a zip member larger than 1 MiB may unpack to per byte it takes in the zip
        (real sheets are 5-20; a zip bomb is 1,000).
    max_rows : int, default 300,000
        Data rows (lines, for CSV) in one file: above the whole 20-province sample (231,021) and
        ten times its largest province (28,836); split bigger files.
    max_columns : int, default 200
        Cells in any row (the contract has 26 columns; survey exports carry some more).
    max_cell_chars : int, default 32,767
        Characters in one cell (Excel's own limit).
    max_memory_bytes : int, default 2 GiB
        Estimated working memory of the whole import (all its files): ``BYTES_PER_CELL`` per cell
        plus ``BYTES_PER_CHAR`` per character read so far. The sample estimates at 1.3 GB
        (measured 0.4 GB); 300,000 rows of 26 columns at 1.7 GB.

    Example
    -------
    >>> ImportLimits(max_rows=1000).max_rows, ImportLimits().max_columns
    (1000, 200)
    """

    max_file_bytes: int = 200 * MIB
    max_unpacked_bytes: int = 512 * MIB
    max_compression_ratio: float = 100.0
    max_rows: int = 300_000
    max_columns: int = 200
    max_cell_chars: int = 32_767
    max_memory_bytes: int = 2048 * MIB

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ArgumentError(f"ImportLimits.{item.name} must be a positive number, got {value!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ImportLimits:
        """The defaults, with any ``PPAP_IMPORT_*`` variable of ``environ`` (``os.environ``) applied.

        Sizes are given in MiB (``PPAP_IMPORT_MAX_MEMORY_MB=1024``), counts as whole numbers.

        Raises
        ------
        ValueError
            When a variable is not a positive number (the message names it).

        Example
        -------
        >>> ImportLimits.from_env({"PPAP_IMPORT_MAX_ROWS": "50000"}).max_rows
        50000
        """
        environ = os.environ if environ is None else environ
        values: dict[str, float | int] = {}
        for name, variable in ENV_VARIABLES.items():
            text = environ.get(variable, "").strip()
            if not text:
                continue
            try:
                number = float(text) if name == "max_compression_ratio" else int(text)
            except ValueError:
                raise ConfigError(*en_th("limit.not_positive", variable=variable, text=text)) from None
            if not number > 0:
                raise ConfigError(*en_th("limit.not_positive", variable=variable, text=text))
            values[name] = number * MIB if name in _IN_MIB else number
        return cls(**values)


def _mb(size: float) -> str:
    return f"{size / MIB:,.0f} MB"


class ReadBudget:
    """Counts what a file's reader has produced and raises as soon as a limit is passed.

    One per file. The reader calls :meth:`add_row` for every row it keeps (before keeping it)
    and :meth:`add_text` for decoded text, so the check runs while the file is read.
    """

    def __init__(self, name: str, limits: ImportLimits, *, memory_used: int = 0) -> None:
        self.name = name
        self.limits = limits
        self.memory_used = memory_used  # estimated by the files read before this one in the import
        self.rows = 0
        self.cells = 0
        self.chars = 0
        self.text_chars = 0

    def memory_estimate(self) -> int:
        """Estimated bytes importing what this file's reader produced so far will need."""
        return self.cells * BYTES_PER_CELL + self.chars * BYTES_PER_CHAR

    def add_row(self, cells: list[str], where: str = "") -> None:
        """Count one row (``where``: ``"line 12"``, ``"row 12"``, for messages)."""
        limits = self.limits
        self.rows += 1
        if self.rows > limits.max_rows + 1:  # the first row is the header
            self.refuse_rows()
        width = len(cells)
        if width > limits.max_columns:
            self.refuse_columns(width, where)
        if not width:
            return
        longest = max(map(len, cells))
        if longest > limits.max_cell_chars:
            self.refuse_cell(longest, where)
        chars = sum(map(len, cells))
        self.cells += width
        self.chars += chars
        self.check_memory()

    def add_text(self, chars: int) -> None:
        """Count decoded text (CSV) against the unpacked-size limit."""
        self.text_chars += chars
        if self.text_chars > self.limits.max_unpacked_bytes:
            self.refuse_unpacked()

    def check_memory(self, estimate: int | None = None) -> None:
        """Raise when ``estimate`` (default: what was read so far) is over the memory limit.

        The files read before this one in the same import count too (``memory_used``).
        """
        estimate = self.memory_used + (self.memory_estimate() if estimate is None else estimate)
        limit = self.limits.max_memory_bytes
        if estimate > limit:
            raise ImportLimitError(
                "memory", *en_th("limit.memory", name=self.name, limit=_mb(limit), estimate=_mb(estimate)))

    def refuse_rows(self, count: int | None = None) -> None:
        """Raise for a file with ``count`` rows (None: more than the limit, found while reading)."""
        limit = self.limits.max_rows
        if count is None:
            messages = en_th("limit.too_many_rows_while_reading", name=self.name, limit=limit)
        else:
            messages = en_th("limit.too_many_rows", name=self.name, count=count, limit=limit)
        raise ImportLimitError("too_many_rows", *messages)

    def refuse_columns(self, width: int, where: str = "") -> None:
        """Raise for a row of ``width`` cells (``where``: ``"line 12"``, for the message)."""
        limit = self.limits.max_columns
        at = f" ({where})" if where else ""
        at_th = f" ({where_th(where)})" if where else ""
        raise ImportLimitError(
            "too_many_columns",
            *en_th("limit.too_many_columns", name=self.name, width=width, at=at, at_th=at_th, limit=limit))

    def refuse_cell(self, size: int, where: str = "") -> None:
        limit = self.limits.max_cell_chars
        at = f" ({where})" if where else ""
        at_th = f" ({where_th(where)})" if where else ""
        raise ImportLimitError(
            "cell_too_long", *en_th("limit.cell_too_long", name=self.name, size=size, at=at, at_th=at_th, limit=limit))

    def refuse_unpacked(self, size: int | None = None) -> None:
        """Raise for a file that unpacks to ``size`` bytes (None: more than the limit)."""
        limit = _mb(self.limits.max_unpacked_bytes)
        shown_en, shown_th = (_mb(size),) * 2 if size is not None else en_th("limit.more_than", limit=limit)
        raise ImportLimitError(
            "unpacked_too_large",
            *en_th("limit.unpacked_too_large", name=self.name, shown=shown_en, shown_th=shown_th, limit=limit))


def where_th(where: str) -> str:
    """``"line 12"``, ``"row 12"``, ``"rows 1-8,192"``, ``"header"`` in Thai.

    Example
    -------
    >>> where_th("line 12"), where_th("rows 1-8")
    ('บรรทัดที่ 12', 'แถวที่ 1-8')
    """
    first, _, rest = where.partition(" ")
    word = label(f"where.{first}", "th") if f"where.{first}" in CATALOGUE else first
    return f"{word} {rest}".strip()


def refuse_file_size(name: str, size: int, limits: ImportLimits) -> None:
    """Raise :class:`ImportLimitError` when ``size`` bytes is over ``limits.max_file_bytes``."""
    if size > limits.max_file_bytes:
        limit = _mb(limits.max_file_bytes)
        raise ImportLimitError("file_too_large", *en_th("limit.file_too_large", name=name, size=_mb(size), limit=limit))


def refuse_compression(name: str, member: str, ratio: float, limits: ImportLimits) -> None:
    """Raise :class:`ImportLimitError` for a zip member that unpacks ``ratio`` times its size."""
    raise ImportLimitError(
        "compression_ratio",
        *en_th("limit.compression_ratio", name=name, member=member, ratio=ratio, max_ratio=limits.max_compression_ratio))
