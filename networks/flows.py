"""Agent networks kept current as batches arrive, and rebuilt from scratch on demand.

Two steps. Components: which leads can belong together at all (networks/linking.py's docstring says why RED leads
and hub indicators take no part); every member Lead, linking Indicator and declared Agent carries `component_id`,
kept here incrementally with union-find. Networks: the communities GDS finds within the components a change
touched (networks/communities.py); leads, indicators and agents carry `network_id`, and a `(:Network)` node per
network keeps the summary lists read (size, cohesion, members, categories, agents, top indicators, span, TLPs).
- `rebuild_networks` is the full recomputation a scheduler job calls;
- `assign_networks` is the after-aggregation hook of ingest/pipeline.py: window by window, it reads only the
  batch's leads and what they touch, folds them into existing networks, and re-splits networks that were held
  together only by an indicator that has since become a hub, then recomputes the communities of the components
  it touched; its memory is bounded by the window and the community chunk, not by the batch;
- `refresh_networks` does the same for the networks a retraction, an upheld dispute or expiry changed;
- writers hold one lease (a `NetworkLease` node) so concurrent batches, in any process, never race.
The Cypher is graph/networks.py; reading networks for a principal is networks/reads.py.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Iterable, Sequence

from graph import networks as repo
from graph.database import Graph
from networks import communities
from networks.linking import (
    MIN_NETWORK_LEADS, NETWORK_DEGREE_CAP, BatchFold, LeadLinks, Linker, plan_merge, plan_recompute,
)

PAGE_SPAN = 5000  # batch lines, or leads of a rebuild, read per page
WINDOW = 50_000  # batch lines folded and written at a time by the after-batch hook (its memory is bounded by this)
WRITE_CHUNK = 2000  # rows per UNWIND write
LEASE_TTL_MS = 10 * 60 * 1000  # a holder that died frees the lease after this; live holders renew per page
LEASE_WAIT_S = 15 * 60


class NetworksBusy(RuntimeError):
    """Another writer held the network lease too long; the batch stays pending (see `assign_pending_networks`)."""


class _Lease:
    def __init__(self, graph: Graph) -> None:
        self.graph, self.holder = graph, uuid.uuid4().hex

    async def renew(self) -> bool:
        return await repo.acquire_lease(self.graph, self.holder, LEASE_TTL_MS)


@asynccontextmanager
async def _lease(graph: Graph) -> AsyncIterator[_Lease]:
    lease, deadline, pause = _Lease(graph), time.monotonic() + LEASE_WAIT_S, 0.02
    while not await lease.renew():
        if time.monotonic() > deadline:
            raise NetworksBusy(f"the agent-network lease stayed taken for {LEASE_WAIT_S} s")
        await asyncio.sleep(pause)
        pause = min(pause * 2, 1.0)
    try:
        yield lease
    finally:
        await repo.release_lease(graph, lease.holder)


def _chunks(items: Sequence[Any], size: int = WRITE_CHUNK) -> Iterable[list[Any]]:
    return (list(items[n:n + size]) for n in range(0, len(items), size))


async def assign_networks(graph: Graph, batch_id: str, *, cap: int = NETWORK_DEGREE_CAP,
                          pending_only: bool = False) -> dict[str, int]:
    """Fold a committed, aggregated batch into the networks (the `BatchRunner.after_aggregation` hook).

    Works through the batch `WINDOW` lines at a time (`_assign_window`), so what it holds does not grow with the
    batch, then recomputes the communities of every component it touched, `CHUNK_LEADS` at a time. Idempotent:
    running it again changes nothing.
    `pending_only`: do nothing when the batch's networks were assigned by the time the lease was ours (the upkeep
    job found the batch pending while its own hook was still running; it waited for that hook's lease).
    """
    async with _lease(graph) as lease:
        last_line, assigned = await repo.batch_span(graph, batch_id)
        if last_line is None:
            return dict.fromkeys(("leads", "networks", "merged", "split"), 0)
        if pending_only and assigned:
            return {**dict.fromkeys(("leads", "networks", "merged", "split"), 0), "skipped": 1}
        done = _Assigned()
        for start in range(0, last_line + 1, WINDOW):
            await _assign_window(graph, batch_id, start, min(start + WINDOW, last_line + 1), cap, lease, done)
        if done.affected or done.old_networks:
            await communities.update_in_chunks(graph, done.affected, done.old_networks, cap)
        await repo.mark_assigned(graph, batch_id)
    return {"leads": done.leads, "networks": len(done.touched - done.merged), "merged": len(done.merged),
            "split": len(done.split)}


class _Assigned:
    """What the windows of one batch did: counts for the caller, components and networks for the community step."""

    def __init__(self) -> None:
        self.leads = 0
        self.touched: set[str] = set()  # components created or grown
        self.merged: set[str] = set()  # components absorbed into others
        self.split: set[str] = set()  # components recomputed because an indicator stopped linking
        self.affected: set[str] = set()  # components whose communities must be recomputed
        self.old_networks: set[str] = set()  # the networks they held before


async def _assign_window(graph: Graph, batch_id: str, start: int, end: int, cap: int, lease: _Lease,
                         done: _Assigned) -> None:
    """Fold lines [start, end) of the batch into the components and write them.

    Reads the window's leads page by page (by `seq`) with their indicators and agents, and the leads of earlier
    batches and earlier windows those reach that are in no component yet (few: a linking indicator has at most
    `cap` leads), and unions them with the components already touched. A later window's leads join what this one
    forms through their indicators' component ids, so a component spanning windows is found whole, and a window
    reads no more of the batch than its own lines (the first window of a 1M-row batch read 304,370 leads). A
    component touching several keeps the largest's id and relabels the others; a new component of two
    or more leads gets a new id. Components that carry a now non-linking indicator (it crossed the cap with this
    batch, or was flagged benign/retracted) are recomputed from their own leads, so one joined only through that
    indicator splits."""
    fold = await _fold_window(graph, batch_id, start, end, cap, lease)
    comps = fold.linker.components()
    touched = sorted({n for c in comps for n in c.networks})
    sizes = await repo.network_sizes(graph, touched) if touched else {}
    plan = plan_merge(comps, fold.current, sizes)
    done.old_networks |= await repo.networks_of_components(graph, sorted(set(touched) | fold.unlinked))
    for moves in _chunks([{"from": a, "to": b} for a, b in sorted(plan.moves.items())]):
        await repo.relabel(graph, moves)
    await _assign(graph, [{"lead": lead, "network": net} for lead, net in sorted(plan.assign.items())], cap, lease)
    split = {plan.final(n) for n in fold.unlinked}
    await _refresh(graph, plan.touched - split, set(plan.moves))
    done.leads += len(plan.assign)
    done.touched |= plan.touched
    done.merged |= set(plan.moves)
    done.split |= split
    done.affected = (done.affected - set(plan.moves)) | (plan.touched - split)
    if split:
        done.affected = (done.affected - split) | await _recompute(graph, split, cap, lease)


async def _fold_window(graph: Graph, batch_id: str, start: int, end: int, cap: int, lease: _Lease) -> BatchFold:
    """The window's leads page by page, then the earlier leads reached through its not-yet-networked anchors."""
    fold = BatchFold()
    for page in range(start, end, PAGE_SPAN):
        for row in await repo.batch_leads(graph, batch_id, page, min(page + PAGE_SPAN, end), cap):
            fold.add_batch_lead(row["id"], row["component_id"], row["red"], row["indicators"], row["agents"])
        await lease.renew()
    keys, agents = fold.anchors()
    for n in range(0, max(len(keys), len(agents)), WRITE_CHUNK):
        for row in await repo.anchored_leads(graph, batch_id, start, keys[n:n + WRITE_CHUNK], agents[n:n + WRITE_CHUNK],
                                             cap):
            own = (row["component_id"],) if row["component_id"] else ()
            links = LeadLinks(row["id"], tuple(row["indicators"]), tuple(row["agents"]), own + tuple(row["networks"]))
            fold.add_earlier_lead(links, row["component_id"])
    return fold


