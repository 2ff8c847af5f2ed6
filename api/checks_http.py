"""Bulk checks over plain HTTP, for risk engines that check a day's applications at once (issue 14).

POST /v1/checks  Content-Type: application/json
                 {"leads": [{"ref": "app-1", "identifiers": [{"type": "PHONE", "value": "13800138000"}]}]}
                 → {"checkedAt": …, "leads": [{"ref", "score", "level", "identifiers": [verdict, …]}, …]}
                 At most 10,000 identifiers per call, as `checkLeads`; a bad lead refuses the whole call (400,
                 naming the lead and field) and nothing is checked.
POST /v1/checks  Content-Type: application/x-ndjson — one lead object per line, any number of lines
                 → application/x-ndjson, one answer per input line in input order, streamed as each chunk of
                 up to 2,000 identifiers is decided (two chunks are checked at once). A bad line answers
                 {"line": N, "error": {…}} in its place; the other lines are still checked.

Verdicts are check/service.py's, named as in schema.graphql (enum names: "ACTIVE", "HIGH", "PHONE"), and every call
— every chunk of a stream — is audited like a `checkLeads` call, with the caller's X-Fenghuo-Purpose.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from datetime import datetime
from typing import Any, AsyncIterator

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from api.batches_http import _error
from api.http_auth import reader_for
from api.responses import JSONBody, json_bytes
from audit.reader import Reader
from check import service
from check.scoring import level_of
from core.errors import BadInput, FenghuoError
from graph.database import GraphUnavailable
from ingest.identifiers import INPUT_TYPES

NDJSON = "application/x-ndjson"
STREAM_CHUNK_IDENTIFIERS = 2000
STREAM_CHUNKS_AT_ONCE = 2  # one chunk checked while the next is read and checked
_KINDS = {name.upper(): name for name in INPUT_TYPES}
_ACCEPTED = ", ".join(_KINDS)


class DuplexResponse(StreamingResponse):
    """Answers stream out while the request body still streams in. Starlette's StreamingResponse would also read
    `receive` to notice a disconnect, taking body messages the generator needs; here the generator is the reader, and
    a disconnect ends it (request.stream raises ClientDisconnect)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.stream_response(send)
        except OSError:
            raise ClientDisconnect() from None


async def check(request: Request) -> Response:
    try:
        reader = reader_for(request, "checkLeads")
        if request.headers.get("content-type", "").split(";")[0].strip() == NDJSON:
            return DuplexResponse(_stream(request, reader), media_type=NDJSON)
        try:
            body = json.loads(await request.body())
        except ValueError as error:
            raise BadInput(f"the body is not JSON ({error.msg} at character {error.pos}); send "
                           '{"leads": [{"ref": "…", "identifiers": [{"type": "PHONE", "value": "…"}]}]}') from None
        leads = body.get("leads") if isinstance(body, dict) else None
        if not isinstance(leads, list):
            raise BadInput('the body needs "leads": a list of {"ref", "identifiers"} objects', field="leads")
        queries = [parse_lead(lead, f"leads[{n}]") for n, lead in enumerate(leads)]
        verdicts = await _check(request, reader, queries)
        return JSONBody({"checkedAt": datetime.now().astimezone().isoformat(),
                         "leads": await service.shaped_in_turns(verdicts, lead_json)})
    except (FenghuoError, GraphUnavailable) as error:
        return _error(error)


async def _check(request: Request, reader: Reader, queries: list[service.LeadQuery]) -> list[service.LeadVerdict]:
    runtime = request.app.state.runtime
    return await service.check_leads(reader, runtime.alliance_key, queries, lookup=runtime.checks.parts)


async def _stream(request: Request, reader: Reader) -> AsyncIterator[bytes]:
    """Lines in, answers out: a chunk is checked once it holds STREAM_CHUNK_IDENTIFIERS identifiers (or the body ends).
    Up to STREAM_CHUNKS_AT_ONCE chunks are checked at once while the body is read on; answers leave in input order."""
    checking: deque[asyncio.Task[bytes]] = deque()
    chunk: list[tuple[int, service.LeadQuery | BadInput]] = []
    size = 0
    try:
        async for number, line in _lines(request):
            try:
                lead = parse_lead(_json_line(line), f"line {number}")
            except BadInput as error:
                chunk.append((number, error))
                continue
            if size + len(lead.identifiers) > STREAM_CHUNK_IDENTIFIERS and size:
                checking.append(asyncio.ensure_future(_answer_chunk(request, reader, chunk)))
                chunk, size = [], 0
                if len(checking) >= STREAM_CHUNKS_AT_ONCE:
                    yield await checking.popleft()
            chunk.append((number, lead))
            size += len(lead.identifiers)
        if chunk:
            checking.append(asyncio.ensure_future(_answer_chunk(request, reader, chunk)))
        while checking:
            yield await checking.popleft()
    finally:  # the client went away, or the stream failed: nothing goes on checking for nobody
        for task in checking:
            if task.cancel() is False and not task.cancelled():
                task.exception()  # already failed: retrieved here, the stream's own error is the one raised


