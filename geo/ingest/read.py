"""Read a household file -- CSV, XLSX or Parquet -- into a table of text cells.

The type comes from the file's bytes, never its name. Text encodings are tried in a fixed order
(UTF-8 with or without a byte-order mark, UTF-16 with a byte-order mark, then TIS-620/cp874) and
a cp874 reading is only accepted when it is plausible Thai, so a file is either read right or
refused with a message; it is never shown as mojibake.

Every file is read within :class:`~geo.ingest.limits.ImportLimits` (rows, columns, unpacked size,
estimated memory), checked while it is read, so a small file that stands for a huge table is
refused before it is materialised. CSV text is decoded and split line by line, never held whole;
a line with a stray quotation mark is read on its own and marked, never folded into the lines
after it.

Anything that cannot be read raises :class:`~geo.errors.InputFileError` with one line that names
the file and says what to do (:class:`~geo.ingest.limits.ImportLimitError`, in English and Thai,
for a file over a limit). Nothing here raises anything else for any input bytes.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import decimal
import io
import math
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field

import pandas as pd

from geo.data.contract import HOUSEHOLD_COLUMN_NAMES, column_for_header
from geo.errors import InputFileError
from geo.ingest.limits import (
    BYTES_PER_CELL,
    BYTES_PER_CHAR,
    ImportLimits,
    ReadBudget,
    refuse_compression,
    refuse_file_size,
)
from geo.errors import ArgumentTypeError, ImportLimitError
from geo.text import en_th

#: Largest file the importer reads by default (bytes); see :class:`ImportLimits`.
MAX_FILE_BYTES = ImportLimits().max_file_bytes
#: How many rows at the top of a sheet are searched for the header row.
HEADER_SEARCH_ROWS = 20

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_PARQUET_MAGIC = b"PAR1"
_OTHER_TYPES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"{\\rtf", "an RTF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"SQLite format 3", "an SQLite database"),
)
_THAI = re.compile(r"[\u0e00-\u0e7f]")
# Vowel signs and tone marks that sit above or below a consonant (they never start a syllable);
# "floating" ones follow neither a consonant nor another such mark.
_COMBINING = "\u0e31\u0e34-\u0e3a\u0e47-\u0e4e"
_MARKS = re.compile(f"[{_COMBINING}]")
_FLOATING_MARKS = re.compile(f"(?<![\u0e01-\u0e2e{_COMBINING}])[{_COMBINING}]")
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
# What UTF-8 Thai looks like after a wrong cp1252/latin-1 round trip: "à¸" / "à¹".
_DOUBLE_ENCODED_THAI = re.compile("\u00e0[\u00b8\u00b9]")
_DELIMITERS = (",", "\t", ";", "|")
_CONTRACT_NAMES = frozenset(HOUSEHOLD_COLUMN_NAMES)
_PAREN_SUFFIX = re.compile(r"\s*[(\[（].*?[)\]）]\s*$")


@dataclass
class RawTable:
    """A file read as text: the header, the data rows, and how the file was read.

    ``cells`` has one column per header position (named 0..n-1) and one row per data row after
    the header, indexed by the 1-based data row number; blank rows are kept so numbers match the
    file. ``widths`` holds how many non-blank-trailing cells each row really had (CSV rows can be
    longer than the header). For CSV, ``lines`` holds each data row's first physical line,
    ``quote_lines`` the data rows whose quotation marks are broken (row -> line where the problem
    starts), and ``delimiter`` the delimiter found; ``decimal_comma`` is True for a
    semicolon-separated file, where ``1,75`` is one and three quarters. ``memory_estimate`` is
    the working memory estimated for importing it (:class:`~geo.ingest.limits.ReadBudget`).
    """

    name: str
    format: str
    headers: list[str]
    cells: pd.DataFrame
    widths: pd.Series
    header_row: int
    encoding: str | None = None
    sheet: str | None = None
    notes: list[str] = field(default_factory=list)
    delimiter: str | None = None
    lines: pd.Series | None = None
    quote_lines: dict[int, int] = field(default_factory=dict)
    memory_estimate: int = 0

    @property
    def decimal_comma(self) -> bool:
        """True when numbers are read with a decimal comma: a semicolon-separated CSV file."""
        return self.format == "csv" and self.delimiter == ";"


def match_header(header: object) -> str | None:
    """Return the contract column (or ``national_id`` / ``head_name``) a header stands for.

    Uses the alias table of :mod:`geo.data.contract`; a contract column's own name is always
    recognised, and a trailing bracketed unit or translation is ignored
    (``"รายได้ต่อคนต่อปี (บาท)"``, ``"ทุนมนุษย์ [Human]"``).

    Example
    -------
    >>> match_header("รายได้ต่อคนต่อปี (บาท)"), match_header("national_id_hash"), match_header("สี")
    ('income_per_capita_year', 'national_id_hash', None)
    """
    text = clean_header(header)
    if not text:
        return None
    found = column_for_header(text)
    if found is None and text.strip().lower() in HOUSEHOLD_COLUMN_NAMES:
        found = text.strip().lower()
    if found is None:
        stripped = _PAREN_SUFFIX.sub("", text)
        if stripped and stripped != text:
            found = column_for_header(stripped)
            if found is None and stripped.strip().lower() in HOUSEHOLD_COLUMN_NAMES:
                found = stripped.strip().lower()
    return found


def clean_header(header: object) -> str:
    """A header cell as one clean line of NFC text without invisible characters."""
    text = unicodedata.normalize("NFC", "" if header is None else str(header))
    text = re.sub(r"[\u200b-\u200d\u2060\ufeff]", "", text)
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------
# Cells to text
# ---------------------------------------------------------------------------------------------


def cell_to_text(value: object) -> str:
    """Return one cell from Excel or Parquet as the text a person would have typed.

    Whole-number floats lose their ``.0`` (so a 13-digit ID or a code stays exact), dates become
    ISO text, booleans ``true``/``false``, missing values ``""``.

    Example
    -------
    >>> cell_to_text(4609.0), cell_to_text(2.5), cell_to_text(None), cell_to_text(dt.date(2567, 6, 1))
    ('4609', '2.5', '', '2567-06-01')
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(float(value))
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return cell_to_text(float(value)) if value == value.to_integral_value() else str(value)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return ""
    if hasattr(value, "item"):  # numpy scalars
        try:
            return cell_to_text(value.item())
        except (TypeError, ValueError):
            return str(value)
    return str(value)


