"""The visibility matrix: every read operation of the schema, as every role, against another member's RED, AMBER
and GREEN intelligence — what may not be seen must be indistinguishable from what does not exist. And every read
operation leaves a record in the audit trail.

BETA files, per TLP, two leads sharing one device (a network, except for RED, which never links) in a batch of
their own, and disputes one of its phones. Each probe below asks one operation about the data of one TLP, as the
principal under test (member ACME, or the hub), and answers whether it learnt that the data exists. A probe
asks about the TLP's data and also about an identifier nobody filed; the two answers must match whenever the
data is not seen, so "not visible" and "unknown" cannot be told apart.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

import httpx
import pytest

from api.graphql.schema import build_schema
from graph.database import Graph
from ingest.demo import luhn_digit
from tests.support import error_codes, gql, issue_key

TLPS = ("RED", "AMBER", "GREEN")
CATEGORY = {"RED": "MONEY_MULE", "AMBER": "LOAN_INTERMEDIARY", "GREEN": "DEVICE_FARM"}
UNKNOWN_PHONE, UNKNOWN_DEVICE = "13700000000", "867530000000008"
ROLES = ("analyst", "uploader", "police_liaison", "peer", "operator")
MEMBER_SEES = {"RED": False, "AMBER": True, "GREEN": True}
PEER_SEES = {"RED": False, "AMBER": False, "GREEN": True}
NOTHING = dict.fromkeys(TLPS, False)
EVERYTHING = dict.fromkeys(TLPS, True)


def phone(tlp: str, n: int) -> str:
    return f"1380000{TLPS.index(tlp)}{n:03d}"


def device(tlp: str) -> str:
    payload = f"86753002{TLPS.index(tlp):06d}"
    return payload + str(luhn_digit(payload))


class World:
    """BETA's data per TLP, and the ids a probe needs (read as the hub, outside the API)."""

    def __init__(self) -> None:
        self.batch: dict[str, str] = {}
        self.lead: dict[str, str] = {}
        self.network: dict[str, str | None] = {}
        self.dispute: dict[str, str] = {}


Probe = Callable[[httpx.AsyncClient, str, World, str], Awaitable[bool | None]]


def _refused(body: dict[str, Any]) -> bool:
    return bool({"FORBIDDEN", "UNAUTHENTICATED"} & set(error_codes(body)))


async def _ask(api: httpx.AsyncClient, token: str, document: str, **variables: Any) -> dict[str, Any] | None:
    """The response's data, or None when the role may not call the operation at all."""
    body = await gql(api, document, token, **variables)
    if _refused(body):
        return None
    return body


async def check_leads(api, token, world, tlp):
    doc = "query($p: String!) { checkLeads(leads: [{ref: \"x\", identifiers: [{type: PHONE, value: $p}]}]) { leads { identifiers { status score members categories } } } }"
    seen, unknown = await _ask(api, token, doc, p=phone(tlp, 1)), await _ask(api, token, doc, p=UNKNOWN_PHONE)
    if seen is None:
        return None
    verdict = seen["data"]["checkLeads"]["leads"][0]["identifiers"][0]
    if verdict["status"] == "NO_RECORD":
        assert verdict == unknown["data"]["checkLeads"]["leads"][0]["identifiers"][0]
        return False
    return True


async def indicator(api, token, world, tlp):
    doc = "query($p: String!) { indicator(type: PHONE, value: $p) { masked status leads members categories } }"
    seen, unknown = await _ask(api, token, doc, p=phone(tlp, 1)), await _ask(api, token, doc, p=UNKNOWN_PHONE)
    if seen is None:
        return None
    if seen["data"]["indicator"] is None:
        assert seen["data"] == unknown["data"] and "errors" not in seen
        return False
    return True


async def _by_id(api: httpx.AsyncClient, token: str, doc: str, target: str) -> dict[str, Any] | bool | None:
    """Ask for one thing by id: None (may not ask), False (NOT_FOUND exactly as for an id that never existed),
    or the data found."""
    seen, unknown = await _ask(api, token, doc, id=target), await _ask(api, token, doc, id="0" * 32)
    if seen is None:
        return None
    if seen.get("errors"):
        assert error_codes(seen) == error_codes(unknown) == ["NOT_FOUND"]
        return False
    return seen["data"]


async def lead(api, token, world, tlp):
    found = await _by_id(api, token, "query($id: String!) { lead(id: $id) { id category } }", world.lead[tlp])
    return found if found is None else bool(found)


