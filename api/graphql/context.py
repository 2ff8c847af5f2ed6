"""The per-request GraphQL context: the process runtime, the authenticated principal, request and response."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from strawberry.types import Info as StrawberryInfo

from api.http_auth import PURPOSE_HEADER
from api.runtime import Runtime
from audit.reader import Reader, stated_purpose
from core.principal import Principal


@dataclass
class Context:
    runtime: Runtime
    request: Request
    response: Response
    principal: Principal | None
    request_id: str

    def audit(self, action: str, **fields) -> str:
        """Record an action that is not a read of intelligence (reads record through `reader`)."""
        return self.runtime.audit.record(self.principal, action, request_id=self.request_id, **fields)

    def reader(self, principal: Principal) -> Reader:
        """The authorized caller's reader: the domain read functions audit through it, with the stated purpose."""
        purpose = stated_purpose(self.request.headers.get(PURPOSE_HEADER), required=self.runtime.settings.require_purpose)
        return Reader(self.runtime.graph, self.runtime.audit, principal, self.request_id, purpose)


Info = StrawberryInfo[Context, None]
