"""Small helpers shared by the benchmarks."""

from __future__ import annotations

import socket
from typing import Any

MB = 1024 * 1024


def say(text: str = "") -> None:
    print(text, flush=True)


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
