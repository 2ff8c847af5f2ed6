"""Lead-batch flows: a file or a list of leads → validated → written invisibly → committed → aggregated.

- Idempotent: the same content (SHA-256 of the bytes) or the same idempotency key from the same member
  returns the existing batch and writes nothing new; an unfinished one is resumed from its cursor.
- All-or-nothing: leads are written while the batch is `processing` and become visible with one write
  (`committed`); a batch that fails part-way stays invisible, its leads are removed, and it can be retried.
- Streaming: a worker process parses and validates the file and passes bounded chunks to the writer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import queue as queue_module
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable, TypeVar

from core.children import BACKGROUND_NICE
from core.principal import Principal
from audit.log import AuditLog
from core.errors import BadInput
from graph import batches as batches_repo
from graph import leads as repo
from graph import matchability
from graph.database import Graph, GraphUnavailable
from ingest import worker
from ingest.columns import ColumnError, map_header
from ingest.defaults import BatchDefaults, content_hash
from ingest.formats import SourceRow
from ingest.outage import OUTAGE_WAIT_SECONDS, OutageTooLong, ride_out
from ingest.prepare import Chunk, Preparer, gzip_report
from ingest.pseudonym import AllianceKey

log = logging.getLogger(__name__)

AGGREGATE_SPAN = 5000  # source lines folded into aggregates per transaction
MAX_SUBMITTED_LEADS = 10_000


@dataclass(frozen=True)
class UploadRequest:
    filename: str | None = None
    format: str | None = None
    column_mapping: dict[str, str] | None = None
    idempotency_key: str | None = None
    attributed: bool = False  # name the filing member to other members


@dataclass
class BatchOutcome:
    batch: dict[str, Any]
    created: bool  # False: an existing batch was returned (same content or idempotency key)
    results: list[dict[str, Any]] = field(default_factory=list)  # per-lead results of submitLeads


AfterAggregation = Callable[[Graph, str], Any]
T = TypeVar("T")


class BatchRunner:
    """Runs lead batches for one process; `after_aggregation` hooks (e.g. agent networks) run per batch."""

    def __init__(self, graph: Graph, audit: AuditLog, alliance_key: AllianceKey, spool_dir: Path,
                 extra_aliases: dict[str, str] | None = None, outage_wait: float = OUTAGE_WAIT_SECONDS,
                 worker_nice: int = BACKGROUND_NICE) -> None:
        self.graph = graph
        self.worker_nice = worker_nice  # the batch worker's CPU priority below the API's (core/children.become_child)
        self.outage_wait = outage_wait  # how long a running batch waits for a restarted Neo4j
        self.audit = audit
        self.alliance_key = alliance_key
        self.spool_dir = spool_dir
        self.extra_aliases = extra_aliases or {}
        self.after_aggregation: list[AfterAggregation] = []
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._ready: dict[str, asyncio.Event] = {}  # set once a running batch is checkable (its hooks may still run)

    # -- files -------------------------------------------------------------------------------------------

    async def submit_file(self, principal: Principal, chunks: AsyncIterator[bytes] | Iterable[bytes],
                          request: UploadRequest, *, wait: bool = False, request_id: str | None = None,
                          defaults: BatchDefaults | None = None) -> BatchOutcome:
        """Spool an upload, then start (or find, or resume) its batch. `defaults` fill fields rows leave empty."""
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        spooled = self.spool_dir / f"upload-{uuid.uuid4().hex}"
        try:
            file_digest, size = await _spool(chunks, spooled)
        except BaseException:  # the body was cut off (too large, client gone): keep no partial spool
            spooled.unlink(missing_ok=True)
            raise
        digest = content_hash(file_digest, defaults)
        if size == 0:
            spooled.unlink(missing_ok=True)
            raise BadInput("the uploaded file is empty; accepted: CSV, XLSX, JSON, NDJSON, STIX 2.1 with a header row")
        existing = await batches_repo.find_batch(self.graph, principal.member_code, digest, request.idempotency_key)
        if existing and existing["status"] == "committed":
            spooled.unlink(missing_ok=True)
            self.audit.record(principal, "batch.upload", subject=existing["id"], outcome="existing", request_id=request_id)
            if existing["aggregated_seq"] <= existing["last_line"]:
                await self.aggregate(existing["id"])
            return BatchOutcome(existing, created=False)
        if existing and existing["id"] in self._tasks:
            spooled.unlink(missing_ok=True)
            return BatchOutcome(existing, created=False)
        if existing is None or existing["status"] == "failed":
            batch = await batches_repo.create_batch(
                self.graph, id=uuid.uuid4().hex, member_code=principal.member_code, principal_id=principal.id,
                content_hash=digest, idempotency_key=request.idempotency_key, filename=request.filename,
                format=request.format, bytes_total=size, defaults=defaults.as_properties() if defaults else None,
            )
        else:
            batch = existing  # processing: an earlier attempt died part-way; resume it
        task = asyncio.create_task(self._process_file(principal, batch, spooled, request, request_id, defaults))
        self._tasks[batch["id"]] = task
        self._ready[batch["id"]] = asyncio.Event()
        task.add_done_callback(lambda _: (self._tasks.pop(batch["id"], None), self._ready.pop(batch["id"], None)))
        if wait:
            await task
        return BatchOutcome(await batches_repo.get_batch(self.graph, batch["id"]), created=existing is None)

    async def _process_file(self, principal: Principal, batch: dict[str, Any], path: Path,
                            request: UploadRequest, request_id: str | None, defaults: BatchDefaults | None) -> None:
        try:
            benign = await self._ride_out(lambda: repo.benign_keys(self.graph), "reading benign numbers")
        except Exception as error:
            await self._stopped(principal, batch["id"], error, request_id)
            path.unlink(missing_ok=True)
            return
        job = worker.Job(
            batch_id=batch["id"], path=str(path), filename=request.filename, format=request.format,
            column_mapping=request.column_mapping, key_version=self.alliance_key.version,
            key_secret=self.alliance_key.secret, benign_keys=frozenset(benign),
            now=datetime.now(timezone.utc), extra_aliases=self.extra_aliases, defaults=defaults, nice=self.worker_nice,
        )
        process, messages = worker.start(job)
        try:
            await self._consume(principal, batch, process, messages, request, request_id)
        except Exception as error:
            await self._stopped(principal, batch["id"], error, request_id)
        finally:
            process.join(5)
            if process.is_alive():
                process.kill()
            path.unlink(missing_ok=True)
            Path(f"{path}.report.jsonl").unlink(missing_ok=True)  # left by a worker that failed part-way

    async def _consume(self, principal: Principal, batch: dict[str, Any], process: Any, messages: Any,
                       request: UploadRequest, request_id: str | None) -> None:
        cursor = batch["written_seq"]
        # The next message is taken off the queue (and unpickled, ~90 ms a chunk) while a chunk is written.
        upcoming = asyncio.create_task(_next_message(process, messages))
        try:
            while True:
                message = await upcoming
                kind = message[0]
                if kind not in ("header", "chunk"):
                    break
                upcoming = asyncio.create_task(_next_message(process, messages))
                if kind == "header":
                    await self._ride_out(lambda: batches_repo.file_info(self.graph, batch["id"], message[1], message[2]),
                                         "recording the file format")
                else:
                    cursor = await self._write_riding_out(batch["id"], message[1], cursor, request.attributed)
        finally:
            if not upcoming.done():
                upcoming.cancel()
                await asyncio.gather(upcoming, return_exceptions=True)
        if kind == "done":
            await self._finish(principal, batch["id"], message[1], await asyncio.to_thread(_gzip_spooled, message[2]),
                               request_id)
        else:
            await self._fail(principal, batch["id"], message[1], message[2], request_id)

    async def _ride_out(self, step: Callable[[], Awaitable[T]], what: str) -> T:
        return await ride_out(self.graph, step, wait_seconds=self.outage_wait, what=what)

    async def _write_riding_out(self, batch_id: str, chunk: Chunk, cursor: int, attributed: bool) -> int:
        """Write a chunk; after a Neo4j outage, again from the cursor Neo4j holds (the chunk may have committed)."""
        attempts = 0

        async def step() -> int:
            nonlocal attempts
            attempts += 1
            start = cursor if attempts == 1 else (await batches_repo.get_batch(self.graph, batch_id))["written_seq"]
            return await self._write(batch_id, chunk, start, attributed)

        return await self._ride_out(step, f"writing lines up to {chunk.last_line}")

    async def _stopped(self, principal: Principal, batch_id: str, error: Exception, request_id: str | None) -> None:
        """A batch that cannot go on is failed with a reason saying what to do, never left `processing`."""
        if isinstance(error, OutageTooLong):
            reason = (f"Neo4j was unavailable for more than {error.seconds:.0f}s while this batch was written; "
                      "none of it is visible: upload the same file again")
        else:
            reason = f"the batch stopped part-way ({type(error).__name__}); none of it is visible: upload the same file again"
            log.error("batch %s stopped part-way", batch_id, exc_info=error)
        try:
            batch = await self._ride_out(lambda: batches_repo.get_batch(self.graph, batch_id), "reading the batch")
            if batch is not None and batch["status"] == "committed":
                return  # stopped while aggregating: its leads stay; resume_pending finishes it at the next start
            await self._fail(principal, batch_id, reason, None, request_id)
        except GraphUnavailable:
            log.error("batch %s could not be marked failed (Neo4j still unavailable); uploading the file again resumes it",
                      batch_id)

    async def _write(self, batch_id: str, chunk: Chunk, cursor: int, attributed: bool) -> int:
        if chunk.last_line < cursor:
            return cursor  # written by an earlier attempt
        leads = [lead for lead in chunk.leads if lead["line"] >= cursor]
        next_seq = chunk.last_line + 1
        if leads:
            await repo.write_chunk(self.graph, batch_id, leads, expected=cursor, next_seq=next_seq,
                                   rows_done=chunk.rows_seen, attributed=attributed, key_version=self.alliance_key.version)
        else:
            await repo.advance_cursor_only(self.graph, batch_id, expected=cursor, next_seq=next_seq, rows_done=chunk.rows_seen)
        if chunk.bytes_read:
            await batches_repo.progress(self.graph, batch_id, chunk.rows_seen, chunk.bytes_read)
        return next_seq

    async def _finish(self, principal: Principal, batch_id: str, totals: dict[str, int], report_gz: bytes,
                      request_id: str | None) -> None:
        await self._ride_out(lambda: batches_repo.finish_writing(self.graph, batch_id, totals, report_gz), "saving totals")
        await self._ride_out(lambda: batches_repo.commit(self.graph, batch_id), "committing")
        self.audit.record(principal, "batch.upload", subject=batch_id, request_id=request_id,
                          detail=json.dumps({k: totals[k] for k in ("accepted", "rejected", "skipped", "duplicate")}))
        await self._ride_out(lambda: self.aggregate(batch_id), "aggregating")

    async def _fail(self, principal: Principal, batch_id: str, message: str, line: int | None, request_id: str | None) -> None:
        error = f"line {line}: {message}" if line else message
        await self._ride_out(lambda: batches_repo.fail(self.graph, batch_id, error), "marking the batch failed")
        self.audit.record(principal, "batch.upload", subject=batch_id, outcome="failed", request_id=request_id, detail=error)
        await self._ride_out(lambda: repo.delete_leads_of(self.graph, batch_id), "removing a failed batch's leads")

    # -- aggregation -------------------------------------------------------------------------------------

    async def aggregate(self, batch_id: str) -> None:
        """Fold a committed batch into the aggregates checks read (resumes from its cursor)."""
        batch = await batches_repo.get_batch(self.graph, batch_id)
        if batch is None or batch["status"] != "committed":
            return
        start, end = batch["aggregated_seq"], batch["last_line"] + 1
        while start < end:
            step_end = min(start + AGGREGATE_SPAN, end)
            await repo.aggregate_chunk(self.graph, batch_id, start=start, end=step_end)
            start = step_end
        await matchability.batch_aggregated(self.graph, batch_id)  # private-check setups re-read its indicators
        if batch_id in self._ready:
            self._ready[batch_id].set()
        for hook in self.after_aggregation:
            await hook(self.graph, batch_id)

    async def resume_pending(self) -> int:
        """At start: finish aggregating batches committed before a crash."""
        pending = await batches_repo.pending_aggregation(self.graph)
        for row in pending:
            await self.aggregate(row["id"])
        return len(pending)

    async def wait_idle(self) -> None:
        await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def checkable(self, batch_id: str) -> dict[str, Any] | None:
        """The batch once it is checkable (committed and aggregated: `checks_ready`) or failed. As after an upload,
        the after-aggregation hooks (agent networks, private-check catch-up) may still be running."""
        task, ready = self._tasks.get(batch_id), self._ready.get(batch_id)
        if task is not None and ready is not None:
            waiting = asyncio.ensure_future(ready.wait())
            try:  # the task records its own failure on the batch; waiting here never cancels it
                await asyncio.wait([task, waiting], return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiting.cancel()
        return await batches_repo.get_batch(self.graph, batch_id)

    async def close(self) -> None:
        """Stop running batches; they stay invisible and resume when uploaded again."""
        for task in list(self._tasks.values()):
            task.cancel()
        await self.wait_idle()

    # -- leads submitted by risk engines -----------------------------------------------------------------

    async def submit_leads(self, principal: Principal, leads: list[dict[str, Any]], *, idempotency_key: str | None,
                           attributed: bool = False, request_id: str | None = None,
                           defaults: BatchDefaults | None = None) -> BatchOutcome:
        """A small list of leads, validated inline and committed in the same call. `defaults` as for files."""
        if not leads:
            raise BadInput("leads is empty; send at least one lead")
        if len(leads) > MAX_SUBMITTED_LEADS:
            raise BadInput(f"submitLeads accepts at most {MAX_SUBMITTED_LEADS} leads per call (got {len(leads)}); upload a batch file instead")
        canonical = json.dumps(leads, sort_keys=True, ensure_ascii=False, default=str).encode()
        digest = content_hash(hashlib.sha256(canonical).hexdigest(), defaults)
        existing = await batches_repo.find_batch(self.graph, principal.member_code, None if idempotency_key else digest, idempotency_key)
        if existing and existing["status"] == "committed":
            self.audit.record(principal, "leads.submit", subject=existing["id"], outcome="existing", request_id=request_id)
            return BatchOutcome(existing, created=False, results=await batches_repo.report(self.graph, existing["id"]))
        batch = existing if existing and existing["status"] == "processing" else await batches_repo.create_batch(
            self.graph, id=uuid.uuid4().hex, member_code=principal.member_code, principal_id=principal.id,
            content_hash=digest, idempotency_key=idempotency_key, filename=None, format="api", bytes_total=len(canonical),
            defaults=defaults.as_properties() if defaults else None,
        )
        rows = [SourceRow(line=n + 1, values=values) for n, values in enumerate(leads)]
        headers = sorted({key for values in leads for key in values})
        columns = map_header(headers, default_category=bool(defaults and defaults.category))
        if isinstance(columns, ColumnError):
            raise BadInput(columns.message)
        preparer = Preparer(batch["id"], self.alliance_key, frozenset(await repo.benign_keys(self.graph)), report_all=True,
                            defaults=defaults)
        chunks = await asyncio.to_thread(lambda: list(preparer.chunks(
            rows, columns, datetime.now(timezone.utc), size=worker.CHUNK_ROWS, extra_aliases=self.extra_aliases)))
        cursor = batch["written_seq"]
        for chunk in chunks:
            cursor = await self._write(batch["id"], chunk, cursor, attributed)
        report_gz = gzip_report(json.dumps(entry, ensure_ascii=False) for entry in preparer.report)
        await self._finish(principal, batch["id"], preparer.totals.as_dict(), report_gz, request_id)
        return BatchOutcome(await batches_repo.get_batch(self.graph, batch["id"]), created=True, results=preparer.report)


def checks_ready(batch: dict[str, Any]) -> bool:
    """Committed and folded into the aggregates: checks now reflect the batch (a few seconds after commit)."""
    return batch.get("status") == "committed" and (batch.get("aggregated_seq") or 0) > (batch.get("last_line") or 0)


def _gzip_spooled(path: str) -> bytes:
    spooled = Path(path)
    try:
        with open(spooled, encoding="utf-8") as lines:
            return gzip_report(lines)
    finally:
        spooled.unlink(missing_ok=True)


async def _spool(chunks: AsyncIterator[bytes] | Iterable[bytes], path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "wb") as out:
        if hasattr(chunks, "__aiter__"):
            async for data in chunks:  # type: ignore[union-attr]
                digest.update(data)
                size += len(data)
                out.write(data)
        else:
            for data in chunks:  # type: ignore[union-attr]
                digest.update(data)
                size += len(data)
                out.write(data)
    return digest.hexdigest(), size


async def _next_message(process: Any, messages: Any) -> tuple[Any, ...]:
    while True:
        try:
            return await asyncio.to_thread(messages.get, True, 1.0)
        except queue_module.Empty:
            if not process.is_alive():
                return ("error", f"the batch worker stopped unexpectedly (exit code {process.exitcode})", None)


def copy_file_chunks(path: Path, size: int = 1 << 20) -> Iterable[bytes]:
    with open(path, "rb") as f:
        while data := f.read(size):
            yield data

