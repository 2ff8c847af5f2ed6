"""Disputes over GraphQL: a member disputes an identifier (a consumer complained), an operator rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from api.graphql.context import Info
from api.graphql.enums import DisputeStatus, IdentifierKind, IndicatorType
from api.graphql.permissions import require
from graph.members import to_native
from indicators import disputes as flows


@strawberry.type(description="A member's dispute (graph label :Dispute) of an identifier: a consumer complained.")
class Dispute:
    id: str
    member_code: str = strawberry.field(description="The disputing member")
    type: IndicatorType
    masked: str
    reason: str
    status: DisputeStatus
    created_at: datetime | None
    resolved_at: datetime | None
    resolution_note: str | None


def _dispute(row: dict[str, Any]) -> Dispute:
    return Dispute(id=row["id"], member_code=row["member_code"], type=IndicatorType(row["type"]), masked=row["masked"],
                   reason=row["reason"], status=DisputeStatus(row["status"]), created_at=to_native(row.get("created_at")),
                   resolved_at=to_native(row.get("resolved_at")), resolution_note=row.get("resolution_note"))


@strawberry.type
class DisputeQuery:
    @strawberry.field(description="Disputes: your member's, or all for operators.")
    async def disputes(self, info: Info, status: DisputeStatus | None = None, first: int = 50) -> list[Dispute]:
        reader = info.context.reader(require(info, "disputes"))
        rows = await flows.list_disputes(reader, status=status.value if status else None, first=first)
        return [_dispute(row) for row in rows]


@strawberry.type
class DisputeMutation:
    @strawberry.mutation(description="Dispute an identifier you may see (a consumer complained); checks show it as disputed until an operator rules.")
    async def dispute_indicator(self, info: Info, type: IdentifierKind, value: str, reason: str) -> Dispute:
        principal = require(info, "disputeIndicator")
        runtime = info.context.runtime
        return _dispute(await flows.dispute(runtime.graph, runtime.audit, principal, runtime.alliance_key,
                                            type=type.value, value=value, reason=reason, request_id=info.context.request_id))

    @strawberry.mutation(description="Rule on a dispute: uphold (the identifier stops matching; kept for audit) or reject.")
    async def resolve_dispute(self, info: Info, id: str, uphold: bool, note: str | None = None) -> Dispute:
        principal = require(info, "resolveDispute")
        runtime = info.context.runtime
        return _dispute(await flows.resolve(runtime.graph, runtime.audit, principal, dispute_id=id, uphold=uphold,
                                            note=note, request_id=info.context.request_id))
