"""A batch's row report as CSV a spreadsheet opens safely: UTF-8 with BOM (Excel on Chinese Windows reads it),
cells that a spreadsheet would run as a formula (= + - @ tab CR) neutralised with a leading apostrophe.

`report_csv` is the server's report (one line per issue). `write_fix_file` is what `fenghuo upload --report`
writes on the uploader's machine: one line per rejected row, its problems, and — for CSV and XLSX files —
the row's own cells read back from the local file, so a team can fix the rows and upload that file as it
is (the `line`, `status` and `problems` columns are ignored on upload). Only rejected rows: an accepted row
(even with warnings) or a duplicate is filed already, and uploading it again would file it twice. Raw
values never leave that machine.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Iterable, Iterator

from ingest.formats import FormatError, SourceRow, open_table

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
REPORT_COLUMNS = ["line", "status", "problems"]
TABULAR_FORMATS = ("csv", "xlsx")


def safe_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def report_csv(rows: list[dict[str, Any]]) -> str:
    """One line per issue, formula-safe cells."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["line", "status", "kind", "field", "message", "where"])
    for row in rows:
        issues = [("error", i) for i in row["errors"]] + [("warning", i) for i in row["warnings"]]
        for kind, issue in issues or [("", {"field": "", "message": "", "where": ""})]:
            writer.writerow([row["line"], row["status"], kind, *(safe_cell(issue.get(k)) for k in ("field", "message", "where"))])
    return out.getvalue()


def problems(row: dict[str, Any]) -> str:
    """A row's errors, then its warnings, as one readable cell."""
    issues = [("error", i) for i in row["errors"]] + [("warning", i) for i in row["warnings"]]
    return "; ".join(f"{kind} {i['field']}: {i['message']}" + (f" ({i['where']})" if i.get("where") else "")
                     for kind, i in issues)


def write_fix_file(path: Path, rows: list[dict[str, Any]], source: Path | None, fmt: str | None) -> int:
    """Write the rejected rows (with their source cells for CSV/XLSX); returns how many source rows were found."""
    by_line = {row["line"]: row for row in rows if row["status"] == "rejected"}
    headers, cells = _source_cells(source, fmt, set(by_line)) if source is not None else ([], {})
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([*REPORT_COLUMNS, *(safe_cell(h) for h in headers)])
        for line in sorted(by_line):
            row = by_line[line]
            values = cells.get(line, {})
            writer.writerow([line, row["status"], safe_cell(problems(row)), *(safe_cell(values.get(h)) for h in headers)])
    return len(cells)


def _source_cells(source: Path, fmt: str | None, lines: set[int]) -> tuple[list[str], dict[int, dict[str, Any]]]:
    if fmt not in TABULAR_FORMATS or not lines:
        return [], {}
    try:
        with open(source, "rb") as stream:
            table = open_table(stream, fmt)
            wanted = {row.line: row.values for row in _rows_at(table.rows, lines)}
            return list(table.headers), wanted
    except FormatError:
        return [], {}  # the server read it; if this machine cannot, the report alone still helps


def _rows_at(rows: Iterable[SourceRow], lines: set[int]) -> Iterator[SourceRow]:
    last = max(lines)
    for row in rows:
        if row.line in lines:
            yield row
        if row.line >= last:
            return
