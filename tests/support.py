"""Helpers shared by tests: members and keys created through the real service, GraphQL over HTTP."""

from __future__ import annotations

import ctypes
import signal
from typing import Any, Sequence

import httpx

from access import service
from core.principal import cli_principal
from audit.log import AuditLog
from graph.database import Graph
from ingest.pseudonym import AllianceKey

TEST_KEY = AllianceKey(version=1, secret=bytes.fromhex("ab" * 32))
ACTOR = cli_principal("test")


async def add_member(graph: Graph, code: str, *, hotlines: Sequence[str] = (), jurisdiction: str | None = None) -> None:
    audit = AuditLog(graph)
    await service.add_member(graph, audit, ACTOR, TEST_KEY, code=code, name=f"{code} 消费金融",
                             home_jurisdiction=jurisdiction, hotlines=hotlines)
    await audit.flush()


async def issue_key(graph: Graph, member: str, *roles: str, jurisdictions: Sequence[str] = (), **options: Any) -> str:
    audit = AuditLog(graph)
    if not await _member_exists(graph, member):
        await add_member(graph, member)
    issued = await service.create_api_key(graph, audit, ACTOR, member_code=member, roles=list(roles),
                                          jurisdictions=list(jurisdictions), **options)
    await audit.flush()
    return issued.token


async def _member_exists(graph: Graph, code: str) -> bool:
    return bool(await graph.read("MATCH (m:Member {code: $code}) RETURN m.code AS code", {"code": code}))


async def gql(client: httpx.AsyncClient, query: str, token: str | None = None, **variables: Any) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    body = response.json()
    body["_status"] = response.status_code
    return body


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors") or []]


def ends_with_the_tests() -> None:
    """`preexec_fn` for a server a test starts: the kernel sends it SIGTERM when the test process dies, even killed
    (PR_SET_PDEATHSIG), so no server outlives an interrupted run."""
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)
