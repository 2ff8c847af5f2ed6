"""What `fenghuo neo4j status` prints: the embedded Neo4j's memory (chosen and why), store, process and server."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import psutil
from neo4j.exceptions import DriverError, Neo4jError

from core.settings import Settings
from graph.communities import gds_version
from graph.database import Graph, GraphUnavailable, Target
from graph.embedded import RunningNeo4j, read_state
from graph.sizing import Sizing, choose, human, parse_size


@dataclass(frozen=True)
class Neo4jStatus:
    sizing: Sizing  # what the settings choose on this machine now
    data_dir: Path
    store_bytes: int
    bolt_port: int
    running: RunningNeo4j | None
    running_heap: int | None  # what the running JVM was started with (its command line)
    running_page_cache: int | None
    version: str | None
    gds: str | None  # GDS version, None when its procedures are not loaded

    def lines(self) -> list[str]:
        s, memory = self.sizing, self.sizing.memory
        out = [
            f"machine memory     {human(memory.physical)}",
            f"cgroup limit       {human(memory.cgroup_limit) if memory.cgroup_limit else 'none'}",
            f"heap               {human(s.heap)} ({s.heap_rule})",
            f"page cache         {human(s.page_cache)} ({s.page_cache_rule})",
            f"kept aside         {human(s.python_reserve)} for fenghuo's Python processes, "
            f"{human(s.os_reserve)} OS reserve (Neo4j's rule)",
            f"data dir           {self.data_dir}",
            f"store size         {human(self.store_bytes) if self.store_bytes else 'empty (no store yet)'}",
            f"bolt port          {self.bolt_port}",
        ]
        if self.running is None:
            return out + ["running            no"]
        owner = "detached" if self.running.detached else "owned by serve"
        out.append(f"running            yes, pid {self.running.pid} ({owner}), {self.running.uri}")
        if self.running_heap and (self.running_heap, self.running_page_cache) != (s.heap, s.page_cache):
            out.append(f"  started with     heap {human(self.running_heap)}, page cache {human(self.running_page_cache or 0)} "
                       "(settings or memory changed since; a restart applies the sizes above)")
        out.append(f"version            {self.version or self.running.version}")
        out.append(f"GDS                {self.gds + ' loaded' if self.gds else 'not loaded'}")
        return out


def store_size(home: Path) -> int:
    """Bytes on disk of the DBMS home's data (store files and transaction logs of every database)."""
    total = 0
    for path in (home / "data").rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:
            continue
    return total


def started_with(pid: int) -> tuple[int | None, int | None]:
    """(heap, page cache) in bytes from the launcher JVM's command line; (None, None) if it cannot be read."""
    try:
        args = psutil.Process(pid).cmdline()
    except psutil.Error:
        return None, None
    heap = next((parse_size(a[4:]) for a in args if a.startswith("-Xmx")), None)
    cache = next((parse_size(args[i + 1]) for i, a in enumerate(args[:-1]) if a == "--page-cache"), None)
    return heap, cache


async def _server_facts(uri: str) -> tuple[str | None, str | None]:
    graph = Graph.connect(Target(uri, None))
    try:
        try:
            version = await graph.server_version(5.0)
        except GraphUnavailable:
            return None, None
        try:
            gds = await asyncio.wait_for(gds_version(graph), 5.0)
        except (Neo4jError, DriverError, asyncio.TimeoutError):
            gds = None
        return version, gds
    finally:
        await graph.close()


def collect(settings: Settings) -> Neo4jStatus:
    sizing = choose(settings.neo4j_heap, settings.neo4j_page_cache)
    running = read_state(settings.data_dir)
    heap = cache = version = gds = None
    if running is not None:
        heap, cache = started_with(running.pid)
        version, gds = asyncio.run(_server_facts(running.uri))
    return Neo4jStatus(sizing, settings.data_dir, store_size(settings.data_dir / "neo4j"), settings.neo4j_bolt_port,
                       running, heap, cache, version, gds)
