"""Leads over GraphQL: one lead, your member's leads (a Relay connection), and retracting your own."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import strawberry

from api.graphql.context import Info
from api.graphql.enums import Category, IndicatorType, LeadStatus, Tlp, category_label
from api.graphql.permissions import require
from core.errors import BadInput, NotFound
from graph.members import to_native
from leads import reads
from leads.retraction import retract


@strawberry.type
class LeadIndicator:
    type: IndicatorType
    masked: str


@strawberry.type(description="A lead (graph label :Lead) you may read.")
class Lead:
    id: str
    category: Category
    category_label: str
    observed_at: datetime
    confidence: float
    tlp: Tlp
    agent: str | None
    note: str | None
    reference: str | None
    status: LeadStatus
    batch_id: str
    filer: str | None = strawberry.field(description="The filing member, when you may know it")
    network_id: str | None
    indicators: list[LeadIndicator]


@strawberry.type
class LeadEdge:
    cursor: str
    node: Lead


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class LeadConnection:
    edges: list[LeadEdge]
    page_info: PageInfo


def _lead(row: dict[str, Any]) -> Lead:
    return Lead(
        id=row["id"], category=Category(row["category"]), category_label=category_label(row["category"]),
        observed_at=to_native(row["observed_at"]), confidence=row["confidence"], tlp=Tlp(row["tlp"]),
        agent=row.get("agent"), note=row.get("note"), reference=row.get("reference"), status=LeadStatus(row["status"]),
        batch_id=row["batch_id"], filer=row.get("filer"), network_id=row.get("network_id"),
        indicators=[LeadIndicator(type=IndicatorType(i["type"]), masked=i["masked"]) for i in row["indicators"]],
    )


def encode_cursor(row: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(f"{to_native(row['created_at']).isoformat()}|{row['id']}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, lead_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(created), lead_id
    except (ValueError, UnicodeDecodeError):
        raise BadInput("after is not a cursor returned by leads(); pass pageInfo.endCursor", field="after") from None


@strawberry.type
class LeadQuery:
    @strawberry.field(description="One lead you may read.")
    async def lead(self, info: Info, id: str) -> Lead:
        row = await reads.read_lead(info.context.reader(require(info, "lead")), id)
        if row is None:
            raise NotFound(f"no lead {id} visible to you")
        return _lead(row)

    @strawberry.field(description="Your member's leads, newest first (Relay connection).")
    async def leads(
        self, info: Info, first: int = 50, after: str | None = None, category: str | None = None,
        batch_id: str | None = None, agent: str | None = None,
        observed_from: datetime | None = None, observed_to: datetime | None = None,
    ) -> LeadConnection:
        reader = info.context.reader(require(info, "leads"))
        first = max(1, min(first, 500))
        rows = await reads.own_leads(
            reader, first=first + 1, after=decode_cursor(after) if after else None,
            category=category, batch_id=batch_id, agent=agent, observed_from=observed_from, observed_to=observed_to)
        edges = [LeadEdge(cursor=encode_cursor(row), node=_lead(row)) for row in rows[:first]]
        return LeadConnection(edges=edges, page_info=PageInfo(has_next_page=len(rows) > first,
                                                              end_cursor=edges[-1].cursor if edges else None))


@strawberry.type
class LeadMutation:
    @strawberry.mutation(description="Retract your member's own leads; they stop contributing at once (kept for audit).")
    async def retract_leads(self, info: Info, ids: list[str], reason: str) -> list[str]:
        principal = require(info, "retractLeads")
        runtime = info.context.runtime
        return await retract(runtime.graph, runtime.audit, principal, lead_ids=ids, reason=reason,
                             request_id=info.context.request_id)
