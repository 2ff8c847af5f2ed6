"""The hub's setup against the real graph: a refresh encrypts only what changed, and matching follows the graph."""

from __future__ import annotations

import asyncio
import gc
import itertools
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import AsyncIterator

import numpy as np
import private_set_intersection.python as psi
import pytest

from access import service
from audit.log import AuditLog
from core.principal import Principal, Role, cli_principal
from core.settings import Settings
from indicators import disputes
from jobs import housekeeping
from graph import matchability as feed
from graph import psi as repo
from graph.database import Graph
from ingest.pipeline import BatchRunner
from ingest.pseudonym import identify
from leads.retraction import retract
from psi.setup import SETUP_PRINCIPAL, PrivateSetup
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
    sizes = [s.size for s in setup.segments]
    assert sum(sizes) == 12 and sizes == sorted(sizes, reverse=True) and len(set(sizes)) == len(sizes)


async def test_a_full_refresh_reads_the_keys_a_page_at_a_time_and_misses_none(
        graph: Graph, runner: BatchRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    """At 1M leads one answer of every key held ~1 GB of driver records in the API process: the read is paged."""
    monkeypatch.setattr(repo, "PAGE_KEYS", 3)
    numbers = await file(runner, 10)
    audit = AuditLog(graph)
    await retract(graph, audit, BETA, lead_ids=[await lead_of(graph, numbers[4])], reason="filed in error")
    await audit.close()
    pages = [page async for page in repo.matchable_key_pages(graph, SETUP_PRINCIPAL)]
    keys = [key for page in pages for key in page]
    assert [len(page) for page in pages] == [3, 2, 3, 1]  # 10 indicators, 3 a page; the retracted one not matchable
    assert keys == sorted({identify(TEST_KEY, "phone", p).key for p in numbers if p != numbers[4]})  # type: ignore[union-attr]
    setup = PrivateSetup(graph)
    report = await setup.refresh()
    assert (report.read_keys, report.added) == (9, 9)
    assert matched(setup, numbers) == set(numbers) - {numbers[4]}


# -- targeted refreshes from the change feed (graph/matchability.py): no full read, no waiting for the full pass --

async def lead_of(graph: Graph, number: str) -> str:
    rows = await graph.read("MATCH (l:Lead)-[:NAMES]->(i:Indicator {key: $key}) RETURN l.id AS id",
                            {"key": identify(TEST_KEY, "phone", number).key})  # type: ignore[union-attr]
    return rows[0]["id"]


async def test_the_refresh_after_a_batch_reads_only_the_indicators_that_batch_names(graph: Graph, runner: BatchRunner) -> None:
    setup = PrivateSetup(graph)
    first = await file(runner, 12)
    await setup.refresh()
    second = await file(runner, 4)
    report = await setup.catch_up()
    assert (report.changes, report.read_keys, report.added, report.rebuilt_keys) == (1, 4, 4, 4)
    assert matched(setup, first + second) == set(first + second)
    again = await setup.catch_up()  # the entry, within the slack, is not read or applied again
    assert (again.changes, again.read_keys, again.rebuilt_keys) == (0, 0, 0)


async def test_a_catch_up_reads_each_feed_entry_once_and_one_committed_late_within_the_slack(
        graph: Graph, runner: BatchRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[int] = []  # how many entries each read of the feed brought back from Neo4j
    read = feed.changes_since

    async def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        now, entries = await read(*args, **kwargs)
        sent.append(len(entries))
        return now, entries

    monkeypatch.setattr(feed, "changes_since", counted)
    setup = PrivateSetup(graph)
    await setup.refresh()
    await file(runner, 2)
    first = await setup.catch_up()
    assert (sent[-1], first.changes, first.added) == (1, 1, 2)
    again = await setup.catch_up()  # the entry is within the slack of this read, and applied: not sent again
    assert (sent[-1], again.changes, again.read_keys) == (0, 0, 0)
    # A writer whose statement began before the last read and committed after it stamps its entry before the cursor.
    numbers = await file(runner, 3)
    await graph.write("MATCH (c:MatchabilityChange) WHERE c.batch_id IS NOT NULL WITH c ORDER BY c.at DESC LIMIT 1 "
                      "SET c.at = c.at - 5000")
    late = await setup.catch_up()
    assert (sent[-1], late.changes, late.added) == (1, 1, 3)
    assert matched(setup, numbers) == set(numbers)


async def test_the_refresh_after_a_large_batch_reads_it_a_window_of_lines_at_a_time(
        graph: Graph, runner: BatchRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repo, "PAGE_LINES", 2)
    setup = PrivateSetup(graph)
    await setup.refresh()
    numbers = [str(next(_phones)) for _ in range(7)]  # the last filed TLP:RED: never privately matchable
    leads = [{"category": "LOAN_INTERMEDIARY", "phone": p, "tlp": "AMBER", "confidence": "0.8"} for p in numbers]
    leads[-1]["tlp"] = "RED"
    assert (await runner.submit_leads(BETA, leads, idempotency_key=None)).batch["status"] == "committed"
    batch = (await graph.read("MATCH (l:Lead) RETURN DISTINCT l.batch_id AS id"))[0]["id"]
    keys = [identify(TEST_KEY, "phone", p).key for p in numbers]  # type: ignore[union-attr]
    pages = [split async for split in repo.batch_matchability(graph, SETUP_PRINCIPAL, batch)]
    assert len(pages) == 4  # 7 lines, a window of two at a time
    assert all(len(split.matchable) + len(split.unmatchable) <= 2 for split in pages)
    assert sorted(key for split in pages for key in split.matchable) == sorted(keys[:-1])
    assert [key for split in pages for key in split.unmatchable] == keys[-1:]
    report = await setup.catch_up()
    assert (report.changes, report.read_keys, report.added) == (1, 7, 6)
    assert matched(setup, numbers) == set(numbers[:-1])


async def test_a_retracted_lead_stops_matching_at_the_next_catch_up(graph: Graph, runner: BatchRunner) -> None:
    setup = PrivateSetup(graph)
    numbers = await file(runner, 6)
    await setup.refresh()
    audit = AuditLog(graph)
    await retract(graph, audit, BETA, lead_ids=[await lead_of(graph, numbers[0])], reason="filed in error")
    await audit.close()
    report = await setup.catch_up()
    assert (report.changes, report.read_keys, report.removed) == (1, 1, 1)
    assert matched(setup, numbers) == set(numbers[1:])
    late = await file(runner, 1)  # and a new lead matches at the next catch-up
    await setup.catch_up()
    assert matched(setup, numbers + late) == set(numbers[1:] + late)


async def test_an_upheld_dispute_stops_matching_and_a_rejected_one_does_not(graph: Graph, runner: BatchRunner) -> None:
    setup = PrivateSetup(graph)
    numbers = await file(runner, 3)
    await setup.refresh()
    audit = AuditLog(graph)
    analyst = Principal(id="key:beta-analyst", member_code="BETA", roles=frozenset({Role.ANALYST}))
    operator = Principal(id="key:ops", member_code="OPS", roles=frozenset({Role.OPERATOR}))
    for number, uphold in ((numbers[0], True), (numbers[1], False)):
        opened = await disputes.dispute(graph, audit, analyst, TEST_KEY, type="phone", value=number, reason="complaint")
        await disputes.resolve(graph, audit, operator, dispute_id=opened["id"], uphold=uphold, note=None)
    await audit.close()
    report = await setup.catch_up()
    assert (report.changes, report.read_keys, report.removed) == (2, 2, 1)
    assert matched(setup, numbers) == set(numbers[1:])


async def test_a_registered_hotline_stops_matching(graph: Graph, runner: BatchRunner) -> None:
    setup = PrivateSetup(graph)
    numbers = [f"400{n:07d}" for n in range(8196150, 8196152)]
    leads = [{"category": "LOAN_INTERMEDIARY", "phone": p, "tlp": "AMBER", "confidence": "0.8"} for p in numbers]
    await runner.submit_leads(BETA, leads, idempotency_key=None)
    await setup.refresh()
    assert matched(setup, numbers) == set(numbers)
    audit = AuditLog(graph)
    await service.register_hotline(graph, audit, cli_principal("test"), TEST_KEY, code="BETA", number=numbers[0])
    await audit.close()
    assert (await setup.catch_up()).removed == 1
    assert matched(setup, numbers) == {numbers[1]}


async def test_purged_leads_stop_matching(graph: Graph, runner: BatchRunner, settings: Settings) -> None:
    setup = PrivateSetup(graph)
    numbers = await file(runner, 3)
    await setup.refresh()
    audit = AuditLog(graph)
    later = datetime.now(timezone.utc) + timedelta(days=20 * 365)  # every lead is past retention then
    assert (await housekeeping.retention(graph, audit, settings, now=later))["purged_leads"] == 3
    await audit.close()
    report = await setup.catch_up()
    assert (report.read_keys, report.removed) == (3, 3)
    assert matched(setup, numbers) == set()


async def test_no_segment_grows_past_the_cap_so_a_removal_reencrypts_at_most_that(graph: Graph, runner: BatchRunner) -> None:
    setup = PrivateSetup(graph, max_segment_keys=5)
    numbers = await file(runner, 12)
    await setup.refresh()
    assert [s.size for s in setup.segments] == [5, 5, 2]
    audit = AuditLog(graph)
    before = {s.serial: s.size for s in setup.segments}
    await retract(graph, audit, BETA, lead_ids=[await lead_of(graph, numbers[0])], reason="filed in error")
    await audit.close()
    report = await setup.catch_up()
    after = {s.serial: s.size for s in setup.segments}
    gone, new = [k for k in before if k not in after], [k for k in after if k not in before]
    assert len(gone) == len(new) == 1  # only the segment that held the key is encrypted again, one key fewer
    assert report.removed == 1 and report.rebuilt_keys == after[new[0]] == before[gone[0]] - 1
    assert matched(setup, numbers) == set(numbers[1:])


async def test_the_setup_gives_the_garbage_collector_nothing_to_walk_per_key(graph: Graph, runner: BatchRunner) -> None:
    """Every full collection of Python's cyclic GC walks each element of every container it tracks. At 1M
    ingested rows (~2M keys) the setup's sets made each one ~0.4 s of the API's event loop. The keys must sit
    where the GC does not look: no tracked container the setup holds may grow with the number of keys."""
    setup = PrivateSetup(graph, max_segment_keys=100)
    await file(runner, 200)
    await setup.refresh()
    assert len(setup.keys()) == 200 and len(setup.segments) == 2
    reachable, todo, seen = [], [setup], set()
    while todo:  # everything the setup reaches from Python, not into the PSI library's own objects
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, (Graph, str, bytes, type, ModuleType)) or callable(obj):
            continue
        seen.add(id(obj))
        reachable.append(obj)
        todo.extend(gc.get_referents(obj))
    walked = [(type(o).__name__, len(gc.get_referents(o))) for o in reachable if gc.is_tracked(o)
              and len(gc.get_referents(o)) >= 50]  # a segment holds 100 keys; the setup's own fields are fewer
    assert not walked, walked


def _bookkeeping_bytes(setup: PrivateSetup) -> int:
    """Bytes of every Python object the setup reaches (arrays by their data), less the segments' served messages
    and the PSI library's own objects."""
    total, todo, seen = 0, [setup], set()
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, (Graph, type, ModuleType)) or callable(obj) \
                or type(obj).__module__.startswith("private_set_intersection"):
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            total += obj.nbytes
            continue
        if not (isinstance(obj, bytes) and any(obj is s.message for s in setup.segments)):
            total += sys.getsizeof(obj)
        todo.extend(gc.get_referents(obj))
    return total


