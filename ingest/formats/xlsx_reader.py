"""XLSX lead batches, read with openpyxl in read-only mode (sheet XML is streamed, not loaded).

Cell values keep their types, with two adjustments so identifiers survive:
- an integral number is an ``int`` (a phone typed as a number, 13800138000.0, becomes 13800138000);
- a number of 16 or more digits stays a ``float``: Excel keeps only 15 significant digits, so such a
  cell (an ID number or bank card typed as a number) has already lost digits, and the row policy
  refuses it rather than guess.
Date-formatted cells are ``datetime``; formulas give their cached value. The first sheet is read unless
a sheet name is given; the first non-empty row is the header; entirely empty rows are not rows.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings as python_warnings
import zipfile
from typing import IO, Iterator

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from ingest.formats import FormatError, SourceRow, Table, unique_headers

_EXACT_DIGITS = 10**15  # below this, Excel's 15 significant digits hold every integer exactly


def read_rows(stream: IO[bytes], sheet: str | None = None) -> Iterator[SourceRow]:
    return open_table(stream, sheet).rows


def open_table(stream: IO[bytes], sheet: str | None = None) -> Table:
    workbook = _load(stream)
    names = workbook.sheetnames
    if sheet is not None and sheet not in names:
        workbook.close()
        raise FormatError(f"the workbook has no sheet named {sheet!r}; its sheets: {', '.join(names)}")
    worksheet = workbook[sheet or names[0]]
    worksheet.reset_dimensions()  # some writers record a wrong size; trust the rows themselves
    rows = _numbered(worksheet.iter_rows(min_row=1, min_col=1, values_only=True))
    for line, cells in rows:
        if any(_present(v) for v in cells):
            break
    else:
        workbook.close()
        raise FormatError(f"sheet {worksheet.title!r} is empty: expected a header row, then one lead per row")
    headers = unique_headers(list(cells), lambda i: f"column_{get_column_letter(i + 1)}")
    while headers and headers[-1].startswith("column_") and cells[len(headers) - 1] is None:
        headers.pop()  # trailing formatted-but-empty header cells
    return Table(headers, _data_rows(workbook, rows, headers))


def _load(stream: IO[bytes]):
    source = stream if stream.seekable() else _spooled(stream)
    try:
        with python_warnings.catch_warnings():
            python_warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it skips
            return load_workbook(source, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise FormatError(f"not a readable .xlsx workbook ({type(error).__name__}); save it again from Excel") from None


def _spooled(stream: IO[bytes]) -> IO[bytes]:
    """A zip needs random access: copy a pipe-like upload to a temporary file first."""
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    shutil.copyfileobj(stream, spool)
    spool.seek(0, os.SEEK_SET)
    return spool


def _numbered(rows: Iterator[tuple]) -> Iterator[tuple[int, tuple]]:
    try:
        yield from enumerate(rows, start=1)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, SyntaxError) as error:
        raise FormatError(f"the workbook is damaged ({type(error).__name__}); save it again from Excel") from None


def _data_rows(workbook, rows: Iterator[tuple[int, tuple]], headers: list[str]) -> Iterator[SourceRow]:
    width = len(headers)
    try:
        for line, cells in rows:
            if not any(_present(v) for v in cells):
                continue
            values = {h: _cell(v) for h, v in zip(headers, cells)}
            for index in range(width, len(cells)):
                if _present(cells[index]):
                    values[f"column_{get_column_letter(index + 1)}"] = _cell(cells[index])
            yield SourceRow(line, values)
    finally:
        workbook.close()


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _cell(value: object) -> object:
    if isinstance(value, float) and value.is_integer() and abs(value) < _EXACT_DIGITS:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _EXACT_DIGITS:
        return float(value)
    return value
