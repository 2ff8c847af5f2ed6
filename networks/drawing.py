"""Pictures of agent networks: bounded node/edge sets, lead and agent nodes, and list cursors. Pure (no Neo4j)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any, Iterable, Mapping

from core.errors import BadInput

MAX_NEIGHBOURHOOD_DEPTH = 3
_OPAQUE = secrets.token_bytes(32)  # hides, per process, which member an agent node belongs to


class Drawing:
    """Nodes and edges for a picture, bounded by `limit` nodes; `truncated` tells the client something was left out."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.nodes: dict[str, dict] = {}
        self.edges: set[tuple[str, str, str]] = set()
        self.truncated = False

    def add_node(self, node_id: str, **attrs: object) -> bool:
        """True when the node is (now) in the picture; False, and truncated, when the limit is reached."""
        if node_id in self.nodes:
            return True
        if len(self.nodes) >= self.limit:
            self.truncated = True
            return False
        self.nodes[node_id] = {"id": node_id, **attrs}
        return True

    def add_edge(self, source: str, target: str, kind: str) -> None:
        if source in self.nodes and target in self.nodes:
            self.edges.add((source, target, kind))

    def result(self) -> dict:
        return {
            "nodes": list(self.nodes.values()),
            "edges": [{"source": s, "target": t, "type": k} for s, t, k in sorted(self.edges)],
            "truncated": self.truncated,
        }


def lead_node(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"kind": "lead", "category": row["category"], "observed_at": row["observed_at"], "filer": row["filer"]}


def agent_node_id(agent_id: str, *, shown: bool) -> str:
    """An agent's id names its member (`member:label`); when the filer is hidden the node gets an opaque id."""
    if shown:
        return f"agent:{agent_id}"
    return "agent:" + hmac.new(_OPAQUE, agent_id.encode(), hashlib.sha256).hexdigest()[:24]


def draw_network(leads: Iterable[Mapping[str, Any]], *, limit: int, total: int) -> dict[str, Any]:
    """A network's picture from its lead rows (each with its indicators and agents), lead by lead so what is
    shown stays connected; truncated when fewer than `total` leads came or the node limit was reached."""
    drawing, count = Drawing(limit), 0
    for row in leads:
        count += 1
        if not drawing.add_node(row["id"], **lead_node(row)):
            break
        for ind in row["indicators"]:
            if drawing.add_node(ind["key"], kind="indicator", type=ind["type"], masked=ind["masked"]):
                drawing.add_edge(row["id"], ind["key"], "NAMES")
        for agent in row["agents"]:
            node_id = agent_node_id(agent["id"], shown=row["filer"] is not None)
            if drawing.add_node(node_id, kind="agent", label=agent["label"]):
                drawing.add_edge(row["id"], node_id, "OPERATED_BY")
    drawing.truncated = drawing.truncated or count < total
    return drawing.result()


def network_cursor(size: int, network_id: str) -> str:
    return f"{size}:{network_id}"


def parse_network_cursor(after: str | None) -> tuple[int | None, str | None]:
    if not after:
        return None, None
    size, _, network_id = after.partition(":")
    if not size.isdigit() or not network_id:
        raise BadInput("after must be the cursor of a listed network (size:id)", field="after")
    return int(size), network_id
