"""Errors with a stable `extensions.code` a client can branch on, and 503 when Neo4j is down."""

from __future__ import annotations

from typing import Any, Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from graph.database import GraphUnavailable


class FenghuoError(Exception):
    """An error the caller can act on; `code` goes to extensions.code."""

    code = "BAD_REQUEST"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


class BadInput(FenghuoError):
    code = "BAD_USER_INPUT"


class ServiceUnavailableError(FenghuoError):
    code = "UNAVAILABLE"


class ErrorCodes(SchemaExtension):
    """Adds extensions.code to every error; a Neo4j outage becomes UNAVAILABLE and HTTP 503."""

    def on_execute(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if not result or not result.errors:
            return
        result.errors = [self._with_code(error) for error in result.errors]

    def _with_code(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, GraphUnavailable):
            self.execution_context.context.response.status_code = 503
            return _recode(error, "UNAVAILABLE", "the intelligence graph is temporarily unavailable; retry shortly")
        if isinstance(original, FenghuoError):
            return _recode(error, original.code, str(original), original.details)
        return error


def _recode(error: GraphQLError, code: str, message: str, details: dict[str, Any] | None = None) -> GraphQLError:
    extensions = dict(error.extensions or {})
    extensions["code"] = code
    if details:
        extensions.update(details)
    return GraphQLError(message, error.nodes, error.source, error.positions, error.path, error.original_error, extensions)
