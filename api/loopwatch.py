"""How late this process's event loop runs, and why: at GET /metrics, and in the log when it falls far behind.

Every request waits for the event loop to come back to it, so a loop that is late is late for every check at once.
A timer due every 100 ms measures it (`fenghuo_event_loop_lag_seconds`). On Linux the kernel also says what the
loop's thread did meanwhile (/proc/self/task/<tid>/schedstat), which tells the three causes apart:
- **running**: Python on the loop held it (a long synchronous step in a request or a task);
- **waiting for a CPU**: the thread could run, but the cores were taken (background work, Neo4j, another program).
  On 7 Dec 2026 this was all of the API's stalls during an upload on a 2-core machine: gaps of 0.1–0.35 s in which
  the thread ran for 1–16 ms and waited on the run queue for the rest (README, "Background work yields the CPU");
- **neither**: waiting for the interpreter lock another of its threads held, or blocked in a system call.

`fenghuo_event_loop_thread_seconds_total{state="running"|"waiting_for_cpu"}` counts the loop thread's time in the
first two since it started watching (absent where the kernel does not report it). A stall of `WARNING_SECONDS` or
more is logged with that split, at most once a minute, saying how many more there were since.

The warning also says where the loop's thread was. A thread of its own (`StackSampler`) wakes every interval and,
while the loop is late, looks at the loop thread's stack (`sys._current_frames`): Python holding the loop cannot stop
it, since the interpreter hands the lock to a waiting thread every few milliseconds. The warning names the place most
looks found and the frames around it, file, line and function only (no values, so nothing a request carried), unless
the thread mostly waited for a CPU: where it happened to lose the CPU says nothing of why it waited.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import sysconfig
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Iterable

from prometheus_client import REGISTRY, Histogram
from prometheus_client.core import CounterMetricFamily, Metric

log = logging.getLogger(__name__)

INTERVAL = 0.1
WARNING_SECONDS = 0.5
WARNING_EVERY = 60.0
LOOKS = 50  # at most this many looks at the stack are kept per stall (5 s of it, looking every 100 ms)
FRAMES = 6  # frames named in a warning, innermost first

LAG = Histogram("fenghuo_event_loop_lag_seconds",
                f"How late the event loop ran a timer due every {INTERVAL * 1000:.0f} ms",
                buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


class ThreadTimes:
    """The kernel's account of one thread: seconds running and seconds runnable but waiting for a CPU."""

    def __init__(self, native_id: int) -> None:
        self._fd = os.open(_schedstat(native_id), os.O_RDONLY)  # kept open: read 10 times a second
        try:
            self.read()
        except ValueError:
            self.close()
            raise

    @classmethod
    def of(cls, native_id: int) -> ThreadTimes | None:
        """None where the kernel keeps no such account (not Linux, or scheduler statistics built out)."""
        if not sys.platform.startswith("linux"):
            return None
        try:
            return cls(native_id)
        except (OSError, ValueError):
            return None

    def read(self) -> tuple[float, float]:
        return _seconds(os.pread(self._fd, 128, 0))

    def close(self) -> None:
        os.close(self._fd)


def _schedstat(native_id: int) -> str:
    return f"/proc/self/task/{native_id}/schedstat"


def _seconds(schedstat: bytes) -> tuple[float, float]:
    running, waiting = schedstat.split()[:2]
    return int(running) / 1e9, int(waiting) / 1e9


Where = tuple[tuple[str, int, str], ...]  # (file, line, function) per frame, innermost first


class StackSampler:
    """Looks at one thread's stack from a thread of its own whenever that thread's loop is an interval late or more.
    The loop sets `due` before each timer and `takes` the looks after it; the looks between belong to that stall."""

    def __init__(self, ident: int, interval: float) -> None:
        self.ident, self.interval = ident, interval
        self.due = time.perf_counter() + interval
        self._looks: list[Where] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"loopwatch-{ident}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            if time.perf_counter() - self.due >= self.interval:
                frame = sys._current_frames().get(self.ident)
                if frame is not None:
                    where = _where(frame)
                    del frame  # a running thread's frames: not kept beyond the look
                    with self._lock:
                        if len(self._looks) < LOOKS:
                            self._looks.append(where)

    def take(self) -> list[Where]:
        with self._lock:
            looks, self._looks = self._looks, []
        return looks

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)


def _where(frame: FrameType | None) -> Where:
    frames = []
    while frame is not None and len(frames) < 64:
        frames.append((frame.f_code.co_filename, frame.f_lineno or 0, frame.f_code.co_name))
        frame = frame.f_back
    return tuple(frames)


