"""Visibility, in one place: what a principal may read, as Cypher fragments every read query is built from.

Like Polar's `get_readable_statement(auth_subject)`: each read query in graph/ takes the principal (through
`params`) and builds its WHERE clause from these helpers, so no resolver can forget a rule. The rules
(graph/MODEL.md, "Visibility", says the same in prose):
- a lead is readable only once its batch is committed and while it is active (retracted leads are kept for
  audit, never shown as intelligence);
- RED: the filing member and operators; AMBER: all members; GREEN/CLEAR: members and peers;
- police liaisons see only what is escalated to their jurisdictions;
- another member's lead is shown without the filer unless it was filed with named attribution;
- an indicator exists for a principal only through what the principal may read about it: a REPORTED aggregate
  it may count, or the public benign list. Known only through leads it may not see, an indicator is
  indistinguishable from an unknown one, in every query, mutation and error message;
- a network summary is shown whole or not at all (all of its TLPs readable), its member codes as `filer` does;
- batches, their reports and disputes: the own member's, or all for operators; the audit trail and peers:
  operators only.
"""

from __future__ import annotations

from typing import Any

from core.principal import Principal, Role


def params(principal: Principal) -> dict[str, Any]:
    """The parameter every fragment below refers to: one map, `$vis`, so that every caller shares a query's plan.

    Neo4j 5 caches a plan under the query's text and its parameters' types, and the type of a string or a list
    parameter carries its size rounded up to a power of ten (0, 1, 10, 100, ...); a map's does not look inside.
    With the member code, the TLPs and the jurisdictions as parameters of their own, a query was planned again for
    each new combination of their sizes: an operator (no TLP list), a member, a liaison of one jurisdiction or of
    several. On the 100k-row bench graph each such plan of the check query cost its first caller 310-530 ms
    (scratch probe, 7 Dec 2026), and the plan the server makes at start (graph/checks.warm_up) served none of them.
    """
    return {"vis": {
        "operator": principal.is_operator,
        "member": principal.member_code,
        "tlps": list(principal.shared_tlps),
        "police": Role.POLICE_LIAISON in principal.roles and not principal.is_operator,
        "jurisdictions": sorted(principal.jurisdictions),
    }}


def _countable(member_code: str, tlp: str) -> str:
    return f"($vis.operator OR {member_code} = $vis.member OR {tlp} IN $vis.tlps)"


def reported(rel: str = "r", member: str = "m") -> str:
    """REPORTED aggregates (member)-[rel]->(indicator) the principal may count."""
    return _countable(f"{member}.code", f"{rel}.tlp")


def _folded(alias: str) -> str:
    return (f"EXISTS {{ MATCH (vb:Batch {{id: {alias}.batch_id}})"
            f" WHERE vb.status = 'committed' AND vb.aggregated_seq > {alias}.seq }}")


def aggregated_lead(alias: str = "l") -> str:
    """Leads the REPORTED aggregates hold: active, of a committed batch already folded past them (not a visibility
    rule by itself; graph/disputes.py rebuilds aggregates from these)."""
    return f"({alias}.status = 'active' AND {_folded(alias)})"


def counted_lead(alias: str = "l") -> str:
    """Leads the principal's REPORTED aggregates count (visibility.reported's rule, lead by lead): aggregated, and
    of a TLP it may count. A check's neighbour links are drawn through these only, so a lead the caller may not
    read links nothing for it. The cheap tests first, the batch's last."""
    return (f"({alias}.status = 'active' AND {_countable(f'{alias}.member_code', f'{alias}.tlp')}"
            f" AND {_folded(alias)})")


def reported_named(rel: str = "r", member: str = "m") -> str:
    """Whether the principal may know which member a visible aggregate belongs to."""
    return f"($vis.operator OR {member}.code = $vis.member OR coalesce({rel}.attributed, false))"


def indicator(alias: str = "i") -> str:
    """An indicator whose existence the principal may learn: operators; the benign list; or one it has an
    aggregate of (so at least one lead it may read names it)."""
    return (f"($vis.operator OR coalesce({alias}.benign, false)"
            f" OR EXISTS {{ MATCH (vm:Member)-[vr:REPORTED]->({alias}) WHERE {reported('vr', 'vm')} }})")


