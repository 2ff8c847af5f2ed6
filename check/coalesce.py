"""Concurrent checks share Neo4j queries: one lookup answers every check waiting at that moment.

Fifty risk-engine clients checking one phone each would otherwise pay fifty transactions, each with its own
round trip, planning-cache hit and result handling. The coalescer sends a check's keys at once when fewer than
`max_in_flight` lookups are running for callers who see the same things (no added latency for a lone client);
otherwise the keys wait for the next lookup, which takes every key waiting by then (up to `max_keys`). Under load
the lookups grow and their count stays flat — the batching window is exactly the time a lookup takes.

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
        if group.in_flight < self.max_in_flight:
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
            if group.queue:
                self._send(view, group)
            elif group.in_flight == 0:
                self._groups.pop(view, None)

    async def _query(self, principal: Principal, keys: list[str]) -> Rows:
        return await repo.lookup(self.graph, principal, keys, hub_cap=self.hub_cap, neighbours=self.neighbours)


def _view(principal: Principal) -> Hashable:
    """What a principal may see, as a hashable value: principals with equal visibility parameters share lookups."""
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in visibility.params(principal).items()))
