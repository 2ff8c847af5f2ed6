"""Errors with a stable `extensions.code` a client can branch on, and 503 when Neo4j is down."""

from __future__ import annotations

import logging
import traceback
import uuid
from typing import Any

from graphql import GraphQLError

from core.errors import FenghuoError
from graph.database import GraphUnavailable

log = logging.getLogger(__name__)


def with_codes(errors: list[GraphQLError], context: Any) -> list[GraphQLError]:
    """Every error with extensions.code (api/graphql/pipeline.py calls this after execution); `context` is the
    request's Context, whose response turns 503 when Neo4j is down."""
    return [_with_code(error, context) for error in errors]


def _with_code(error: GraphQLError, context: Any) -> GraphQLError:
    original = error.original_error
    if isinstance(original, GraphUnavailable):
        if context is not None:
            context.response.status_code = 503
        return _recode(error, "UNAVAILABLE", "the intelligence graph is temporarily unavailable; retry shortly")
    if isinstance(original, FenghuoError):
        return _recode(error, original.code, str(original), original.details)
    if original is not None and not isinstance(original, GraphQLError):
        # An internal error: the caller gets a correlation id, the log gets the details (never raw values).
        correlation = uuid.uuid4().hex[:12]
        # Only the type and the stack: an exception's message may quote a raw identifier.
        stack = "".join(traceback.format_tb(original.__traceback__))
        log.error("internal error %s (%s) at %s\n%s", correlation, type(original).__name__, error.path, stack)
        return _recode(error, "INTERNAL_SERVER_ERROR", f"internal error (correlation id {correlation})")
    return error


def _recode(error: GraphQLError, code: str, message: str, details: dict[str, Any] | None = None) -> GraphQLError:
    extensions = dict(error.extensions or {})
    extensions["code"] = code
    if details:
        extensions.update(details)
    return GraphQLError(message, error.nodes, error.source, error.positions, error.path, error.original_error, extensions)
