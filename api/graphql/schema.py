"""The GraphQL schema: every type and field the API exposes. schema.graphql is exported from here."""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig

from api.graphql.context import Info
from api.graphql.errors import ErrorCodes
from api.graphql.identifiers import NormalizedIdentifier, normalize_identifier
from config.settings import Settings


@strawberry.type(description="Reachability of the intelligence graph.")
class Health:
    ok: bool
    neo4j_version: str | None
    migrations_applied: bool


@strawberry.type
class Query:
    @strawberry.field(description="Is the platform able to answer? Same facts as GET /healthz.")
    async def health(self, info: Info) -> Health:
        runtime = info.context.runtime
        version = await runtime.graph.server_version()
        return Health(ok=runtime.migrated.is_set(), neo4j_version=version, migrations_applied=runtime.migrated.is_set())

    @strawberry.field(description="Normalize one raw identifier by the alliance's rules (nothing is stored).")
    def normalize(self, type: str, value: str) -> NormalizedIdentifier:
        return normalize_identifier(type, value)


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        extensions=[ErrorCodes],
        config=StrawberryConfig(auto_camel_case=True),
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
