"""Bounded resources per import: rows, columns, unpacked size and memory, checked while reading.

The two files of the security review are built here: a Parquet file of 500,000 identical rows
(about 60 KB: dictionary and run-length encoding) and an XLSX whose one sheet unpacks to hundreds
of megabytes from a few hundred kilobytes. Each is imported in a fresh Python process whose peak
resident memory is measured (``ru_maxrss``), under an address-space cap so that a regression fails
the test instead of exhausting the machine.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from geo.errors import InputFileError, PPAPError
from geo.ingest import import_households
from geo.ingest.isolated import import_households_isolated
from geo.ingest.limits import ImportLimits, where_th
from geo.errors import ImportLimitError
from geo.ingest.read import read_table

ROOT = Path(__file__).resolve().parents[2]
HEADER = ("household_id,survey_year,district_code,members,capital_human,capital_physical,capital_natural,"
          "capital_financial,capital_social,in_tpmap,verified,dep_health,dep_living,dep_education,dep_income,"
          "dep_access")
ROW = "H{n},2567,4609,4,1.5,2,2,2,2,1,1,0,0,0,0,0"
#: Peak memory an import of a refused bomb may add to a process (bytes). Today's code added 2.4 GB.
BOMB_MEMORY_BUDGET = 150 * 2**20


def csv_bytes(rows: int) -> bytes:
    return (HEADER + "\n" + "\n".join(ROW.format(n=n) for n in range(rows)) + "\n").encode()


def one_household() -> dict[str, object]:
    values = dict(zip(HEADER.split(","), ROW.format(n=1).split(",")))
    return values


def parquet_bomb(path: Path, rows: int = 500_000) -> Path:
    """500,000 copies of one household: tiny on disk (dictionary + RLE), huge as a table."""
    row = one_household()
    table = pa.table({k: pa.array([v] * rows, pa.string()) for k, v in row.items()})
    pq.write_table(table, path)
    return path


def xlsx_bomb(path: Path, unpacked_mb: int = 300) -> Path:
    """A workbook whose one sheet unpacks to ``unpacked_mb`` MB of identical rows from a few hundred KB."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(HEADER.split(","))
    buffer = io.BytesIO()
    workbook.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    header = "".join(f'<c t="inlineStr"><is><t>{h}</t></is></c>' for h in HEADER.split(","))
    row = "<row>" + "".join(f"<c><v>{v}</v></c>" if v.replace(".", "").isdigit() else
                             f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in ROW.format(n=1).split(",")) + "</row>"
    block = row * 2000
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for item in source.infolist():
            if item.filename == "xl/worksheets/sheet1.xml":
                with out.open(item.filename, "w", force_zip64=True) as sheet:
                    sheet.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
                                b'openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
                    sheet.write(f"<row>{header}</row>".encode())
                    data = block.encode()
                    for _ in range(unpacked_mb * 2**20 // len(data)):
                        sheet.write(data)
                    sheet.write(b"</sheetData></worksheet>")
            else:
                out.writestr(item, source.read(item.filename))
    return path


def import_in_fresh_process(path: Path, *, cap_mb: int = 3000, timeout: float = 240) -> dict:
    """Import ``path`` in a new Python process; its outcome and peak memory above its start."""
    script = textwrap.dedent(f"""
        import json, resource, sys
        cap = {cap_mb} * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))  # a regression fails here, not the machine
        import pyarrow.parquet, openpyxl
        from geo.ingest import import_households
        from geo.errors import PPAPError
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        out = {{"before": before}}
        try:
            result = import_households([{str(path)!r}])
            out.update(status="read", rows_in=result.rows_in, rejected=result.rejected)
        except PPAPError as exc:
            out.update(status="refused", code=getattr(exc, "code", None), message=str(exc))
        except MemoryError:
            out.update(status="memory_error")
        out["peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(json.dumps(out))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# The two files of the review, in a fresh process
# ---------------------------------------------------------------------------------------------


def test_parquet_of_500000_identical_rows_is_refused_from_its_metadata(tmp_path):
    path = parquet_bomb(tmp_path / "bomb.parquet")
    assert path.stat().st_size < 150_000  # tens of KB for 500,000 rows
    out = import_in_fresh_process(path)
    assert out["status"] == "refused", out
    assert out["code"] == "too_many_rows"
    assert "500,000 rows" in out["message"] and "300,000" in out["message"]
    assert "แถว" in out["message"] and "\n" not in out["message"]  # one line, English and Thai
    assert out["peak"] - out["before"] < BOMB_MEMORY_BUDGET, out


def test_xlsx_that_unpacks_to_hundreds_of_mb_is_refused_before_parsing(tmp_path):
    path = xlsx_bomb(tmp_path / "bomb.xlsx", unpacked_mb=300)
    assert path.stat().st_size < 2_000_000
    with zipfile.ZipFile(path) as archive:
        sheet = archive.getinfo("xl/worksheets/sheet1.xml")
    assert sheet.file_size > 300 * 10**6 and sheet.file_size / sheet.compress_size > 100
    out = import_in_fresh_process(path)
    assert out["status"] == "refused", out
    assert out["code"] == "compression_ratio"
    assert "xl/worksheets/sheet1.xml" in out["message"] and "zip bomb" in out["message"]
    assert "เท่า" in out["message"]
    assert out["peak"] - out["before"] < BOMB_MEMORY_BUDGET, out


def test_parquet_bomb_in_an_isolated_import_leaves_the_caller_alone(tmp_path):
    path = parquet_bomb(tmp_path / "bomb.parquet")
    with pytest.raises(ImportLimitError) as caught:
        import_households_isolated([path])
    assert caught.value.code == "too_many_rows"
    assert "500,000" in caught.value.message_en and "500,000" in caught.value.message_th


# ---------------------------------------------------------------------------------------------
# Each limit, checked while reading
# ---------------------------------------------------------------------------------------------


def refused(data: bytes, name: str, **limits) -> ImportLimitError:
    with pytest.raises(ImportLimitError) as caught:
        read_table(data, name, limits=ImportLimits(**limits))
    error = caught.value
    assert isinstance(error, InputFileError) and isinstance(error, PPAPError)
    assert str(error) == f"{error.message_en} / {error.message_th}" and "\n" not in str(error)
    assert error.message_en.startswith(name) and error.message_th.startswith(name)
    return error


def test_rows_are_counted_while_reading_each_format(tmp_path):
    assert refused(csv_bytes(101), "a.csv", max_rows=100).code == "too_many_rows"
    assert read_table(csv_bytes(100), "a.csv", limits=ImportLimits(max_rows=100)).cells.shape[0] == 100
    frame = pd.DataFrame([one_household()] * 101)
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    assert "101 rows" in refused(buffer.getvalue(), "a.parquet", max_rows=100).message_en
    from geo.data.spreadsheet import to_xlsx_bytes

    error = refused(to_xlsx_bytes(frame), "a.xlsx", max_rows=100)
    assert error.code == "too_many_rows" and "more than the 100 rows" in error.message_en
    assert "เกินกว่าที่รับได้ 100 แถว" in error.message_th


def test_blank_rows_below_the_data_do_not_count():
    data = csv_bytes(50) + b"\n" * 500
    assert read_table(data, "a.csv", limits=ImportLimits(max_rows=60)).cells.shape[0] == 50
    assert refused(data + ROW.format(n=99).encode(), "a.csv", max_rows=60).code == "too_many_rows"
    # ... up to ten times the limit: past it, reading on would only cost time.
    assert refused(csv_bytes(50) + b"\n" * 700, "a.csv", max_rows=60).code == "too_many_rows"


def test_columns_cells_and_text_are_limited():
    wide = (HEADER + "," + ",".join(f"x{i}" for i in range(300)) + "\n" + ROW.format(n=1) + "\n").encode()
    error = refused(wide, "wide.csv", max_columns=200)
    assert error.code == "too_many_columns" and "316 cells" in error.message_en and "line 1" in error.message_en
    assert "บรรทัดที่ 1" in error.message_th
    commas = (HEADER + "\n" + "," * 100_000 + "\n").encode()  # refused before the line is split
    assert refused(commas, "commas.csv", max_columns=200).code == "too_many_columns"
    long_cell = (HEADER + "\n" + ROW.format(n="x" * 5000) + "\n").encode()
    error = refused(long_cell, "long.csv", max_cell_chars=1000)
    assert error.code == "cell_too_long" and "line 2" in error.message_en
    assert refused(csv_bytes(2000), "a.csv", max_unpacked_bytes=20_000).code == "unpacked_too_large"


def test_memory_estimate_counts_every_file_of_an_import():
    limits = ImportLimits(max_memory_bytes=2_000_000)  # about 600 rows of 16 columns
    assert read_table(csv_bytes(400), "a.csv", limits=limits).memory_estimate > 1_000_000
    error = refused(csv_bytes(1000), "a.csv", max_memory_bytes=2_000_000)
    assert error.code == "memory" and "MB" in error.message_en and "หน่วยความจำ" in error.message_th
    with pytest.raises(ImportLimitError) as caught:  # each file alone fits; the two together do not
        import_households([("a.csv", csv_bytes(400)), ("b.csv", csv_bytes(401))], limits=limits)
    assert caught.value.code == "memory" and caught.value.message_en.startswith("b.csv")


def test_parquet_refused_from_metadata_and_by_batch(tmp_path):
    many = pa.table({f"c{i}": pa.array(["1"], pa.string()) for i in range(250)})
    buffer = io.BytesIO()
    pq.write_table(many, buffer)
    assert refused(buffer.getvalue(), "wide.parquet").code == "too_many_columns"
    # 20,000 references to one 20,000-character value: tiny on disk, 400 M characters as cells.
    big = pa.table({"household_id": pa.array(["H1"] * 20_000), "note": pa.array(["x" * 20_000] * 20_000)})
    buffer = io.BytesIO()
    pq.write_table(big, buffer)
    assert len(buffer.getvalue()) < 200_000
    error = refused(buffer.getvalue(), "refs.parquet", max_memory_bytes=64 * 2**20)
    assert error.code == "memory"  # measured from the dictionary, before the batch is expanded
    assert refused(buffer.getvalue(), "refs.parquet", max_cell_chars=1000).code == "cell_too_long"


def test_parquet_footer_is_measured_before_it_is_parsed():
    table = pa.table({f"c{i}": pa.array(["1"] * 200, pa.string()) for i in range(100)})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=1)  # 200 row groups: a footer of megabytes
    data = buffer.getvalue()
    footer = int.from_bytes(data[-8:-4], "little")
    assert footer > 1_000_000
    error = refused(data, "footer.parquet", max_memory_bytes=footer * 4)
    assert error.code == "memory"


def test_xlsx_declared_sizes_are_checked_before_parsing(tmp_path):
    path = xlsx_bomb(tmp_path / "small.xlsx", unpacked_mb=3)
    data = path.read_bytes()
    assert refused(data, "small.xlsx", max_unpacked_bytes=2 * 2**20).code == "unpacked_too_large"
    error = refused(data, "small.xlsx", max_compression_ratio=50)
    assert error.code == "compression_ratio" and "xl/worksheets/sheet1.xml" in error.message_en
    # Within the size limits, the rows are still counted while openpyxl streams the sheet.
    assert refused(data, "small.xlsx", max_rows=1000, max_compression_ratio=10_000).code == "too_many_rows"


def test_file_size_is_checked_before_reading(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes(3000))
    with pytest.raises(ImportLimitError) as caught:
        import_households([path], limits=ImportLimits(max_file_bytes=10_000))
    assert caught.value.code == "file_too_large"
    assert refused(csv_bytes(3000), "big.csv", max_file_bytes=10_000).code == "file_too_large"


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------


def test_limits_come_from_the_environment():
    limits = ImportLimits.from_env({"PPAP_IMPORT_MAX_ROWS": "5000", "PPAP_IMPORT_MAX_MEMORY_MB": "512",
                                    "PPAP_IMPORT_MAX_COMPRESSION_RATIO": "250.5"})
    assert (limits.max_rows, limits.max_memory_bytes, limits.max_compression_ratio) == (5000, 512 * 2**20, 250.5)
    assert ImportLimits.from_env({}) == ImportLimits()
    with pytest.raises(ValueError, match="PPAP_IMPORT_MAX_ROWS"):
        ImportLimits.from_env({"PPAP_IMPORT_MAX_ROWS": "lots"})
    with pytest.raises(ValueError, match="max_columns"):
        ImportLimits(max_columns=0)


def test_import_reads_limits_from_the_environment(monkeypatch):
    monkeypatch.setenv("PPAP_IMPORT_MAX_ROWS", "10")
    with pytest.raises(ImportLimitError):
        import_households([("a.csv", csv_bytes(11))])
    assert import_households([("a.csv", csv_bytes(10))]).rows_in == 10


def test_defaults_take_the_whole_sample_in_one_file():
    limits = ImportLimits()
    assert limits.max_rows >= 231_021 and limits.max_columns >= 26
    from geo.ingest.limits import BYTES_PER_CELL

    assert 300_000 * 26 * BYTES_PER_CELL < limits.max_memory_bytes


def test_where_th():
    assert where_th("line 12") == "บรรทัดที่ 12" and where_th("header") == "หัวตาราง"


# ---------------------------------------------------------------------------------------------
# The isolated import
# ---------------------------------------------------------------------------------------------


def test_isolated_import_gives_the_same_result(tmp_path):
    data = csv_bytes(30).replace(b"H5,2567,4609,4", b"H5,2567,4609,45")
    here = import_households([("a.csv", data)])
    there = import_households_isolated([("a.csv", data)], mode="upsert")
    assert there.report()["rows"] == here.report()["rows"]
    assert there.households.equals(here.households)
    with pytest.raises(InputFileError, match="the file is empty"):
        import_households_isolated([("e.csv", b"")])
    with pytest.raises(TypeError, match="unknown import option"):
        import_households_isolated([("a.csv", data)], colour="red")


def test_isolated_import_has_a_hard_memory_ceiling():
    # 20,000 rows estimate at 64 MB, well within the limits; the child may take only 8 MB more.
    with pytest.raises(ImportLimitError) as caught:
        import_households_isolated([("a.csv", csv_bytes(20_000))], memory_ceiling=8 * 2**20)
    # Out of memory while reading (the reader says so) or later (the parent says so, with the ceiling).
    assert caught.value.code == "memory" and "ran out of memory" in caught.value.message_en
    assert "หน่วยความจำ" in caught.value.message_th
    assert import_households_isolated([("a.csv", csv_bytes(20_000))]).rows_in == 20_000


def test_isolated_import_is_stopped_after_its_time():
    with pytest.raises(ImportLimitError) as caught:
        import_households_isolated([("a.csv", csv_bytes(10))], timeout=0.01)
    assert caught.value.code == "time" and "วินาที" in caught.value.message_th
