"""A large check works in turns: other requests of the process run between them (check/service.py, TURN)."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from check import service
from check.service import IdentifierQuery, LeadQuery, LeadVerdict, Verdict
from tests.support import TEST_KEY


async def _interleaved(work: Callable[[], Awaitable[object]]) -> int:
    """How many times another task ran while `work` ran."""
    ran = 0
    finished = False

    async def other() -> None:
        nonlocal ran
        while not finished:
            ran += 1
            await asyncio.sleep(0)

    beside = asyncio.ensure_future(other())
    await asyncio.sleep(0)  # it starts
    started_at = ran
    try:
        await work()
        return ran - started_at
    finally:
        finished = True
        await beside


async def test_classifying_a_large_call_lets_other_tasks_run_every_turn() -> None:
    leads = [LeadQuery(ref=f"L{n}", identifiers=[IdentifierQuery("phone", f"138{n:08d}"), IdentifierQuery("phone", "12")])
             for n in range(service.TURN * 3 // 2)]  # 3 turns of identifiers, an invalid one in every lead

    results: list[tuple[list[LeadVerdict], dict[str, list[Verdict]]]] = []
    ran = await _interleaved(lambda: _keep(results, service.classify_leads(leads, TEST_KEY)))

    assert ran >= 2  # after the first and the second turn
    verdicts, pending = results[0]
    assert [v.ref for v in verdicts] == [lead.ref for lead in leads]  # in order, every lead, once
    assert all([x.status for x in v.verdicts] == [service.NO_RECORD, service.INVALID] for v in verdicts)
    assert len(pending) == len(leads)


async def test_a_small_call_is_classified_in_one_go() -> None:
    leads = [LeadQuery(ref="L", identifiers=[IdentifierQuery("phone", "13812345678")])]
    assert await _interleaved(lambda: service.classify_leads(leads, TEST_KEY)) == 0


async def test_shaping_a_large_answer_lets_other_tasks_run_every_turn() -> None:
    leads = [LeadVerdict(f"L{n}", [Verdict("phone", service.NO_RECORD)] * 4) for n in range(service.TURN)]

    shaped: list[list[str]] = []
    ran = await _interleaved(lambda: _keep(shaped, service.shaped_in_turns(leads, lambda lead: lead.ref)))

    assert ran >= 3  # 4 turns of identifiers
    assert shaped[0] == [lead.ref for lead in leads]


async def _keep(into: list, work: Awaitable[object]) -> None:
    into.append(await work)