async def _answer_chunk(request: Request, reader: Reader, chunk: list[tuple[int, service.LeadQuery | BadInput]]) -> bytes:
    queries = [item for _, item in chunk if isinstance(item, service.LeadQuery)]
    try:
        verdicts = iter(await _check(request, reader, queries)) if queries else iter(())
    except (FenghuoError, GraphUnavailable) as error:  # the whole chunk failed: each of its lines says why
        failure = json.loads(_error(error).body)["errors"][0]
        return b"".join(_line({"line": number, "error": failure}) for number, _ in chunk)
    out = []
    for number, item in chunk:
        if isinstance(item, BadInput):
            out.append(_line({"line": number, "error": {"message": item.message, "extensions": {"code": item.code, **item.details}}}))
        else:
            out.append(_line({"line": number, **lead_json(next(verdicts))}))
    return b"".join(out)


async def _lines(request: Request) -> AsyncIterator[tuple[int, bytes]]:
    """Non-empty lines of the body with their line numbers (1-based), as the body streams in."""
    pending, number = b"", 0
    async for data in request.stream():
        pending += data
        *complete, pending = pending.split(b"\n")
        for line in complete:
            number += 1
            if line.strip():
                yield number, line
    if pending.strip():
        yield number + 1, pending


def _json_line(line: bytes) -> Any:
    try:
        return json.loads(line)
    except ValueError as error:
        raise BadInput(f"not a JSON object ({error.msg} at character {error.pos})") from None


def _line(answer: dict[str, Any]) -> bytes:
    return json_bytes(answer) + b"\n"


def parse_lead(lead: Any, where: str) -> service.LeadQuery:
    """One lead object, or a BadInput naming where it is and which field is wrong (never the value)."""
    if not isinstance(lead, dict):
        raise BadInput(f'{where}: a lead is an object {{"ref": "…", "identifiers": […]}}', field=where)
    ref, identifiers = lead.get("ref"), lead.get("identifiers")
    if not isinstance(ref, str) or not ref.strip():
        raise BadInput(f"{where}.ref: your reference for the lead is required (a non-empty string)", field=f"{where}.ref")
    if not isinstance(identifiers, list):
        raise BadInput(f"{where}.identifiers: a list of {{\"type\", \"value\"}} objects is required", field=f"{where}.identifiers")
    return service.LeadQuery(ref=ref, identifiers=[_identifier(i, f"{where}.identifiers[{n}]") for n, i in enumerate(identifiers)])


def _identifier(identifier: Any, where: str) -> service.IdentifierQuery:
    if not isinstance(identifier, dict):
        raise BadInput(f'{where}: an identifier is an object {{"type": "PHONE", "value": "…"}}', field=where)
    kind, value = identifier.get("type"), identifier.get("value")
    if not isinstance(kind, str) or kind.strip().upper() not in _KINDS:
        raise BadInput(f"{where}.type: not an identifier type; accepted: {_ACCEPTED}", field=f"{where}.type")
    if not isinstance(value, str):
        raise BadInput(f"{where}.value: a string is required", field=f"{where}.value")
    return service.IdentifierQuery(_KINDS[kind.strip().upper()], value)


def lead_json(lead: service.LeadVerdict) -> dict[str, Any]:
    return {"ref": lead.ref, "score": lead.score, "level": lead.level.upper(),
            "identifiers": [verdict_json(v) for v in lead.verdicts]}


def verdict_json(v: service.Verdict) -> dict[str, Any]:
    """The fields of GraphQL's IdentifierVerdict a risk engine decides on (contributions stay GraphQL's)."""
    s = v.score
    return {
        "inputType": v.input_type.upper(), "type": v.type.upper() if v.type else None, "masked": v.masked,
        "status": v.status.upper(), "reason": v.reason, "score": v.points, "level": level_of(v.points).upper(),
        "categories": sorted(s.categories) if s else [], "members": s.members if s else 0,
        "firstSeen": s.first_seen.isoformat() if s and s.first_seen else None,
        "lastSeen": s.last_seen.isoformat() if s and s.last_seen else None,
        "network": _network(v.network),
    }


def _network(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if not row:
        return None
    return {"id": row["id"], "size": row.get("leads") or 0, "members": row.get("members") or 0,
            "categories": sorted(row.get("categories") or []), "cohesion": row.get("cohesion"),
            "oversized": bool(row.get("oversized"))}


routes = [Route("/v1/checks", check, methods=["POST"])]
