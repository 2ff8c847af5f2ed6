"""Long graph work beside the API: a second event loop in its own thread, with its own driver.

For work that must act on this process (the audit checkpoint sets this process's metrics) but not hold up its
requests. Python stretches between awaits on the API's event loop hold up every request: a checkpoint of a busy
node's newest blocks held every check for 6.6 s. In a thread of its own the same work shares the interpreter in
slices of `sys.getswitchinterval()` (5 ms), so requests keep being answered. Cancelling the awaiting side cancels
the work; `close` cancels whatever still runs, then closes the driver. Work that needs nothing of this process and
holds much memory, as the agent networks do, runs in a process of its own instead (graph/sideprocess.py).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Awaitable, Callable, TypeVar

from core.memory import release_free_memory
from graph.database import Graph, Target

T = TypeVar("T")


class SideLoop:
    def __init__(self, target: Target, database: str, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()
        self.graph = asyncio.run_coroutine_threadsafe(self._connect(target, database), self._loop).result()

    @staticmethod
    async def _connect(target: Target, database: str) -> Graph:
        return Graph.connect(target, database)  # the driver belongs to the loop it is made on

    async def run(self, step: Callable[[Graph], Awaitable[T]]) -> T:
        """`step(graph)` on the side loop; its result or exception here. What the step freed goes back to the
        system once it ends (core/memory.py)."""
        async def run_then_trim() -> T:
            try:
                return await step(self.graph)
            finally:
                await asyncio.to_thread(release_free_memory)

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(run_then_trim(), self._loop))

    async def close(self, timeout: float = 30.0) -> None:
        """Cancel what still runs there, close its driver, stop its thread."""
        if self._loop.is_closed():
            return

        async def shutdown() -> None:
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.graph.close()

        try:
            await asyncio.wait_for(asyncio.wrap_future(asyncio.run_coroutine_threadsafe(shutdown(), self._loop)), timeout)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            await asyncio.to_thread(self._thread.join, timeout)
            if not self._thread.is_alive():
                self._loop.close()
