"""Checks: what does the alliance know about a loan applicant's identifiers, and how sure is it?

Raw values are normalized and hashed in memory; only keyed hashes reach Neo4j, the audit trail and logs.
One query answers every identifier of the call (graph/checks.py); scoring is check/scoring.py.
"""

from __future__ import annotations

import asyncio
import hashlib
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Callable, Iterable, Sequence, TypeVar

from audit.reader import Reader
from check import scoring
from check.coalesce import Coalescer
from core.errors import BadInput
from core.principal import Principal
from graph import checks as repo
from graph.database import Graph
from ingest.identifiers import Invalid
from ingest.pseudonym import AllianceKey, identify, mask
from networks.linking import PAIR_DEGREE_CAP

MAX_IDENTIFIERS = 10_000
# A large call is worked through in turns of this many identifiers, and gives the event loop back between turns, so
# that the checks arriving meanwhile are answered in between: normalizing and hashing 10,000 identifiers takes ~80 ms
# of Python, and their answer as JSON 25-95 ms, in which every other request of the process waited. Beside six
# 10,000-identifier `POST /v1/checks`, the API's loop came back > 0.1 s late 6-9 times before, and not once in turns
# (bench/beside_bulk.py; bench/README.md, 7 Dec 2026). A turn is ~10 ms.
TURN = 1_000
NEIGHBOURS_FOR_BOOST = 5
HUB_CAP = PAIR_DEGREE_CAP  # named by more leads the caller counts, an indicator neither seeks nor lends a boost

NO_RECORD, ACTIVE, DISPUTED, RETRACTED, EXPIRED, BENIGN, INVALID = (
    "no_record", "active", "disputed", "retracted", "expired", "benign", "invalid")


@dataclass(frozen=True)
class IdentifierQuery:
    type: str
    value: str


@dataclass(frozen=True)
class LeadQuery:
    ref: str
    identifiers: Sequence[IdentifierQuery]


@dataclass
class Verdict:
    input_type: str
    status: str
    reason: str | None = None
    type: str | None = None
    masked: str | None = None
    score: scoring.Score | None = None
    network: dict[str, Any] | None = None

    @property
    def points(self) -> int:
        return self.score.score if self.score and self.status in (ACTIVE, DISPUTED) else 0


@dataclass
class LeadVerdict:
    ref: str
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def score(self) -> int:
        """The lead's score is its most damning identifier's: explainable, and one bad phone is enough."""
        return max((v.points for v in self.verdicts), default=0)

    @property
    def level(self) -> str:
        return scoring.level_of(self.score)


def shared_lookups(graph: Graph) -> Coalescer:
    """The process's coalescer: concurrent checks share one lookup (check/coalesce.py)."""
    return Coalescer(graph, hub_cap=HUB_CAP, neighbours=NEIGHBOURS_FOR_BOOST)


Lookup = Callable[[Principal, list[str]], AsyncIterator[list[dict[str, Any]]]]


async def check_leads(
    reader: Reader, alliance_key: AllianceKey, leads: Sequence[LeadQuery], *, now: datetime | None = None,
    lookup: Lookup | None = None,
) -> list[LeadVerdict]:
    """`lookup`: how the keys are looked up, as row lists a part at a time (the runtime's
    check/coalesce.Coalescer.parts shares queries between concurrent checks); by default graph/checks.py's parts
    for this call. Each part is judged as it arrives, while Neo4j answers the next."""
    results, pending = await classify_leads(leads, alliance_key)
    if pending:
        keys, now = list(pending), now or datetime.now(timezone.utc)
        parts = lookup(reader.principal, keys) if lookup is not None else repo.lookup_parts(
            reader.graph, reader.principal, keys, hub_cap=HUB_CAP, neighbours=NEIGHBOURS_FOR_BOOST)
        bases: dict[str, float] = {}
        async with aclosing(parts):
            async for rows in parts:
                judge_rows(pending, rows, now, bases)
    total = sum(len(lead.identifiers) for lead in leads)
    reader.record("check", subject=list(pending), detail=f"leads={len(leads)} identifiers={total}")
    return results


async def classify_leads(leads: Sequence[LeadQuery], alliance_key: AllianceKey) -> tuple[list[LeadVerdict], dict[str, list[Verdict]]]:
    """A verdict per identifier (invalid and benign ones already decided), and the verdicts waiting on each key."""
    total = sum(len(lead.identifiers) for lead in leads)
    if total > MAX_IDENTIFIERS:
        raise BadInput(f"a check accepts at most {MAX_IDENTIFIERS} identifiers per call (got {total}); split the call")
    results = [LeadVerdict(lead.ref) for lead in leads]
    pending: dict[str, list[Verdict]] = {}
    turn = 0
    for result, lead in zip(results, leads):
        for identifier in lead.identifiers:
            verdict, key = classify(identifier, alliance_key)
            result.verdicts.append(verdict)
            if key is not None:
                pending.setdefault(key, []).append(verdict)
            turn += 1
            if turn == TURN:
                turn = 0
                await asyncio.sleep(0)
    return results, pending


