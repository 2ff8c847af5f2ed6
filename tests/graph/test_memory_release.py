"""core/memory.py and graph/sideloop.py: memory a long step freed goes back to the system when the step ends."""

from __future__ import annotations

import threading

import psutil
import pytest

from core.memory import release_free_memory
from graph.database import Graph, Target
from graph.sideloop import SideLoop

PIECE = 64 * 1024  # below glibc's mmap threshold: taken from a heap, not mapped on its own
PIECES = 3200  # ~200 MB


def rss() -> int:
    return psutil.Process().memory_info().rss


def fill_and_free() -> list[bytes]:
    """Allocate ~200 MB in pieces from this thread's heap and free all but every 16th: what a long step leaves, the
    holes between live objects, which glibc's own trim on free (the top of a heap, a heap wholly free) cannot give
    back. Returns the pieces kept."""
    pieces = [b"\x01" * PIECE for _ in range(PIECES)]  # written: calloc's untouched zero pages would not count
    kept = pieces[::16]
    del pieces
    return kept


def test_the_free_pages_of_a_threads_heap_go_back_to_the_system() -> None:
    held: list[list[bytes]] = []
    thread = threading.Thread(target=lambda: held.append(fill_and_free()))
    before = rss()
    thread.start()
    thread.join()
    kept = rss() - before
    assert kept > 150 * 2**20, "glibc kept the freed pieces for reuse (the state this releases)"
    assert release_free_memory() is True
    assert rss() - before < 30 * 2**20
    assert len(held[0]) == PIECES // 16


async def test_a_side_loop_step_leaves_no_freed_memory_behind(neo4j_target: Target) -> None:
    side = SideLoop(neo4j_target, "neo4j", "test-side-memory")
    held: list[list[bytes]] = []
    try:
        await side.run(lambda graph: _noop(graph))  # the loop's own first allocations, outside the measure
        before = rss()

        async def step(graph: Graph) -> None:
            held.append(fill_and_free())

        await side.run(step)
        assert rss() - before < 30 * 2**20
    finally:
        await side.close()
    assert len(held) == 1


async def _noop(graph: Graph) -> None:
    await graph.read("RETURN 1 AS one")


@pytest.fixture(autouse=True)
def _start_clean() -> None:
    release_free_memory()
