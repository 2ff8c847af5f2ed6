"""The hub's setup against the real graph: a refresh encrypts only what changed, and matching follows the graph."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import AsyncIterator

import private_set_intersection.python as psi
import pytest

from audit.log import AuditLog
from core.principal import Principal, Role
from graph.database import Graph
from ingest.pipeline import BatchRunner
from ingest.pseudonym import identify
from leads.retraction import retract
from psi.setup import PrivateSetup
from tests.support import TEST_KEY, add_member

_phones = itertools.count(13500000000)
BETA = Principal(id="key:beta", member_code="BETA", roles=frozenset({Role.UPLOADER}))


@pytest.fixture
async def runner(graph: Graph, tmp_path: Path) -> AsyncIterator[BatchRunner]:
    await add_member(graph, "BETA")
    audit = AuditLog(graph)
    yield BatchRunner(graph, audit, TEST_KEY, tmp_path / "spool")
    await audit.close()


async def file(runner: BatchRunner, count: int) -> list[str]:
    numbers = [str(next(_phones)) for _ in range(count)]
    leads = [{"category": "LOAN_INTERMEDIARY", "phone": p, "tlp": "AMBER", "confidence": "0.8"} for p in numbers]
    assert (await runner.submit_leads(BETA, leads, idempotency_key=None)).batch["status"] == "committed"
    return numbers


def matched(setup: PrivateSetup, numbers: list[str]) -> set[str]:
    """The client's steps (psi/client.py) in-process: blind, have the hub answer, intersect every segment."""
    keys = {identify(TEST_KEY, "phone", p).key: p for p in numbers}  # type: ignore[union-attr]
    ordered = sorted(keys)
    client = psi.client.CreateWithNewKey(True)
    response_bytes, asked = setup.answer(client.CreateRequest(ordered).SerializeToString())
    assert asked == len(ordered)
    response = psi.Response()
    response.ParseFromString(response_bytes)
    found = set()
    for segment in setup.segments:
        parsed = psi.ServerSetup()
        parsed.ParseFromString(segment.message)
        found.update(keys[ordered[i]] for i in client.GetIntersection(parsed, response))
    return found


async def test_a_refresh_encrypts_only_the_keys_a_new_batch_added(graph: Graph, runner: BatchRunner) -> None:
    setup = PrivateSetup(graph)
    first = await file(runner, 12)
    assert (await setup.refresh()).rebuilt_keys == 12
    second = await file(runner, 4)
    report = await setup.refresh()
    assert (report.added, report.removed, report.rebuilt_keys, report.segments) == (4, 0, 4, 2)
    assert matched(setup, first + second + ["13999999999"]) == set(first + second)


async def test_an_unchanged_graph_costs_no_encryption_and_keeps_every_etag(graph: Graph, runner: BatchRunner) -> None:
    setup = PrivateSetup(graph)
    await file(runner, 5)
    await setup.refresh()
    etags = [s.etag for s in setup.segments]
    report = await setup.refresh()
    assert (report.rebuilt_keys, [s.etag for s in setup.segments]) == (0, etags)


async def test_a_retraction_rebuilds_only_the_segment_that_held_the_key(graph: Graph, runner: BatchRunner) -> None:
    setup = PrivateSetup(graph)
    await file(runner, 12)
    await setup.refresh()
    late = await file(runner, 4)
    await setup.refresh()
    big = setup.segments[0].etag
    lead = await graph.read("MATCH (l:Lead)-[:NAMES]->(i:Indicator {key: $key}) RETURN l.id AS id",
                            {"key": identify(TEST_KEY, "phone", late[0]).key})  # type: ignore[union-attr]
    audit = AuditLog(graph)
    await retract(graph, audit, BETA, lead_ids=[lead[0]["id"]], reason="filed in error")
    await audit.close()
    report = await setup.refresh()
    assert (report.removed, report.rebuilt_keys, setup.segments[0].etag) == (1, 3, big)
    assert matched(setup, late) == set(late[1:])


async def test_a_merge_keeps_segments_few(graph: Graph, runner: BatchRunner) -> None:
    setup = PrivateSetup(graph)
    for _ in range(4):
        await file(runner, 3)
        await setup.refresh()
    sizes = [len(s.keys) for s in setup.segments]
    assert sum(sizes) == 12 and sizes == sorted(sizes, reverse=True) and len(set(sizes)) == len(sizes)
