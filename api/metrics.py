"""Prometheus metrics: `GET /metrics` (text format) on the API and on the scheduler process.

- HTTP requests by route and status, with latency (pure ASGI middleware);
- GraphQL operations by operation name (api/graphql/pipeline.py), with latency and errors;
- job runs, rows, durations, last success (jobs/metrics.py), so an operator can alert on a feed that stopped:
  e.g. `time() - fenghuo_job_last_success_timestamp_seconds{job="partner-feed"} > 2 * 3600`.
Labels are operation names and route templates only: nothing a caller sent beyond an operation's name.
"""

from __future__ import annotations

import time
from functools import lru_cache

from graphql import DocumentNode, FieldNode, OperationDefinitionNode
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import jobs.metrics  # noqa: F401 - registers the job metrics, so an API with no scheduler still exports them

HTTP_REQUESTS = Counter("fenghuo_http_requests_total", "HTTP requests by route and status", ["route", "method", "status"])
HTTP_LATENCY = Histogram("fenghuo_http_request_duration_seconds", "HTTP request latency by route", ["route"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
GRAPHQL_OPERATIONS = Counter("fenghuo_graphql_operations_total", "GraphQL operations by name and outcome",
                             ["operation", "outcome"])
GRAPHQL_LATENCY = Histogram("fenghuo_graphql_operation_duration_seconds", "GraphQL operation latency", ["operation"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))

KNOWN_ROUTES = ("/graphql", "/healthz", "/metrics", "/v1/batches", "/v1/checks")


@lru_cache(maxsize=1024)
def _http(route: str, method: str, status: str) -> tuple[Counter, Histogram]:
    """The labelled children of one (route, method, status), found once: `labels()` validates and locks each time."""
    return HTTP_REQUESTS.labels(route, method, status), HTTP_LATENCY.labels(route)


@lru_cache(maxsize=1024)
def _operation(name: str, outcome: str) -> tuple[Counter, Histogram]:
    return GRAPHQL_OPERATIONS.labels(name, outcome), GRAPHQL_LATENCY.labels(name)


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


routes = [Route("/metrics", metrics_endpoint, methods=["GET"])]


def _route(path: str) -> str:
    for known in KNOWN_ROUTES:
        if path == known or path.startswith(known + "/"):
            return known
    return "other"


class RequestMetrics:
    """Counts and times every HTTP request by route template and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        route = _route(scope.get("path", ""))
        try:
            await self.app(scope, receive, sending)
        finally:
            requests, latency = _http(route, scope.get("method", ""), str(status))
            requests.inc()
            latency.observe(time.perf_counter() - started)


def observe_operation(document: DocumentNode | None, failed: bool, seconds: float) -> None:
    """One GraphQL operation, by its first root field (e.g. checkLeads): a schema-bound, finite label set
    (api/graphql/pipeline.py calls this after execution)."""
    operations, latency = _operation(_root_field(document), "error" if failed else "ok")
    operations.inc()
    latency.observe(seconds)


def _root_field(document: DocumentNode | None) -> str:
    for definition in document.definitions if document else ():
        if isinstance(definition, OperationDefinitionNode):
            for selection in definition.selection_set.selections:
                if isinstance(selection, FieldNode):
                    return selection.name.value
    return "other"
