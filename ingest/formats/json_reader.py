"""JSON lead batches: a top-level array of objects, or objects one after another (NDJSON).

Parsed incrementally with the standard library's C decoder, one element at a time: memory holds the
current element and a read-ahead chunk, never the file. Each object is one row; its keys are the
headers (mapped like CSV headers), and a list value holds several identifiers of one field.
Line numbers: NDJSON — the line an object starts on; array — element index + 1 (first element is 2).
JSON must be UTF-8 (RFC 8259); a BOM is tolerated.
"""

from __future__ import annotations

import codecs
import json
import re
from itertools import chain, count, islice
from typing import IO, Iterator

from ingest.formats import FormatError, SourceRow, Table

CHUNK = 64 * 1024
MAX_ELEMENT = 16 * 1024 * 1024  # one lead (or STIX object) beyond this is not a lead
_HEADER_SAMPLE = 100  # objects whose keys form the up-front header; later keys are mapped as they appear
_WHITESPACE = re.compile(r"[ \t\r\n]*")
_DECODER = json.JSONDecoder()


class JsonScanner:
    """Reads JSON tokens and whole values from a byte stream with a bounded look-ahead buffer."""

    def __init__(self, stream: IO[bytes]):
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._buf = ""
        self._pos = 0
        self._eof = False
        self.line = 1  # line of the next unread character

    def peek(self) -> str | None:
        """The next non-whitespace character (not consumed), or None at the end of the input."""
        while True:
            end = _WHITESPACE.match(self._buf, self._pos).end()
            self._advance(end)
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if self._eof:
                return None
            self._fill(CHUNK)

    def expect(self, char: str) -> None:
        found = self.peek()
        if found != char:
            what = "the end of the file" if found is None else repr(found)
            raise FormatError(f"malformed JSON: expected {char!r}, found {what}", self.line)
        self._advance(self._pos + 1)

    def value(self) -> object:
        """The next complete JSON value."""
        self.peek()
        while True:
            try:
                parsed, end = _DECODER.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as error:
                if self._eof:
                    line = self.line + self._buf.count("\n", self._pos, error.pos)
                    raise FormatError(f"malformed JSON ({error.msg})", line) from None
                self._grow()
                continue
            if end == len(self._buf) and not self._eof:
                self._grow()  # a number at the buffer's edge may go on
                continue
            self._advance(end)
            return parsed

    def _grow(self) -> None:
        pending = len(self._buf) - self._pos
        if pending > MAX_ELEMENT:
            raise FormatError(f"one element is larger than {MAX_ELEMENT // 2**20} MiB, or malformed", self.line)
        self._fill(max(CHUNK, pending))  # doubling keeps re-parsing a large element linear

    def _advance(self, position: int) -> None:
        self.line += self._buf.count("\n", self._pos, position)
        self._pos = position

    def _fill(self, size: int) -> None:
        data = self._stream.read(size)
        self._eof = not data
        try:
            text = self._decoder.decode(data, final=self._eof)
        except UnicodeDecodeError:
            raise FormatError("JSON must be UTF-8 encoded", self.line) from None
        self._buf = self._buf[self._pos :] + text
        self._pos = 0


def read_rows(stream: IO[bytes]) -> Iterator[SourceRow]:
    return open_table(stream).rows


def open_table(stream: IO[bytes]) -> Table:
    scanner = JsonScanner(stream)
    start = scanner.peek()
    if start == "[":
        scanner.expect("[")
        rows = _array_rows(scanner)
    elif start == "{":
        rows = _sequence_rows(scanner)
    else:
        raise FormatError("expected a JSON array of lead objects, or one lead object per line (NDJSON)", scanner.line)
    sample = list(islice(rows, _HEADER_SAMPLE))
    headers = list(dict.fromkeys(key for row in sample for key in row.values))
    return Table(headers, chain(sample, rows))


def _array_rows(scanner: JsonScanner) -> Iterator[SourceRow]:
    if scanner.peek() == "]":
        scanner.expect("]")
    else:
        for line in count(2):
            yield _row(scanner, line)
            if scanner.peek() == "]":
                scanner.expect("]")
                break
            scanner.expect(",")
    if scanner.peek() is not None:
        raise FormatError("unexpected content after the JSON array", scanner.line)


def _sequence_rows(scanner: JsonScanner) -> Iterator[SourceRow]:
    while scanner.peek() is not None:
        yield _row(scanner, scanner.line)


def _row(scanner: JsonScanner, line: int) -> SourceRow:
    if scanner.peek() != "{":
        raise FormatError("each lead must be a JSON object ({...})", scanner.line)
    values = scanner.value()
    return SourceRow(line, values)  # type: ignore[arg-type]  # a JSON object decodes to a dict
