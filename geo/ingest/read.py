"""Read a household file -- CSV, XLSX or Parquet -- into a table of text cells.

The type comes from the file's bytes, never its name. Text encodings are tried in a fixed order
(UTF-8 with or without a byte-order mark, UTF-16 with a byte-order mark, then TIS-620/cp874) and
a cp874 reading is only accepted when it is plausible Thai, so a file is either read right or
refused with a message; it is never shown as mojibake.

Anything that cannot be read raises :class:`~geo.errors.InputFileError` with one line that names
the file and says what to do. Nothing here raises anything else for any input bytes.
"""

from __future__ import annotations

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

from geo.contract import HOUSEHOLD_COLUMN_NAMES, column_for_header
from geo.errors import InputFileError

#: Largest file the importer reads (bytes), and the most an XLSX may unpack to.
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_XLSX_UNPACKED_BYTES = 1024 * 1024 * 1024
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
    longer than the header).
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


def match_header(header: object) -> str | None:
    """Return the contract column (or ``national_id`` / ``head_name``) a header stands for.

    Uses the alias table of :mod:`geo.contract`; a contract column's own name is always
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


def is_plausible_thai(text: str) -> bool:
    """True when the Thai in ``text`` reads as Thai: marks follow consonants, few stray symbols.

    A wrong decoding (Latin-1 text read as cp874, say) turns accented letters into Thai vowel
    signs and tone marks that float with no consonant in front; real Thai never does that.

    Example
    -------
    >>> is_plausible_thai("ทุนมนุษย์"), is_plausible_thai("\u0e49\u0e48\u0e34")
    (True, False)
    """
    # Counted by deleting (C speed) rather than listing matches: files are megabytes of Thai.
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    if not non_ascii:
        return True
    thai = len(text) - len(_THAI.sub("", text))
    if thai < 0.9 * non_ascii:
        return False
    marks = len(text) - len(_MARKS.sub("", text))
    floating = len(_FLOATING_MARKS.findall(text))
    return marks == 0 or floating <= 0.02 * marks


def decode_text(data: bytes, name: str = "file") -> tuple[str, str]:
    """Decode a text file's bytes: UTF-8 (with or without BOM), UTF-16 with BOM, then cp874.

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
    text: str | None = None
    encoding = ""
    if data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputFileError(
                f"{name}: starts with a UTF-8 byte-order mark but is not valid UTF-8 at byte "
                f"{exc.start}; save it again as 'CSV UTF-8'"
            ) from None
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputFileError(f"{name}: is marked as UTF-16 but is damaged; save it again as 'CSV UTF-8'") from None
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            try:
                text, encoding = data.decode("cp874"), "cp874"
            except UnicodeDecodeError:
                text = None
            if text is not None and not is_plausible_thai(text):
                text = None
            if text is None:
                raise InputFileError(
                    f"{name}: the text encoding is not UTF-8 or Thai TIS-620/cp874; "
                    "save it again as 'CSV UTF-8'"
                )
    if _DOUBLE_ENCODED_THAI.search(text):
        raise InputFileError(
            f"{name}: the Thai text is already garbled (like 'à¸...'), probably saved through the "
            "wrong encoding; export it again from the original as 'CSV UTF-8'"
        )
    return text, encoding


# ---------------------------------------------------------------------------------------------
# Reading each format
# ---------------------------------------------------------------------------------------------


