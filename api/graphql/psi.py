"""Lead collision over GraphQL (issue 15): the overlap of the caller's leads with a peer node's, by PSI.

Private checks themselves are HTTP with protobuf bodies (api/psi_http.py, psi/client.py): the client must do
the blinding, which a GraphQL call from a browser cannot.
"""

from __future__ import annotations

import strawberry

from api.graphql.context import Info
from api.graphql.enums import Category, IndicatorType
from api.graphql.permissions import require
from psi.collision import collide_leads


@strawberry.input(description="Which of the caller's leads take part in a collision.")
class CollisionFilter:
    category: Category = strawberry.field(description="Only leads of this category (both sides use the same)")


@strawberry.type(description="One of the caller's own identifiers that the peer's list holds too.")
class CollidedIdentifier:
    type: IndicatorType
    masked: str


@strawberry.type(description="A lead collision: our list of N against the peer's list of M, K in both.")
class Collision:
    peer: str
    collision_id: str
    category: Category
    ours: int = strawberry.field(description="How many identifiers our list held (N)")
    theirs: int = strawberry.field(description="How many identifiers the peer's list held (M)")
    matched_count: int = strawberry.field(description="How many are in both (K)")
    matched: list[CollidedIdentifier]
    peer_recorded: bool = strawberry.field(description="Whether the peer confirmed recording the collision")


@strawberry.type
class PsiMutation:
    @strawberry.mutation(description="Collide the caller's member's leads of one category with a peer node's by "
                                     "private set intersection: each side learns the overlap only; both record it.")
    async def collide_leads(self, info: Info, peer: str, filter: CollisionFilter) -> Collision:
        principal = require(info, "collideLeads")
        runtime = info.context.runtime
        result = await collide_leads(info.context.reader(principal), runtime.federation, runtime.alliance_key, peer,
                                     Category(filter.category).value)
        return Collision(peer=result.peer, collision_id=result.collision_id, category=Category(result.category),
                         ours=result.ours, theirs=result.theirs, matched_count=len(result.matched),
                         matched=[CollidedIdentifier(type=IndicatorType(m["type"]), masked=m["masked"])
                                  for m in result.matched], peer_recorded=result.peer_recorded)
