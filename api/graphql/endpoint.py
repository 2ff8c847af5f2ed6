"""Strawberry's ASGI app at /graphql (GraphiQL on GET), with our context."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from strawberry.asgi import GraphQL

from api.graphql.context import Context
from api.graphql.schema import build_schema
from core.settings import Settings


class FenghuoGraphQL(GraphQL[Context, None]):
    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        return Context(
            runtime=request.app.state.runtime, request=request, response=response,
            principal=request.scope.get("principal"), request_id=request.scope.get("request_id", ""),
        )


def graphql_app(settings: Settings) -> FenghuoGraphQL:
    return FenghuoGraphQL(
        build_schema(settings), graphql_ide="graphiql" if settings.graphql_introspection else None,
        multipart_uploads_enabled=True,
    )
