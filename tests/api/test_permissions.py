"""Every role × every GraphQL operation: allowed, or refused with FORBIDDEN / UNAUTHENTICATED."""

from __future__ import annotations

import json

import httpx
import pytest

from api.graphql.schema import build_schema
from graph.database import Graph
from tests.support import error_codes, gql, issue_key

ROLES = ("analyst", "uploader", "police_liaison", "operator", "peer")
OPERATOR_ONLY = {"operator"}
EVERYONE = set(ROLES)

# operation → (document, roles allowed; None = public). Written independently of api/graphql/permissions.py.
OPERATIONS: dict[str, tuple[str, set[str] | None]] = {
    "health": ("{ health { ok } }", None),
    "normalize": ('{ normalize(type: PHONE, value: "13800138000") { valid } }', EVERYONE),
    "me": ("{ me { id } }", EVERYONE),
    "members": ("{ members { code } }", OPERATOR_ONLY),
    "apiKeys": ("{ apiKeys { prefix } }", OPERATOR_ONLY),
    "auditTrail": ("{ auditTrail(first: 5) { seq } }", OPERATOR_ONLY),
    "auditIntegrity": ("{ auditIntegrity { ok } }", OPERATOR_ONLY),
    "addMember": ('mutation { addMember(code: "NEWCO", name: "新公司") { code } }', OPERATOR_ONLY),
    "registerHotline": ('mutation { registerHotline(memberCode: "ACME", number: "4008196155") }', OPERATOR_ONLY),
    "createApiKey": ('mutation { createApiKey(memberCode: "ACME", roles: [ANALYST]) { token } }', OPERATOR_ONLY),
    "revokeApiKey": ('mutation { revokeApiKey(prefix: "zzzzzzzz") }', OPERATOR_ONLY),
    "submitLeads": ('mutation { submitLeads(leads: [{category: "中介", identifiers: [{type: PHONE, value: "13800138000"}]}]) { created } }', {"uploader"}),
    "uploadLeadBatch": ("mutation($file: Upload!) { uploadLeadBatch(file: $file, wait: true) { created } }", {"uploader"}),
    "batch": ('{ batch(id: "nope") { id } }', {"analyst", "uploader", "operator"}),
    "batches": ("{ batches { id } }", {"analyst", "uploader", "operator"}),
    "checkLeads": ('{ checkLeads(leads: [{ref: "a", identifiers: [{type: PHONE, value: "13800138000"}]}]) { leads { score } } }',
                   {"analyst", "operator"}),
    "indicator": ('{ indicator(type: PHONE, value: "13800138000") { masked } }', {"analyst", "operator"}),
    "lead": ('{ lead(id: "nope") { id } }', {"analyst", "uploader", "operator"}),
    "leads": ("{ leads(first: 5) { edges { cursor } } }", {"analyst", "uploader", "operator"}),
    "disputes": ("{ disputes { id } }", {"analyst", "uploader", "operator"}),
    "disputeIndicator": ('mutation { disputeIndicator(type: PHONE, value: "13800138000", reason: "complaint") { id } }',
                         {"analyst", "uploader"}),
    "resolveDispute": ('mutation { resolveDispute(id: "nope", uphold: true) { id } }', OPERATOR_ONLY),
    "retractLeads": ('mutation { retractLeads(ids: ["nope"], reason: "error") }', {"uploader"}),
    "agentNetworks": ("{ agentNetworks { id size } }", {"analyst", "operator"}),
    "network": ('{ network(id: "nope") { truncated } }', {"analyst", "operator"}),
    "indicatorNeighbourhood": ('{ indicatorNeighbourhood(type: PHONE, value: "13800138000") { truncated } }',
                               {"analyst", "operator"}),
    # escalation to police (issue 13)
    "escalate": ('mutation { escalate(input: {title: "t", category: "中介", reason: "r", identifiers: [{type: PHONE, value: "13510001234"}]}) { joinedExistingCase } }',
                 {"analyst"}),
    "escalations": ("{ escalations { id } }", {"analyst", "uploader", "operator", "police_liaison"}),
    "escalation": ('{ escalation(id: "nope") { id } }', {"analyst", "uploader", "operator", "police_liaison"}),
    "escalationCases": ("{ escalationCases { number } }", {"operator", "police_liaison"}),
    "updateCaseStatus": ('mutation { updateCaseStatus(caseId: "nope", status: ACKNOWLEDGED, note: "n") { status } }',
                         {"police_liaison"}),
    "setEscalationWebhook": ('mutation { setEscalationWebhook(url: "http://127.0.0.1:9/hook") }', {"analyst"}),
    "jurisdictions": ('{ jurisdictions(search: "深圳") { code bureau } }', EVERYONE),
    "escalationDigests": ("{ escalationDigests { day } }", {"operator", "police_liaison"}),
    "runEscalationDigest": ("mutation { runEscalationDigest { day } }", OPERATOR_ONLY),
    "peers": ("{ peers { nodeId } }", OPERATOR_ONLY),
    "federationNode": ("{ federationNode { nodeId } }", OPERATOR_ONLY),
    "addPeer": ('mutation { addPeer(input: {nodeId: "node-x", url: "http://127.0.0.1:9", publicKey: "x"}) { nodeId } }', OPERATOR_ONLY),
    "updatePeer": ('mutation { updatePeer(nodeId: "nope", input: {timeoutSeconds: 1.0}) { nodeId } }', OPERATOR_ONLY),
    "disablePeer": ('mutation { disablePeer(nodeId: "nope") { nodeId } }', OPERATOR_ONLY),
    "ingestJobs": ("{ ingestJobs { id } }", OPERATOR_ONLY),
    "ingestJob": ('{ ingestJob(id: "nope") { id } }', OPERATOR_ONLY),
    "createIngestJob": ('mutation { createIngestJob(job: {name: "x", kind: HTTP_FEED, memberCode: "ACME", config: {}}) { id } }',
                        OPERATOR_ONLY),
    "updateIngestJob": ('mutation { updateIngestJob(id: "nope", changes: {intervalSeconds: 60}) { id } }', OPERATOR_ONLY),
    "pauseIngestJob": ('mutation { pauseIngestJob(id: "nope") { id } }', OPERATOR_ONLY),
    "resumeIngestJob": ('mutation { resumeIngestJob(id: "nope") { id } }', OPERATOR_ONLY),
    "runIngestJobNow": ('mutation { runIngestJobNow(id: "nope") { id } }', OPERATOR_ONLY),
    "deleteIngestJob": ('mutation { deleteIngestJob(id: "nope") }', OPERATOR_ONLY),
    # lead collision (issue 15)
    "collideLeads": ('mutation { collideLeads(peer: "nope", filter: {category: LOAN_INTERMEDIARY}) { ours } }',
                     {"analyst", "operator"}),
}


