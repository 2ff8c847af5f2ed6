"""Riding out a Neo4j restart in the middle of a batch.

Every graph step of a batch is idempotent (chunk writes and aggregation are cursor-guarded, the rest are
plain SETs or guarded status changes), so a step that meets `GraphUnavailable` can wait for Neo4j to answer
again and run once more. The wait is bounded: past it, the caller marks the batch failed with a reason
that says to upload again — a batch never stays silently `processing`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, TypeVar

from graph.database import Graph, GraphUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

OUTAGE_WAIT_SECONDS = 120.0  # `serve` restarts a killed Neo4j within seconds; a longer outage fails the batch
POLL_SECONDS = 1.0


class OutageTooLong(GraphUnavailable):
    """Neo4j did not answer again within the bounded wait."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"Neo4j did not answer for {seconds:.0f}s")
        self.seconds = seconds


async def ride_out(graph: Graph, step: Callable[[], Awaitable[T]], *, wait_seconds: float = OUTAGE_WAIT_SECONDS,
                   what: str = "a batch step") -> T:
    """Run `step`; while Neo4j is unavailable, wait for it (at most `wait_seconds` in all) and run it again."""
    loop = asyncio.get_running_loop()
    deadline: float | None = None
    while True:
        try:
            return await step()
        except GraphUnavailable as error:
            if deadline is None:
                deadline = loop.time() + wait_seconds
                log.warning("Neo4j unavailable during %s (%s); waiting up to %.0fs for it", what,
                            type(error.__cause__ or error).__name__, wait_seconds)
            await wait_for_graph(graph, deadline, wait_seconds)


async def wait_for_graph(graph: Graph, deadline: float, wait_seconds: float) -> None:
    """Return once Neo4j answers; raise OutageTooLong at `deadline` (event-loop time)."""
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        try:
            await graph.server_version(timeout=min(2.0, max(0.1, deadline - loop.time())))
            log.info("Neo4j answers again")
            return
        except GraphUnavailable:
            await asyncio.sleep(min(POLL_SECONDS, max(0.0, deadline - loop.time())))
    raise OutageTooLong(wait_seconds)
