"""graph/sideloop.py: long graph work on a loop of its own leaves the caller's event loop answering."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from graph.database import Graph, Target
from graph.sideloop import SideLoop


def _busy(seconds: float) -> int:
    """Pure Python work that never awaits (as turning a large result into dicts, or rejoining fragments)."""
    end, n = time.perf_counter() + seconds, 0
    while time.perf_counter() < end:
        n += sum(range(200))
    return n


async def test_a_step_runs_on_its_own_driver_and_thread(neo4j_target: Target) -> None:
    side = SideLoop(neo4j_target, "neo4j", "test-side")
    try:
        async def step(graph: Graph) -> tuple[int, str]:
            rows = await graph.read("RETURN 41 + 1 AS answer")
            return rows[0]["answer"], threading.current_thread().name

        assert await side.run(step) == (42, "test-side")

        async def failing(graph: Graph) -> None:
            await graph.read("RETURN 1 AS one")
            raise ValueError("the step's own error")

        with pytest.raises(ValueError, match="the step's own error"):
            await side.run(failing)
    finally:
        await side.close()
    assert not side._thread.is_alive()


async def test_the_callers_loop_keeps_answering_while_a_step_computes(neo4j_target: Target) -> None:
    side = SideLoop(neo4j_target, "neo4j", "test-side")
    gaps: list[float] = []

    async def ticker(stop: asyncio.Event) -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async def step(graph: Graph) -> int:
        await graph.read("RETURN 1 AS one")
        return _busy(2.0)

    try:
        stop = asyncio.Event()
        ticking = asyncio.create_task(ticker(stop))
        assert await side.run(step) > 0
        stop.set()
        await ticking
    finally:
        await side.close()
    # On the caller's loop the same step would leave one gap of 2 s; beside it, the loop ticks on.
    assert len(gaps) > 20 and max(gaps) < 1.0, (len(gaps), max(gaps))


async def test_cancelling_the_caller_cancels_the_step(neo4j_target: Target) -> None:
    side = SideLoop(neo4j_target, "neo4j", "test-side")
    finished, cancelled = threading.Event(), threading.Event()

    async def step(graph: Graph) -> None:
        try:
            await asyncio.sleep(30)
            finished.set()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    try:
        waiting = asyncio.create_task(side.run(step))
        await asyncio.sleep(0.2)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert await asyncio.to_thread(cancelled.wait, 5) and not finished.is_set()
    finally:
        await side.close()
