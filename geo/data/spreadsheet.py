"""Every spreadsheet and CSV the app writes goes through here, so none can carry a live formula.

A text cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, or their
full-width forms) is a formula to Excel and LibreOffice: ``=HYPERLINK(...)`` in a household ID
would become a link when someone opens a download. :func:`neutralise_cell` puts an apostrophe in
front of such text (OWASP's advice for CSV injection); numbers, dates and booleans are left alone.
The importer strips that apostrophe again, so a neutralised file imports back unchanged.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter
from geo.errors import ArgumentError, ArgumentTypeError

#: First characters that make a text cell a formula in a spreadsheet.
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
#: What :func:`neutralise_cell` puts in front of such text.
NEUTRALISING_PREFIX = "'"
#: Excel's longest sheet name.
_MAX_SHEET_NAME = 31


def is_formula_like(value: object) -> bool:
    """True when ``value`` is text a spreadsheet would read as a formula; never raises.

    Example
    -------
    >>> is_formula_like("=1+1"), is_formula_like("-3"), is_formula_like(-3), is_formula_like("a=b")
    (True, True, False, False)
    """
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def neutralise_cell(value: object) -> object:
    """Return ``value`` made safe for a spreadsheet: formula-like text gets a leading apostrophe.

    Example
    -------
    >>> neutralise_cell('=HYPERLINK("http://x")'), neutralise_cell("บ้าน"), neutralise_cell(2.5)
    ('\\'=HYPERLINK("http://x")', 'บ้าน', 2.5)
    """
    if is_formula_like(value):
        return NEUTRALISING_PREFIX + value  # type: ignore[operator]
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``df`` whose text cells (and text headers) are neutralised.

    Parameters
    ----------
    df : pandas.DataFrame
        Any frame. Numeric, boolean and date columns are copied unchanged.

    Returns
    -------
    pandas.DataFrame
        A new frame; ``df`` is not changed.
    """
    if not isinstance(df, pd.DataFrame):
        raise ArgumentTypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    out = df.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype):
            out[column] = series.map(neutralise_cell, na_action="ignore")
    out.columns = [neutralise_cell(c) for c in out.columns]
    return out


def _excel_value(value: object) -> object:
    """A cell value openpyxl can write: None for missing, plain Python scalars, clean text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, float) and np.isnan(value):
            return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", neutralise_cell(value))  # type: ignore[arg-type]
    if isinstance(value, (list, tuple, set, dict)):
        return ILLEGAL_CHARACTERS_RE.sub("", str(neutralise_cell(str(value))))
    return value


def to_xlsx_bytes(df: pd.DataFrame, *, sheet_name: str = "data") -> bytes:
    """Return ``df`` as an XLSX workbook (one sheet, header row frozen), formulas neutralised.

    Parameters
    ----------
    df : pandas.DataFrame
        The rows to write; the index is not written.
    sheet_name : str, default "data"
        Name of the sheet, at most 31 characters.

    Returns
    -------
    bytes
        The workbook, ready for a download button or a file.

    Raises
    ------
    TypeError
        When ``df`` is not a DataFrame.
    ValueError
        When ``sheet_name`` is empty, too long or holds a character Excel forbids.

    Example
    -------
    >>> to_xlsx_bytes(pd.DataFrame({"a": ["=1+1"]}))[:2]
    b'PK'
    """
    if not isinstance(df, pd.DataFrame):
        raise ArgumentTypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if not isinstance(sheet_name, str) or not 0 < len(sheet_name) <= _MAX_SHEET_NAME or any(
        ch in sheet_name for ch in "[]:*?/\\"
    ):
        raise ArgumentError(
            f"sheet_name must be 1-{_MAX_SHEET_NAME} characters without []:*?/\\, got {sheet_name!r}"
        )
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_name)
    sheet.freeze_panes = "A2"
    for index, column in enumerate(df.columns, start=1):
        width = max([len(str(column))] + [len(str(v)) for v in df[column].head(200).tolist()])
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 8), 60)
    sheet.append([_excel_value(str(c)) for c in df.columns])
    for row in df.itertuples(index=False, name=None):
        sheet.append([_excel_value(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """Return ``df`` as CSV in UTF-8 with a byte-order mark (so Excel shows Thai), formulas neutralised.

    Lines end in CRLF (RFC 4180), so a cell holding a carriage return or a line feed is quoted: a
    bare carriage return would start a new row in Excel, whose first cell would escape the
    neutralising (``"x\\r=1+1"``).

    Example
    -------
    >>> to_csv_bytes(pd.DataFrame({"a": ["@SUM(A1)"]}))
    b"\\xef\\xbb\\xbfa\\r\\n'@SUM(A1)\\r\\n"
    """
    if not isinstance(df, pd.DataFrame):
        raise ArgumentTypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    text = neutralise_frame(df).to_csv(index=False, lineterminator="\r\n")
    return text.encode("utf-8-sig")


def _write_atomically(data: bytes, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; os.umask() to read the mask is not thread-safe
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_xlsx(df: pd.DataFrame, path: str | os.PathLike[str], *, sheet_name: str = "data") -> Path:
    """Write ``df`` to an XLSX file with :func:`to_xlsx_bytes`; return the path.

    The file is written to a temporary name first and then renamed, so a reader never sees half a
    workbook.
    """
    return _write_atomically(to_xlsx_bytes(df, sheet_name=sheet_name), Path(path))


def write_csv(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``df`` to a CSV file with :func:`to_csv_bytes`; return the path."""
    return _write_atomically(to_csv_bytes(df), Path(path))


def write_table(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``df`` as CSV, XLSX or Parquet, chosen by the extension of ``path``.

    Raises
    ------
    ValueError
        When the extension is not ``.csv``, ``.xlsx`` or ``.parquet``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return write_csv(df, path)
    if suffix == ".xlsx":
        return write_xlsx(df, path)
    if suffix == ".parquet":
        buffer = io.BytesIO()
        df.to_parquet(buffer, index=False)
        return _write_atomically(buffer.getvalue(), path)
    raise ArgumentError(f"path must end in .csv, .xlsx or .parquet, got {str(path)!r}")
