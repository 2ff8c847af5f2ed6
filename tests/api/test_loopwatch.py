"""The event loop's lateness and its cause (api/loopwatch.py): measured, told apart, exported at /metrics, logged."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
import sys
import threading
import time

import httpx
import pytest
from prometheus_client import REGISTRY

from api import loopwatch
from tests.support import ends_with_the_tests

LINUX = sys.platform.startswith("linux")


def _lag(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(f"fenghuo_event_loop_lag_seconds_{name}", labels) or 0.0


def _busy(seconds: float) -> None:
    """Python holding the loop: the CPU work of a long synchronous step."""
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass


async def _watched(step, **options) -> list[str]:
    """Run `step` on this loop while it is watched; the warnings logged."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger(loopwatch.__name__).addHandler(handler)
    watching = asyncio.create_task(loopwatch.watch(interval=0.02, warning_seconds=0.15, **options))
    try:
        await asyncio.sleep(0.1)
        await step()
        await asyncio.sleep(0.1)
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
        logging.getLogger(loopwatch.__name__).removeHandler(handler)
    here = threading.get_ident()  # not the test API's loop, in its own thread of this process
    return [r.getMessage() for r in records if r.levelno == logging.WARNING and r.thread == here]


async def test_a_loop_held_by_python_is_measured_and_logged_as_held_by_python() -> None:
    count, late, total = _lag("count"), _lag("count") - _lag("bucket", le="0.25"), _lag("sum")

    async def hold() -> None:
        _busy(0.4)

    warnings = await _watched(hold)

    assert not any(t.name == f"loopwatch-{threading.get_ident()}" for t in threading.enumerate())  # ended with it
    assert _lag("count") - count >= 5  # ticking every 20 ms around the stall
    assert (_lag("count") - _lag("bucket", le="0.25")) - late >= 1  # the tick the stall held up
    assert _lag("sum") - total >= 0.35
    late_by = [re.match(r"the event loop came back (\d+) ms late", w) for w in warnings]
    assert len(late_by) == 1 and late_by[0] and int(late_by[0][1]) >= 350
    if LINUX:
        assert int(re.search(r"its thread ran (\d+) ms", warnings[0])[1]) >= 100
        assert "mostly, Python on the loop held it; " in warnings[0]
    where = re.search(r"; where it was \((\d+) of (\d+) looks\): (.*)$", warnings[0])
    assert where and int(where[1]) >= 10  # looking every 20 ms through 0.4 s of `_busy`
    frames = where[3].split(" ← ")
    assert re.fullmatch(r"tests/api/test_loopwatch\.py:\d+ in _busy", frames[0])
    assert re.fullmatch(r"tests/api/test_loopwatch\.py:\d+ in hold", frames[1])


def test_the_stack_is_looked_at_only_while_the_loop_is_late_and_the_looking_thread_ends_with_the_watch() -> None:
    sampler = loopwatch.StackSampler(threading.get_ident(), 0.01)
    try:
        sampler.due = time.perf_counter() + 60  # on time
        _busy(0.1)
        on_time = sampler.take()
        sampler.due = time.perf_counter() - 1  # late
        _busy(0.1)
        late = sampler.take()
    finally:
        sampler.stop()

    assert on_time == []
    assert len(late) >= 3 and all(look[0][2] == "_busy" for look in late)
    assert late[0][1][2] == "test_the_stack_is_looked_at_only_while_the_loop_is_late_and_the_looking_thread_ends_with_the_watch"
    assert not any(t.name == f"loopwatch-{threading.get_ident()}" for t in threading.enumerate())


async def test_stalls_within_a_minute_of_a_warning_are_counted_into_the_next_one() -> None:
    async def hold_four_times() -> None:
        for _ in range(4):
            _busy(0.2)
            await asyncio.sleep(0.05)

    spaced = await _watched(hold_four_times, warning_every=0.6)
    every_time = await _watched(hold_four_times, warning_every=0.0)

    assert len(spaced) == 2 and "more since the last warning" not in spaced[0]
    assert int(re.search(r"\(and (\d+) more since the last warning\)$", spaced[1])[1]) >= 1
    assert len(every_time) == 4 and not any("more since" in w for w in every_time)


@pytest.mark.skipif(not LINUX, reason="the kernel's per-thread scheduler account is Linux's")
async def test_a_loop_thread_kept_from_the_cpu_is_counted_as_waiting_for_one() -> None:
    """Pinned to one CPU with two busy programs, the loop's thread gets a third of it: it waits for the rest."""
    times = loopwatch.ThreadTimes.of(threading.get_native_id())
    if times is None:
        pytest.skip("this kernel keeps no scheduler statistics per thread")
    times.close()
    own = os.sched_getaffinity(0)
    cpu = min(own)
    spin = f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass"
    rivals = [subprocess.Popen([sys.executable, "-c", spin], preexec_fn=ends_with_the_tests) for _ in range(2)]

    def waiting() -> float:
        sample = REGISTRY.get_sample_value("fenghuo_event_loop_thread_seconds_total", {"state": "waiting_for_cpu"})
        assert sample is not None  # exported while watching
        return sample

    waited: list[float] = []

    async def compete() -> None:
        await asyncio.sleep(0.3)  # the rivals started and spinning
        os.sched_setaffinity(0, {cpu})  # this thread (the loop's) only
        try:
            before = waiting()
            _busy(0.6)
            waited.append(waiting() - before)
        finally:
            os.sched_setaffinity(0, own)

    try:
        warnings = await _watched(compete)
    finally:
        for rival in rivals:
            rival.kill()
            rival.wait()

    assert waited[0] >= 0.3  # of the 0.6 s, about two thirds
    assert any(re.search(r"waited (\d+) ms for a CPU: mostly, the CPUs were taken", w) for w in warnings)
    # where it happened to lose the CPU is no cause: not named
    assert not any("where it was" in w for w in warnings if "mostly, the CPUs were taken" in w)


async def test_the_served_api_exports_its_loops_lateness_at_metrics(api: httpx.AsyncClient) -> None:
    def counted(text: str) -> float:
        return float(re.search(r"^fenghuo_event_loop_lag_seconds_count (\S+)$", text, re.M)[1])

    first = (await api.get("/metrics")).text
    await asyncio.sleep(0.5)
    second = (await api.get("/metrics")).text

    assert counted(second) - counted(first) >= 3  # the API's own loop ticks every 100 ms
    if LINUX:
        assert re.search(r'^fenghuo_event_loop_thread_seconds_total\{state="running"\} \d', second, re.M)
        assert re.search(r'^fenghuo_event_loop_thread_seconds_total\{state="waiting_for_cpu"\} \d', second, re.M)
