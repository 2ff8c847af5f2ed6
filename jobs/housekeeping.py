"""Housekeeping jobs, installed by default: retention, network upkeep, the abandoned-batch sweeper, the audit
checkpoint, the daily escalation digest.

- retention: a lead older than its category's τ (ingest/categories.py `lifetime_days`) is expired — check/scoring.py
  already gives it no weight and reports the identifier `expired`; this job counts those, and purges leads older
  than τ + FENGHUO_RETENTION_GRACE_DAYS from the shared graph (PIPL minimisation). Aggregates of the touched
  indicators are rebuilt, indicators nothing names any more go too; audit records are kept.
- network upkeep: assigns agent networks of batches whose hook never finished (graph/networks.py), unless a hook
  is assigning networks right now (the next run takes what it leaves); once a day a full rebuild.
- batch sweeper: a batch left `processing` longer than FENGHUO_ABANDONED_BATCH_HOURS failed part-way in a process
  that is gone; it is marked failed (invisible, its leads removed) so a re-upload starts clean.
- audit checkpoint: verifies the newest FENGHUO_AUDIT_CHECKPOINT_BLOCKS blocks of the audit chain; a break sets
  the `fenghuo_audit_chain_broken` metric and logs an error (and fails the run, so lastRun says so).
- escalation digest: shortly after midnight China time, the digest of the day before per jurisdiction
  (escalation/scheduled.py `daily_digest`; re-running a day rewrites its digests, nothing is duplicated).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

from core.principal import cli_principal
from audit import chain
from audit.log import AuditLog
from core.settings import Settings
from escalation.scheduled import CHINA, daily_digest
from graph import batches as batches_repo
from graph import housekeeping as repo
from graph import matchability
from graph.database import Graph
from graph.disputes import rebuild_aggregates
from graph.leads import delete_leads_of
from graph.sideloop import SideLoop
from graph.sideprocess import SideProcess
from networks.flows import assign_pending_networks, networks_idle, networks_pending, rebuild_networks, refresh_networks
from ingest.categories import CATEGORIES
from jobs import metrics
from jobs.connectors.base import SourceFailed
from jobs.model import JobKind

log = logging.getLogger(__name__)
SYSTEM = cli_principal("scheduler")
PENDING_ASSIGNED = "pending batches assigned"  # the network upkeep's mode, as its run record says

# (name, kind, schedule, config): what `install_builtin_jobs` creates when missing.
BUILTIN_JOBS: tuple[tuple[str, JobKind, dict[str, Any], dict[str, Any]], ...] = (
    ("housekeeping-retention", JobKind.RETENTION, {"cron": "15 3 * * *"}, {}),
    ("housekeeping-network-upkeep", JobKind.NETWORK_UPKEEP, {"interval_seconds": 600}, {}),
    ("housekeeping-network-rebuild", JobKind.NETWORK_UPKEEP, {"cron": "45 3 * * *"}, {"rebuild": True}),
    ("housekeeping-batch-sweeper", JobKind.BATCH_SWEEPER, {"interval_seconds": 1800}, {}),
    ("housekeeping-audit-checkpoint", JobKind.AUDIT_CHECKPOINT, {"interval_seconds": 900}, {}),
    ("housekeeping-escalation-digest", JobKind.ESCALATION_DIGEST, {"cron": "10 0 * * *"}, {}),
)


async def run(kind: JobKind, graph: Graph, audit: AuditLog, settings: Settings, config: dict[str, Any] | None = None,
              side: SideLoop | None = None, networks: SideProcess | None = None) -> dict[str, Any]:
    """Run one housekeeping task; the stats it returns go into the run record (`rows` = items handled).
    A serving process passes where its long graph work runs, away from the requests' loop: `side`, its side loop
    (graph/sideloop.py), for the audit checkpoint (it sets this process's metrics); `networks`, its network process
    (graph/sideprocess.py), for the agent networks."""
    if kind is JobKind.RETENTION:
        return await retention(graph, audit, settings)
    if kind is JobKind.NETWORK_UPKEEP:
        rebuild = bool((config or {}).get("rebuild"))
        if networks is None:
            return await network_upkeep(graph, rebuild=rebuild)
        if not rebuild and not await networks_pending(graph):
            return {"rows": 0, "mode": PENDING_ASSIGNED}  # nothing to do: no process started for it
        if not rebuild and not await networks_idle(graph):
            return {"rows": 0, "mode": PENDING_ASSIGNED, "left": "networks are being assigned"}  # the next run takes it
        return await networks.run(network_upkeep, rebuild=rebuild)
    if kind is JobKind.BATCH_SWEEPER:
        return await sweep_batches(graph, audit, settings)
    if kind is JobKind.AUDIT_CHECKPOINT:
        checkpoint = partial(audit_checkpoint, settings=settings)
        return await (side.run(checkpoint) if side is not None else checkpoint(graph))
    if kind is JobKind.ESCALATION_DIGEST:
        return await escalation_digest(graph)
    raise SourceFailed(f"{kind.value} is not a housekeeping job", retry=False)


async def network_upkeep(graph: Graph, *, rebuild: bool) -> dict[str, Any]:
    if rebuild:
        return {"rows": 0, **(await rebuild_networks(graph))}
    return {"rows": await assign_pending_networks(graph), "mode": PENDING_ASSIGNED}


def retention_cutoffs(now: datetime, grace_days: int = 0) -> dict[str, datetime]:
    return {c.code: now - timedelta(days=c.lifetime_days + grace_days) for c in CATEGORIES}


async def retention(graph: Graph, audit: AuditLog, settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(timezone.utc)
    expired = await repo.count_expired(graph, retention_cutoffs(now))
    purge_at = retention_cutoffs(now, settings.retention_grace_days)
    purged, touched, networks = 0, defaultdict(set), set()
    while rows := await repo.purge_leads(graph, purge_at):
        purged += len(rows)
        for row in rows:
            touched[row["member"]].update(row["keys"])
            if row["network"]:
                networks.add(row["network"])
    for member, keys in touched.items():
        await rebuild_aggregates(graph, member, sorted(keys))
    indicators = await repo.purge_orphan_indicators(graph, sorted({k for keys in touched.values() for k in keys}))
    if networks:
        await refresh_networks(graph, networks)
    # Private checks (issue 15): purged and re-aggregated indicators are re-read by the setups within seconds.
    await matchability.keys_changed(graph, {k for keys in touched.values() for k in keys}, "housekeeping.retention")

    if purged:
        audit.record(SYSTEM, "housekeeping.retention", outcome="purged",
                     detail=f"leads={purged} indicators={indicators} grace_days={settings.retention_grace_days}")
    return {"rows": purged, "expired": expired, "purged_leads": purged, "purged_indicators": indicators}


async def sweep_batches(graph: Graph, audit: AuditLog, settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    before = (now or datetime.now(timezone.utc)) - timedelta(hours=settings.abandoned_batch_hours)
    swept = await repo.abandoned_batches(graph, before)
    for batch in swept:
        await batches_repo.fail(graph, batch["id"], f"abandoned: still processing after {settings.abandoned_batch_hours:g} h "
                                                   "(the process filing it stopped); upload the file again to retry")
        await delete_leads_of(graph, batch["id"])
        audit.record(SYSTEM, "housekeeping.sweep_batch", subject=batch["id"], outcome="failed")
    return {"rows": len(swept), "swept_batches": len(swept)}


CHECKPOINT_PAGE_BLOCKS = 20


async def audit_checkpoint(graph: Graph, settings: Settings, page: int = CHECKPOINT_PAGE_BLOCKS) -> dict[str, Any]:
    """Verify the newest blocks, `page` at a time. On a busy node the newest 200 blocks hold ~10^5 records: read and
    hashed at once on the requests' loop they held every check for 6.6 s (the check benchmark at 100k rows, 5 Dec
    2026); a serving process runs this on its side loop (`run`)."""
    head = await repo.chain_head(graph)
    checkpoint = _Checkpoint(head)
    if head is not None:
        async for blocks in repo.newest_blocks(graph, head, settings.audit_checkpoint_blocks, page):
            if not checkpoint.feed(blocks):
                break
    broken = checkpoint.finish()
    metrics.AUDIT_CHECKPOINT.set(time.time())
    metrics.AUDIT_CHAIN_BROKEN.set(1 if broken else 0)
    if broken:
        log.error("audit checkpoint: the audit chain is BROKEN at %s; run `fenghuo audit verify`", broken)
        raise SourceFailed(f"the audit chain is broken at {broken}: investigate with `fenghuo audit verify`", retry=False)
    return {"rows": checkpoint.blocks, "verified_blocks": checkpoint.blocks}


async def escalation_digest(graph: Graph, now: datetime | None = None) -> dict[str, Any]:
    """Yesterday's digests (China time), one per jurisdiction with new or changed cases."""
    day = (now or datetime.now(CHINA)).astimezone(CHINA).date() - timedelta(days=1)
    stored = await daily_digest(graph, day)
    return {"rows": len(stored), "day": day.isoformat(), "digests": len(stored)}