def _guess_delimiter(text: str) -> str:
    """The delimiter used most in the first lines (outside quotes); comma when none is found."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    lines = [line for line in text.splitlines()[:HEADER_SEARCH_ROWS] if line.strip()]
    for line in lines:
        inside = False
        for ch in line:
            if ch == '"':
                inside = not inside
            elif not inside and ch in counts:
                counts[ch] += 1
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _read_csv_rows(data: bytes, name: str) -> tuple[list[list[str]], str]:
    if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputFileError(f"{name}: is a binary file, not CSV text; send CSV, XLSX or Parquet")
    text, encoding = decode_text(data, name)
    controls = len(_CONTROLS.findall(text))
    if "\x00" in text or controls > max(2, len(text) // 100):
        raise InputFileError(f"{name}: is a binary file, not CSV text; send CSV, XLSX or Parquet")
    head = text.lstrip()[:512].lower()
    if head.startswith(("<!doctype html", "<html", "<table", "<?xml")):
        raise InputFileError(
            f"{name}: is a web page or XML saved with a spreadsheet name; open it in Excel and "
            "save it as .xlsx or CSV UTF-8"
        )
    delimiter = _guess_delimiter(text)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False))
    except csv.Error as exc:
        raise InputFileError(f"{name}: is not readable CSV ({exc}); save it again as 'CSV UTF-8'") from None
    return rows, encoding


def _xlsx_is_encrypted(data: bytes) -> bool:
    return "EncryptedPackage".encode("utf-16-le") in data or b"EncryptionInfo" in data or (
        "EncryptionInfo".encode("utf-16-le") in data
    )


def _read_xlsx_rows(data: bytes, name: str, sheet: str | None) -> tuple[list[list[str]], str]:
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
    if sum(m.file_size for m in members) > MAX_XLSX_UNPACKED_BYTES:
        raise InputFileError(f"{name}: unpacks to more than {MAX_XLSX_UNPACKED_BYTES // 2**20} MB; split it")
    import warnings

    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
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
        try:
            rows = [[cell_to_text(v) for v in row] for row in chosen.iter_rows(values_only=True)]
        except InputFileError:
            raise
        except Exception as exc:  # a damaged sheet part
            raise InputFileError(f"{name}: sheet {chosen.title!r} is damaged ({type(exc).__name__})") from None
        return rows, chosen.title
    finally:
        workbook.close()


def _read_parquet_rows(data: bytes, name: str) -> list[list[str]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
        frame = table.to_pandas()
    except (pa.ArrowException, OSError, ValueError, TypeError, KeyError, IndexError, MemoryError) as exc:
        raise InputFileError(f"{name}: is a damaged Parquet file ({type(exc).__name__})") from None
    headers = [str(c) for c in frame.columns]
    body = [[cell_to_text(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    return [headers, *body]


def sniff_format(data: bytes, name: str = "file") -> str:
    """Return ``"csv"``, ``"xlsx"`` or ``"parquet"`` from a file's first bytes, or raise.

    Raises
    ------
    InputFileError
        For an empty file, a password-protected or old-style Excel file (both are OLE2 compound
        files), and any other recognisable non-table file (PDF, images, archives...).

    Example
    -------
    >>> sniff_format(b"PAR1...PAR1"), sniff_format(b"a,b\\n1,2\\n")
    ('parquet', 'csv')
    """
    if not data or not data.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise InputFileError(f"{name}: the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise InputFileError(f"{name}: is larger than {MAX_FILE_BYTES // 2**20} MB; split it into smaller files")
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


def _trim(row: list[str]) -> list[str]:
    end = len(row)
    while end and not row[end - 1].strip():
        end -= 1
    return row[:end]


def _find_header(rows: list[list[str]]) -> int:
    """Index of the row with the most recognised headers among the first rows; -1 when none."""
    best, best_score = -1, 0
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        score = len({match_header(cell) for cell in row} & _CONTRACT_NAMES)
        if score > best_score:
            best, best_score = index, score
    return best


def read_table(data: bytes, name: str = "file", *, sheet: str | None = None) -> RawTable:
    """Read one household file into a :class:`RawTable` of text cells.

    Parameters
    ----------
    data : bytes
        The file's content.
    name : str
        The file's name, used in messages only (the type comes from the content).
    sheet : str, optional
        For XLSX, the sheet to read; the first sheet when omitted. Ignored for other types.

    Returns
    -------
    RawTable

    Raises
    ------
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
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    kind = sniff_format(data, name)
    encoding: str | None = None
    sheet_used: str | None = None
    if kind == "xlsx":
        rows, sheet_used = _read_xlsx_rows(data, name, sheet)
    elif kind == "parquet":
        rows = _read_parquet_rows(data, name)
    else:
        rows, encoding = _read_csv_rows(data, name)
    rows = [[("" if c is None else str(c)) for c in row] for row in rows]
    while rows and not _trim(rows[-1]):
        rows.pop()
    if not rows:
        raise InputFileError(f"{name}: the file is empty")
    header_index = _find_header(rows)
    if header_index < 0:
        first = ", ".join(repr(clean_header(c)) for c in _trim(rows[0])[:8]) or "(blank)"
        raise InputFileError(
            f"{name}: no household column was recognised in the first {HEADER_SEARCH_ROWS} rows "
            f"(first row: {first}); see docs/DATA.md for the column names"
        )
    headers = [clean_header(c) for c in _trim(rows[header_index])]
    body = rows[header_index + 1:]
    if not any(_trim(r) for r in body):
        raise InputFileError(f"{name}: has a header but no data rows")
    width = len(headers)
    widths = [len(_trim(r)) for r in body]
    padded = [(r + [""] * width)[:width] for r in body]
    cells = pd.DataFrame(padded, columns=range(width), dtype=object, index=range(1, len(body) + 1))
    return RawTable(
        name=name,
        format=kind,
        headers=headers,
        cells=cells,
        widths=pd.Series(widths, index=cells.index, dtype="int64"),
        header_row=header_index + 1,
        encoding=encoding,
        sheet=sheet_used,
    )
