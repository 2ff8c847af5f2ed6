"""One indicator over GraphQL, as the caller may see it: indicators/reads.py applies visibility and audits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from api.graphql.context import Info
from api.graphql.enums import Category, IdentifierKind, IndicatorStatus, IndicatorType, all_by_value, category_label
from api.graphql.identifiers import Attribute
from api.graphql.networks import NetworkSummary, network_summary
from api.graphql.permissions import require
from graph.members import to_native
from indicators.reads import read_indicator

ATTRIBUTES = ("region", "carrier", "phone_type", "province", "card_network", "platform", "vendor", "domain")


@strawberry.type(description="An indicator (graph label :Indicator) as you may see it: masked, derived attributes only.")
class Indicator:
    type: IndicatorType
    masked: str
    status: IndicatorStatus
    benign: bool
    benign_reason: str | None
    attributes: list[Attribute] = strawberry.field(description="Derived, non-identifying: region, carrier, phone type…")
    leads: int
    members: int
    categories: list[Category]
    category_labels: list[str]
    first_seen: datetime | None
    last_seen: datetime | None
    network: NetworkSummary | None


def _indicator(row: dict[str, Any]) -> Indicator:
    i = row["indicator"]
    categories = sorted(set(row["categories"]))
    return Indicator(
        type=IndicatorType(i["type"]), masked=i["masked"], status=IndicatorStatus(i.get("status") or "active"),
        benign=bool(i.get("benign")), benign_reason=i.get("benign_reason"),
        attributes=[Attribute(name=k, value=str(i[k])) for k in ATTRIBUTES if i.get(k)],
        leads=row["leads"], members=row["members"], categories=all_by_value(Category, categories),
        category_labels=[category_label(c) for c in categories], first_seen=to_native(row["first_seen"]),
        last_seen=to_native(row["last_seen"]), network=network_summary(row["network"]),
    )


@strawberry.type
class IndicatorQuery:
    @strawberry.field(description="What the alliance knows about one identifier, as you may see it (null: nothing you may see).")
    async def indicator(self, info: Info, type: IdentifierKind, value: str) -> Indicator | None:
        reader = info.context.reader(require(info, "indicator"))
        row = await read_indicator(reader, info.context.runtime.alliance_key, type.value, value)
        return _indicator(row) if row is not None else None
