"""Small helpers shared by the benchmarks."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from typing import Any

MB = 1024 * 1024


def say(text: str = "") -> None:
    print(text, flush=True)


def exit_on_sigterm() -> None:
    """`kill` (SIGTERM) ends a benchmark as Ctrl-C does: its `finally` blocks stop the servers it started."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def begin(title: str) -> None:
    """What every load benchmark does first: SIGTERM ends it cleanly, and its first line says when and where it ran."""
    from datetime import datetime, timezone

    exit_on_sigterm()
    say(f"{title}: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}")


def rate_limit(per_minute: int) -> dict[str, str]:
    """The serve overrides that raise the rate limit for a load generator (the burst a tenth of it, at least 500)."""
    return {"FENGHUO_RATE_LIMIT_PER_MINUTE": str(per_minute), "FENGHUO_RATE_LIMIT_BURST": str(max(500, per_minute // 10))}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mb(n: float | None) -> str:
    return "n/a" if n is None else f"{n / MB:,.0f} MB"


async def graph_counts(graph: Any, nodes: dict[str, str], relationships: dict[str, str]) -> dict[str, int]:
    """How many nodes of each label and relationships of each type, as {name: count}, in one query."""
    parts = [f"CALL {{ MATCH (n:{label}) RETURN count(n) AS {name} }}" for name, label in nodes.items()]
    parts += [f"CALL {{ MATCH ()-[r:{kind}]->() RETURN count(r) AS {name} }}" for name, kind in relationships.items()]
    rows = await graph.read(" ".join(parts) + " RETURN " + ", ".join([*nodes, *relationships]))
    return rows[0]


def on_graph(uri: str, step: Any) -> Any:
    """Run `step(graph)` on a driver of its own (the async driver belongs to the event loop that made it)."""
    from graph.database import Graph, Target

    async def run() -> Any:
        graph = Graph.connect(Target(uri, None))
        try:
            return await step(graph)
        finally:
            await graph.close()

    return asyncio.run(run())


async def networks_assigned(graph: Any, batch_id: str, timeout: float = 4 * 3600) -> float:
    """Wait until the server's network hook marked the batch (Batch.networks_assigned_at); returns 0 (the caller
    adds the time it waited). Raises when it has not within `timeout`: a graph whose networks are half assigned is
    no graph to measure or cache (every server started on it would assign them again before it answers)."""
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        rows = await graph.read("MATCH (b:Batch {id: $id}) RETURN b.networks_assigned_at IS NOT NULL AS done",
                                {"id": batch_id})
        if rows and rows[0]["done"]:
            return 0.0
        await asyncio.sleep(0.5)
    raise TimeoutError(f"the after-batch network hook did not finish batch {batch_id} within {timeout:,.0f} s")