# ---------------------------------------------------------------------------------------------
# Text encodings
# ---------------------------------------------------------------------------------------------

#: Text is decoded and checked in pieces of this many bytes, so a CSV file is never held twice.
CHUNK_BYTES = 1 << 20


def _thai_counts(text: str, before: str = "") -> tuple[int, int, int, int]:
    """(non-ASCII, Thai, marks, floating marks) in ``text``; ``before`` is the preceding text."""
    # Counted by deleting (C speed) rather than listing matches: files are megabytes of Thai.
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    if not non_ascii:
        return 0, 0, 0, 0
    thai = len(text) - len(_THAI.sub("", text))
    marks = len(text) - len(_MARKS.sub("", text))
    floating = sum(1 for m in _FLOATING_MARKS.finditer(before + text) if m.start() >= len(before))
    return non_ascii, thai, marks, floating


def _counts_are_thai(non_ascii: int, thai: int, marks: int, floating: int) -> bool:
    if not non_ascii:
        return True
    if thai < 0.9 * non_ascii:
        return False
    return marks == 0 or floating <= 0.02 * marks


def is_plausible_thai(text: str) -> bool:
    """True when the Thai in ``text`` reads as Thai: marks follow consonants, few stray symbols.

    A wrong decoding (Latin-1 text read as cp874, say) turns accented letters into Thai vowel
    signs and tone marks that float with no consonant in front; real Thai never does that.

    Example
    -------
    >>> is_plausible_thai("ทุนมนุษย์"), is_plausible_thai("\u0e49\u0e48\u0e34")
    (True, False)
    """
    return _counts_are_thai(*_thai_counts(text))


