"""Concurrent checks share Neo4j queries: one lookup answers every check waiting at that moment.

Fifty risk-engine clients checking one phone each would otherwise pay fifty transactions, each with its own
round trip, planning-cache hit and result handling. The coalescer sends a check's keys at once when no lookup is
running for callers who see the same things (no added latency for a lone client), or when fewer than
`max_in_flight` are and each of them answers a single check (two clients at a time each get a lookup of their own);
otherwise the keys wait for the next lookup, which takes every key waiting by then (up to `max_keys`). Under load
the lookups grow and their count stays flat — the batching window is exactly the time a lookup takes.

Once a lookup answers several checks, the next waits for it rather than run beside it: two lookups at once would
split the waiting checks between them, and each lookup costs the API and Neo4j a fixed part besides its keys.
Measured on the 100k bench graph (6 Dec 2026; wrk, single-phone checks; one server per setting, two servers each):
- always up to two lookups at once (the rule before): 4 connections 1,326–1,410 checks/s through POST /v1/checks,
  1,077–1,129 through checkLeads; 2 connections 1,008–1,116 and 870–899;
- at most one lookup at once: 4 connections 1,503–1,533 and 1,252–1,266, but 2 connections 928–979 through
  POST /v1/checks (checkLeads 915–920);
- this rule: 4 connections 1,413–1,482 and 1,218–1,298, 2 connections 1,019–1,092 and 893–914. At 1 connection
  nothing changes (a check never finds a lookup running), and at 50 the three differ by less than one server does
  from the next. At 1M rows (bench/check.py, run Z in README): 3,579 REST and 2,737 checkLeads checks/s at 50
  connections against 3,231 and 2,348 before (run Y, the same machine and graph).

Callers are grouped by what visibility lets them see (graph/visibility.params of their principal): one query never
mixes two members' views. Large calls (more than `direct_above` keys) are already batches: `parts` sends them
straight to Neo4j, a part at a time.
"""

from __future__ import annotations

import asyncio
from collections import deque
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Hashable

from core.principal import Principal
from graph import checks as repo
from graph import visibility
from graph.database import Graph

Rows = list[dict[str, Any]]


@dataclass
class _Waiting:
    keys: list[str]
    answer: "asyncio.Future[Rows]"


@dataclass
class _Group:
    principal: Principal
    queue: deque[_Waiting] = field(default_factory=deque)
    in_flight: int = 0
    shared: int = 0  # lookups running that answer more than one check


class Coalescer:
    def __init__(self, graph: Graph, *, hub_cap: int, neighbours: int, max_in_flight: int = 2,
                 max_keys: int = 2000, direct_above: int = 200) -> None:
        self.graph = graph
        self.hub_cap, self.neighbours = hub_cap, neighbours
        self.max_in_flight, self.max_keys, self.direct_above = max_in_flight, max_keys, direct_above
        self._groups: dict[Hashable, _Group] = {}
        self.lookups = 0  # how many Neo4j lookups ran, and how many checks they answered (for tests and metrics)
        self.checks = 0

    async def lookup(self, principal: Principal, keys: list[str]) -> Rows:
        """The lookup rows of `keys` (one per distinct key), as graph/checks.lookup answers them for `principal`,
        from a lookup shared with the checks waiting at that moment (meant for small calls: see `parts`)."""
        view = _view(principal)
        group = self._groups.get(view)
        if group is None:
            group = self._groups[view] = _Group(principal)
        waiting = _Waiting(keys, asyncio.get_running_loop().create_future())
        group.queue.append(waiting)
        if self._may_send(group):
            self._send(view, group)
        return await waiting.answer

    async def parts(self, principal: Principal, keys: list[str]) -> AsyncIterator[Rows]:
        """`lookup`'s rows, a part at a time for a large call (graph/checks.lookup_parts), so that the caller decides
        one part while Neo4j answers the next; a small call's rows in one part."""
        if len(keys) <= self.direct_above:
            yield await self.lookup(principal, keys)
            return
        self.lookups += 1
        self.checks += 1
        async with aclosing(repo.lookup_parts(self.graph, principal, keys, hub_cap=self.hub_cap,
                                              neighbours=self.neighbours)) as parts:
            async for rows in parts:
                yield rows

    def _may_send(self, group: _Group) -> bool:
        return group.in_flight == 0 or (group.in_flight < self.max_in_flight and group.shared == 0)

    def _send(self, view: Hashable, group: _Group) -> None:
        taken: list[_Waiting] = []
        count = 0
        while group.queue and (not taken or count + len(group.queue[0].keys) <= self.max_keys):
            waiting = group.queue.popleft()
            if waiting.answer.cancelled():
                continue
            taken.append(waiting)
            count += len(waiting.keys)
        if not taken:
            return
        group.in_flight += 1
        group.shared += len(taken) > 1
        asyncio.get_running_loop().create_task(self._answer(view, group, taken))

    async def _answer(self, view: Hashable, group: _Group, taken: list[_Waiting]) -> None:
        keys = list(dict.fromkeys(k for waiting in taken for k in waiting.keys))
        try:
            rows = await self._query(group.principal, keys)
        except BaseException as error:  # every waiting check fails the way a lone lookup would
            for waiting in taken:
                if not waiting.answer.done():
                    waiting.answer.set_exception(error if isinstance(error, Exception) else asyncio.CancelledError())
            if not isinstance(error, Exception):
                raise
        else:
            self.lookups += 1
            self.checks += len(taken)
            by_key = {row["key"]: row for row in rows}
            for waiting in taken:
                if not waiting.answer.done():
                    waiting.answer.set_result([by_key[k] for k in dict.fromkeys(waiting.keys)])
        finally:
            group.in_flight -= 1
            group.shared -= len(taken) > 1
            if group.queue and self._may_send(group):
                self._send(view, group)
            elif group.in_flight == 0:
                self._groups.pop(view, None)

    async def _query(self, principal: Principal, keys: list[str]) -> Rows:
        return await repo.lookup(self.graph, principal, keys, hub_cap=self.hub_cap, neighbours=self.neighbours)


def _view(principal: Principal) -> Hashable:
    """What a principal may see, as a hashable value: principals with equal visibility parameters share lookups."""
    seen = visibility.params(principal)["vis"]
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in seen.items()))
