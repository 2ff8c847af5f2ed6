"""How much memory the embedded Neo4j takes when FENGHUO_NEO4J_HEAP / FENGHUO_NEO4J_PAGE_CACHE are `auto`.

The rule is Neo4j's own (`neo4j-admin server memory-recommendation`, 5.26): from the memory it may use, keep
an OS reserve, give the JVM a heap, and the rest to the page cache, the reserve and the heap read from a table
of memory sizes with linear interpolation between its rows. Before applying it we

- take the smaller of the machine's memory and the cgroup limit of this process (a container's memory.max),
- keep room for fenghuo's own Python processes (the API, the batch worker, the scheduler): 1 GiB, or a
  quarter of the memory on a small machine,
- keep the heap between 512 MiB (below it GDS and large batches fail) and 8 GiB (a larger heap buys this
  single-node platform longer GC pauses, not speed; the excess goes to the page cache, as Neo4j does above
  its own 31 GiB cap), and the page cache at least 128 MiB.

An explicit size in either setting wins and the other is still derived from the rule around it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psutil

MIB = 1 << 20
GIB = 1 << 30

# (memory GiB, OS reserve GiB, heap GiB): the data points of Neo4j 5.26's memory recommendation
# (org.neo4j.commandline.dbms.MemoryRecommendation); checked against the tool's output in tests/graph/test_sizing.py.
BRACKETS: tuple[tuple[float, float, float], ...] = (
    (0.01, 0.007, 0.002),
    (1.0, 0.65, 0.3),
    (2.0, 1.0, 0.5),
    (4.0, 1.5, 2.0),
    (6.0, 2.0, 3.0),
    (8.0, 2.5, 3.5),
    (10.0, 3.0, 4.0),
    (12.0, 3.5, 4.5),
    (16.0, 4.0, 5.0),
    (24.0, 6.0, 8.0),
    (32.0, 8.0, 12.0),
    (64.0, 12.0, 24.0),
    (128.0, 16.0, 31.0),
    (256.0, 20.0, 31.0),
    (512.0, 24.0, 31.0),
    (1024.0, 30.0, 31.0),
)

PYTHON_RESERVE = 1 * GIB
HEAP_MIN = 512 * MIB
HEAP_MAX = 8 * GIB
PAGE_CACHE_MIN = 128 * MIB
NO_CGROUP_LIMIT = 1 << 60  # cgroup v1 writes a huge number for "unlimited"

_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]?)b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": MIB, "g": GIB}


def parse_size(text: str) -> int:
    """'512m', '4g', '1048576' → bytes; anything else is a ValueError saying what is accepted."""
    match = _SIZE.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a memory size: use 'auto' or a number with k, m or g, such as 512m or 4g")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def human(size: int) -> str:
    return f"{size / GIB:.1f} GiB" if size >= GIB else f"{size // MIB} MiB"


@dataclass(frozen=True)
class Memory:
    """What this process may use: the machine's memory and the cgroup limit around it (None: no limit)."""

    physical: int
    cgroup_limit: int | None

    @property
    def available(self) -> int:
        return min(self.physical, self.cgroup_limit) if self.cgroup_limit else self.physical


def cgroup_limit(root: Path = Path("/sys/fs/cgroup"), self_cgroup: Path = Path("/proc/self/cgroup")) -> int | None:
    """The memory limit of this process's cgroup (v2 memory.max, else v1 memory.limit_in_bytes); None if unlimited."""
    candidates = []
    try:
        for line in self_cgroup.read_text().splitlines():
            if line.startswith("0::"):  # cgroup v2: "0::/path/of/the/group"
                candidates.append(root / line[3:].strip("/") / "memory.max")
    except OSError:
        pass
    candidates += [root / "memory.max", root / "memory" / "memory.limit_in_bytes"]
    for path in candidates:
        try:
            value = path.read_text().strip()
        except OSError:
            continue
        if value == "max":
            return None
        if value.isdigit():
            return int(value) if int(value) < NO_CGROUP_LIMIT else None
    return None


