"""Authorization and the audited reader for plain HTTP endpoints: the same role table as GraphQL (access/policy.py)."""

from __future__ import annotations

from starlette.requests import Request

from access.policy import authorize
from audit.reader import Reader, stated_purpose
from core.principal import Principal

PURPOSE_HEADER = "x-fenghuo-purpose"


def principal_for(request: Request, operation: str) -> Principal:
    """The caller, if the role table lets it call `operation`; else Unauthenticated or Forbidden."""
    return authorize(request.scope.get("principal"), operation)  # type: ignore[return-value]


def reader_for(request: Request, operation: str) -> Reader:
    """An authorized caller's reader: every intelligence read it makes is audited with its stated purpose."""
    principal = principal_for(request, operation)
    runtime = request.app.state.runtime
    purpose = stated_purpose(request.headers.get(PURPOSE_HEADER), required=runtime.settings.require_purpose)
    return Reader(runtime.graph, runtime.audit, principal, request.scope.get("request_id"), purpose)
