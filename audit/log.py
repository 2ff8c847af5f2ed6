"""The audit log writer: callers record without waiting; records are sealed into blocks and appended
within a second (and on shutdown), so no check waits on the chain's lock."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timezone
from typing import Any, Iterable

from core.principal import Principal
from audit import chain
from graph import audit as audit_graph
from graph.database import Graph, GraphUnavailable

log = logging.getLogger(__name__)


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


# A flush seals and sends its records on the requests' event loop, a block per transaction. At 50 connections a
# half-second's checks are ~1,500 records: as one block they held every request for one stretch, and the checks' p99
# was 47-59 ms; as blocks of 500, written one after another with the loop free in between, 29-36 ms, at the same
# checks per second (POST /v1/checks in process, 100k-row bench graph, 6 Dec 2026). bench/check.py at 1M rows
# (run V): the REST p99 at 50 connections 34 ms against 49 ms in run U.
MAX_BLOCK = 500


class AuditLog:
    def __init__(self, graph: Graph, *, flush_interval: float = 0.5, max_block: int = MAX_BLOCK) -> None:
        self.graph = graph
        self.flush_interval = flush_interval
        self.max_block = max_block
        self._pending: list[dict[str, Any]] = []
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def record(
        self,
        principal: Principal | None,
        action: str,
        *,
        subject: Iterable[str] | str | None = None,
        outcome: str = "ok",
        request_id: str | None = None,
        detail: str | None = None,
        purpose: str | None = None,
    ) -> str:
        """Queue one record (who, what, on which keys, outcome). Subjects are keys or ids, never raw values."""
        record_id = uuid.uuid4().hex
        subjects = [subject] if isinstance(subject, str) else list(subject or [])
        self._pending.append({
            "id": record_id,
            "at": utc_now_iso(),
            "principal_id": principal.id if principal else "anonymous",
            "member_code": principal.member_code if principal else None,
            "action": action,
            "subject": subjects,
            "request_id": request_id,
            "outcome": outcome,
            "detail": detail,
            **({"purpose": purpose} if purpose else {}),
        })
        return record_id

    @property
    def settled(self) -> bool:
        """Nothing queued and no append in flight: every record so far is in the graph."""
        return not self._pending and not self._lock.locked()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-flusher")

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), self.flush_interval)
            except asyncio.TimeoutError:
                pass
            try:
                await self.flush()
            except GraphUnavailable:
                log.warning("audit flush deferred: Neo4j unavailable (%d records pending)", len(self._pending))
            except Exception:  # keep flushing whatever happens; the records stay queued
                log.exception("audit flush failed (%d records pending)", len(self._pending))

    async def flush(self) -> int:
        """Append what was queued when the flush began; returns the number of records written.

        Records queued while it runs wait for the next flush. Looping until the queue was empty made the flusher
        chase a steady stream of checks: one write transaction per two to four records, back to back, instead of
        one per `flush_interval` — at one client, a third of the API's CPU per check and half of Neo4j's."""
        written = 0
        async with self._lock:
            queued = len(self._pending)
            while written < queued:
                batch = self._pending[: min(self.max_block, queued - written)]
                created_at = utc_now_iso()
                await audit_graph.append(
                    self.graph, batch, lambda head, todo: chain.seal(chain.Head(**head), todo, created_at), chain.GENESIS
                )
                del self._pending[: len(batch)]
                written += len(batch)
        return written

    async def close(self, timeout: float = 10.0) -> None:
        """Stop the flusher and write what is queued; retried until `timeout` so a clean stop loses nothing.

        The flusher is asked to stop, not cancelled: a cancel in the middle of an append could leave a block
        committed whose records still look queued.
        """
        if self._task is not None:
            self._stopping.set()
            await asyncio.gather(self._task, return_exceptions=True)
        deadline = asyncio.get_running_loop().time() + timeout
        while self._pending:
            try:
                await self.flush()
            except GraphUnavailable:
                if asyncio.get_running_loop().time() > deadline:
                    log.error("audit: %d records could not be written before shutdown", len(self._pending))
                    return
                await asyncio.sleep(0.5)


async def verify(graph: Graph) -> tuple[chain.Break | None, int, int]:
    """Walk the whole chain; the first broken link (or None), and how many blocks and records were checked."""
    verifier = chain.Verifier()
    async for block, records in audit_graph.walk(graph):
        broken = verifier.feed(block, records)
        if broken:
            return broken, verifier.blocks, verifier.records
    return verifier.finish(await audit_graph.head(graph)), verifier.blocks, verifier.records