def _decoded_chunks(data: bytes, encoding: str):
    """Yield ``(byte offset of the chunk, text)``; raises UnicodeDecodeError with whole-file offsets."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    for start in range(0, len(data), CHUNK_BYTES):
        piece = data[start:start + CHUNK_BYTES]
        try:
            text = decoder.decode(piece, final=start + CHUNK_BYTES >= len(data))
        except UnicodeDecodeError as exc:
            raise UnicodeDecodeError(exc.encoding, exc.object, exc.start + start, exc.end + start, exc.reason) from None
        yield start, text
    if not data:
        yield 0, decoder.decode(b"", final=True)


def detect_encoding(data: bytes, name: str = "file") -> str:
    """Find the encoding of a text file's bytes without holding the decoded text.

    UTF-8 with a byte-order mark, UTF-16 with a byte-order mark, UTF-8, then cp874 (accepted only
    when it reads as plausible Thai). The bytes are decoded piece by piece
    (:data:`CHUNK_BYTES`) and checked as they go: Thai already garbled through cp1252 (``à¸...``)
    and binary data are refused.

    Returns
    -------
    str
        ``"utf-8"``, ``"utf-8-sig"``, ``"utf-16"`` or ``"cp874"``.

    Raises
    ------
    InputFileError
        When no encoding gives plausible text, or the text is garbled Thai or binary data.

    Example
    -------
    >>> detect_encoding("ปี".encode("cp874")), detect_encoding(b"\\xef\\xbb\\xbfyear")
    ('cp874', 'utf-8-sig')
    """
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "cp874"]
    for encoding in candidates:
        counts = [0, 0, 0, 0]
        controls = length = 0
        before = ""
        try:
            for _offset, text in _decoded_chunks(data, encoding):
                if _DOUBLE_ENCODED_THAI.search(before + text):
                    raise InputFileError(
                        f"{name}: the Thai text is already garbled (like 'à¸...'), probably saved through the "
                        "wrong encoding; export it again from the original as 'CSV UTF-8'"
                    )
                if "\x00" in text:
                    raise InputFileError(f"{name}: is a binary file, not CSV text; send CSV, XLSX or Parquet")
                controls += len(text) - len(_CONTROLS.sub("", text))
                length += len(text)
                if encoding == "cp874":
                    counts = [a + b for a, b in zip(counts, _thai_counts(text, before))]
                before = text[-1:] if text else before
        except UnicodeDecodeError as exc:
            if encoding == "utf-8-sig":
                raise InputFileError(
                    f"{name}: starts with a UTF-8 byte-order mark but is not valid UTF-8 at byte "
                    f"{exc.start}; save it again as 'CSV UTF-8'"
                ) from None
            if encoding == "utf-16":
                raise InputFileError(f"{name}: is marked as UTF-16 but is damaged; save it again as 'CSV UTF-8'") from None
            continue
        if controls > max(2, length // 100):
            raise InputFileError(f"{name}: is a binary file, not CSV text; send CSV, XLSX or Parquet")
        if encoding == "cp874" and not _counts_are_thai(*counts):
            break
        return encoding
    raise InputFileError(
        f"{name}: the text encoding is not UTF-8 or Thai TIS-620/cp874; save it again as 'CSV UTF-8'"
    )


def decode_text(data: bytes, name: str = "file") -> tuple[str, str]:
    """Decode a text file's bytes: UTF-8 (with or without BOM), UTF-16 with BOM, then cp874.

    The encoding is found by :func:`detect_encoding`; this returns the whole text too (the CSV
    reader itself streams and never calls this).

    Parameters
    ----------
    data : bytes
        The whole file.
    name : str
        The file's name, for messages.

    Returns
    -------
    tuple of (str, str)
        The text and the encoding used (``"utf-8"``, ``"utf-8-sig"``, ``"utf-16"``, ``"cp874"``).

    Raises
    ------
    InputFileError
        When no encoding gives plausible text, or the text is Thai that was already garbled.
    """
    encoding = detect_encoding(data, name)
    return data.decode(encoding), encoding


# ---------------------------------------------------------------------------------------------
# Reading each format
# ---------------------------------------------------------------------------------------------


class _Rows:
    """Rows as they are read, counted against the budget as they come.

    Blank rows are held back as a count and only kept once a non-blank row follows, so a sheet
    formatted down to row 1,048,576 costs nothing and trailing blank rows are dropped; past ten
    times the row limit, blank or not, the file is refused (reading it would only cost time).
    ``lines`` holds each kept row's first physical line (CSV) or sheet row.
    """

    def __init__(self, budget: ReadBudget, unit: str) -> None:
        self.budget = budget
        self.unit = unit
        self.rows: list[list[str]] = []
        self.lines: list[int] = []
        self.blank_lines: list[int] = []
        self.blank_overflow = False
        self.seen = 0

    def add(self, cells: list[str], line: int) -> None:
        self.seen += 1
        if self.seen > 10 * self.budget.limits.max_rows:
            self.budget.refuse_rows()
        end = len(cells)
        while end and not cells[end - 1].strip():
            end -= 1
        if not end:
            if len(self.blank_lines) < self.budget.limits.max_rows:
                self.blank_lines.append(line)
            else:  # a run this long only matters if data follows it, and then the file is too long
                self.blank_overflow = True
            return
        if self.blank_overflow:
            self.budget.refuse_rows()
        for blank in self.blank_lines:
            self.budget.add_row([], f"{self.unit} {blank}")
            self.rows.append([])
            self.lines.append(blank)
        self.blank_lines = []
        cells = cells if end == len(cells) else cells[:end]
        self.budget.add_row(cells, f"{self.unit} {line}")
        self.rows.append(cells)
        self.lines.append(line)


def _guess_delimiter(lines: list[str]) -> str:
    """The delimiter used most in the first lines (outside quotes); comma when none is found."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    for line in lines[:HEADER_SEARCH_ROWS]:
        if not line.strip():
            continue
        inside = False
        for ch in line:
            if ch == '"':
                inside = not inside
            elif not inside and ch in counts:
                counts[ch] += 1
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


