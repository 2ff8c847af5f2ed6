"""The answering side of a federated check: authenticate the calling node, then answer under its sharing policy.

Refusals (unsigned, unknown node, wrong key, stale timestamp, bad signature, replayed nonce, key-version
mismatch, malformed request) are audited and counted; only a verified caller's request reaches the graph.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass

from neo4j.exceptions import ConstraintError
from pydantic import ValidationError

from core.principal import Principal, Role
from audit.log import AuditLog
from check import service as check_service
from federation import metrics
from federation.node import Federation
from federation.peers import SharingPolicy
from federation.signing import SignatureRefused, SignedRequest, parse_public_key, read_request_headers, sign_response, verify_request
from federation.wire import PROTOCOL_VERSION, CheckAnswer, CheckRequest, ResultWire, report_wire
from graph import checks as check_repo
from graph import peers as repo
from graph.database import Graph
from ingest.pseudonym import AllianceKey

log = logging.getLogger(__name__)
PURGE_EVERY_SECONDS = 60.0


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def peer_principal(peer: dict) -> Principal:
    """The calling node as a principal: the `peer` role, AMBER too when it is a node of this alliance.
    Its member code matches no member, so it never sees RED and never counts as a lead's filer."""
    return Principal(id=f"peer:{peer['node_id']}", member_code=f"peer:{peer['node_id']}", roles=frozenset({Role.PEER}),
                     name=peer["node_id"], alliance_peer=peer["sharing"] == SharingPolicy.ALLIANCE.value)


async def handle_check(graph: Graph, audit: AuditLog, federation: Federation, alliance_key: AllianceKey, *,
                       method: str, path: str, headers: dict[str, str], body: bytes, request_id: str) -> Reply:
    claimed = headers.get("x-fenghuo-node", "")[:128] or "?"
    try:
        principal, signed = await authenticate(graph, federation, method, path, headers, body)
        request = _parse(body, alliance_key)
        # The nonce is stored while the graph is read: the answer waits for both, and is not sent on a replay.
        _, answer = await asyncio.gather(_remember_nonce(graph, federation, signed),
                                         answer_check(graph, principal, federation.node_id, alliance_key, request.keys))
    except Refused as refused:
        metrics.REFUSED.labels(refused.code).inc()
        audit.record(None, "federation.refused", subject=claimed, outcome="refused", request_id=request_id,
                     detail=f"node={claimed} code={refused.code} {refused.message}"[:500])
        log.warning("refused a federation request from node %s: %s", claimed, refused.code)
        payload = {"errors": [{"message": refused.message, "extensions": {"code": refused.code, "node_time": int(time.time())}}]}
        return Reply(refused.status, json.dumps(payload).encode(), {})
    audit.record(principal, "federation.check", subject=list(request.keys), request_id=request_id,
                 detail=f"identifiers={len(request.keys)} results={len(answer.results)} caller_request={request.request_id}")
    metrics.ANSWERED.labels(principal.name).inc()
    raw = answer.model_dump_json().encode()
    return Reply(200, raw, sign_response(federation.identity, 200, signed.nonce, raw))


async def authenticate(graph: Graph, federation: Federation, method: str, path: str, headers: dict[str, str],
                        body: bytes) -> tuple[Principal, SignedRequest]:
    try:
        signed = read_request_headers(headers)
        peer = await federation.caller(graph, signed.node_id)
        if peer is None or not peer["enabled"]:
            raise SignatureRefused("UNKNOWN_NODE", f"node {signed.node_id} is not an enabled peer of node "
                                                   f"{federation.node_id}; its operator must register it")
        verify_request(signed, parse_public_key(peer["public_key"]), peer["key_id"], method, path, body,
                       skew_seconds=federation.skew_seconds)
    except SignatureRefused as refused:
        raise Refused(409 if refused.code == "KEY_MISMATCH" else 401, refused.code, refused.message) from None
    return peer_principal(peer), signed


async def _remember_nonce(graph: Graph, federation: Federation, signed: SignedRequest) -> None:
    """Only after the signature verified, so unsigned noise never fills the store; kept twice the clock window."""
    try:
        await repo.remember_nonce(graph, f"{signed.node_id}:{signed.nonce}", int(2 * federation.skew_seconds) + 1)
    except ConstraintError:
        raise Refused(401, "REPLAYED", f"nonce {signed.nonce} was already used: a replayed request") from None
    await _purge_now_and_then(graph, federation)


async def _purge_now_and_then(graph: Graph, federation: Federation) -> None:
    now = time.monotonic()
    if now - federation.last_purge >= PURGE_EVERY_SECONDS:
        federation.last_purge = now
        await repo.purge_nonces(graph)


def _parse(body: bytes, alliance_key: AllianceKey) -> CheckRequest:
    try:
        request = CheckRequest.model_validate_json(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise Refused(400, "BAD_REQUEST", f"malformed federation request: {where}: {first['msg']}") from None
    if request.key_version != alliance_key.version:
        raise Refused(409, "KEY_VERSION_MISMATCH",
                      f"the request's indicator keys use alliance key v{request.key_version}; this node uses "
                      f"v{alliance_key.version}: both nodes must run the alliance's current key version")
    return request


async def answer_check(graph: Graph, principal: Principal, node_id: str, alliance_key: AllianceKey,
                       keys: list[str]) -> CheckAnswer:
    """What this node may tell the calling peer about `keys` (visibility of the peer principal; no RED)."""
    rows = await check_repo.lookup(graph, principal, keys, hub_cap=0, neighbours=0) if keys else []
    results = []
    for row in rows:
        if not row["known"]:
            continue
        reports = [report_wire(r, check_service.member_ref(r["member_code"], row["key"]))
                   for r in row["reports"] if r["tlp"] in principal.shared_tlps]
        if not reports and not row["benign"]:
            continue
        results.append(ResultWire(key=row["key"], status=row["status"], benign=row["benign"],
                                  benign_reason=row["benign_reason"], reports=reports))
    return CheckAnswer(protocol=PROTOCOL_VERSION, node_id=node_id, key_version=alliance_key.version, results=results)
