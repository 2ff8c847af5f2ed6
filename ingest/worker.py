"""The batch worker process: reads a lead file, applies the row policy and hands chunks of lead rows to
the parent over a bounded queue (so memory stays flat and the API's event loop never parses files).

The worker dies with its parent (core/children.py). Ending is `os._exit`: a normal exit would wait for the
queue's feeder thread to flush into a pipe nobody reads. The multiprocessing resource tracker then sees its last
user gone and exits too.
"""

from __future__ import annotations

import os
import queue as queue_module
import traceback
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from core.children import BACKGROUND_NICE, SPAWN, become_child, main_module_hidden
from ingest.columns import ColumnError, map_header
from ingest.defaults import BatchDefaults
from ingest.formats import FormatError, detect_format, open_table
from ingest.prepare import Preparer, ReportSpool
from ingest.pseudonym import AllianceKey

CHUNK_ROWS = 5000
FIRST_CHUNK_ROWS = 250  # chunks then double up to CHUNK_ROWS: progress shows at once


@dataclass(frozen=True)
class Job:
    batch_id: str
    path: str
    filename: str | None
    format: str | None
    column_mapping: dict[str, str] | None
    key_version: int
    key_secret: bytes
    benign_keys: frozenset[str]
    now: datetime
    extra_aliases: dict[str, str]
    defaults: BatchDefaults | None = None
    nice: int = BACKGROUND_NICE  # how far below the API's CPU priority the worker runs (Settings.batch_worker_nice)


class _CountingReader:
    """Wraps the raw file to report how far reading got (progress by bytes)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.position = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.position += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        count = self.raw.readinto(buffer)
        self.position += count or 0
        return count

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def detect(path: Path, filename: str | None, declared: str | None) -> str:
    with open(path, "rb") as f:
        head = f.read(4096)
    return declared or detect_format(filename, head)


class ParentGone(Exception):
    pass


def _sender(queue: Any, parent: int) -> Any:
    """queue.put that gives up when the parent died (a killed API must not leave a worker blocked forever)."""

    def put(message: tuple[Any, ...]) -> None:
        while True:
            try:
                queue.put(message, timeout=1.0)
                return
            except queue_module.Full:
                if os.getppid() != parent:
                    raise ParentGone() from None

    return put


def run(job: Job, queue: Any, parent: int | None = None) -> None:
    """Process target: put ('header', warnings), ('chunk', Chunk)…, then ('done', totals, report file) or ('error', message, line)."""
    parent = parent or os.getppid()
    become_child(parent, "fenghuo-batch", nice=job.nice)
    put = _sender(queue, parent)
    try:
        fmt = detect(Path(job.path), job.filename, job.format)
        with open(job.path, "rb") as raw:
            reader = _CountingReader(raw)
            table = open_table(reader, fmt)
            columns = map_header(table.headers, job.column_mapping,
                                 default_category=bool(job.defaults and job.defaults.category))
            if isinstance(columns, ColumnError):
                put(("error", columns.message, 1))
                return
            put(("header", fmt, [*table.warnings, *columns.warnings,
                                       *([f"ignored columns: {', '.join(columns.ignored)}"] if columns.ignored else [])]))
            spool = ReportSpool(Path(job.path + ".report.jsonl"))
            preparer = Preparer(job.batch_id, AllianceKey(job.key_version, job.key_secret), job.benign_keys, report=spool,
                                defaults=job.defaults)
            for chunk in preparer.chunks(table.rows, columns, job.now, size=CHUNK_ROWS, first=FIRST_CHUNK_ROWS,
                                         extra_aliases=job.extra_aliases, position=lambda: reader.position):
                put(("chunk", chunk))
            spool.close()
            put(("done", preparer.totals.as_dict(), str(spool.path)))
    except ParentGone:
        os._exit(1)
    except FormatError as error:
        put(("error", error.message, error.line))
    except Exception as error:  # report, never hang the parent; the trace holds no row values
        put(("error", f"the file could not be processed ({type(error).__name__})", None))
        traceback.print_tb(error.__traceback__)  # the stack only: a message may quote a row value


def start(job: Job) -> tuple[Any, Any]:
    queue = SPAWN.Queue(maxsize=4)
    process = SPAWN.Process(target=run, args=(job, queue, os.getpid()), name=f"batch-{job.batch_id[:8]}", daemon=True)
    with main_module_hidden():
        process.start()
    return process, queue