class _LineFeed:
    """Feeds a text stream to :func:`csv.reader` line by line, keeping the current record's lines."""

    def __init__(self, stream: io.TextIOBase, delimiter: str, budget: ReadBudget) -> None:
        self.stream = stream
        self.delimiter = delimiter
        self.budget = budget
        self.wide = budget.limits.max_columns * 10  # beyond this, refuse before csv splits the line
        self.count = 0  # physical lines read so far
        self.lines: list[str] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self.stream.readline()
        if not line:
            raise StopIteration
        self.count += 1
        self.budget.add_text(len(line))
        cells = line.count(self.delimiter) + 1
        if cells > self.wide:
            self.budget.refuse_columns(cells, f"line {self.count}")
        self.lines.append(line)
        return line


def _parse_line(line: str, delimiter: str) -> tuple[list[str], bool]:
    """One physical line as cells, and whether its quotation marks are broken."""
    try:
        return next(csv.reader([line], delimiter=delimiter, strict=True), []), False
    except csv.Error:
        text = line.rstrip("\r\n")
        return next(csv.reader([text], delimiter=delimiter, strict=False), []), True


@dataclass
class _CsvRecords:
    rows: _Rows
    quote_lines: dict[int, int]  # index into rows.rows -> physical line of a quotation problem
    spans: dict[int, tuple[list[str], int]]  # index -> (physical lines, cells) of a multi-line record
    widths: dict[int, int]  # index -> cells before trimming, for the first rows (header candidates)


def _csv_records(stream: io.TextIOBase, delimiter: str, budget: ReadBudget) -> _CsvRecords:
    """Read records, never folding lines silently.

    A record that spans several physical lines (a quoted value with line breaks, as Excel writes
    them) is kept whole when its quotes are well formed; :func:`_unfold` checks its width against
    the header later. When the quotes are broken -- a stray ``"`` opens a value that runs into the
    following lines or to the end of the file -- each physical line is read on its own, and the
    first line and any line whose own quotes are broken are marked with their line number.
    """
    rows = _Rows(budget, "line")
    records = _CsvRecords(rows, {}, {}, {})
    feed = _LineFeed(stream, delimiter, budget)
    reader = csv.reader(feed, delimiter=delimiter, strict=True)
    while True:
        feed.lines = []
        start = feed.count + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                budget.refuse_cell(csv.field_size_limit(), f"line {start}")
            for offset, line in enumerate(feed.lines):
                part, broken = _parse_line(line, delimiter)
                kept = len(rows.rows)
                rows.add(part, start + offset)
                if len(rows.rows) > kept and (broken or offset == 0):
                    records.quote_lines[kept] = start + offset
            continue
        kept = len(rows.rows)
        rows.add(cells, start)
        if len(rows.rows) > kept:
            if kept < HEADER_SEARCH_ROWS:
                records.widths[kept] = len(cells)
            if len(feed.lines) > 1:
                records.spans[kept] = (list(feed.lines), len(cells))
    return records


