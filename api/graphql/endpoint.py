"""Strawberry's ASGI app at /graphql (GraphiQL on GET), with our context.

GraphiQL is Strawberry's page with every script and stylesheet served by the app itself from
api/static/graphiql/ (see its README): member firms and police work on closed networks.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from strawberry.asgi import GraphQL

from api.graphql.context import Context
from api.graphql.schema import build_schema
from core.settings import Settings


GRAPHIQL_DIR = Path(__file__).resolve().parent.parent / "static" / "graphiql"
GRAPHIQL_ASSETS_PATH = "/static/graphiql"


class FenghuoGraphQL(GraphQL[Context, None]):
    @cached_property
    def graphql_ide_html(self) -> str:  # type: ignore[override]
        return (GRAPHIQL_DIR / "index.html").read_text(encoding="utf-8")

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
