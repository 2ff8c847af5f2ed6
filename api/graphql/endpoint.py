"""Strawberry's ASGI app at /graphql (GraphiQL on GET), with our context.

GraphiQL is Strawberry's page with every script and stylesheet served by the app itself from
api/static/graphiql/ (see its README): member firms and police work on closed networks.

A plain JSON POST of one operation (what every client and risk engine sends) takes a short path to Strawberry's
`schema.execute`, with the same context, result processing and response as Strawberry's view; anything else
(GET, GraphiQL, multipart uploads, batches, streaming transports, a malformed body) goes through Strawberry's view
unchanged. Strawberry's view spent about as long working out what kind of request it had as executing
`{ __typename }`. A document that passed validation before is executed by api/graphql/pipeline.execute_known.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from api.graphql.context import Context
from api.graphql.pipeline import execute_known
from api.graphql.schema import build_schema
from api.responses import json_bytes
from core.settings import Settings


GRAPHIQL_DIR = Path(__file__).resolve().parent.parent / "static" / "graphiql"
GRAPHIQL_ASSETS_PATH = "/static/graphiql"


POST_OPERATIONS = OperationType.from_http("POST")  # what Strawberry allows over POST
STREAMING_ACCEPT = ("multipart/mixed", "text/event-stream")  # incremental delivery and SSE: Strawberry's view


class FenghuoGraphQL(GraphQL[Context, None]):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not _plain_json(scope):
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        body = await request.body()
        operation = _operation(body)
        if operation is NOT_AN_OBJECT:  # Strawberry's view would fail with a 500 here
            await PlainTextResponse('The request body must be a JSON object: {"query": "...", "variables": {...}}',
                                    status_code=400)(scope, receive, send)
            return
        if operation is None:  # not one well-formed operation: Strawberry's view answers, from the same body
            await super().__call__(scope, _replay(body), send)
            return
        response = await self._execute_post(request, *operation)
        await response(scope, receive, send)

    async def _execute_post(self, request: Request, query: str, variables: dict[str, Any] | None,
                            operation_name: str | None, extensions: dict[str, Any] | None) -> Response:
        """Strawberry's AsyncBaseHTTPView.run and execute_single for one JSON operation, without its request
        sniffing: the same context, status codes, error bodies and response."""
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, sub_response)
        try:
            result = await execute_known(self.schema, query, variables, operation_name, context, extensions)
            if result is None:
                result = await self.schema.execute(
                    query, variable_values=variables, context_value=context, root_value=None,
                    operation_name=operation_name, allowed_operation_types=POST_OPERATIONS,
                    operation_extensions=extensions,
                )
        except CannotGetOperationTypeError as error:
            return PlainTextResponse(error.as_http_error_reason(), status_code=400)
        except InvalidOperationTypeError as error:
            return PlainTextResponse(error.as_http_error_reason("POST"), status_code=400)
        except MissingQueryError:
            return PlainTextResponse("No GraphQL query found in the request", status_code=400)
        data = await self.process_result(request, result)
        if result.errors:
            self._handle_errors(result.errors, data)
        return self.create_response(data, sub_response)

    def encode_json(self, data: object) -> bytes:
        """Answers as api/responses.json_bytes writes them (Strawberry's multipart transport decodes them to text;
        /graphql is an HTTP route, so no WebSocket transport is served that would send them as binary frames)."""
        return json_bytes(data)

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


def _plain_json(scope: Scope) -> bool:
    content_type = accept = ""
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value.decode("latin-1")
        elif name == b"accept":
            accept = value.decode("latin-1")
    return (content_type.split(";")[0].strip().lower() == "application/json"
            and not any(kind in accept for kind in STREAMING_ACCEPT))


NOT_AN_OBJECT = ()


def _operation(body: bytes) -> tuple[str, dict[str, Any] | None, str | None, dict[str, Any] | None] | tuple[()] | None:
    """(query, variables, operationName, extensions) of a body holding one operation of the expected shapes;
    NOT_AN_OBJECT for JSON that is neither an operation nor a batch (a list); None for anything else."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, list):
        return None
    if not isinstance(data, dict):
        return NOT_AN_OBJECT
    query, variables = data.get("query"), data.get("variables")
    name, extensions = data.get("operationName"), data.get("extensions")
    if (not isinstance(query, str) or not isinstance(variables, (dict, type(None)))
            or not isinstance(name, (str, type(None))) or not isinstance(extensions, (dict, type(None)))):
        return None
    return query, variables, name, extensions


def _replay(body: bytes) -> Receive:
    """A receive that hands over a body already read, then reports the client gone."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
