"""CSV lead batches — typically saved by Excel on a Chinese Windows desktop — decoded as they stream.

Encoding: a BOM decides (UTF-8, UTF-16); otherwise text stays undecided while it is ASCII, and the first
non-ASCII bytes decide: valid UTF-8 → UTF-8, else GB18030 (a superset of GBK/GB2312, which is what
Excel on Chinese Windows writes), else charset-normalizer's best guess, else a FormatError. Deciding
late means a GBK file whose first thousand rows are pure ASCII still reads correctly.

The delimiter is the most frequent of , TAB ; | in the header line (Excel's "Unicode text" is TAB).
Leading blank lines are skipped; the first non-blank line is the header.
"""

from __future__ import annotations

import _csv
import codecs
import csv
import re
from itertools import chain
from typing import IO, Iterator

from charset_normalizer import from_bytes

from ingest.formats import FormatError, SourceRow, Table, unique_headers

CHUNK = 64 * 1024
_MIN_DECIDE = 4 * 1024  # bytes of non-ASCII context wanted before choosing an encoding
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")
_NON_ASCII = re.compile(rb"[\x80-\xff]")
_DELIMITERS = (",", "\t", ";", "|")


def read_rows(stream: IO[bytes]) -> Iterator[SourceRow]:
    return open_table(stream).rows


def open_table(stream: IO[bytes]) -> Table:
    warnings: list[str] = []
    lines = _decoded_lines(stream, warnings)
    skipped = 0
    for first in lines:
        if first.strip(" \t\r\n,;|\ufeff"):
            break
        skipped += 1
    else:
        raise FormatError("the file is empty: expected a header row, then one lead per row")
    delimiter = max(_DELIMITERS, key=first.count)
    reader = csv.reader(chain([first.lstrip("\ufeff")], lines), delimiter=delimiter)
    header_cells = _next_record(reader, skipped)
    headers = unique_headers(header_cells or [], lambda i: f"column_{i + 1}")
    return Table(headers, _rows(reader, headers, skipped), warnings)


def _next_record(reader: _csv.Reader, offset: int) -> list[str] | None:
    try:
        return next(reader, None)
    except csv.Error as error:
        raise FormatError(f"malformed CSV ({error})", offset + reader.line_num) from None


def _rows(reader: _csv.Reader, headers: list[str], offset: int) -> Iterator[SourceRow]:
    width = len(headers)
    while True:
        start = offset + reader.line_num + 1
        cells = _next_record(reader, offset)
        if cells is None:
            return
        if not cells:
            continue  # an empty line is not a row
        values: dict[str, object] = dict(zip(headers, cells))
        for index in range(width, len(cells)):
            if cells[index].strip():
                values[f"column_{index + 1}"] = cells[index]
        yield SourceRow(start, values)


def _decoded_lines(stream: IO[bytes], warnings: list[str]) -> Iterator[str]:
    """Text lines with their endings (\\r\\n, \\r or \\n), decoded incrementally; numbered from 1."""
    first = stream.read(CHUNK)
    decoder = _bom_decoder(first)
    pending, line_no, eof = "", 1, not first
    chunk = first
    while not eof:
        nxt = stream.read(CHUNK)
        eof = not nxt
        if decoder is None and not chunk.isascii():
            chunk, nxt, eof = _ensure_context(stream, chunk, nxt, eof)
            decoder = _choose_decoder(chunk[_NON_ASCII.search(chunk).start():], eof, warnings)
        try:
            text = decoder.decode(chunk, final=eof) if decoder else chunk.decode("ascii")
        except UnicodeDecodeError as error:
            valid = error.object[: error.start].decode(error.encoding, errors="replace")
            raise FormatError(
                f"bytes that are not valid {error.encoding} text; save the file as CSV UTF-8 or as CSV (GBK)",
                line_no + len(_LINE.findall(pending + valid)),
            ) from None
        pending += text
        searched = pending if eof or not pending.endswith("\r") else pending[:-1]  # \r may precede \n
        cut = max(searched.rfind("\n"), searched.rfind("\r")) + 1
        for line in _LINE.findall(pending, 0, cut):  # the text before `cut` ends a line: no backtracking
            line_no += 1
            yield line
        pending = pending[cut:]
        chunk = nxt
    if pending:
        yield pending


def _decoder(encoding: str) -> codecs.IncrementalDecoder:
    return codecs.getincrementaldecoder(encoding)(errors="strict")


def _bom_decoder(head: bytes) -> codecs.IncrementalDecoder | None:
    if head.startswith(codecs.BOM_UTF8):
        return _decoder("utf-8-sig")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decoder("utf-16")
    return None


def _ensure_context(stream: IO[bytes], chunk: bytes, nxt: bytes, eof: bool) -> tuple[bytes, bytes, bool]:
    """Join the next chunk when the first non-ASCII byte sits too close to the end to judge by."""
    if not eof and len(chunk) - _NON_ASCII.search(chunk).start() < _MIN_DECIDE:
        chunk, nxt = chunk + nxt, stream.read(CHUNK)
        eof = not nxt
    return chunk, nxt, eof


def _choose_decoder(sample: bytes, final: bool, warnings: list[str]) -> codecs.IncrementalDecoder:
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(sample, final)
            return _decoder(encoding)
        except UnicodeDecodeError:
            continue
    best = from_bytes(sample).best()
    if best is None:
        raise FormatError("cannot tell the text encoding; save the file as CSV UTF-8 or as CSV (GBK)")
    warnings.append(f"the text encoding was guessed as {best.encoding}; check that Chinese text reads correctly")
    return _decoder(best.encoding)