async def rebuild_networks(graph: Graph, *, cap: int = NETWORK_DEGREE_CAP) -> dict[str, int]:
    """Recompute every component and network from scratch (the scheduler's job, operators, repair)."""
    async with _lease(graph) as lease:
        started = await repo.db_now(graph)
        old_ids = await repo.all_component_ids(graph)
        linker, current, ineligible, after = Linker(), {}, [], ""
        while rows := await repo.all_leads_page(graph, after, PAGE_SPAN, cap):
            _fold_lead(rows, linker, current, ineligible)
            after = rows[-1]["id"]
            await lease.renew()
        desired = await _apply(graph, linker, current, ineligible, old_ids, cap, lease)
        found = await communities.update(graph, None, set(), cap)
        await repo.mark_all_assigned(graph, started)
    return {"leads": sum(1 for n in desired.values() if n), "components": len(set(desired.values()) - {None}),
            "networks": found["networks"], "oversized": found["oversized"]}


async def refresh_networks(graph: Graph, network_ids: Iterable[str], *, cap: int = NETWORK_DEGREE_CAP) -> set[str]:
    """Recompute the components holding the given networks from their own leads, then the networks within them
    (after retracting leads, upholding a dispute, expiry); returns the ids of the networks there now."""
    network_ids = set(network_ids)
    async with _lease(graph) as lease:
        components = await repo.components_of_networks(graph, sorted(network_ids))
        now = await _recompute(graph, components, cap, lease) if components else set()
        return (await communities.update(graph, now, network_ids, cap))["ids"]