def lead(alias: str = "l") -> str:
    """Leads the principal may read."""
    return (
        f"({alias}.status = 'active' AND EXISTS {{ MATCH (vb:Batch {{id: {alias}.batch_id}}) WHERE vb.status = 'committed' }}"
        f" AND ($vis.operator OR {alias}.member_code = $vis.member OR {alias}.tlp IN $vis.tlps"
        f" OR ($vis.police AND EXISTS {{ MATCH ({alias})<-[:INCLUDES]-(:Escalation)-[:ROUTED_TO]->(vj:Jurisdiction)"
        f" WHERE vj.code IN $vis.jurisdictions }})))"
    )


def filer(alias: str = "l") -> str:
    """The filing member's code when the principal may know it, else null."""
    return f"CASE WHEN $vis.operator OR {alias}.member_code = $vis.member OR {alias}.attributed THEN {alias}.member_code END"


def network(alias: str = "n") -> str:
    """A Network summary the principal may read whole: its TLPs are all readable (network members are never RED)."""
    return f"($vis.operator OR all(t IN {alias}.tlps WHERE t IN $vis.tlps))"


def network_member_codes(alias: str = "n") -> str:
    """The member codes of a network the principal may know: its own, attributed ones; all for operators."""
    return f"[c IN {alias}.member_codes WHERE $vis.operator OR c = $vis.member OR c IN {alias}.attributed_codes]"


def network_member_filter(alias: str = "n", member: str = "$member") -> str:
    """A filter by one involved member that finds nothing when the principal may not know that member's part."""
    return (f"({member} IS NULL OR ({member} IN {alias}.member_codes"
            f" AND ($vis.operator OR {member} = $vis.member OR {member} IN {alias}.attributed_codes)))")


def own(alias: str) -> str:
    """Things that belong to a member (batches, their reports, disputes): the own member's, or all for operators."""
    return f"($vis.operator OR {alias}.member_code = $vis.member)"


def operators_only() -> str:
    """The audit trail and the node's peers."""
    return "$vis.operator"


# --- Escalation to police (issue 13) ---------------------------------------------------------------------------
# A case is routed to one jurisdiction; its liaisons (and its province's) read it whole, raw identifiers included.
# Operators read case metadata, never raw identifiers. A member reads its own contributions and the case's status
# and liaison notes, never another member's contribution.

def _liaison_of(case: str) -> str:
    return (f"($vis.police AND ({case}.jurisdiction_code IN $vis.jurisdictions"
            f" OR {case}.province_code IN $vis.jurisdictions))")


def escalation_case(alias: str = "c") -> str:
    """Cases the principal may read (metadata, status and timeline)."""
    return (f"($vis.operator OR {_liaison_of(alias)} OR (NOT $vis.police AND EXISTS {{"
            f" MATCH ({alias})<-[:PART_OF]-(ve:Escalation) WHERE ve.member_code = $vis.member }}))")


def escalation(alias: str = "e", case: str = "c") -> str:
    """A member's contribution to case `case`: its member, operators, and the case's liaisons."""
    return f"($vis.operator OR {_liaison_of(case)} OR (NOT $vis.police AND {alias}.member_code = $vis.member))"


def case_event(alias: str = "ev") -> str:
    """Timeline entries: status changes for everyone who reads the case; a contribution's entry for its member."""
    return f"($vis.operator OR $vis.police OR {alias}.kind = 'status' OR {alias}.member_code = $vis.member)"


def case_liaison(alias: str = "c") -> str:
    """Only the case's jurisdiction liaisons — never operators — open raw identifiers and change its status."""
    return _liaison_of(alias)


def jurisdiction_digest(alias: str = "d") -> str:
    """Daily digests: operators, and liaisons of the digest's jurisdiction."""
    return f"($vis.operator OR ($vis.police AND {alias}.jurisdiction_code IN $vis.jurisdictions))"

def privately_matchable(alias: str = "i") -> str:
    """Indicators a private check (issue 15) may match: active or disputed (not retracted), not benign, and
    counted by at least one REPORTED aggregate the principal may see. Built with a member-like principal of
    no member (psi/setup.py), so TLP:RED is never in the set: it is the filer's and operators' only."""
    return (f"({alias}.status IN ['active', 'disputed'] AND NOT coalesce({alias}.benign, false)"
            f" AND EXISTS {{ MATCH (vm:Member)-[vr:REPORTED]->({alias}) WHERE {reported('vr', 'vm')} }})")