async def test_the_setup_holds_each_key_in_about_forty_bytes(graph: Graph, runner: BatchRunner) -> None:
    """A key as a str in a dict per set cost the API process ~180 bytes (~350 MB at 1M ingested rows); as a record
    in the setup's arrays it costs 33 bytes, and 4 for the label of its segment."""
    setup = PrivateSetup(graph)
    await file(runner, 100)
    await setup.refresh()
    small = _bookkeeping_bytes(setup)
    await file(runner, 400)
    await setup.refresh()
    assert len(setup.keys()) == 500
    per_key = (_bookkeeping_bytes(setup) - small) / 400
    assert 37 <= per_key <= 40, per_key


async def test_new_keys_are_encrypted_on_a_thread_of_lower_cpu_priority(graph: Graph, runner: BatchRunner,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The encryption of a batch's keys gives way to the event loop: it runs on a thread niced by
    core/children.BACKGROUND_NICE below the API's (checks through the API waited 0.2-0.3 s while it ran at theirs)."""
    import os
    import threading

    from core.children import BACKGROUND_NICE

    seen: list[tuple[str, int]] = []
    build = PrivateSetup._build

    def recording(self: PrivateSetup, serial: int, records: np.ndarray):
        thread = threading.get_native_id()
        seen.append((threading.current_thread().name, os.getpriority(os.PRIO_PROCESS, thread)))
        return build(self, serial, records)

    monkeypatch.setattr(PrivateSetup, "_build", recording)
    setup = PrivateSetup(graph)
    numbers = await file(runner, 6)
    assert (await setup.refresh()).rebuilt_keys == 6
    loop_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert seen and all(name.startswith("psi-encrypt") for name, _ in seen), seen
    assert {nice for _, nice in seen} == {min(19, loop_nice + BACKGROUND_NICE)}, (seen, loop_nice)
    assert loop_nice < 19  # else the priorities could not differ and this test would say nothing
    assert matched(setup, numbers) == set(numbers)  # what it built still answers
