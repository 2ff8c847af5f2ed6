"""Operator surface: members, official hotlines, API keys, and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from access import service
from api.graphql.context import Info
from api.graphql.enums import Role
from api.graphql.permissions import require
from audit import trail
from audit.log import verify
from core.errors import BadInput
from graph import members as members_repo
from graph.members import to_native


@strawberry.type(description="A member firm of the alliance.")
class Member:
    code: str
    name: str
    home_jurisdiction: str | None
    reliability: float
    hotlines: list[str] = strawberry.field(description="Registered hotlines (official numbers, masked); checks call them benign.")


@strawberry.type(description="An API key (the secret is never shown again after creation).")
class ApiKey:
    id: str
    prefix: str
    member_code: str
    name: str
    roles: list[Role]
    jurisdictions: list[str]
    ip_allowlist: list[str]
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime | None


@strawberry.type(description="A new API key: `token` is shown only in this response.")
class IssuedApiKey:
    token: str
    key: ApiKey


@strawberry.type(description="One entry of the append-only, hash-chained audit trail.")
class AuditRecord:
    id: str
    seq: int
    at: str
    principal_id: str
    member_code: str | None
    action: str
    subject: list[str]
    request_id: str | None
    outcome: str = strawberry.field(description="ok; none (a read that found nothing visible); or the error code")
    detail: str | None
    purpose: str | None = strawberry.field(description="Why the caller read (header X-Fenghuo-Purpose)")
    hash: str


@strawberry.type(description="Result of walking the audit hash chain.")
class AuditIntegrity:
    ok: bool
    blocks: int
    records: int
    first_break: str | None


@strawberry.type(description="The caller, as the platform sees it.")
class Me:
    id: str
    member_code: str
    roles: list[Role]
    jurisdictions: list[str]


def _api_key(row: dict[str, Any]) -> ApiKey:
    return ApiKey(
        id=row["id"], prefix=row["prefix"], member_code=row["member_code"], name=row.get("name") or "",
        roles=[Role(r) for r in row["roles"]], jurisdictions=row.get("jurisdictions") or [], ip_allowlist=row.get("ip_allowlist") or [],
        expires_at=to_native(row.get("expires_at")), revoked_at=to_native(row.get("revoked_at")),
        created_at=to_native(row.get("created_at")),
    )


def _member(row: dict[str, Any]) -> Member:
    return Member(code=row["code"], name=row["name"], home_jurisdiction=row.get("home_jurisdiction"),
                  reliability=row.get("reliability") or 1.0, hotlines=row.get("hotlines") or [])


@strawberry.type
class AdminQuery:
    @strawberry.field(description="The authenticated caller.")
    def me(self, info: Info) -> Me:
        principal = require(info, "me")
        return Me(id=principal.id, member_code=principal.member_code,
                  roles=sorted(principal.roles, key=lambda r: r.value), jurisdictions=sorted(principal.jurisdictions))

    @strawberry.field(description="All member firms (operators).")
    async def members(self, info: Info) -> list[Member]:
        reader = info.context.reader(require(info, "members"))
        return [_member(row) for row in await service.read_members(reader)]

    @strawberry.field(description="API keys, optionally of one member (operators).")
    async def api_keys(self, info: Info, member_code: str | None = None) -> list[ApiKey]:
        reader = info.context.reader(require(info, "apiKeys"))
        return [_api_key(row) for row in await service.read_keys(reader, member_code)]

    @strawberry.field(description="The audit trail, newest first (operators). Page with `beforeSeq`.")
    async def audit_trail(
        self, info: Info, member_code: str | None = None, principal_id: str | None = None, action: str | None = None,
        since: datetime | None = None, until: datetime | None = None, before_seq: int | None = None, first: int = 100,
    ) -> list[AuditRecord]:
        reader = info.context.reader(require(info, "auditTrail"))
        rows = await trail.search(reader, member_code=member_code, principal_id=principal_id, action=action,
                                  since=since, until=until, before_seq=before_seq, first=first)
        return [AuditRecord(**{**row, "subject": row.get("subject") or [], "purpose": row.get("purpose")}) for row in rows]

    @strawberry.field(description="Walk the audit hash chain and report the first broken link (operators).")
    async def audit_integrity(self, info: Info) -> AuditIntegrity:
        reader = info.context.reader(require(info, "auditIntegrity"))
        broken, blocks, records = await verify(info.context.runtime.graph)
        reader.record("audit.verify", detail="intact" if broken is None else f"broken at {broken}")
        return AuditIntegrity(ok=broken is None, blocks=blocks, records=records, first_break=str(broken) if broken else None)


@strawberry.type
class AdminMutation:
    @strawberry.mutation(description="Add a member firm (or update nothing if the code exists), with official hotlines.")
    async def add_member(
        self, info: Info, code: str, name: str, home_jurisdiction: str | None = None, hotlines: list[str] | None = None,
    ) -> Member:
        actor = require(info, "addMember")
        runtime = info.context.runtime
        row = await service.add_member(runtime.graph, runtime.audit, actor, runtime.alliance_key, code=code, name=name,
                                       home_jurisdiction=home_jurisdiction, hotlines=_bounded(hotlines or [], 100, "hotlines"))
        return _member(row)

    @strawberry.mutation(description="Register a member's hotline (an official number); it joins the benign list.")
    async def register_hotline(self, info: Info, member_code: str, number: str) -> str:
        actor = require(info, "registerHotline")
        runtime = info.context.runtime
        return await service.register_hotline(runtime.graph, runtime.audit, actor, runtime.alliance_key,
                                              code=member_code, number=number)

    @strawberry.mutation(description="Create an API key; the token is shown once.")
    async def create_api_key(
        self, info: Info, member_code: str, roles: list[Role], jurisdictions: list[str] | None = None,
        expires_at: datetime | None = None, ip_allowlist: list[str] | None = None, name: str = "",
    ) -> IssuedApiKey:
        actor = require(info, "createApiKey")
        runtime = info.context.runtime
        issued = await service.create_api_key(
            runtime.graph, runtime.audit, actor, member_code=member_code, roles=[r.value for r in _bounded(roles, 5, "roles")],
            jurisdictions=_bounded(jurisdictions or [], 50, "jurisdictions"), expires_at=expires_at,
            ip_allowlist=_bounded(ip_allowlist or [], 50, "ipAllowlist"), name=name,
        )
        row = await members_repo.key_by_prefix(runtime.graph, issued.prefix)
        return IssuedApiKey(token=issued.token, key=_api_key({**row, "created_at": None}))

    @strawberry.mutation(description="Revoke an API key by its prefix: refused from the next request on by this server, within FENGHUO_AUTH_CACHE_SECONDS by other API processes.")
    async def revoke_api_key(self, info: Info, prefix: str) -> str:
        actor = require(info, "revokeApiKey")
        runtime = info.context.runtime
        return await service.revoke_api_key(runtime.graph, runtime.audit, actor, prefix)


def _bounded(items: list[str], limit: int, field: str) -> list[str]:
    if len(items) > limit:
        raise BadInput(f"{field} accepts at most {limit} items, got {len(items)}", field=field)
    return items