async def leads(api, token, world, tlp):
    body = await _ask(api, token, "{ leads(first: 100) { edges { node { id } } } }")
    if body is None:
        return None
    return world.lead[tlp] in {e["node"]["id"] for e in body["data"]["leads"]["edges"]}


async def agent_networks(api, token, world, tlp):
    body = await _ask(api, token, "{ agentNetworks(first: 100) { id categories } }")
    if body is None:
        return None
    return any(CATEGORY[tlp] in n["categories"] for n in body["data"]["agentNetworks"])


async def network(api, token, world, tlp):
    target = world.network[tlp] or "f" * 32  # RED leads form no network: asking for one finds nothing
    found = await _by_id(api, token, "query($id: String!) { network(id: $id) { nodes { id } } }", target)
    return found if found in (None, False) else bool(found["network"]["nodes"])


async def indicator_neighbourhood(api, token, world, tlp):
    doc = "query($d: String!) { indicatorNeighbourhood(type: DEVICE, value: $d) { nodes { id } edges { source } truncated } }"
    seen, unknown = await _ask(api, token, doc, d=device(tlp)), await _ask(api, token, doc, d=UNKNOWN_DEVICE)
    if seen is None:
        return None
    if not seen["data"]["indicatorNeighbourhood"]["nodes"]:
        assert seen["data"] == {"indicatorNeighbourhood": unknown["data"]["indicatorNeighbourhood"]}
        return False
    return True


async def batch(api, token, world, tlp):
    found = await _by_id(api, token, "query($id: String!) { batch(id: $id) { id report { line } } }", world.batch[tlp])
    return found if found is None else bool(found)


async def batches(api, token, world, tlp):
    body = await _ask(api, token, "{ batches(first: 100) { id } }")
    if body is None:
        return None
    return world.batch[tlp] in {b["id"] for b in body["data"]["batches"]}


async def disputes(api, token, world, tlp):
    body = await _ask(api, token, "{ disputes(first: 100) { id } }")
    if body is None:
        return None
    return world.dispute[tlp] in {d["id"] for d in body["data"]["disputes"]}


async def dispute_indicator(api, token, world, tlp):
    """The mutation that used to be an oracle: disputing answers NOT_FOUND exactly as for an unknown number."""
    doc = "mutation($p: String!) { disputeIndicator(type: PHONE, value: $p, reason: \"complaint 1\") { id } }"
    seen, unknown = await _ask(api, token, doc, p=phone(tlp, 2)), await _ask(api, token, doc, p=UNKNOWN_PHONE)
    if seen is None:
        return None
    if seen.get("errors"):
        assert [(e["message"], e["extensions"]["code"]) for e in seen["errors"]] == \
               [(e["message"], e["extensions"]["code"]) for e in unknown["errors"]]
        return False
    return True


async def audit_trail(api, token, world, tlp):
    """The trail is not split by TLP: BETA's records are there for the hub, whichever TLP its leads had."""
    body = await _ask(api, token, "{ auditTrail(memberCode: \"BETA\", first: 1000) { action subject } }")
    if body is None:
        return None
    return any(r["action"] == "dispute.open" and world.dispute[tlp] in r["subject"] for r in body["data"]["auditTrail"])


MEMBERS_ONLY = {"analyst": MEMBER_SEES, "uploader": MEMBER_SEES, "police_liaison": None, "peer": None, "operator": EVERYTHING}
ANALYSTS = {**MEMBERS_ONLY, "uploader": None}
OWN_ONLY = {"analyst": NOTHING, "uploader": NOTHING, "police_liaison": None, "peer": None, "operator": EVERYTHING}
HUB_ONLY = {role: None for role in ROLES} | {"operator": EVERYTHING}
# RED leads link nothing, so there is no RED network to find, not even for the hub (its leads it does see).
NETWORKS = {**ANALYSTS, "operator": {"RED": False, "AMBER": True, "GREEN": True}}

