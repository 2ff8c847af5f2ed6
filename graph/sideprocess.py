"""Long graph work in a process of its own: a batch's agent networks, the network upkeep and the nightly rebuild.

Why a process: the agent networks of a 1M-row batch hold a working set of hundreds of MB for ~6 minutes, most of
it Python between awaits. On a thread of the API process (graph/sideloop.py, where this work ran until
December 2026) that working set stayed in the API's heaps beside the private-check catch-up of the same batch:
the API process peaked at 804 MB through the networks, against 397 MB while the batch was ingested (bench/ingest.py
at 1M rows, run AG). The interpreter was shared too, so every Python stretch of the work took time slices from
requests. A child process gives everything back to the system when its step ends and takes nothing from requests
but CPU.

Each `run` spawns one child (core/children.py: lean, named, dies with the API), which opens its own driver, runs
`step(graph, *args, **kwargs)` on its own event loop, sends back the result or the exception, and exits.
Spawning costs ~0.6 s of CPU per step, small beside a step that takes seconds to minutes. Cancelling `run` asks
the child to stop (SIGTERM: its step is cancelled, so a held network lease is released in its `finally`) and kills
it after `STOP_GRACE_S`. A step must be a module-level function (the child imports it by name) and its
arguments and result must pickle.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import signal
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Awaitable, Callable, TypeVar

from core.children import SPAWN, become_child, main_module_hidden
from core.logs import configure_logging
from graph.database import Graph, Target

T = TypeVar("T")
STOP_GRACE_S = 10.0  # a stopped step's `finally` blocks (lease release, driver close) get this long


class SideProcessDied(RuntimeError):
    """The child ended without an answer (killed, out of memory, or its parent stopped it)."""


class SideStepFailed(RuntimeError):
    """A step's exception that could not travel back as itself; its type and message travel instead."""


@dataclass(frozen=True)
class _Work:
    target: Target
    database: str
    name: str
    log_level: str
    step: Callable[..., Awaitable[Any]]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


class SideProcess:
    def __init__(self, target: Target, database: str, name: str) -> None:
        self.target, self.database, self.name = target, database, name
        self._running: set[BaseProcess] = set()
        self._closed = False

    async def run(self, step: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """`step(graph, *args, **kwargs)` in a child process; its result or exception here."""
        if self._closed:
            raise SideProcessDied(f"{self.name}: closed; the step was not started")
        work = _Work(self.target, self.database, self.name, logging.getLevelName(logging.getLogger().getEffectiveLevel()),
                     step, args, kwargs)
        receiver, sender = SPAWN.Pipe(duplex=False)
        process = SPAWN.Process(target=_child, args=(work, sender, os.getpid()), name=self.name, daemon=True)
        try:
            with main_module_hidden():
                process.start()
        except BaseException:
            receiver.close()
            raise
        finally:
            sender.close()  # the child has its own copy
        self._running.add(process)
        try:
            kind, value = await _answer(receiver)
        except asyncio.CancelledError:
            await asyncio.shield(asyncio.to_thread(_end, process, STOP_GRACE_S, ask=True))
            raise
        finally:
            receiver.close()
            self._running.discard(process)
        await asyncio.to_thread(_end, process, STOP_GRACE_S, ask=False)  # it exits right after answering
        if kind == "ok":
            return value
        if kind == "error":
            raise value
        raise SideProcessDied(f"{self.name}: the step's process ended without an answer (exit code {process.exitcode})")

    async def close(self, grace: float = STOP_GRACE_S) -> None:
        """Stop every step still running (their callers see `SideProcessDied`); no new step starts."""
        self._closed = True
        await asyncio.gather(*(asyncio.to_thread(_end, process, grace, ask=True) for process in list(self._running)))


async def _answer(receiver: Connection) -> tuple[str, Any]:
    """Wait for the child's one message without holding a thread; ('died', None) when it closed the pipe silently."""
    loop = asyncio.get_running_loop()
    readable = loop.create_future()
    loop.add_reader(receiver.fileno(), lambda: readable.done() or readable.set_result(None))
    try:
        await readable
    finally:
        loop.remove_reader(receiver.fileno())
    try:
        return await asyncio.to_thread(receiver.recv)
    except EOFError:
        return "died", None


def _end(process: BaseProcess, grace: float, *, ask: bool) -> None:
    """Give the child `grace` seconds to exit (asked to stop by SIGTERM first when `ask`), then kill it."""
    if ask and process.is_alive():
        process.terminate()
    process.join(grace)
    if process.is_alive():
        process.kill()
        process.join()


def _child(work: _Work, sender: Connection, parent: int) -> None:
    """The child's whole life: one step, one answer."""
    become_child(parent, work.name)
    configure_logging(work.log_level)
    try:
        answer: tuple[str, Any] = ("ok", asyncio.run(_run(work)))
    except asyncio.CancelledError:
        answer = ("cancelled", None)
    except Exception as error:  # noqa: BLE001 - every failure goes back to the caller
        answer = ("error", _portable(error))
    try:
        sender.send(answer)
    except Exception as error:  # noqa: BLE001 - a result that does not pickle
        sender.send(("error", SideStepFailed(f"{work.name}: the step's result could not be sent back ({error})")))
    sender.close()


async def _run(work: _Work) -> Any:
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    graph = Graph.connect(work.target, work.database)
    try:
        return await work.step(graph, *work.args, **work.kwargs)
    finally:
        await graph.close()


def _portable(error: Exception) -> Exception:
    """The exception itself when it survives pickling, with the child's stack as a note (no locals: no row values);
    else its type and message."""
    error.add_note("in the side process:\n" + "".join(traceback.format_tb(error.__traceback__)))
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:  # noqa: BLE001 - custom constructors, unpicklable attributes
        return SideStepFailed(f"{type(error).__name__}: {error}")
