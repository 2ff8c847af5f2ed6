"""Visibility, in one place: which leads and aggregates a principal may read, and whether a filer is named.

Every read query in graph/ builds its WHERE clause from these helpers (like Polar's get_readable_statement),
so no resolver can forget a rule:
- a lead is readable only once its batch is committed and while it is active (retracted leads are kept for
  audit, never shown as intelligence);
- RED: the filing member and operators; AMBER: all members; GREEN/CLEAR: members and peers;
- police liaisons see only what is escalated to their jurisdictions;
- another member's lead is shown without the filer unless it was filed with named attribution.
"""

from __future__ import annotations

from typing import Any

from access.principal import Principal, Role


def params(principal: Principal) -> dict[str, Any]:
    """The parameters every fragment below refers to."""
    return {
        "vis_operator": principal.is_operator,
        "vis_member": principal.member_code,
        "vis_tlps": list(principal.shared_tlps),
        "vis_police": Role.POLICE_LIAISON in principal.roles and not principal.is_operator,
        "vis_jurisdictions": sorted(principal.jurisdictions),
    }


def reported(rel: str = "r", member: str = "m") -> str:
    """REPORTED aggregates (member)-[rel]->(indicator) the principal may count."""
    return f"($vis_operator OR {member}.code = $vis_member OR {rel}.tlp IN $vis_tlps)"


def lead(alias: str = "l") -> str:
    """Leads the principal may read."""
    return (
        f"({alias}.status = 'active' AND EXISTS {{ MATCH (vb:Batch {{id: {alias}.batch_id}}) WHERE vb.status = 'committed' }}"
        f" AND ($vis_operator OR {alias}.member_code = $vis_member OR {alias}.tlp IN $vis_tlps"
        f" OR ($vis_police AND EXISTS {{ MATCH ({alias})<-[:INCLUDES]-(:Escalation)-[:ROUTED_TO]->(vj:Jurisdiction)"
        f" WHERE vj.code IN $vis_jurisdictions }})))"
    )


def filer(alias: str = "l") -> str:
    """The filing member's code when the principal may know it, else null."""
    return f"CASE WHEN $vis_operator OR {alias}.member_code = $vis_member OR {alias}.attributed THEN {alias}.member_code END"


def ingest_job() -> str:
    """Ingest jobs, their runs and cursors: operators only (a job's config names a partner's feed)."""
    return "$vis_operator"
