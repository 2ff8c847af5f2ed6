"""Concurrent checks share lookups (check/coalesce.py): same answers as lone lookups, fewer queries, no mixed views."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import AsyncIterator

import pytest

from audit.log import AuditLog
from check import service
from check.coalesce import Coalescer
from core.principal import Principal, Role
from graph import checks as repo
from graph.database import Graph
from ingest.pipeline import BatchRunner
from ingest.pseudonym import identify
from tests.support import TEST_KEY, add_member

PHONES = [f"1381234{n:04d}" for n in range(40)]
RED_PHONE = "13912340000"


def member(code: str) -> Principal:
    return Principal(id=f"key:{code.lower()}", member_code=code, roles=frozenset({Role.ANALYST, Role.UPLOADER}))


def key_of(phone: str) -> str:
    return identify(TEST_KEY, "phone", phone).key


@pytest.fixture
async def filed(graph: Graph, tmp_path: Path) -> AsyncIterator[Graph]:
    """BETA files AMBER leads on PHONES (every fifth one also by GAMMA) and a RED lead on RED_PHONE."""
    for code in ("ACME", "BETA", "GAMMA"):
        await add_member(graph, code)
    audit = AuditLog(graph)
    runner = BatchRunner(graph, audit, TEST_KEY, tmp_path / "spool")
    leads = [{"category": "LOAN_INTERMEDIARY", "phone": p, "confidence": "0.8"} for p in PHONES]
    leads.append({"category": "MONEY_MULE", "phone": RED_PHONE, "tlp": "RED"})
    await runner.submit_leads(member("BETA"), leads, idempotency_key=None)
    await runner.submit_leads(member("GAMMA"), [{"category": "MONEY_MULE", "phone": p} for p in PHONES[::5]], idempotency_key=None)
    yield graph
    await runner.close()
    await audit.close()


def coalescer(graph: Graph) -> Coalescer:
    return Coalescer(graph, hub_cap=service.HUB_CAP, neighbours=service.NEIGHBOURS_FOR_BOOST)


async def alone(graph: Graph, who: Principal, keys: list[str]) -> list[dict]:
    return await repo.lookup(graph, who, keys, hub_cap=service.HUB_CAP, neighbours=service.NEIGHBOURS_FOR_BOOST)


async def test_fifty_concurrent_checks_get_their_own_answers_from_fewer_queries(filed: Graph) -> None:
    shared = coalescer(filed)
    who = member("ACME")
    asks = [[key_of(PHONES[n % len(PHONES)]), key_of(f"1370000{n:04d}")] for n in range(50)]
    answers = await asyncio.gather(*(shared.lookup(who, keys) for keys in asks))
    assert shared.checks == 50 and shared.lookups < 10
    for keys, rows in zip(asks, answers):
        assert [r["key"] for r in rows] == keys
        assert rows == await alone(filed, who, keys)
    assert all(rows[0]["known"] and rows[0]["reports"] and not rows[1]["known"] for rows in answers)


class Gated(Coalescer):
    """The product's coalescer whose lookups (on the real graph) start only when the test opens their gate, in the
    order they were sent: the order of events is the test's, not the machine's."""

    def __init__(self, graph: Graph) -> None:
        super().__init__(graph, hub_cap=service.HUB_CAP, neighbours=service.NEIGHBOURS_FOR_BOOST)
        self.gates: list[asyncio.Event] = []
        self.sizes: list[int] = []

    async def _query(self, principal: Principal, keys: list[str]) -> list[dict]:
        gate = asyncio.Event()
        self.gates.append(gate)
        self.sizes.append(len(keys))
        await gate.wait()
        return await super()._query(principal, keys)

    async def sent(self, lookups: int) -> None:
        for _ in range(1000):
            if len(self.gates) >= lookups:
                return
            await asyncio.sleep(0.001)
        raise AssertionError(f"{lookups} lookups expected, {len(self.gates)} sent")


async def test_two_lone_checks_run_side_by_side_and_a_shared_lookup_runs_alone(filed: Graph) -> None:
    """Two checks at a time get a lookup each; once a lookup answers several checks, the checks arriving meanwhile
    wait for it and share the next, rather than split between lookups running side by side."""
    shared, who = Gated(filed), member("ACME")
    phones = iter(PHONES)

    def ask() -> asyncio.Task[list[dict]]:
        keys = [key_of(next(phones))]
        return asyncio.create_task(shared.lookup(who, keys), name=keys[0])

    first = [ask(), ask()]
    await shared.sent(2)
    assert shared.sizes == [1, 1]  # a second lone check is not held behind the first
    waiting = [ask(), ask(), ask()]
    await asyncio.sleep(0.01)
    assert shared.sizes == [1, 1]  # two lookups running: the rest wait
    shared.gates[0].set()
    await shared.sent(3)
    assert shared.sizes == [1, 1, 3]  # beside a lone check's lookup, the waiting ones go as one
    later = [ask()]
    shared.gates[1].set()
    await first[1]
    later.append(ask())
    await asyncio.sleep(0.01)
    assert shared.sizes == [1, 1, 3]  # the shared lookup runs alone: the later checks wait for it
    shared.gates[2].set()
    await shared.sent(4)
    assert shared.sizes == [1, 1, 3, 2]
    shared.gates[3].set()
    for task in first + waiting + later:
        assert [row["key"] for row in await task] == [task.get_name()]
        assert await task == await alone(filed, who, [task.get_name()])
    assert shared.lookups == 4 and shared.checks == 7


async def test_callers_with_different_views_never_share_a_lookup(filed: Graph) -> None:
    shared = coalescer(filed)
    red = [key_of(RED_PHONE)]
    beta, acme = member("BETA"), member("ACME")
    answers = await asyncio.gather(*(shared.lookup(beta if n % 2 else acme, red) for n in range(20)))
    for n, rows in enumerate(answers):
        assert bool(rows[0]["reports"]) is bool(n % 2)  # only BETA, the filer, counts its RED lead


async def test_a_failed_lookup_fails_every_check_waiting_on_it(filed: Graph) -> None:
    shared = coalescer(filed)
    shared.neighbours = -1  # LIMIT -1 is refused by Neo4j: every lookup of this coalescer fails
    results = await asyncio.gather(*(shared.lookup(member("ACME"), [key_of(p)]) for p in PHONES[:10]), return_exceptions=True)
    assert all(isinstance(r, Exception) for r in results)
    shared.neighbours = service.NEIGHBOURS_FOR_BOOST  # and the coalescer keeps working afterwards
    assert (await shared.lookup(member("ACME"), [key_of(PHONES[0])]))[0]["known"]


async def test_a_large_call_is_looked_up_on_its_own(filed: Graph) -> None:
    """A call above direct_above does not wait for, or join, the small checks' shared lookups."""
    shared = coalescer(filed)
    keys = [key_of(f"1370000{n:04d}") for n in range(shared.direct_above + 1)]
    small = asyncio.create_task(shared.lookup(member("ACME"), [key_of(PHONES[0])]))
    rows = [row async for part in shared.parts(member("ACME"), keys) for row in part]
    assert sorted(r["key"] for r in rows) == sorted(keys) and not any(r["known"] for r in rows)
    assert (await small)[0]["known"]
    assert shared.lookups == 2 and shared.checks == 2


