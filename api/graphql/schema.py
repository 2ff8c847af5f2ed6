"""The GraphQL schema: every type and field the API exposes. schema.graphql is exported from here."""

from __future__ import annotations

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from api.graphql.admin import AdminMutation, AdminQuery
from api.graphql.batches import BatchMutation, BatchQuery
from api.graphql.checks import CheckQuery
from api.graphql.context import Info
from api.graphql.disputes import DisputeMutation, DisputeQuery
from api.graphql.enums import IdentifierKind
from api.graphql.escalations import EscalationMutation, EscalationQuery
from api.graphql.identifiers import NormalizedIdentifier, normalize_identifier
from api.graphql.indicators import IndicatorQuery
from api.graphql.jobs import JobMutation, JobQuery
from api.graphql.leads import LeadMutation, LeadQuery
from api.graphql.networks import NetworkQuery
from api.graphql.permissions import require
from api.graphql.pipeline import Executor, pipeline
from api.graphql.peers import PeerMutation, PeerQuery
from api.graphql.psi import PsiMutation  # lead collision (issue 15)
from core.settings import Settings


@strawberry.type(description="Reachability of the intelligence graph.")
class Health:
    ok: bool
    neo4j_version: str | None
    migrations_applied: bool


@strawberry.type
class CoreQuery:
    @strawberry.field(description="Is the platform able to answer? Same facts as GET /healthz.")
    async def health(self, info: Info) -> Health:
        runtime = info.context.runtime
        version = await runtime.graph.server_version()
        return Health(ok=runtime.migrated.is_set(), neo4j_version=version, migrations_applied=runtime.migrated.is_set())

    @strawberry.field(description="Normalize one raw identifier by the alliance's rules (nothing is stored).")
    def normalize(self, info: Info, type: IdentifierKind, value: str) -> NormalizedIdentifier:
        require(info, "normalize")
        return normalize_identifier(type, value)


Query = merge_types("Query", (CoreQuery, AdminQuery, BatchQuery, CheckQuery, IndicatorQuery, LeadQuery, DisputeQuery,
                              NetworkQuery, EscalationQuery, PeerQuery, JobQuery))
Mutation = merge_types("Mutation", (AdminMutation, BatchMutation, LeadMutation, DisputeMutation, EscalationMutation,
                                    PeerMutation, JobMutation, PsiMutation))


class FenghuoSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:  # type: ignore[override]
        """Strawberry would log every error with its message; api/graphql/errors.py logs internal ones without values."""


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings(_env_file=None)
    # The limiters' validation rules are built here, once: each limiter builds a new rule class in its constructor.
    # Parsing, validation (once per document), error codes and metrics: one extension (api/graphql/pipeline.py).
    rules = [*QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
             *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules]
    if not settings.graphql_introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    extensions: list = [pipeline(settings.graphql_max_tokens, rules)]
    return FenghuoSchema(
        query=Query, mutation=Mutation, extensions=extensions, config=StrawberryConfig(auto_camel_case=True),
        execution_context_class=Executor,
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
