"""Timed jobs of escalation: the daily digest per jurisdiction of new and changed cases.

`daily_digest` is a plain async function; the default housekeeping job `housekeeping-escalation-digest`
(jobs/housekeeping.py) runs it once a day, shortly after midnight China time, for the day before; the CLI
(`fenghuo escalations digest`) and the operators' GraphQL mutation call it too.
Running it twice for one day rewrites that day's digests: nothing is duplicated.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from escalation.jurisdictions import covering_codes
from graph import escalations as repo
from graph.database import Graph

CHINA = timezone(timedelta(hours=8))


async def daily_digest(runtime_or_graph: Any, day: date | None = None) -> list[dict[str, Any]]:
    """Digests of `day` (China time; default yesterday), one per jurisdiction with new or changed cases — a
    prefecture's cases also count for its province. Returns what was stored."""
    graph: Graph = getattr(runtime_or_graph, "graph", runtime_or_graph)
    day = day or (datetime.now(CHINA).date() - timedelta(days=1))
    since = datetime.combine(day, time.min, CHINA)
    cases = await repo.changed_cases(graph, since, since + timedelta(days=1))
    by_code: dict[str, list[dict[str, Any]]] = {}
    for case in cases:
        for code in covering_codes(case["jurisdiction_code"]):
            by_code.setdefault(code, []).append(case)
    stored = []
    for code, listed in sorted(by_code.items()):
        new = [c for c in listed if c["created_at"] >= since]
        digest = {
            "id": f"{code}-{day.isoformat()}", "code": code, "day": day, "new_cases": len(new),
            "changed_cases": len(listed) - len(new),
            "cases_json": json.dumps([{"id": c["id"], "number": c["number"], "title": c["title"], "status": c["status"],
                                       "new": c in new} for c in listed], ensure_ascii=False),
        }
        await repo.save_digest(graph, **digest)
        stored.append(digest)
    return stored