# operation → (probe, what each role learns of BETA's data per TLP; None = the role may not call it).
# Not intelligence (the caller's own identity, the identifier rules, health, membership and key administration)
# is marked as such and only checked for being listed.
MATRIX: dict[str, tuple[Probe, dict[str, dict[str, bool] | None]] | str] = {
    "health": "not intelligence",
    "normalize": "not intelligence: the identifier rules, nothing stored",
    "me": "not intelligence: the caller itself",
    "members": "administration: operators only (tests/api/test_permissions.py)",
    "apiKeys": "administration: operators only (tests/api/test_permissions.py)",
    "auditIntegrity": "administration: operators only (tests/api/test_permissions.py)",
    # Escalations are scoped by member and jurisdiction, not by TLP: tests/escalation/test_isolation.py is their matrix.
    "escalations": "by member and jurisdiction: tests/escalation/test_isolation.py",
    "escalation": "by member and jurisdiction: tests/escalation/test_isolation.py",
    "escalationCases": "by jurisdiction: tests/escalation/test_isolation.py",
    "escalationDigests": "by jurisdiction: tests/escalation/test_webhook_and_digest.py",
    "jurisdictions": "not intelligence: the public GB/T 2260 list and bureau names",
    "peers": "administration: operators only (tests/api/test_permissions.py); peers hold no intelligence",
    "federationNode": "not intelligence: this node's own id and public key",
    "ingestJobs": "administration: operators only (tests/api/test_permissions.py)",
    "ingestJob": "administration: operators only (tests/api/test_permissions.py)",
    "peers": "administration: operators only (tests/api/test_permissions.py); peers hold no intelligence",
    "federationNode": "not intelligence: this node's own id and public key",
    "checkLeads": (check_leads, {**ANALYSTS, "peer": None}),
    "indicator": (indicator, ANALYSTS),
    "lead": (lead, MEMBERS_ONLY),
    "leads": (leads, {**OWN_ONLY, "operator": NOTHING}),  # one's own member's leads, for operators too
    "agentNetworks": (agent_networks, NETWORKS),
    "network": (network, NETWORKS),
    "indicatorNeighbourhood": (indicator_neighbourhood, ANALYSTS),
    "batch": (batch, OWN_ONLY),
    "batches": (batches, OWN_ONLY),
    "disputes": (disputes, OWN_ONLY),
    "auditTrail": (audit_trail, HUB_ONLY),
    "disputeIndicator": (dispute_indicator, {**ANALYSTS, "uploader": MEMBER_SEES, "operator": None}),
}
MUTATIONS_PROBED = {"disputeIndicator"}


def test_the_matrix_covers_every_read_operation_of_the_schema() -> None:
    schema = build_schema()._schema
    reads = set(schema.query_type.fields) | MUTATIONS_PROBED
    assert reads == set(MATRIX), f"add these to the visibility matrix: {reads ^ set(MATRIX)}"


async def _file(api: httpx.AsyncClient, graph: Graph) -> World:
    uploader = await issue_key(graph, "BETA", "uploader", "analyst")
    submit = ("mutation($leads: [LeadInput!]!, $key: String!) { submitLeads(leads: $leads, idempotencyKey: $key) "
              "{ batch { id status } } }")
    world = World()
    for tlp in TLPS:
        rows = [{"category": CATEGORY[tlp], "tlp": tlp, "identifiers": [
            {"type": "PHONE", "value": phone(tlp, n)}, {"type": "DEVICE", "value": device(tlp)}]} for n in (1, 2)]
        body = await gql(api, submit, uploader, leads=rows, key=f"visibility-{tlp}")
        assert body["data"]["submitLeads"]["batch"]["status"] == "COMMITTED", body
        world.batch[tlp] = body["data"]["submitLeads"]["batch"]["id"]
        dispute = await gql(api, "mutation($p: String!) { disputeIndicator(type: PHONE, value: $p, reason: \"own\") { id } }",
                            uploader, p=phone(tlp, 1))
        world.dispute[tlp] = dispute["data"]["disputeIndicator"]["id"]
    for tlp in TLPS:
        row = (await graph.read("MATCH (l:Lead {batch_id: $b}) RETURN l.id AS id, l.network_id AS net ORDER BY l.seq LIMIT 1",
                                {"b": world.batch[tlp]}))[0]
        world.lead[tlp], world.network[tlp] = row["id"], row["net"]
    assert world.network["RED"] is None and world.network["AMBER"] and world.network["GREEN"]
    return world


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_sees_another_members_data_exactly_as_the_matrix_says(api: httpx.AsyncClient, graph: Graph, role: str) -> None:
    world = await _file(api, graph)
    token = await issue_key(graph, "HUB" if role == "operator" else "ACME", role,
                            jurisdictions=["440300"] if role == "police_liaison" else [])
    learnt, expected = {}, {}
    for operation, entry in MATRIX.items():
        if isinstance(entry, str):
            continue
        probe, table = entry
        for tlp in TLPS:
            outcome = await probe(api, token, world, tlp)
            learnt[(operation, tlp)] = outcome
            expected[(operation, tlp)] = None if table[role] is None else table[role][tlp]
    wrong = {k: (learnt[k], expected[k]) for k in learnt if learnt[k] != expected[k]}
    assert wrong == {}, f"{role}: (learnt, expected) per (operation, TLP): {wrong}"


