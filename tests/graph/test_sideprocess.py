"""graph/sideprocess.py: long graph work in a child process, with its own driver; its memory leaves with it, its
failures come back as themselves, and a cancelled or closed step leaves no process and no held work behind."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import psutil
import pytest

from graph.database import Graph, Target
from graph.sideprocess import SideProcess, SideProcessDied, SideStepFailed

MB = 1024 * 1024


# Steps are module-level: the child imports them by name.

async def answer(graph: Graph, plus: int, *, times: int = 1) -> tuple[int, int, str]:
    rows = await graph.read("RETURN 41 + $plus AS answer", {"plus": plus})
    return rows[0]["answer"] * times, os.getpid(), Path("/proc/self/comm").read_text().strip()


async def fail(graph: Graph) -> None:
    await graph.read("RETURN 1 AS one")
    raise ValueError("the step's own error")


class _Unpicklable(Exception):
    def __init__(self, code: int, detail: str) -> None:  # two required arguments: unpickling calls it with one
        super().__init__(f"{code}: {detail}")


async def fail_oddly(graph: Graph) -> None:
    raise _Unpicklable(7, "odd")


async def die(graph: Graph) -> None:
    os._exit(3)


async def hold(graph: Graph, mark: str) -> None:
    """Marks itself started, then waits; when stopped, its `finally` still writes (as a lease release does)."""
    await graph.write("CREATE (:SideProcessTest {mark: $mark, pid: $pid})", {"mark": mark, "pid": os.getpid()})
    try:
        await asyncio.sleep(60)
    finally:
        await graph.write("MATCH (n:SideProcessTest {mark: $mark}) SET n.stopped = true", {"mark": mark})


async def allocate(graph: Graph, megabytes: int) -> tuple[int, int]:
    held = [bytearray(MB) for _ in range(megabytes)]
    await graph.read("RETURN 1 AS one")
    return len(held), psutil.Process().memory_info().rss // MB


async def _started(graph: Graph, mark: str) -> dict:
    for _ in range(300):
        rows = await graph.read("MATCH (n:SideProcessTest {mark: $mark}) RETURN n.pid AS pid, n.stopped AS stopped",
                                {"mark": mark})
        if rows:
            return rows[0]
        await asyncio.sleep(0.05)
    raise AssertionError("the step never started")


async def test_a_step_runs_in_a_named_child_with_its_own_driver(neo4j_target: Target) -> None:
    side = SideProcess(neo4j_target, "neo4j", "test-side")
    try:
        value, pid, name = await side.run(answer, 1, times=2)
    finally:
        await side.close()
    assert (value, name) == (84, "test-side")
    assert pid != os.getpid() and not psutil.pid_exists(pid)


async def test_a_steps_exception_comes_back_as_itself_with_the_childs_stack(neo4j_target: Target) -> None:
    side = SideProcess(neo4j_target, "neo4j", "test-side")
    try:
        with pytest.raises(ValueError, match="the step's own error") as raised:
            await side.run(fail)
        with pytest.raises(SideStepFailed, match="_Unpicklable: 7: odd"):
            await side.run(fail_oddly)
        with pytest.raises(SideProcessDied, match="exit code 3"):
            await side.run(die)
    finally:
        await side.close()
    assert any("in the side process" in note and "in fail" in note for note in raised.value.__notes__)


async def test_a_cancelled_step_runs_its_finally_and_leaves_no_process(neo4j_target: Target, graph: Graph) -> None:
    side, mark = SideProcess(neo4j_target, "neo4j", "test-side"), uuid.uuid4().hex
    try:
        waiting = asyncio.create_task(side.run(hold, mark))
        pid = (await _started(graph, mark))["pid"]
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    finally:
        await side.close()
    assert (await _started(graph, mark))["stopped"] is True
    assert not psutil.pid_exists(pid)


async def test_closing_stops_running_steps_and_refuses_new_ones(neo4j_target: Target, graph: Graph) -> None:
    side, mark = SideProcess(neo4j_target, "neo4j", "test-side"), uuid.uuid4().hex
    waiting = asyncio.create_task(side.run(hold, mark))
    pid = (await _started(graph, mark))["pid"]
    await side.close()

    with pytest.raises(SideProcessDied, match="without an answer"):
        await waiting
    with pytest.raises(SideProcessDied, match="closed"):
        await side.run(answer, 1)
    assert (await _started(graph, mark))["stopped"] is True
    assert not psutil.pid_exists(pid)


async def test_what_a_step_holds_leaves_with_its_process(neo4j_target: Target) -> None:
    side = SideProcess(neo4j_target, "neo4j", "test-side")
    before = psutil.Process().memory_info().rss // MB
    try:
        held, child_rss = await side.run(allocate, 300)
    finally:
        await side.close()
    after = psutil.Process().memory_info().rss // MB
    assert held == 300 and child_rss >= 300
    assert after - before < 50, (before, after)
