"""Lead collision (线索对碰) between two member nodes: the overlap of two lead lists by PSI over the signed peer channel.

The asking node (A) blinds its member's list of one category with a fresh secret and sends it, signed, to the
peer (B). B builds a one-off setup from its own list (never RED) under a fresh key, blinds A's points again and
answers, signed. A intersects locally, learns the overlap, and tells B the overlap (keys B already holds, so B
learns nothing else). Each side records "N against M, K matched" on its own audit trail. No hub is involved.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import private_set_intersection.python as psi
from google.protobuf.message import DecodeError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from audit.log import AuditLog
from audit.reader import Reader
from core.errors import BadInput, NotFound
from federation.answer import Refused, Reply, authenticate
from federation.client import describe_transport_error
from federation.node import Federation
from federation.peers import target
from federation.signing import H_NONCE, SignatureRefused, sign_request, sign_response, verify_response
from graph import peers as peers_repo
from graph import psi as repo
from graph.database import Graph
from ingest.categories import BY_CODE
from ingest.pseudonym import AllianceKey

COLLIDE_PATH, RESULT_PATH = "/v1/psi/collide", "/v1/psi/collide/result"
PROTOCOL = 1
MAX_LIST = 10_000
FPR = 1e-9  # for the whole list: the expected false matches of one collision
IndicatorKey = Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,32}:[0-9a-f]{64}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CollideRequest(_Strict):
    protocol: int = Field(ge=PROTOCOL, le=PROTOCOL)
    key_version: int
    collision_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    category: str
    request: str  # base64 of a serialized psi Request


class CollideAnswer(_Strict):
    collision_id: str
    theirs: int = Field(ge=0)
    setup: str  # base64 of a serialized psi ServerSetup
    response: str  # base64 of a serialized psi Response


class CollideResult(_Strict):
    protocol: int = Field(ge=PROTOCOL, le=PROTOCOL)
    collision_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    category: str
    asked: int = Field(ge=0)
    theirs: int = Field(ge=0)
    matched: list[IndicatorKey] = Field(max_length=MAX_LIST)


@dataclass
class Collision:
    peer: str
    collision_id: str
    category: str
    ours: int
    theirs: int
    matched: list[dict[str, str]] = field(default_factory=list)  # key, type, masked of our own matching leads
    peer_recorded: bool = False


def _category(category: str) -> str:
    if category not in BY_CODE:
        raise BadInput(f"unknown category {category!r}; accepted: {', '.join(sorted(BY_CODE))}", field="category")
    return category


# -- the asking side -----------------------------------------------------------------------------------------

async def collide_leads(reader: Reader, federation: Federation, alliance_key: AllianceKey, peer_id: str,
                        category: str) -> Collision:
    """The overlap of the caller's member's leads of `category` with the peer node's, learned by the caller only
    (then told to the peer); recorded on both audit trails."""
    category = _category(category)
    peer = await peers_repo.caller(reader.graph, peer_id)
    if peer is None or not peer["enabled"]:
        raise NotFound(f"no enabled peer {peer_id} is registered on this node")
    ours = sorted(await repo.lead_list_keys(reader.graph, reader.principal, category, own=True))
    if len(ours) > MAX_LIST:
        raise BadInput(f"a collision compares at most {MAX_LIST} identifiers (your {category} list has {len(ours)}); "
                       "narrow the filter", field="filter")
    collision_id = uuid.uuid4().hex
    client = psi.client.CreateWithNewKey(True)
    request = await asyncio.to_thread(lambda: client.CreateRequest(ours).SerializeToString())
    answer = CollideAnswer.model_validate_json(await _post(federation, peer, COLLIDE_PATH, CollideRequest(
        protocol=PROTOCOL, key_version=alliance_key.version, collision_id=collision_id, category=category,
        request=_b64(request)).model_dump_json().encode()))
    if answer.collision_id != collision_id:
        raise BadInput(f"peer {peer_id} answered another collision; nothing was recorded", field="peer")
    matched = await asyncio.to_thread(_intersect, client, ours, answer)
    collision = Collision(peer_id, collision_id, category, len(ours), answer.theirs)
    collision.matched = await repo.masked(reader.graph, matched) if matched else []
    collision.peer_recorded = await _tell_peer(federation, peer, CollideResult(
        protocol=PROTOCOL, collision_id=collision_id, category=category, asked=len(ours), theirs=answer.theirs,
        matched=matched))
    reader.record("leads.collide", subject=matched, found=bool(matched), detail=(
        f"collision={collision_id} peer={peer_id} category={category} ours={len(ours)} against theirs={answer.theirs} "
        f"matched={len(matched)} peer_recorded={collision.peer_recorded}"))
    return collision


def _intersect(client: Any, ours: list[str], answer: CollideAnswer) -> list[str]:
    setup, response = psi.ServerSetup(), psi.Response()
    try:
        setup.ParseFromString(_unb64(answer.setup))
        response.ParseFromString(_unb64(answer.response))
        return sorted(ours[i] for i in client.GetIntersection(setup, response))
    except (ValueError, RuntimeError, DecodeError) as error:
        raise BadInput(f"the peer's collision answer is malformed: {error}", field="peer") from None


async def _post(federation: Federation, peer: dict, path: str, body: bytes) -> bytes:
    """One signed request to the peer; its signed answer's body, or a BadInput saying what failed."""
    peer_target = target(peer)
    headers = {**sign_request(federation.identity, "POST", path, body), "content-type": "application/json"}
    try:
        response = await federation.client.http.post(peer_target.url.rstrip("/") + path, content=body, headers=headers,
                                                     timeout=max(peer_target.timeout_seconds, 30.0))
    except httpx.HTTPError as error:
        raise BadInput(f"peer {peer['node_id']}: {describe_transport_error(error, peer_target.url)}", field="peer") from None
    if response.status_code != 200:
        raise BadInput(f"peer {peer['node_id']} refused the collision (HTTP {response.status_code}): "
                       f"{_message(response.content)}", field="peer")
    try:
        verify_response(peer_target.public_key, peer["node_id"], 200, headers[H_NONCE], response.content,
                        {k.lower(): v for k, v in response.headers.items()})
    except SignatureRefused as refused:
        raise BadInput(f"peer {peer['node_id']}: {refused.message}", field="peer") from None
    return response.content


