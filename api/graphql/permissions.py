"""The check every resolver starts with: the operation's row in access/policy.py, the one role table."""

from __future__ import annotations

from access.policy import POLICY, authorize
from api.graphql.context import Info
from core.principal import Principal

__all__ = ["POLICY", "require"]


def require(info: Info, operation: str) -> Principal:
    """The caller, if it may call `operation`; else UNAUTHENTICATED or FORBIDDEN."""
    return authorize(info.context.principal, operation)  # type: ignore[return-value]