class _Checkpoint:
    """A run of consecutive blocks ending at the head, fed a page at a time, trusting only the first block's links
    backwards."""

    def __init__(self, head: dict[str, Any] | None) -> None:
        self.head = head
        self.verifier: chain.Verifier | None = None
        self.broken: chain.Break | None = None
        self.last: dict[str, Any] | None = None

    @property
    def blocks(self) -> int:
        return self.verifier.blocks if self.verifier is not None else 0

    def feed(self, blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> bool:
        """False once a break is found."""
        for block, records in blocks:
            if self.verifier is None:
                self.verifier = chain.Verifier()
                self.verifier.expected_block_seq = block["seq"]
                self.verifier.prev_block_hash = block["prev_hash"]
                if records:
                    self.verifier.prev_record_hash = records[0]["prev_hash"]
                    self.verifier.expected_record_seq = records[0]["seq"]
            self.broken = self.verifier.feed(block, records)
            if self.broken:
                return False
            self.last = block
        return True

    def finish(self) -> chain.Break | None:
        if self.broken:
            return self.broken
        head = self.head
        if self.verifier is None or self.last is None:
            return None if head is None or int(head["seq"]) == 0 else chain.Break(int(head["seq"]), None, "the newest blocks are missing")
        if head is not None and (head["seq"] != self.last["seq"] or head["hash"] != self.verifier.prev_block_hash):
            return chain.Break(int(head["seq"]), None, "the chain head does not match the newest block (blocks altered or removed)")
        return None
