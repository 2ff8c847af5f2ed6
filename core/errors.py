"""Errors as values the user can act on: each has a stable code (GraphQL `extensions.code`, HTTP status)."""

from __future__ import annotations

from typing import Any


class FenghuoError(Exception):
    code = "BAD_REQUEST"
    http_status = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadInput(FenghuoError):
    code = "BAD_USER_INPUT"


class Unauthenticated(FenghuoError):
    code = "UNAUTHENTICATED"
    http_status = 401


class Forbidden(FenghuoError):
    code = "FORBIDDEN"
    http_status = 403


class NotFound(FenghuoError):
    code = "NOT_FOUND"
    http_status = 404


class Conflict(FenghuoError):
    code = "CONFLICT"
    http_status = 409