def _unfold(records: _CsvRecords, header_index: int, delimiter: str) -> None:
    """Split the multi-line records below the header whose cell count is not the header's.

    Excel writes every row with the header's number of cells, so a record that spans lines with
    another count is lines folded by a stray quotation mark: each of its lines becomes a row.
    """
    header_width = records.widths.get(header_index)
    spans = {i: s for i, s in records.spans.items() if i > header_index and s[1] != header_width}
    if not spans:
        return
    rows = records.rows
    new_rows: list[list[str]] = []
    new_lines: list[int] = []
    new_quotes: dict[int, int] = {}
    for index, cells in enumerate(rows.rows):
        span = spans.get(index)
        if span is None:
            if index in records.quote_lines:
                new_quotes[len(new_rows)] = records.quote_lines[index]
            new_rows.append(cells)
            new_lines.append(rows.lines[index])
            continue
        for offset, line in enumerate(span[0]):
            part, broken = _parse_line(line, delimiter)
            end = len(part)
            while end and not part[end - 1].strip():
                end -= 1
            if broken or offset == 0:
                new_quotes[len(new_rows)] = rows.lines[index] + offset
            new_rows.append(part[:end])
            new_lines.append(rows.lines[index] + offset)
    rows.rows, rows.lines, records.quote_lines = new_rows, new_lines, new_quotes
    records.spans = {}


def _read_csv_rows(data: bytes, name: str, budget: ReadBudget) -> tuple[_CsvRecords, str, str]:
    if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputFileError(f"{name}: is a binary file, not CSV text; send CSV, XLSX or Parquet")
    encoding = detect_encoding(data, name)

    def stream() -> io.TextIOWrapper:
        return io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")

    with stream() as head_stream:
        head = head_stream.read(4096).lstrip()[:512].lower()
    if head.startswith(("<!doctype html", "<html", "<table", "<?xml")):
        raise InputFileError(
            f"{name}: is a web page or XML saved with a spreadsheet name; open it in Excel and "
            "save it as .xlsx or CSV UTF-8"
        )
    with stream() as head_stream:
        first_lines = [line for _, line in zip(range(HEADER_SEARCH_ROWS), head_stream)]
    delimiter = _guess_delimiter(first_lines)
    with stream() as text_stream:
        records = _csv_records(text_stream, delimiter, budget)
    return records, encoding, delimiter


def _xlsx_is_encrypted(data: bytes) -> bool:
    return "EncryptedPackage".encode("utf-16-le") in data or b"EncryptionInfo" in data or (
        "EncryptionInfo".encode("utf-16-le") in data
    )


#: Zip members smaller than this may have any compression ratio (small XML compresses well).
_RATIO_FLOOR_BYTES = 1 << 20
#: Working memory per byte of the parts read whole: a workbook's shared strings and styles, a
#: Parquet file's footer.
_BYTES_PER_XML_BYTE = 8


def _check_zip_members(members: list[zipfile.ZipInfo], name: str, budget: ReadBudget) -> None:
    """Refuse a workbook by its zip's declared sizes before anything is unpacked.

    ``zipfile`` never unpacks more than a member's declared size, so these checks hold.
    """
    limits = budget.limits
    total = sum(m.file_size for m in members)
    if total > limits.max_unpacked_bytes:
        budget.refuse_unpacked(total)
    for member in members:
        if member.file_size > _RATIO_FLOOR_BYTES:
            ratio = member.file_size / max(member.compress_size, 1)
            if ratio > limits.max_compression_ratio:
                refuse_compression(name, member.filename, ratio, limits)
    whole = sum(m.file_size for m in members if not m.filename.startswith("xl/worksheets/"))
    budget.check_memory(whole * _BYTES_PER_XML_BYTE)