def machine_memory() -> Memory:
    return Memory(psutil.virtual_memory().total, cgroup_limit())


def neo4j_recommendation(memory: int) -> tuple[int, int, int]:
    """Neo4j's (OS reserve, heap, page cache) in bytes for `memory` bytes, interpolating between its brackets."""
    gib = memory / GIB
    lower = BRACKETS[0]
    upper = BRACKETS[-1]
    for row in BRACKETS:
        if row[0] <= gib:
            lower = row
        if row[0] >= gib:
            upper = row
            break
    span = upper[0] - lower[0]
    share = (gib - lower[0]) / span if span > 0 else 0.0
    os_reserve = int((lower[1] + (upper[1] - lower[1]) * share) * GIB)
    heap = int((lower[2] + (upper[2] - lower[2]) * share) * GIB)
    return os_reserve, heap, max(memory - os_reserve - heap, 0)


@dataclass(frozen=True)
class Sizing:
    """The heap and page cache chosen, and why (printed by `fenghuo neo4j status`, logged at start)."""

    heap: int
    page_cache: int
    memory: Memory
    python_reserve: int
    os_reserve: int
    heap_rule: str  # "set" or how the rule got it
    page_cache_rule: str

    @property
    def heap_arg(self) -> str:
        return f"{max(self.heap // MIB, 1)}m"

    @property
    def page_cache_arg(self) -> str:
        return f"{max(self.page_cache // MIB, 1)}m"

    def describe(self) -> str:
        limit = human(self.memory.cgroup_limit) if self.memory.cgroup_limit else "none"
        return (f"heap {human(self.heap)} ({self.heap_rule}), page cache {human(self.page_cache)} ({self.page_cache_rule}); "
                f"machine memory {human(self.memory.physical)}, cgroup limit {limit}, "
                f"kept for fenghuo's Python processes {human(self.python_reserve)}, OS reserve {human(self.os_reserve)}")


def choose(heap: str = "auto", page_cache: str = "auto", memory: Memory | None = None) -> Sizing:
    """The embedded Neo4j's memory from the settings ('auto' or a size) and the memory this process may use."""
    memory = memory or machine_memory()
    python_reserve = min(PYTHON_RESERVE, memory.available // 4)
    budget = memory.available - python_reserve
    os_reserve, recommended_heap, _ = neo4j_recommendation(budget)
    if heap.strip().lower() == "auto":
        chosen_heap = min(max(recommended_heap, HEAP_MIN), HEAP_MAX)
        heap_rule = "auto: Neo4j's recommendation" + _clamped(recommended_heap, chosen_heap)
    else:
        chosen_heap, heap_rule = parse_size(heap), "set by FENGHUO_NEO4J_HEAP"
    if page_cache.strip().lower() == "auto":
        rest = budget - os_reserve - chosen_heap
        chosen_cache = max(rest, PAGE_CACHE_MIN)
        page_cache_rule = "auto: the rest after the OS reserve and the heap" + (
            f", raised to the {human(PAGE_CACHE_MIN)} minimum" if chosen_cache != rest else "")
    else:
        chosen_cache, page_cache_rule = parse_size(page_cache), "set by FENGHUO_NEO4J_PAGE_CACHE"
    # Whole MiB, as the JVM and the launcher are given them (so a running JVM's sizes compare equal).
    return Sizing(chosen_heap // MIB * MIB, chosen_cache // MIB * MIB, memory, python_reserve, os_reserve,
                  heap_rule, page_cache_rule)


def _clamped(recommended: int, chosen: int) -> str:
    if chosen > recommended:
        return f" ({human(recommended)}) raised to the {human(HEAP_MIN)} minimum"
    if chosen < recommended:
        return f" ({human(recommended)}) capped at {human(HEAP_MAX)}"
    return ""