_ROOTS = sorted({str(Path(p)) + os.sep for p in (sysconfig.get_paths()["purelib"], sysconfig.get_paths()["stdlib"],
                                                  Path(__file__).resolve().parent.parent)}, key=len, reverse=True)


def _function(look: Where) -> tuple[str, str]:
    path, _, function = look[0]
    return path, function


def _file(path: str) -> str:
    """A frame's file as a reader finds it: within the project, the installed packages or the standard library."""
    for root in _ROOTS:
        if path.startswith(root):
            return path[len(root):]
    return os.path.basename(path)


def _places(looks: list[Where]) -> str:
    """The innermost place most looks found, and the frames around it: `file:line in function ← caller ← ...`."""
    counted = Counter(_function(look) for look in looks if look)  # by function: a loop's line moves between looks
    if not counted:
        return ""
    place, times = counted.most_common(1)[0]
    frames = next(look for look in looks if look and _function(look) == place)[:FRAMES]
    said = " ← ".join(f"{_file(path)}:{line} in {function}" for path, line, function in frames)
    return f"; where it was ({times} of {len(looks)} looks): {said}"


class _Totals:
    """What the watched loop's thread did since watching began, for /metrics. A process serves one loop; where it
    watches more (tests run an app's loop beside their own), the one that started watching last is reported."""

    def __init__(self) -> None:
        self.watching: list[tuple[int, tuple[float, float]]] = []  # (native thread id, its times when watching began)

    def collect(self) -> Iterable[Metric]:
        if not self.watching:
            return
        native_id, (running_at_start, waiting_at_start) = self.watching[-1]
        try:
            with open(_schedstat(native_id), "rb") as stat:  # its own handle: the watch closes the one it reads
                running, waiting = _seconds(stat.read())
        except OSError:  # the thread is gone
            return
        family = CounterMetricFamily("fenghuo_event_loop_thread_seconds",
                                     "The event loop's thread: seconds running, and runnable but waiting for a CPU",
                                     labels=["state"])
        family.add_metric(["running"], running - running_at_start)
        family.add_metric(["waiting_for_cpu"], waiting - waiting_at_start)
        yield family


_TOTALS = _Totals()
REGISTRY.register(_TOTALS)


async def watch(*, interval: float = INTERVAL, warning_seconds: float = WARNING_SECONDS,
                warning_every: float = WARNING_EVERY) -> None:
    """Measure the running loop until cancelled (a task of the app's lifespan)."""
    native_id = threading.get_native_id()
    times = ThreadTimes.of(native_id)
    before = times.read() if times else (0.0, 0.0)
    watched = (native_id, before)
    if times:
        _TOTALS.watching.append(watched)
    warned_at, unwarned = -warning_every, 0
    sampler: StackSampler | None = None
    try:
        sampler = StackSampler(threading.get_ident(), interval)
        while True:
            began = time.perf_counter()
            sampler.due = began + interval
            await asyncio.sleep(interval)
            ended = time.perf_counter()
            looks = sampler.take()
            lag = max(0.0, ended - began - interval)
            LAG.observe(lag)
            after = times.read() if times else before
            if lag >= warning_seconds:
                if ended - warned_at >= warning_every:
                    log.warning("%s", _stall(lag, ended - began, after[0] - before[0], after[1] - before[1],
                                             times is not None, looks, unwarned))
                    warned_at, unwarned = ended, 0
                else:
                    unwarned += 1
            before = after
    finally:
        if sampler is not None:
            sampler.stop()
        if times:
            _TOTALS.watching.remove(watched)
            times.close()


def _stall(lag: float, window: float, running: float, waiting: float, known: bool, looks: list[Where],
           unwarned: int) -> str:
    said = f"the event loop came back {lag * 1000:.0f} ms late"
    taken = False  # the CPUs taken: where the thread was when it lost its CPU says nothing of the cause
    if known:
        other = max(0.0, window - running - waiting)
        taken = waiting > max(running, other)
        cause = max((running, "Python on the loop held it"),
                    (waiting, "the CPUs were taken by other work (background jobs, Neo4j, other programs)"),
                    (other, "it waited for the interpreter lock another thread held, or in a system call"))[1]
        said += (f"; in those {window * 1000:.0f} ms its thread ran {running * 1000:.0f} ms and waited"
                 f" {waiting * 1000:.0f} ms for a CPU: mostly, {cause}")
    if not taken:
        said += _places(looks)
    if unwarned:
        said += f" (and {unwarned} more since the last warning)"
    return said
