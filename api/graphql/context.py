"""The per-request GraphQL context: the process runtime, the authenticated principal, request and response."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from strawberry.types import Info as StrawberryInfo

from access.principal import Principal
from api.runtime import Runtime


@dataclass
class Context:
    runtime: Runtime
    request: Request
    response: Response
    principal: Principal | None
    request_id: str

    def audit(self, action: str, **fields) -> str:
        return self.runtime.audit.record(self.principal, action, request_id=self.request_id, **fields)


Info = StrawberryInfo[Context, None]