Shaped = TypeVar("Shaped")


async def shaped_in_turns(leads: Sequence[LeadVerdict], shape: Callable[[LeadVerdict], Shaped]) -> list[Shaped]:
    """`shape` of every lead's verdicts (an answer's JSON, GraphQL's types), giving the event loop back every turn."""
    shaped: list[Shaped] = []
    turn = 0
    for lead in leads:
        shaped.append(shape(lead))
        turn += len(lead.verdicts)
        if turn >= TURN:
            turn = 0
            await asyncio.sleep(0)
    return shaped


def judge_rows(pending: dict[str, list[Verdict]], rows: Iterable[dict[str, Any]], now: datetime,
               neighbour_bases: dict[str, float] | None = None) -> None:
    """Decide the waiting verdicts from lookup rows (local ones, or local ones merged with peers' answers).
    `neighbour_bases`: the neighbours' bases already computed in this call (one call's parts share it)."""
    bases = neighbour_bases if neighbour_bases is not None else {}
    for row in rows:
        for verdict in pending[row["key"]]:
            judge(verdict, row, now, bases)


def classify(identifier: IdentifierQuery, alliance_key: AllianceKey) -> tuple[Verdict, str | None]:
    result = identify(alliance_key, identifier.type, identifier.value)
    if isinstance(result, Invalid):
        status = BENIGN if result.benign else INVALID
        return Verdict(input_type=identifier.type, status=status, reason=result.reason), None
    normalized = result.normalized
    return Verdict(input_type=identifier.type, status=NO_RECORD, type=normalized.type.value, masked=mask(normalized)), result.key


def judge(verdict: Verdict, row: dict[str, Any], now: datetime, neighbour_bases: dict[str, float] | None = None) -> None:
    if row["benign"]:
        verdict.status, verdict.reason = BENIGN, row["benign_reason"] or "a known benign number"
        return
    if not row["known"] or not row["reports"]:
        return  # no record, or nothing the caller may see
    if row["status"] == "retracted":
        verdict.status, verdict.reason = RETRACTED, "an operator upheld a dispute: this identifier no longer matches"
        return
    reports = [_report(r, row["key"]) for r in row["reports"]]
    bases = neighbour_bases if neighbour_bases is not None else {}
    neighbour_scores = [_neighbour_base(n, now, bases) for n in row.get("neighbours") or [] if n["reports"]]
    verdict.score = scoring.score(reports, now=now, neighbour_scores=neighbour_scores)
    verdict.network = row.get("network")
    if row["status"] == "disputed":
        verdict.status, verdict.reason = DISPUTED, "a member disputes this listing; an operator is reviewing it"
    elif verdict.score.expired:
        verdict.status = EXPIRED
    else:
        verdict.status = ACTIVE


def _neighbour_base(neighbour: dict[str, Any], now: datetime, bases: dict[str, float]) -> float:
    """A neighbour's base (scoring.base of its visible aggregates) straight from its lookup rows (lists in the order
    of graph/checks.NEIGHBOUR_REPORT), without a Report and three datetimes per aggregate, and once per neighbour
    and call (the benchmark's 10,000 random phones name ~14,000 neighbours, 8 % of them twice; a gang's applications
    share more). Neighbours are this node's rows (graph/checks.py; a federated merge adds peers' reports to the
    checked keys only), so a member's code identifies it as its member_ref would."""
    key = neighbour["key"]
    found = bases.get(key)
    if found is None:
        now_micros = scoring.micros(now)
        found = bases[key] = scoring.base_of(
            (member, scoring.weight(category, reliability,
                                    max_confidence, scoring.age_days_since(now_micros, max_confidence_at),
                                    last_confidence, scoring.age_days_since(now_micros, last_seen)))
            for member, category, reliability, max_confidence, max_confidence_at, last_confidence, last_seen
            in neighbour["reports"])
    return found


def _report(row: dict[str, Any], key: str) -> scoring.Report:
    """One visible aggregate (or a peer's report, which carries its member_ref and node); `named`
    (graph/visibility.reported_named, or a peer's attribution) says whether the caller may know its member."""
    return scoring.Report(
        member_code=row["member_code"] if row["named"] else None,
        member_ref=row.get("member_ref") or member_ref(row["member_code"], key), node=row.get("node"),
        category=row["category"], tlp=row["tlp"], leads=row["leads"],
        max_confidence=row["max_confidence"], max_confidence_at=_from_millis(row["max_confidence_at"]),
        last_confidence=row["last_confidence"], last_seen=_from_millis(row["last_seen"]),
        first_seen=_from_millis(row["first_seen"]), reliability=row["reliability"],
    )


def member_ref(member_code: str, key: str) -> str:
    """Stable within one identifier, different across identifiers: a hidden filer counts once but cannot be tracked."""
    return hashlib.sha256(f"{member_code}|{key}".encode()).hexdigest()[:10]


def _from_millis(millis: int) -> datetime:
    """graph/checks.py returns times as epoch milliseconds (cheap to decode, unlike driver DateTimes)."""
    return datetime.fromtimestamp(millis / 1000, timezone.utc)
