"""Processes the API spawns (core/children.py) run below its CPU priority: a batch or a network computation waits,
a check does not."""

from __future__ import annotations

import os
import threading

from core.children import BACKGROUND_NICE, SPAWN, become_child, main_module_hidden


def _report_priorities(parent: int, answers) -> None:  # the child's target: spawned, so module-level
    become_child(parent, "test-child")
    started: list[int] = []
    thread = threading.Thread(target=lambda: started.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
    thread.start()
    thread.join()
    answers.put((os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), started[0]))


def test_a_spawned_child_and_the_threads_it_starts_run_below_the_parents_priority() -> None:
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert own < 19  # else nothing could be lower and this test would say nothing
    answers = SPAWN.Queue()
    with main_module_hidden():
        child = SPAWN.Process(target=_report_priorities, args=(os.getpid(), answers), daemon=True)
        child.start()
    try:
        first, started = answers.get(timeout=60)
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()
    assert (first, started) == (min(19, own + BACKGROUND_NICE),) * 2
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own  # the parent's own is unchanged