def _read_xlsx_rows(data: bytes, name: str, sheet: str | None, budget: ReadBudget) -> tuple[_Rows, str]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise InputFileError(f"{name}: is a damaged Excel/zip file; save it again as .xlsx") from None
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names:
        if "mimetype" in names and "content.xml" in names:
            raise InputFileError(f"{name}: is an OpenDocument (.ods) file; save it as .xlsx or CSV UTF-8")
        if any(n.startswith("word/") for n in names):
            raise InputFileError(f"{name}: is a Word document, not a spreadsheet; send CSV, XLSX or Parquet")
        raise InputFileError(f"{name}: is a zip archive, not an Excel workbook; send CSV, XLSX or Parquet")
    _check_zip_members(members, name, budget)
    import warnings

    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except MemoryError:
        raise
    except Exception as exc:  # openpyxl raises many types on damaged workbooks; all mean "corrupt"
        raise InputFileError(f"{name}: is a damaged Excel workbook ({type(exc).__name__}); save it again as .xlsx") from None
    try:
        sheets = workbook.worksheets
        if not sheets:
            raise InputFileError(f"{name}: the workbook has no worksheet")
        if sheet is None:
            chosen = sheets[0]
        else:
            by_name = {ws.title: ws for ws in sheets}
            if sheet not in by_name:
                raise InputFileError(
                    f"{name}: has no sheet {sheet!r}; its sheets are {', '.join(repr(t) for t in by_name)}"
                )
            chosen = by_name[sheet]
        rows = _Rows(budget, "row")
        memo = _TextMemo()
        try:
            for number, values in enumerate(chosen.iter_rows(values_only=True), start=1):
                end = len(values)
                while end and values[end - 1] is None:  # read-only sheets pad rows to the sheet's width
                    end -= 1
                rows.add([memo.text(v) for v in values[:end]], number)
        except (InputFileError, MemoryError):
            raise
        except Exception as exc:  # a damaged sheet part
            raise InputFileError(f"{name}: sheet {chosen.title!r} is damaged ({type(exc).__name__})") from None
        return rows, chosen.title
    finally:
        workbook.close()


class _TextMemo:
    """:func:`cell_to_text` computed once per distinct value, so equal cells share one string.

    Only for values of one type (a Parquet column, a sheet's numbers): ``1 == 1.0 == True``.
    """

    _LIMIT = 100_000

    def __init__(self) -> None:
        self.done: dict[object, str] = {}

    def text(self, value: object) -> str:
        if value is None or isinstance(value, str):
            return "" if value is None else value
        key = (type(value), value)
        try:
            return self.done[key]
        except KeyError:
            if len(self.done) >= self._LIMIT:
                self.done.clear()
            text = self.done[key] = cell_to_text(value)
            return text
        except TypeError:  # not hashable (a list in a nested column)
            return cell_to_text(value)


#: Rows decoded at a time from a Parquet file.
PARQUET_BATCH_ROWS = 8192


