"""Who may call what: one table of GraphQL operations → roles, and the check every resolver starts with.

Data-level visibility (TLP, member, jurisdiction) is applied in graph/visibility.py; this table only says
which roles may call an operation at all.
"""

from __future__ import annotations

from access.principal import Principal, Role
from api.graphql.context import Info
from core.errors import Forbidden, Unauthenticated

ANY = frozenset(Role)
OPERATOR = frozenset({Role.OPERATOR})
MEMBER_USERS = frozenset({Role.ANALYST, Role.UPLOADER, Role.OPERATOR})

POLICY: dict[str, frozenset[Role] | None] = {
    # None = public (no key needed)
    "health": None,
    "normalize": ANY,
    "me": ANY,
    "members": OPERATOR,
    "apiKeys": OPERATOR,
    "auditTrail": OPERATOR,
    "auditIntegrity": OPERATOR,
    "addMember": OPERATOR,
    "registerHotline": OPERATOR,
    "createApiKey": OPERATOR,
    "revokeApiKey": OPERATOR,
    "uploadLeadBatch": frozenset({Role.UPLOADER}),
    "submitLeads": frozenset({Role.UPLOADER}),
    "batch": MEMBER_USERS,
    "batches": MEMBER_USERS,
    "checkLeads": frozenset({Role.ANALYST, Role.OPERATOR}),
    "indicator": frozenset({Role.ANALYST, Role.OPERATOR}),
    "lead": MEMBER_USERS,
    "leads": MEMBER_USERS,
    "disputes": MEMBER_USERS,
    "disputeIndicator": frozenset({Role.ANALYST, Role.UPLOADER}),
    "resolveDispute": OPERATOR,
    "retractLeads": frozenset({Role.UPLOADER}),
    "agentNetworks": frozenset({Role.ANALYST, Role.OPERATOR}),
    "network": frozenset({Role.ANALYST, Role.OPERATOR}),
    "indicatorNeighbourhood": frozenset({Role.ANALYST, Role.OPERATOR}),
    # -- scheduled ingest jobs (issue 11): operators only --
    "ingestJobs": OPERATOR,
    "ingestJob": OPERATOR,
    "createIngestJob": OPERATOR,
    "updateIngestJob": OPERATOR,
    "pauseIngestJob": OPERATOR,
    "resumeIngestJob": OPERATOR,
    "runIngestJobNow": OPERATOR,
    "deleteIngestJob": OPERATOR,
}


def require(info: Info, operation: str) -> Principal:
    """The caller, if it may call `operation`; else UNAUTHENTICATED or FORBIDDEN."""
    allowed = POLICY[operation]
    principal = info.context.principal
    if allowed is None:
        return principal  # type: ignore[return-value]
    if principal is None:
        raise Unauthenticated(f"{operation} needs an API key: send `Authorization: Bearer <key>`")
    if not principal.roles & allowed:
        needed = ", ".join(sorted(role.value for role in allowed))
        raise Forbidden(f"{operation} is not allowed for this key's roles; it needs one of: {needed}")
    return principal
