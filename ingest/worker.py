"""The batch worker process: reads a lead file, applies the row policy and hands chunks of lead rows to
the parent over a bounded queue (so memory stays flat and the API's event loop never parses files).

The worker dies with its parent, as the Neo4j launcher does: on Linux the kernel kills it when the parent
dies (PR_SET_PDEATHSIG), and everywhere a watchdog thread ends it once its parent pid changes. Ending is
`os._exit`: a normal exit would wait for the queue's feeder thread to flush into a pipe nobody reads.
The multiprocessing resource tracker then sees its last user gone and exits too.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import queue as queue_module
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Iterator

from ingest.columns import ColumnError, map_header
from ingest.defaults import BatchDefaults
from ingest.formats import FormatError, detect_format, open_table
from ingest.prepare import Preparer, ReportSpool
from ingest.pseudonym import AllianceKey

CHUNK_ROWS = 5000
FIRST_CHUNK_ROWS = 250  # chunks then double up to CHUNK_ROWS: progress shows at once
WATCHDOG_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1
_CONTEXT = multiprocessing.get_context("spawn")  # no fork of a process holding driver threads


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


def die_with_parent(parent: int) -> None:
    """End this process as soon as `parent` is gone (it may already be)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watchdog below still covers it

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCHDOG_SECONDS)
        os._exit(1)

    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def run(job: Job, queue: Any, parent: int | None = None) -> None:
    """Process target: put ('header', warnings), ('chunk', Chunk)…, then ('done', totals, report file) or ('error', message, line)."""
    parent = parent or os.getppid()
    die_with_parent(parent)
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
    queue = _CONTEXT.Queue(maxsize=4)
    process = _CONTEXT.Process(target=run, args=(job, queue, os.getpid()), name=f"batch-{job.batch_id[:8]}", daemon=True)
    with _main_module_hidden():
        process.start()
    return process, queue


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """A spawned child first re-runs the parent's __main__ script. Under `fenghuo serve` that script imports the
    whole API (api.cli: ~2 CPU s and ~120 MB more per batch worker, measured by bench/ingest.py); the worker needs
    only this module, which it imports to find `run`. With no file or spec on __main__ while the child is started,
    multiprocessing skips that step. Process.start takes the preparation data synchronously, on this thread."""
    main = sys.modules["__main__"]
    saved = {name: main.__dict__[name] for name in ("__file__", "__spec__") if name in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)
