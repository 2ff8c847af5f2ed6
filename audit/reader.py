"""Who reads intelligence, and why: every domain read function takes a Reader and records its read through it.

Reads are audited in the read functions themselves (leads/reads.py, indicators/reads.py, networks/reads.py,
ingest/batch_reads.py, indicators/disputes.py, audit/trail.py, check/service.py), never per resolver, so a new
entry point that calls them cannot forget it. A record holds who (the principal), what (keys and ids, never raw
values), why (the caller's stated purpose) and the outcome (`ok`, or `none` when nothing visible was found).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from audit.log import AuditLog
from core.errors import BadInput
from core.principal import Principal
from graph.database import Graph

MAX_PURPOSE = 500


@dataclass(frozen=True)
class Reader:
    graph: Graph
    audit: AuditLog
    principal: Principal
    request_id: str | None = None
    purpose: str | None = None

    def record(self, action: str, subject: Iterable[str] | str | None = None, *, found: bool = True,
               detail: str | None = None) -> None:
        self.audit.record(self.principal, action, subject=subject, outcome="ok" if found else "none",
                          request_id=self.request_id, detail=detail, purpose=self.purpose)


def stated_purpose(purpose: str | None, *, required: bool) -> str | None:
    """The caller's reason for reading (e.g. `loan application 2024-118`), trimmed; an error when the alliance
    requires one (FENGHUO_REQUIRE_PURPOSE) and none was given."""
    purpose = (purpose or "").strip() or None
    if purpose is None and required:
        raise BadInput("this alliance requires a purpose for every read of intelligence: send the header "
                       "`X-Fenghuo-Purpose: <why>` (e.g. a loan application reference)", field="purpose")
    if purpose is not None and len(purpose) > MAX_PURPOSE:
        raise BadInput(f"the purpose is longer than {MAX_PURPOSE} characters", field="purpose")
    return purpose