async def assign_pending_networks(graph: Graph, *, cap: int = NETWORK_DEGREE_CAP) -> int:
    """Assign committed batches whose hook never finished (a crash, or a busy lease); returns how many it assigned
    (a batch whose running hook finished first is left to it)."""
    assigned = 0
    for batch_id in await repo.pending_batches(graph):
        done = await assign_networks(graph, batch_id, cap=cap, pending_only=True)
        assigned += not done.get("skipped")
    return assigned


async def networks_pending(graph: Graph) -> bool:
    """Whether a committed batch waits for its networks (cheap: callers ask before starting a process for it)."""
    return bool(await repo.pending_batches(graph))


async def networks_idle(graph: Graph) -> bool:
    """Whether no one is assigning networks now (the lease is free): while a batch's own hook runs, its batch is
    pending, and an upkeep started then would only wait for the lease in a process of its own, to find the batch
    done (a 1M-row batch's hook runs for ~7 minutes; the upkeep comes every 10)."""
    return not await repo.lease_held(graph)


def _fold_lead(rows: list[dict[str, Any]], linker: Linker, current: dict[str, str | None],
               ineligible: list[str]) -> None:
    for row in rows:
        if row["eligible"]:
            current[row["id"]] = row["component_id"]
            linker.add(LeadLinks(row["id"], tuple(row["indicators"]), tuple(row["agents"])))
        elif row["component_id"]:
            ineligible.append(row["id"])


async def _recompute(graph: Graph, network_ids: set[str], cap: int, lease: _Lease) -> set[str]:
    linker, current, ineligible = Linker(), {}, []
    for ids in _chunks(sorted(network_ids), 500):
        _fold_lead(await repo.network_members(graph, ids, cap), linker, current, ineligible)
    desired = await _apply(graph, linker, current, ineligible, network_ids, cap, lease)
    return {net for net in desired.values() if net}


async def _apply(graph: Graph, linker: Linker, current: dict[str, str | None], ineligible: list[str],
                 old_ids: set[str], cap: int, lease: _Lease) -> dict[str, str | None]:
    """Write components computed from scratch over `current`'s leads; returns each lead's network id now."""
    desired = plan_recompute(linker.components(), current)
    rows = [{"lead": lead, "network": net} for lead, net in sorted(desired.items())
            if net is not None or current.get(lead) is not None]
    await _assign(graph, rows, cap, lease)
    for ids in _chunks(ineligible):
        await repo.clear_leads(graph, ids)
    networks = {net for net in desired.values() if net}
    for ids in _chunks(sorted(old_ids | networks), 500):
        await repo.clear_stale_links(graph, ids, cap)
    await _refresh(graph, networks, old_ids - networks)
    return desired


async def _assign(graph: Graph, rows: list[dict[str, Any]], cap: int, lease: _Lease) -> None:
    for chunk in _chunks(rows):
        await repo.assign(graph, chunk, cap)
        await lease.renew()


async def _refresh(graph: Graph, networks: set[str], gone: set[str]) -> None:
    for ids in _chunks(sorted(networks), 200):
        await repo.refresh_summaries(graph, ids, MIN_NETWORK_LEADS)
    for ids in _chunks(sorted(gone | networks), 500):
        await repo.drop_empty(graph, ids, MIN_NETWORK_LEADS)
