"""Who may call what: the one table of operations → roles, for GraphQL fields and HTTP endpoints alike.

GraphQL resolvers ask through api/graphql/permissions.py, HTTP endpoints through api/http_auth.py; both name the
operation as the GraphQL field does (the HTTP upload is `uploadLeadBatch`, reading a batch or its report `batch`).
Data-level visibility (TLP, member, jurisdiction) is graph/visibility.py; this table only says which roles may
call an operation at all.
"""

from __future__ import annotations

from core.errors import Forbidden, Unauthenticated
from core.principal import Principal, Role

ANY = frozenset(Role)
OPERATOR = frozenset({Role.OPERATOR})
MEMBER_USERS = frozenset({Role.ANALYST, Role.UPLOADER, Role.OPERATOR})
ANALYSTS = frozenset({Role.ANALYST, Role.OPERATOR})

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
    "checkLeads": ANALYSTS,
    "indicator": ANALYSTS,
    "lead": MEMBER_USERS,
    "leads": MEMBER_USERS,
    "disputes": MEMBER_USERS,
    "disputeIndicator": frozenset({Role.ANALYST, Role.UPLOADER}),
    "resolveDispute": OPERATOR,
    "retractLeads": frozenset({Role.UPLOADER}),
    "agentNetworks": ANALYSTS,
    "network": ANALYSTS,
    "indicatorNeighbourhood": ANALYSTS,
    # escalation to police (issue 13): members escalate and follow their cases; liaisons work the cases routed to them
    "escalate": frozenset({Role.ANALYST}),
    "escalations": frozenset({Role.ANALYST, Role.UPLOADER, Role.OPERATOR, Role.POLICE_LIAISON}),
    "escalation": frozenset({Role.ANALYST, Role.UPLOADER, Role.OPERATOR, Role.POLICE_LIAISON}),
    "escalationCases": frozenset({Role.OPERATOR, Role.POLICE_LIAISON}),
    "updateCaseStatus": frozenset({Role.POLICE_LIAISON}),
    "setEscalationWebhook": frozenset({Role.ANALYST}),
    "jurisdictions": ANY,
    "escalationDigests": frozenset({Role.OPERATOR, Role.POLICE_LIAISON}),
    "runEscalationDigest": OPERATOR,
    # federation (issue 12): peers are the hub's to manage
    "peers": OPERATOR,
    "federationNode": OPERATOR,
    "addPeer": OPERATOR,
    "updatePeer": OPERATOR,
    "disablePeer": OPERATOR,
    # scheduled ingest (issue 11): jobs name partners' feeds and hold their secrets — operators only
    "ingestJobs": OPERATOR,
    "ingestJob": OPERATOR,
    "createIngestJob": OPERATOR,
    "updateIngestJob": OPERATOR,
    "pauseIngestJob": OPERATOR,
    "resumeIngestJob": OPERATOR,
    "runIngestJobNow": OPERATOR,
    "deleteIngestJob": OPERATOR,
    # private checks and lead collision (issue 15): the HTTP setup/check endpoints and the GraphQL mutation
    "privateCheck": ANALYSTS,
    "collideLeads": ANALYSTS,
}


def authorize(principal: Principal | None, operation: str) -> Principal | None:
    """The caller, if it may call `operation`; else Unauthenticated or Forbidden. An unknown operation is a
    programming error (KeyError), so a new endpoint cannot be reached without a row in the table."""
    allowed = POLICY[operation]
    if allowed is None:
        return principal
    if principal is None:
        raise Unauthenticated(f"{operation} needs an API key: send `Authorization: Bearer <key>`")
    if not principal.roles & allowed:
        needed = ", ".join(sorted(role.value for role in allowed))
        raise Forbidden(f"{operation} is not allowed for this key's roles; it needs one of: {needed}")
    return principal
