"""The operators' audit trail search: each filter narrows to exactly its records, newest first, and the search reads
an index instead of every record (the trail grows by one record per check)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from audit import trail
from audit.log import AuditLog
from audit.reader import Reader
from core.principal import Principal, Role
from graph import audit as repo
from graph.database import Graph

OPERATOR = Principal(id="key:operator", member_code="HUB", roles=frozenset({Role.OPERATOR}))
ANALYST = Principal(id="key:analyst", member_code="ACME", roles=frozenset({Role.ANALYST}))
OTHER = Principal(id="key:other", member_code="BETA", roles=frozenset({Role.ANALYST}))


async def _trail_of_three_moments(graph: Graph) -> tuple[AuditLog, list[datetime]]:
    """Records made in three moments; the instants between them are returned as window boundaries."""
    audit = AuditLog(graph)
    boundaries = []
    for moment in range(3):
        audit.record(ANALYST, "check", subject=[f"k{moment}a"], request_id=f"m{moment}-acme-check")
        audit.record(ANALYST, "lead.read", subject=[f"k{moment}b"], request_id=f"m{moment}-acme-lead")
        audit.record(OTHER, "check", subject=[f"k{moment}c"], request_id=f"m{moment}-beta-check")
        await audit.flush()
        await asyncio.sleep(0.002)
        boundaries.append(datetime.now(timezone.utc))
        await asyncio.sleep(0.002)
    return audit, boundaries


async def _ids(audit: AuditLog, graph: Graph, **filters: object) -> list[str]:
    rows = await trail.search(Reader(graph, audit, OPERATOR), **filters)  # type: ignore[arg-type]
    return [row["request_id"] for row in rows if row["action"] != "audit.read"]


async def test_each_filter_narrows_the_trail_to_its_records_newest_first(graph: Graph) -> None:
    audit, (first, second, _) = await _trail_of_three_moments(graph)

    assert await _ids(audit, graph, member_code="BETA") == ["m2-beta-check", "m1-beta-check", "m0-beta-check"]
    assert await _ids(audit, graph, principal_id="key:analyst", action="lead.read") == [
        "m2-acme-lead", "m1-acme-lead", "m0-acme-lead"]
    assert await _ids(audit, graph, action="check", member_code="ACME", since=first) == [
        "m2-acme-check", "m1-acme-check"]
    assert await _ids(audit, graph, since=first, until=second) == [
        "m1-beta-check", "m1-acme-lead", "m1-acme-check"]
    assert await _ids(audit, graph, member_code="NOBODY") == []


async def test_pages_follow_each_other_with_before_seq(graph: Graph) -> None:
    audit, _ = await _trail_of_three_moments(graph)
    reader = Reader(graph, audit, OPERATOR)
    page = await trail.search(reader, action="check", first=2)
    assert [row["request_id"] for row in page] == ["m2-beta-check", "m2-acme-check"]
    following = await trail.search(reader, action="check", first=2, before_seq=page[-1]["seq"])
    assert [row["request_id"] for row in following] == ["m1-beta-check", "m1-acme-check"]


async def test_a_search_reads_the_newest_records_off_an_index_not_the_whole_trail(graph: Graph) -> None:
    audit = AuditLog(graph)
    for n in range(3000):
        audit.record(ANALYST if n % 3 else OTHER, "check", subject=[f"k{n}"], request_id=f"r{n}")
    await audit.flush()
    await graph.write("CALL db.awaitIndexes(60)")
    newest = await _plan(graph, repo.search_query({}), {"limit": 20, "vis": {"operator": True}})
    # the newest 20 read off the seq index in order (~12 property reads each), not the 3,000 records (6,000+)
    assert newest["db_hits"] < 1000 and "Limit" in newest["operators"], newest
    for filters in ({"member_code": "BETA"}, {"action": "check", "principal_id": "key:analyst"},
                    {"since": "2026-01-01T00:00:00", "until": "2099-01-01T00:00:00"}):
        params = {**dict.fromkeys(repo.SEARCH_FILTERS), **filters, "limit": 20, "vis": {"operator": True}}
        plan = await _plan(graph, repo.search_query(filters), params)
        assert "NodeByLabelScan" not in plan["operators"], (filters, plan["operators"])


async def _plan(graph: Graph, query: str, params: dict[str, object]) -> dict[str, object]:
    async with graph.driver.session(database=graph.database) as session:
        profile = (await (await session.run("PROFILE " + query, params)).consume()).profile
    operators: list[str] = []
    hits = 0

    def walk(step: dict) -> None:
        nonlocal hits
        operators.append(step["operatorType"].split("@")[0])
        hits += step.get("dbHits", 0)
        for child in step.get("children", []):
            walk(child)

    walk(profile)
    return {"operators": operators, "db_hits": hits}
