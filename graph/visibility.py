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


# --- Escalation to police (issue 13) ---------------------------------------------------------------------------
# A case is routed to one jurisdiction; its liaisons (and its province's) read it whole, raw identifiers included.
# Operators read case metadata, never raw identifiers. A member reads its own contributions and the case's status
# and liaison notes, never another member's contribution.

def _liaison_of(case: str) -> str:
    return (f"($vis_police AND ({case}.jurisdiction_code IN $vis_jurisdictions"
            f" OR {case}.province_code IN $vis_jurisdictions))")


def escalation_case(alias: str = "c") -> str:
    """Cases the principal may read (metadata, status and timeline)."""
    return (f"($vis_operator OR {_liaison_of(alias)} OR (NOT $vis_police AND EXISTS {{"
            f" MATCH ({alias})<-[:PART_OF]-(ve:Escalation) WHERE ve.member_code = $vis_member }}))")


def escalation(alias: str = "e", case: str = "c") -> str:
    """A member's contribution to case `case`: its member, operators, and the case's liaisons."""
    return f"($vis_operator OR {_liaison_of(case)} OR (NOT $vis_police AND {alias}.member_code = $vis_member))"


def case_event(alias: str = "ev") -> str:
    """Timeline entries: status changes for everyone who reads the case; a contribution's entry for its member."""
    return f"($vis_operator OR $vis_police OR {alias}.kind = 'status' OR {alias}.member_code = $vis_member)"


def case_liaison(alias: str = "c") -> str:
    """Only the case's jurisdiction liaisons — never operators — open raw identifiers and change its status."""
    return _liaison_of(alias)


def jurisdiction_digest(alias: str = "d") -> str:
    """Daily digests: operators, and liaisons of the digest's jurisdiction."""
    return f"($vis_operator OR ($vis_police AND {alias}.jurisdiction_code IN $vis_jurisdictions))"
