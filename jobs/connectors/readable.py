"""A fetched body is checked before it reaches the pipeline, so a feed answering garbage changes nothing stored."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from ingest.columns import ColumnError, map_header
from ingest.formats import FORMATS, FormatError, detect_format, open_table
from jobs.connectors.base import SourceFailed

HEAD_ROWS = 200


def check_lead_file(path: Path, declared: str | None, what: str) -> str:
    """The file's format once it reads as a lead file; SourceFailed says why it does not (retry will not help)."""
    with open(path, "rb") as source:
        head = source.read(4096)
    try:
        fmt = declared or detect_format(path.name, head)
    except FormatError as error:
        raise SourceFailed(f"{what} is not a lead file: {error.message}", retry=False)
    if fmt not in FORMATS:
        raise SourceFailed(f"{what}: unknown format {fmt!r}; accepted: {', '.join(FORMATS)}", retry=False)
    if fmt in ("json", "stix"):
        _whole_json(path, what)
    elif fmt == "ndjson":
        _ndjson(path, what)
    try:
        with open(path, "rb") as source:
            table = open_table(source, fmt)
            rows = list(itertools.islice(table.rows, HEAD_ROWS))
            headers = list(dict.fromkeys([*table.headers, *(key for row in rows for key in row.values)]))
    except FormatError as error:
        raise SourceFailed(f"{what} cannot be read as {fmt}: {error}", retry=False)
    # A category may come from the job's defaults; an identifier column must be in the file itself.
    if isinstance(map_header(headers, default_category=True), ColumnError) and fmt != "stix":
        raise SourceFailed(f"{what} read as {fmt} has no column that names an identifier (first columns: "
                           f"{', '.join(h[:30] for h in headers[:5]) or 'none'}); expected a lead file", retry=False)
    return fmt


def _whole_json(path: Path, what: str) -> None:
    try:
        with open(path, "rb") as source:
            json.load(source)
    except (ValueError, UnicodeDecodeError) as error:
        raise SourceFailed(f"{what} is not valid JSON ({error})", retry=False)


def _ndjson(path: Path, what: str) -> None:
    with open(path, "rb") as source:
        for number, line in enumerate(source, start=1):
            if line.strip():
                try:
                    json.loads(line)
                except (ValueError, UnicodeDecodeError) as error:
                    raise SourceFailed(f"{what} line {number} is not valid JSON ({error})", retry=False)
