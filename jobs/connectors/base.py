"""What a connector hands the runner: payloads (a lead file, its source ids, the cursor after it).

A connector fetches and converts, and passes each payload to `RunContext.file`; the runner files it through the same batch pipeline as an
upload (ingest/pipeline.py `BatchRunner.submit_file`: row policy, per-row report, idempotency by content), then
records the payload's source ids and saves the cursor, in that order. A payload whose batch committed but
whose ids were not yet recorded (a crash in between) is rebuilt byte for byte on the next run, so the pipeline
returns the committed batch instead of filing it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable, Protocol

from jobs.model import Job


class SourceFailed(Exception):
    """The source could not be read; the message says what happened and what the operator can do."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.retry = retry


@dataclass
class Payload:
    """One lead file for the pipeline. `path` (a file on disk) or `data` (bytes held by the connector)."""

    filename: str
    format: str | None
    source_ids: list[str]
    data: bytes | None = None
    path: Path | None = None
    cursor: dict[str, Any] | None = None  # the job's cursor once this payload is filed
    items: int = 0  # source items in the payload (indicators, attributes, rows)

    def chunks(self, size: int = 1 << 20) -> Iterable[bytes]:
        if self.data is not None:
            for start in range(0, len(self.data), size):
                yield self.data[start:start + size]
            return
        assert self.path is not None
        with open(self.path, "rb") as source:
            while block := source.read(size):
                yield block


@dataclass
class Filed:
    """What the pipeline made of a payload."""

    batch: dict[str, Any]
    created: bool
    report: list[dict[str, Any]] = field(default_factory=list)


FileFn = Callable[[Payload], Awaitable[Filed]]
FiledIdsFn = Callable[[list[str]], Awaitable[set[str]]]


@dataclass
class RunContext:
    """What a connector may use during one run."""

    job: Job
    secrets: dict[str, str]
    filed_ids: FiledIdsFn  # which of these source ids this job filed before
    file: FileFn  # file one payload through the pipeline, record its source ids, then save its cursor
    save_cursor: Callable[[dict[str, Any]], Awaitable[None]]  # move the cursor when nothing new needed filing
    notes: list[str] = field(default_factory=list)  # counted-and-skipped items and other facts for the run record
    skipped: int = 0  # source items that are not identifiers (counted, not errors)


class Connector(Protocol):
    def validate(self, config: dict[str, Any], secrets: dict[str, str]) -> dict[str, Any]:
        """The config as stored; raises BadInput naming the field and what is accepted."""

    async def run(self, context: RunContext) -> None:
        """Fetch what is new and file it, payload by payload, with `context.file`."""