async def test_a_lookup_in_parts_answers_as_one_query_does(filed: Graph, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large lookup runs as concurrent parts (graph/checks.py PART_KEYS): one row per key, in the keys' order,
    the same rows as one query, the RED lead still hidden from a member who may not see it."""
    who = member("ACME")
    keys = [key_of(p) for p in PHONES] + [key_of(f"1370000{n:04d}") for n in range(15)] + [key_of(RED_PHONE)]
    whole = await alone(filed, who, keys)
    monkeypatch.setattr(repo, "PART_KEYS", 7)
    monkeypatch.setattr(repo, "PARTS_AT_ONCE", 3)
    parted = await alone(filed, who, keys)
    assert [row["key"] for row in parted] == keys
    assert parted == whole
    by_key = {row["key"]: row for row in parted}
    assert by_key[key_of(PHONES[5])]["reports"] and not by_key[key_of(RED_PHONE)]["reports"]
    assert not by_key[key_of("13700000003")]["known"]


async def test_lookup_parts_answers_each_part_once_with_the_rows_of_one_query(filed: Graph, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large check is judged a part at a time as Neo4j answers each (graph/checks.lookup_parts, through the
    coalescer's `parts`): every key's row exactly once, the same rows as one lookup, the RED lead still hidden."""
    who = member("ACME")
    keys = [key_of(p) for p in PHONES] + [key_of(f"1370000{n:04d}") for n in range(15)] + [key_of(RED_PHONE)]
    whole = {row["key"]: row for row in await alone(filed, who, keys)}
    monkeypatch.setattr(repo, "PART_KEYS", 7)
    monkeypatch.setattr(repo, "PARTS_AT_ONCE", 3)
    shared = coalescer(filed)
    shared.direct_above = 10
    parts = [rows async for rows in shared.parts(who, keys)]
    assert len(parts) == -(-len(keys) // 7) and all(1 <= len(rows) <= 7 for rows in parts)
    answered = [row["key"] for rows in parts for row in rows]
    assert sorted(answered) == sorted(keys)  # each key once
    assert {row["key"]: row for rows in parts for row in rows} == whole
    assert not whole[key_of(RED_PHONE)]["reports"] and whole[key_of(PHONES[5])]["reports"]
    assert shared.lookups == 1  # one call, however many parts
    small = [rows async for rows in shared.parts(who, keys[:3])]  # a small call: one part, through the coalescer
    assert small == [[whole[k] for k in keys[:3]]]


async def test_a_check_that_stops_reading_parts_leaves_nothing_running(filed: Graph, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repo, "PART_KEYS", 5)
    monkeypatch.setattr(repo, "PARTS_AT_ONCE", 2)
    keys = [key_of(f"1370000{n:04d}") for n in range(40)]
    before = asyncio.all_tasks()
    parts = repo.lookup_parts(filed, member("ACME"), keys, hub_cap=service.HUB_CAP, neighbours=service.NEIGHBOURS_FOR_BOOST)
    first = await anext(parts)
    assert len(first) == 5
    assert len(asyncio.all_tasks() - before) > 1  # the other parts were running or waiting
    await parts.aclose()
    await asyncio.sleep(0)
    assert asyncio.all_tasks() - before == set()
