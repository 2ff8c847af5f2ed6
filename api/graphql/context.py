"""The per-request GraphQL context: the process runtime plus the request and response."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from strawberry.types import Info as StrawberryInfo

from api.runtime import Runtime


@dataclass
class Context:
    runtime: Runtime
    request: Request
    response: Response


Info = StrawberryInfo[Context, None]
