"""api/runtime.py: a serving process computes each batch's agent networks in a network process of its own
(graph/sideprocess.py), never in the process that answers requests."""

from __future__ import annotations

import os
import uuid

import psutil

from api import runtime as runtime_module
from core.principal import Principal, Role
from core.settings import Settings
from graph.database import Graph, Target
from networks.flows import assign_networks
from tests.networks.test_networks import groups, lead
from tests.support import add_member

UPLOADER = Principal(id="key:acme", member_code="ACME", roles=frozenset({Role.UPLOADER}))


async def assign_and_say_where(graph: Graph, batch_id: str) -> dict[str, int]:
    """The hook as the runtime runs it, leaving the pid and name of the process it ran in (module-level: the network
    process imports it by name)."""
    await graph.write("CREATE (:HookRan {batch: $batch, pid: $pid, name: $name})",
                      {"batch": batch_id, "pid": os.getpid(), "name": psutil.Process().name()})
    return await assign_networks(graph, batch_id)


async def test_a_batchs_networks_are_assigned_in_a_network_process(settings: Settings, neo4j_target: Target, graph: Graph,
                                                                   monkeypatch) -> None:
    await add_member(graph, "ACME")
    monkeypatch.setattr(runtime_module, "assign_networks", assign_and_say_where)
    async with runtime_module.open_runtime(settings, neo4j_target, announce_key=False) as runtime:
        outcome = await runtime.batches.submit_leads(
            UPLOADER, [lead("A", phones=(1,), device=1), lead("B", phones=(2,), device=1), lead("C", phones=(3,))],
            idempotency_key=uuid.uuid4().hex)
        await runtime.batches.wait_idle()

    [ran] = await graph.read("MATCH (h:HookRan) RETURN h.batch AS batch, h.pid AS pid, h.name AS name")
    assert ran["batch"] == outcome.batch["id"]
    assert ran["pid"] != os.getpid() and ran["name"] == "fenghuo-network"
    assert not psutil.pid_exists(ran["pid"])  # it exited with its step
    assert await groups(graph) == {frozenset({"A", "B"})}
    [assigned] = await graph.read("MATCH (b:Batch {id: $id}) RETURN b.networks_assigned_at IS NOT NULL AS done",
                                  {"id": outcome.batch["id"]})
    assert assigned["done"]