async def _tell_peer(federation: Federation, peer: dict, result: CollideResult) -> bool:
    try:
        await _post(federation, peer, RESULT_PATH, result.model_dump_json().encode())
        return True
    except BadInput:
        return False  # our record says the peer was not told; the overlap stands


# -- the answering side --------------------------------------------------------------------------------------

async def answer_collision(graph: Graph, audit: AuditLog, federation: Federation, alliance_key: AllianceKey, *,
                           method: str, path: str, headers: dict[str, str], body: bytes, request_id: str) -> Reply:
    """Blind a peer's blinded lead list and send our own list's setup; record who asked, N against M."""
    claimed = headers.get("x-fenghuo-node", "")[:128] or "?"
    try:
        principal, signed = await authenticate(graph, federation, method, path, headers, body)
        request = _parse(CollideRequest, body)
        if request.key_version != alliance_key.version:
            raise Refused(409, "KEY_VERSION_MISMATCH", f"the collision uses alliance key v{request.key_version}; "
                                                       f"this node uses v{alliance_key.version}")
        if request.category not in BY_CODE:
            raise Refused(400, "BAD_REQUEST", f"unknown category {request.category!r}")
        theirs = await repo.lead_list_keys(graph, principal, request.category, own=False)
        answer, asked = await asyncio.to_thread(_blind, request, theirs)
    except Refused as refused:
        return _refusal(audit, claimed, request_id, "leads.collide.refused", refused)
    audit.record(principal, "leads.collide.answer", subject=principal.name, request_id=request_id, detail=(
        f"collision={request.collision_id} peer={principal.name} category={request.category} "
        f"theirs={asked} against ours={len(theirs)}"))
    raw = answer.model_dump_json().encode()
    return Reply(200, raw, sign_response(federation.identity, 200, signed.nonce, raw))


def _blind(request: CollideRequest, ours: list[str]) -> tuple[CollideAnswer, int]:
    parsed = psi.Request()
    try:
        parsed.ParseFromString(_unb64(request.request))
        asked = len(parsed.encrypted_elements)
        if asked > MAX_LIST:
            raise Refused(400, "BAD_REQUEST", f"a collision compares at most {MAX_LIST} identifiers (got {asked})")
        server = psi.server.CreateWithNewKey(True)
        setup = server.CreateSetupMessage(FPR, max(asked, 1), ours, psi.DataStructure.GCS)
        response = server.ProcessRequest(parsed)
    except (ValueError, RuntimeError, DecodeError) as error:
        raise Refused(400, "BAD_REQUEST", f"malformed PSI request: {error}") from None
    return CollideAnswer(collision_id=request.collision_id, theirs=len(ours), setup=_b64(setup.SerializeToString()),
                         response=_b64(response.SerializeToString())), asked


async def record_result(graph: Graph, audit: AuditLog, federation: Federation, *, method: str, path: str,
                        headers: dict[str, str], body: bytes, request_id: str) -> Reply:
    """The asking node tells us the overlap it found: recorded as N against M with the matched count."""
    claimed = headers.get("x-fenghuo-node", "")[:128] or "?"
    try:
        principal, signed = await authenticate(graph, federation, method, path, headers, body)
        result = _parse(CollideResult, body)
    except Refused as refused:
        return _refusal(audit, claimed, request_id, "leads.collide.refused", refused)
    audit.record(principal, "leads.collide.result", subject=list(result.matched), request_id=request_id, detail=(
        f"collision={result.collision_id} peer={principal.name} category={result.category} theirs={result.asked} "
        f"against ours={result.theirs} matched={len(result.matched)}"))
    raw = json.dumps({"recorded": True, "collision_id": result.collision_id}).encode()
    return Reply(200, raw, sign_response(federation.identity, 200, signed.nonce, raw))


def _parse(model: type[BaseModel], body: bytes) -> Any:
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise Refused(400, "BAD_REQUEST", f"malformed collision request: {where}: {first['msg']}") from None


def _refusal(audit: AuditLog, claimed: str, request_id: str, action: str, refused: Refused) -> Reply:
    audit.record(None, action, subject=claimed, outcome="refused", request_id=request_id,
                 detail=f"node={claimed} code={refused.code} {refused.message}"[:500])
    payload = {"errors": [{"message": refused.message, "extensions": {"code": refused.code}}]}
    return Reply(refused.status, json.dumps(payload).encode(), {})


def _message(raw: bytes) -> str:
    try:
        return "; ".join(e["message"] for e in json.loads(raw)["errors"])
    except (ValueError, KeyError, TypeError):
        return "no detail"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