def test_the_table_covers_every_operation_in_the_schema() -> None:
    graphql_schema = build_schema()._schema
    exposed = set(graphql_schema.query_type.fields) | set(graphql_schema.mutation_type.fields)
    assert exposed == set(OPERATIONS), f"add these to the role table: {exposed ^ set(OPERATIONS)}"



async def _upload(api: httpx.AsyncClient, document: str, token: str | None) -> dict:
    operations = json.dumps({"query": document, "variables": {"file": None}})
    response = await api.post("/graphql", headers={"authorization": f"Bearer {token}"} if token else {},
                              data={"operations": operations, "map": json.dumps({"0": ["variables.file"]})},
                              files={"0": ("a.csv", "手机号,黑产类型\n13800138000,中介\n".encode(), "text/csv")})
    return response.json()


@pytest.mark.parametrize("role", ROLES + ("anonymous",))
async def test_each_role_is_allowed_or_refused_per_the_table(api: httpx.AsyncClient, graph: Graph, role: str) -> None:
    token = None
    if role != "anonymous":
        jurisdictions = ["440300"] if role == "police_liaison" else []
        token = await issue_key(graph, "ACME", role, jurisdictions=jurisdictions)
    for operation, (document, allowed) in OPERATIONS.items():
        body = await (_upload(api, document, token) if "Upload!" in document else gql(api, document, token))
        codes = error_codes(body)
        if allowed is None or role in allowed:
            assert "FORBIDDEN" not in codes and "UNAUTHENTICATED" not in codes, (role, operation, body)
        elif role == "anonymous":
            assert codes == ["UNAUTHENTICATED"], (role, operation, body)
        else:
            assert codes == ["FORBIDDEN"], (role, operation, body)