def _batch_texts(batch, budget: ReadBudget, first_row: int) -> list[list[str]]:
    """A record batch as cell texts by column, its size checked against the budget first.

    Text columns come as dictionaries (``read_dictionary``): each distinct value is converted
    once, and the text the batch stands for is measured from the dictionary before anything is
    expanded, so 8,192 references to one huge value cost nothing until they are refused.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    chars = 0
    longest = 0
    for column in batch.columns:
        if pa.types.is_dictionary(column.type) and (
                pa.types.is_string(column.type.value_type) or pa.types.is_large_string(column.type.value_type)):
            lengths = pc.take(pc.utf8_length(column.dictionary), column.indices)
        elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            lengths = pc.utf8_length(column)
        else:
            continue
        chars += int(pc.sum(lengths).as_py() or 0)
        longest = max(longest, int(pc.max(lengths).as_py() or 0))
    if longest > budget.limits.max_cell_chars:
        budget.refuse_cell(longest, f"rows {first_row:,}-{first_row + batch.num_rows - 1:,}")
    budget.check_memory(budget.memory_estimate() + chars * BYTES_PER_CHAR
                        + batch.num_rows * batch.num_columns * BYTES_PER_CELL)
    texts = []
    for column in batch.columns:
        if pa.types.is_dictionary(column.type) and len(column.dictionary) <= len(column):
            words = [cell_to_text(v) for v in column.dictionary.to_pylist()]
            texts.append(["" if i is None else words[i] for i in column.indices.to_pylist()])
        else:
            if pa.types.is_dictionary(column.type):
                column = column.dictionary.take(column.indices)
            memo = _TextMemo()  # one column has one type, so equal values give equal text
            texts.append([memo.text(v) for v in column.to_pylist()])
    return texts


def _read_parquet_rows(data: bytes, name: str, budget: ReadBudget) -> _Rows:
    import pyarrow as pa
    import pyarrow.parquet as pq

    limits = budget.limits
    damaged = (pa.ArrowException, OSError, ValueError, TypeError, KeyError, IndexError)
    # The footer (the metadata) is parsed whole: its size, from the file's last 8 bytes, counts first.
    footer = int.from_bytes(data[-8:-4], "little") if len(data) >= 12 and data.endswith(_PARQUET_MAGIC) else 0
    budget.check_memory(footer * _BYTES_PER_XML_BYTE)
    try:
        probe = pq.ParquetFile(io.BytesIO(data))
        metadata = probe.metadata
        schema = probe.schema_arrow
        groups = [metadata.row_group(i) for i in range(metadata.num_row_groups)]
        unpacked = sum(g.column(j).total_uncompressed_size for g in groups for j in range(g.num_columns))
    except damaged as exc:
        raise InputFileError(f"{name}: is a damaged Parquet file ({type(exc).__name__})") from None
    # All of this is known from the metadata, before a single row is decoded.
    if metadata.num_rows > limits.max_rows:
        budget.refuse_rows(metadata.num_rows)
    headers = [str(c) for c in schema.names]
    if len(headers) > limits.max_columns:
        budget.refuse_columns(len(headers), "header")
    if unpacked > limits.max_unpacked_bytes:
        budget.refuse_unpacked(unpacked)
    budget.check_memory(metadata.num_rows * len(headers) * BYTES_PER_CELL)
    rows = _Rows(budget, "row")
    rows.add(headers, 0)
    text_columns = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    try:
        parquet = pq.ParquetFile(io.BytesIO(data), read_dictionary=text_columns)
        number = 0
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, use_threads=False):
            for cells in zip(*_batch_texts(batch, budget, number + 1)):
                number += 1
                rows.add(list(cells), number)
    except (InputFileError, MemoryError):
        raise
    except damaged as exc:
        raise InputFileError(f"{name}: is a damaged Parquet file ({type(exc).__name__})") from None
    return rows


def sniff_format(data: bytes, name: str = "file", *, limits: ImportLimits | None = None) -> str:
    """Return ``"csv"``, ``"xlsx"`` or ``"parquet"`` from a file's first bytes, or raise.

    Raises
    ------
    InputFileError
        For an empty file, a file over ``limits.max_file_bytes`` (:class:`ImportLimitError`), a
        password-protected or old-style Excel file (both are OLE2 compound files), and any other
        recognisable non-table file (PDF, images, archives...).

    Example
    -------
    >>> sniff_format(b"PAR1...PAR1"), sniff_format(b"a,b\\n1,2\\n")
    ('parquet', 'csv')
    """
    if not data or not data.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise InputFileError(f"{name}: the file is empty")
    refuse_file_size(name, len(data), limits or ImportLimits())
    if data.startswith(_OLE2_MAGIC):
        if _xlsx_is_encrypted(data):
            raise InputFileError(
                f"{name}: the Excel file is password-protected; remove the password (File > Info > "
                "Protect Workbook) and save it again"
            )
        raise InputFileError(f"{name}: is an old Excel 97-2003 (.xls) or other Office file; save it as .xlsx")
    if data.startswith(_ZIP_MAGICS):
        return "xlsx"
    if data.startswith(_PARQUET_MAGIC):
        return "parquet"
    for magic, what in _OTHER_TYPES:
        if data.startswith(magic):
            raise InputFileError(f"{name}: is {what}, not a table; send CSV, XLSX or Parquet")
    return "csv"


def _find_header(rows: list[list[str]]) -> int:
    """Index of the row with the most recognised headers among the first rows; -1 when none."""
    best, best_score = -1, 0
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        score = len({match_header(cell) for cell in row} & _CONTRACT_NAMES)
        if score > best_score:
            best, best_score = index, score
    return best


def read_table(data: bytes, name: str = "file", *, sheet: str | None = None,
               limits: ImportLimits | None = None, memory_used: int = 0) -> RawTable:
    """Read one household file into a :class:`RawTable` of text cells, within ``limits``.

    The limits are checked while the file is read (:mod:`geo.ingest.limits`): a Parquet file by
    its metadata before any row is decoded, then batch by batch; an XLSX file by its zip's
    declared sizes and compression ratios before parsing, then row by row (openpyxl read-only);
    a CSV file line by line as it is decoded. A CSV line whose quotation marks are broken is read
    on its own and marked (:attr:`RawTable.quote_lines`), never folded into its neighbours.

    Parameters
    ----------
    data : bytes
        The file's content.
    name : str
        The file's name, used in messages only (the type comes from the content).
    sheet : str, optional
        For XLSX, the sheet to read; the first sheet when omitted. Ignored for other types.
    limits : ImportLimits, optional
        What the file may hold; :meth:`ImportLimits.from_env` when omitted.
    memory_used : int, default 0
        Memory estimated for the files read before this one in the same import
        (:attr:`RawTable.memory_estimate` of each): the memory limit is for the whole import.

    Returns
    -------
    RawTable

    Raises
    ------
    ImportLimitError
        When the file is over a limit (an :class:`InputFileError`, in English and Thai).
    InputFileError
        When the file is empty, of a type that is not a table, damaged, password-protected, in an
        unknown encoding, has no recognised header, or has a header but no data rows.

    Example
    -------
    >>> t = read_table("รหัสครัวเรือน,ปี\\nH1,2567\\n".encode("cp874"), "a.csv")
    >>> t.encoding, t.headers, t.cells.loc[1].tolist()
    ('cp874', ['รหัสครัวเรือน', 'ปี'], ['H1', '2567'])
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ArgumentTypeError(f"data must be bytes, got {type(data).__name__}")
    if limits is None:
        limits = ImportLimits.from_env()
    elif not isinstance(limits, ImportLimits):
        raise ArgumentTypeError(f"limits must be an ImportLimits, got {type(limits).__name__}")
    data = bytes(data)
    kind = sniff_format(data, name, limits=limits)
    budget = ReadBudget(name, limits, memory_used=memory_used)
    encoding: str | None = None
    sheet_used: str | None = None
    delimiter: str | None = None
    records: _CsvRecords | None = None
    try:
        if kind == "xlsx":
            rows, sheet_used = _read_xlsx_rows(data, name, sheet, budget)
        elif kind == "parquet":
            rows = _read_parquet_rows(data, name, budget)
        else:
            records, encoding, delimiter = _read_csv_rows(data, name, budget)
            rows = records.rows
    except MemoryError:  # the machine, or an isolated import's ceiling, has no more memory
        raise ImportLimitError("memory", *en_th("limit.memory_while_reading", name=name)) from None
    if not rows.rows:
        raise InputFileError(f"{name}: the file is empty")
    header_index = _find_header(rows.rows)
    if header_index < 0:
        first = ", ".join(repr(clean_header(c)) for c in rows.rows[0][:8]) or "(blank)"
        raise InputFileError(
            f"{name}: no household column was recognised in the first {HEADER_SEARCH_ROWS} rows "
            f"(first row: {first}); see docs/DATA.md for the column names"
        )
    quote_lines: dict[int, int] = {}
    if records is not None:
        _unfold(records, header_index, delimiter or ",")
        quote_lines = {index - header_index: line for index, line in records.quote_lines.items()
                       if index > header_index}
    headers = [clean_header(c) for c in rows.rows[header_index]]
    body = rows.rows[header_index + 1:]
    lines = rows.lines[header_index + 1:]
    rows.rows = []  # the body is the only reference now: padding below may reuse its lists
    if not body:
        raise InputFileError(f"{name}: has a header but no data rows")
    width = len(headers)
    widths = [len(r) for r in body]
    for index, row in enumerate(body):
        if len(row) < width:
            row.extend([""] * (width - len(row)))
        elif len(row) > width:
            body[index] = row[:width]
    cells = pd.DataFrame(body, columns=range(width), dtype=object, index=range(1, len(body) + 1))
    del body
    return RawTable(
        name=name,
        format=kind,
        headers=headers,
        cells=cells,
        widths=pd.Series(widths, index=cells.index, dtype="int64"),
        header_row=header_index + 1,
        encoding=encoding,
        sheet=sheet_used,
        delimiter=delimiter,
        lines=pd.Series(lines, index=cells.index, dtype="int64") if kind == "csv" else None,
        quote_lines=quote_lines,
        memory_estimate=budget.memory_estimate(),
    )
