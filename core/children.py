"""Processes the API spawns (the batch worker, the agent-network process): started lean, named, and never left behind.

A child dies with its parent, as the Neo4j launcher does: on Linux the kernel kills it when the parent dies
(PR_SET_PDEATHSIG), and everywhere a watchdog thread ends it once its parent pid changes. Children are spawned,
never forked: the parent holds driver threads, and a fork copies their locks in whatever state they were.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from typing import Iterator

SPAWN = multiprocessing.get_context("spawn")
WATCHDOG_SECONDS = 0.5
# How much lower a child's CPU priority is than the API's (nice, added to the parent's). See `become_child`.
BACKGROUND_NICE = 10
_PR_SET_NAME = 15
_PR_SET_PDEATHSIG = 1


def _prctl(option: int, value: int | bytes) -> None:
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # not available: the watchdog still covers dying; the name is only for `ps` and `top`


def die_with_parent(parent: int) -> None:
    """End this process as soon as `parent` is gone (it may already be)."""
    _prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCHDOG_SECONDS)
        os._exit(1)

    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def become_child(parent: int, name: str, *, nice: int = BACKGROUND_NICE) -> None:
    """What a spawned child does first: die with `parent`; leave Ctrl-C to it (a terminal sends SIGINT to the whole
    process group, and the parent stops its children in order); take `name`, which `ps -o comm`, `top` and psutil's
    `name()` show (Linux keeps 15 bytes). A spawned child otherwise shows as one more `python`, and
    bench/ingest_probe.py tells the batch worker from the network process by it.

    And lower its CPU priority by `nice` levels below the API's (`background`): a batch or a network computation
    can wait, and a check cannot. The batch worker takes its level from the settings (`batch_worker_nice`): where no
    kernel autogroup keeps Neo4j's threads apart (one service manager's cgroup holding both), a lowered worker gives
    way to Neo4j as well, and ingest is slower for it (bench/RUNS.md, 7 Dec 2026 evening)."""
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _prctl(_PR_SET_NAME, name.encode()[:15])
    background(nice)


def background(step: int = BACKGROUND_NICE) -> None:
    """Lower the calling thread's CPU priority by `step`, as far as 19 (Linux keeps a nice value per thread; the
    threads it starts inherit it). Never raised again: raising a priority takes a privilege. Elsewhere a priority
    is the whole process's, and lowering it from a thread of the API would lower the API's: nothing is done."""
    if not sys.platform.startswith("linux"):
        return
    thread = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + step))
    except OSError:
        pass  # not allowed here (a sandbox's seccomp): the thread runs at the API's priority


@contextlib.contextmanager
def main_module_hidden() -> Iterator[None]:
    """A spawned child first re-runs the parent's __main__ script. Under `fenghuo serve` that script imports the
    whole API (api.cli: ~2 CPU s and ~120 MB more per batch worker, measured by bench/ingest.py); a child needs
    only the module of its target, which it imports to find it. With no file or spec on __main__ while the child
    is started, multiprocessing skips that step. Process.start takes the preparation data synchronously, on this
    thread."""
    main = sys.modules["__main__"]
    saved = {name: main.__dict__[name] for name in ("__file__", "__spec__") if name in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)
