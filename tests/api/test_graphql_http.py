"""The short path for a JSON POST (api/graphql/endpoint.py) answers exactly as Strawberry's own view would.

Each request goes to the product's /graphql view twice, in process: once as the product serves it, once through
Strawberry's GraphQL.__call__ on the same view object (same schema, context and settings), and the two answers
must be byte-identical: status, content type and body.
"""

from __future__ import annotations

import json

import httpx
import pytest
from prometheus_client import REGISTRY
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL

from api.graphql.endpoint import FenghuoGraphQL
from api.graphql.schema import FenghuoSchema
from tests.conftest import ServerThread

NORMALIZE = "query($v: String!) { normalize(type: PHONE, value: $v) { valid masked reason } }"
BODIES = [
    {"query": "{ __typename }"},
    {"query": NORMALIZE, "variables": {"v": "+86 138-0013-8000"}},
    {"query": NORMALIZE, "variables": {"v": 5}},  # a variable of the wrong type
    {"query": NORMALIZE},  # a required variable missing
    {"query": "query A { __typename } query B { normalize(type: PHONE, value: \"1\") { valid } }", "operationName": "B"},
    {"query": "query A { __typename } query B { __typename }"},  # two operations, no operationName
    {"query": "query A { __typename }", "operationName": "C"},  # no such operation
    {"query": "{ __typename "},  # a syntax error
    {"query": "{ noSuchField }"},  # a validation error
    {"query": "{ me { id } }"},  # unauthenticated: an error with a code
    {"query": "subscription { __typename }"},  # not allowed over POST
    {"query": "mutation { __typename }"},
    {"query": ""},
    {},
]
RAW = [b"not json", b"[1, 2]", b'{"query": 5}', b'{"query": "{ __typename }", "variables": [1]}',
       b'{"query": "{ __typename }", "extensions": "x"}']


def _view(app) -> FenghuoGraphQL:
    return next(route.app for route in app.routes if isinstance(route, Route) and route.path == "/graphql")


def _clients(server: ServerThread) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
    app = server.server.config.app
    view = _view(app)

    def asgi(call):
        async def handle(scope: Scope, receive: Receive, send: Send) -> None:
            await call({**scope, "app": app, "principal": None, "request_id": "same"}, receive, send)
        return handle

    async def strawberry_view(scope: Scope, receive: Receive, send: Send) -> None:
        await GraphQL.__call__(view, scope, receive, send)

    ours = httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi(view)), base_url="http://test")
    theirs = httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi(strawberry_view)), base_url="http://test")
    return ours, theirs


@pytest.mark.parametrize("body", [json.dumps(b).encode() for b in BODIES] + RAW)
async def test_a_json_post_is_answered_as_strawberry_answers_it(api_server: ServerThread, body: bytes) -> None:
    ours, theirs = _clients(api_server)
    async with ours, theirs:
        headers = {"content-type": "application/json"}
        first = await ours.post("/graphql", content=body, headers=headers)
        again = await ours.post("/graphql", content=body, headers=headers)  # a valid document: remembered now
        reference = await theirs.post("/graphql", content=body, headers=headers)
    for mine in (first, again):
        assert (mine.status_code, mine.headers.get("content-type"), mine.content) == \
               (reference.status_code, reference.headers.get("content-type"), reference.content)


async def test_the_short_path_is_taken_for_a_json_post(api_server: ServerThread, monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison above would pass trivially if every request fell through to Strawberry's view."""
    ours, _ = _clients(api_server)
    fell_through = []
    original = GraphQL.__call__

    async def spy(self, scope, receive, send):  # noqa: ANN001
        fell_through.append(scope["path"])
        await original(self, scope, receive, send)

    monkeypatch.setattr(GraphQL, "__call__", spy)
    async with ours:
        answer = await ours.post("/graphql", json={"query": "{ __typename }"})
        assert answer.json() == {"data": {"__typename": "Query"}}
        assert fell_through == []
        await ours.post("/graphql", content=b"[1]", headers={"content-type": "application/json"})
        assert fell_through == ["/graphql"]  # a batch body: Strawberry's view answers it


async def test_a_document_valid_before_is_executed_without_strawberrys_execute(api_server: ServerThread,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """api/graphql/pipeline.execute_known: the answers above would also match if it were never used."""
    ours, _ = _clients(api_server)
    executed = []
    original = FenghuoSchema.execute

    async def spy(self, query, *args, **kwargs):  # noqa: ANN001
        executed.append(query)
        return await original(self, query, *args, **kwargs)

    monkeypatch.setattr(FenghuoSchema, "execute", spy)
    fresh = "query Fresh($v: String!) { t: __typename normalize(type: PHONE, value: $v) { valid } }"
    async with ours:
        answers = [(await ours.post("/graphql", json={"query": fresh, "variables": {"v": value}})).json()
                   for value in ("13800138000", "13800138000", 5)]
        await ours.post("/graphql", json={"query": "subscription { __typename }"})
        await ours.post("/graphql", json={"query": "subscription { __typename }"})
    assert executed == [fresh] + ["subscription { __typename }"] * 2  # validated once; subscriptions: Strawberry
    assert answers[0] == answers[1] and answers[0]["data"] is None
    assert answers[0]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"  # the resolver ran; with its code
    assert "Variable '$v' has invalid value" in answers[2]["errors"][0]["message"]  # variables are still coerced


async def test_every_request_is_counted_and_timed_for_metrics(api_server: ServerThread) -> None:
    """api/metrics.py keeps each label set's children once found; the counts must still move per request, on the
    path that validates a document and on the one that runs it as known."""
    def samples() -> tuple[float, float, float]:
        http = {"route": "/graphql", "method": "POST", "status": "200"}
        operation = {"operation": "__typename", "outcome": "ok"}  # the root field, not its alias
        return (REGISTRY.get_sample_value("fenghuo_http_requests_total", http) or 0,
                REGISTRY.get_sample_value("fenghuo_graphql_operations_total", operation) or 0,
                REGISTRY.get_sample_value("fenghuo_graphql_operation_duration_seconds_count", {"operation": "__typename"}) or 0)

    before = samples()
    async with httpx.AsyncClient(base_url=api_server.url) as client:
        for _ in range(3):
            assert (await client.post("/graphql", json={"query": "{ t: __typename }"})).json() == {"data": {"t": "Query"}}
    assert [after - was for after, was in zip(samples(), before)] == [3, 3, 3]


@pytest.mark.parametrize("body", [b'"just a string"', b"5", b"null"])
async def test_json_that_is_not_an_object_is_refused_clearly(api_server: ServerThread, body: bytes) -> None:
    """Strawberry's view fails on these with an internal error (it calls .get on the body)."""
    ours, _ = _clients(api_server)
    async with ours:
        answer = await ours.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert "must be a JSON object" in answer.text