# operation → the audit action its read records (a test over the schema: every query field must be listed).
AUDITED: dict[str, tuple[str, str | None]] = {
    "health": ("{ health { ok } }", None),
    "normalize": ('{ normalize(type: PHONE, value: "13800138000") { valid } }', None),
    "me": ("{ me { id } }", None),
    "members": ("{ members { code } }", "admin.members.read"),
    "apiKeys": ("{ apiKeys { prefix } }", "admin.keys.read"),
    "auditTrail": ("{ auditTrail(first: 1) { seq } }", "audit.read"),
    "auditIntegrity": ("{ auditIntegrity { ok } }", "audit.verify"),
    "batch": ('{ batch(id: "nope") { id } }', "batch.read"),
    "batches": ("{ batches { id } }", "batches.read"),
    "checkLeads": ('{ checkLeads(leads: [{ref: "a", identifiers: [{type: PHONE, value: "13800138000"}]}]) { leads { score } } }', "check"),
    "indicator": ('{ indicator(type: PHONE, value: "13800138000") { masked } }', "indicator.read"),
    "lead": ('{ lead(id: "nope") { id } }', "lead.read"),
    "leads": ("{ leads(first: 5) { edges { cursor } } }", "leads.read"),
    "disputes": ("{ disputes { id } }", "disputes.read"),
    "agentNetworks": ("{ agentNetworks { id } }", "networks.read"),
    "network": ('{ network(id: "nope") { truncated } }', "network.read"),
    "indicatorNeighbourhood": ('{ indicatorNeighbourhood(type: PHONE, value: "13800138000") { truncated } }', "neighbourhood.read"),
    "escalations": ("{ escalations { id } }", "escalations.read"),
    "escalation": ('{ escalation(id: "nope") { id } }', "escalation.read"),
    "escalationCases": ("{ escalationCases { id } }", "cases.read"),
    "escalationDigests": ("{ escalationDigests { day } }", "digests.read"),
    "jurisdictions": ('{ jurisdictions(search: "深圳") { code } }', None),
    "peers": ("{ peers { nodeId } }", "peers.read"),
    "federationNode": ("{ federationNode { nodeId } }", None),
    "ingestJobs": ("{ ingestJobs { id } }", "jobs.read"),
    "ingestJob": ('{ ingestJob(id: "nope") { id } }', "jobs.read"),
}
NOT_INTELLIGENCE = {"health", "normalize", "me", "jurisdictions", "federationNode"}


def test_every_query_field_has_an_audit_expectation() -> None:
    fields = set(build_schema()._schema.query_type.fields)
    assert fields == set(AUDITED), f"say which audit action these reads record: {fields ^ set(AUDITED)}"
    assert {op for op, (_, action) in AUDITED.items() if action is None} == NOT_INTELLIGENCE


async def _records(graph: Graph, action: str, purpose: str) -> list[dict[str, Any]]:
    """The server's audit records of one action and purpose, once its flusher (every 0.5 s) has written them."""
    for _ in range(100):
        rows = await graph.read("MATCH (r:AuditRecord {action: $action}) WHERE r.purpose = $purpose "
                                "RETURN r.outcome AS outcome, r.subject AS subject", {"action": action, "purpose": purpose})
        if rows:
            return rows
        await asyncio.sleep(0.1)
    return []


async def test_every_read_operation_is_audited_with_its_purpose(api: httpx.AsyncClient, graph: Graph) -> None:
    token = await issue_key(graph, "HUB", "operator")
    for operation, (document, action) in AUDITED.items():
        if action is None:
            continue
        purpose = f"matrix {operation}"
        response = await api.post("/graphql", json={"query": document},
                                  headers={"authorization": f"Bearer {token}", "x-fenghuo-purpose": purpose})
        assert response.status_code == 200 and not _refused(response.json()), (operation, response.text)
        assert await _records(graph, action, purpose), f"{operation} left no '{action}' record with its purpose"


async def test_a_read_of_nothing_visible_is_audited_as_such(api: httpx.AsyncClient, graph: Graph) -> None:
    token = await issue_key(graph, "ACME", "analyst")
    response = await api.post("/graphql", json={"query": '{ lead(id: "nope") { id } }'},
                              headers={"authorization": f"Bearer {token}", "x-fenghuo-purpose": "loan 7"})
    assert error_codes(response.json()) == ["NOT_FOUND"]
    assert [r["outcome"] for r in await _records(graph, "lead.read", "loan 7")] == ["none"]
