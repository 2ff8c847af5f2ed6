"""Lead-batch file formats, each read as a stream of rows without holding the file in memory.

Every reader module has ``read_rows(stream) -> Iterator[SourceRow]`` and ``open_table(stream) -> Table``
(the headers known up front, then the rows). ``SourceRow.line`` is what a member can find in the file:

- CSV, XLSX: the file's line / sheet row number; the header is 1, so the first data row is usually 2
  (a CSV cell spanning lines makes the next row's number jump accordingly).
- NDJSON: the line the object starts on.
- JSON array, STIX bundle: the element's 1-based index + 1 (the first element is "line" 2), so the
  numbering reads like a spreadsheet with a header row.

A file that cannot be read at all (bad encoding, broken JSON, not a workbook) raises `FormatError`
with the line and what is accepted; readers raise nothing else for bad input.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import IO, Callable, Iterator

FORMATS = ("csv", "xlsx", "json", "ndjson", "stix")


class FormatError(ValueError):
    """The file as a whole cannot be read; `line` is where reading stopped (None: before any row)."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(f"line {line}: {message}" if line else message)
        self.message = message
        self.line = line


@dataclass(slots=True)
class SourceRow:
    line: int
    values: dict[str, object]
    notes: tuple[str, ...] = ()  # what the reader noticed about this row (e.g. a STIX pattern it skipped)


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[SourceRow]
    warnings: list[str] = field(default_factory=list)  # batch-level (e.g. which encoding was detected)


_NOT_TABLES = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x1f\x8b": "a gzip archive",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
}


def detect_format(filename: str | None, first_bytes: bytes) -> str:
    """csv, xlsx, json, ndjson or stix, judged by content (the file name only breaks no ties).

    XLSX is a zip; STIX is a JSON object with "type": "bundle" in its first bytes; a JSON text starting
    with [ is an array (json), one starting with { a sequence of objects (ndjson); anything else is CSV.
    Raises FormatError for files that are not lead batches (legacy .xls, encrypted workbooks, PDFs…).
    """
    if first_bytes.startswith(b"PK\x03\x04"):
        return "xlsx"
    if first_bytes.startswith(b"\xd0\xcf\x11\xe0"):
        raise FormatError("legacy .xls or password-protected workbook: save it as .xlsx without a password, or as CSV")
    for magic, what in _NOT_TABLES.items():
        if first_bytes.startswith(magic):
            raise FormatError(f"{filename or 'the upload'} is {what}; accepted: CSV, XLSX, JSON, NDJSON, STIX 2.1")
    head = first_bytes.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return "stix" if re.search(rb'"type"\s*:\s*"bundle"', first_bytes) else "ndjson"
    if head.startswith(b"["):
        return "json"
    return "csv"


_MODULES = {
    "csv": "ingest.formats.csv_reader",
    "xlsx": "ingest.formats.xlsx_reader",
    "json": "ingest.formats.json_reader",
    "ndjson": "ingest.formats.json_reader",
    "stix": "ingest.formats.stix_reader",
}


def open_table(stream: IO[bytes], fmt: str, *, sheet: str | None = None) -> Table:
    """Open `stream` as format `fmt` (one of FORMATS); `sheet` names the XLSX worksheet (default: the first)."""
    if fmt not in _MODULES:
        raise FormatError(f"unknown format {fmt!r}; accepted: {', '.join(FORMATS)}")
    module = importlib.import_module(_MODULES[fmt])
    return module.open_table(stream, sheet) if fmt == "xlsx" else module.open_table(stream)


def unique_headers(cells: list[object], blank_name: Callable[[int], str]) -> list[str]:
    """Header cells as dictionary keys: blanks named by position, repeats numbered (手机号, 手机号_2)."""
    headers: list[str] = []
    seen: set[str] = set()
    for index, cell in enumerate(cells):
        name = "" if cell is None else str(cell).strip().lstrip("\ufeff")
        name = name or blank_name(index)
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate)
        headers.append(candidate)
    return headers
