"""Members, API keys and authentication: the flows behind the admin CLI, the admin mutations and every request."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from access.keys import generate_key, parse_token, secret_matches
from core.principal import Principal, Role
from audit.log import AuditLog
from audit.reader import Reader
from core.errors import BadInput, NotFound, Unauthenticated
from graph import matchability
from graph import members as repo
from graph.database import Graph
from ingest.pseudonym import AllianceKey, Identified, mask, require_identified

MEMBER_CODE = re.compile(r"^[A-Z][A-Z0-9_-]{1,31}$")
JURISDICTION_CODE = re.compile(r"^\d{6}$")  # GB/T 2260 administrative division code, e.g. 440300 深圳市
ROLE_NAMES = ", ".join(role.value for role in Role)


@dataclass(frozen=True)
class IssuedKey:
    token: str  # shown once
    prefix: str
    member_code: str
    roles: tuple[str, ...]
    jurisdictions: tuple[str, ...]
    expires_at: datetime | None


async def add_member(
    graph: Graph, audit: AuditLog, actor: Principal, alliance_key: AllianceKey, *,
    code: str, name: str, home_jurisdiction: str | None = None, hotlines: Sequence[str] = (),
) -> dict[str, Any]:
    code = code.strip().upper()
    if not MEMBER_CODE.match(code):
        raise BadInput(f"member code {code!r} is not accepted: 2–32 characters, A–Z, 0–9, '_' or '-', starting with a letter")
    if not name.strip():
        raise BadInput("member name is required")
    if home_jurisdiction is not None and not JURISDICTION_CODE.match(home_jurisdiction):
        raise BadInput("home jurisdiction must be a 6-digit administrative division code, e.g. 440300 (深圳市)")
    numbers = [_hotline(alliance_key, raw, position) for position, raw in enumerate(hotlines, start=1)]
    member, created = await repo.create_member(graph, code, name.strip(), home_jurisdiction)
    for number in numbers:
        await _register_hotline(graph, audit, actor, alliance_key, code=code, number=number, audit_it=False)
    audit.record(actor, "member.add" if created else "member.update", subject=code,
                 detail=f"hotlines={len(numbers)}")
    member["hotlines"] = [mask(n.normalized) for n in numbers]
    return member


def _hotline(alliance_key: AllianceKey, raw: str, position: int) -> Identified:
    return require_identified(alliance_key, "phone", raw, field=f"hotlines[{position - 1}]",
                              what=f"hotline {position} is not a phone number the alliance can register")


async def register_hotline(
    graph: Graph, audit: AuditLog, actor: Principal, alliance_key: AllianceKey, *, code: str, number: str
) -> str:
    return await _register_hotline(graph, audit, actor, alliance_key, code=code,
                                           number=_hotline(alliance_key, number, 1))


async def _register_hotline(graph: Graph, audit: AuditLog, actor: Principal, alliance_key: AllianceKey, *,
                                    code: str, number: Identified, audit_it: bool = True) -> str:
    key, normalized = number.key, number.normalized
    masked = await repo.register_hotline(
        graph, code, key=key, type=normalized.type.value, key_version=alliance_key.version,
        masked=mask(normalized), reason=f"registered hotline of member {code}",
    )
    if masked is None:
        raise NotFound(f"no member with code {code}")
    await matchability.keys_changed(graph, [key], "member.hotline")  # a benign number stops matching privately
    if audit_it:
        audit.record(actor, "member.hotline", subject=[code, key])
    return masked


def _parse_roles(roles: Sequence[str]) -> tuple[Role, ...]:
    parsed = []
    for name in roles:
        try:
            parsed.append(Role(name.strip().lower()))
        except ValueError:
            raise BadInput(f"unknown role {name!r}; accepted roles: {ROLE_NAMES}", field="role") from None
    if not parsed:
        raise BadInput(f"at least one role is required; accepted roles: {ROLE_NAMES}", field="role")
    return tuple(dict.fromkeys(parsed))


async def read_members(reader: Reader) -> list[dict[str, Any]]:
    rows = await repo.list_members(reader.graph, reader.principal)
    reader.record("admin.members.read", subject=[row["code"] for row in rows], found=bool(rows))
    return rows


async def read_keys(reader: Reader, member_code: str | None = None) -> list[dict[str, Any]]:
    rows = await repo.list_keys(reader.graph, reader.principal, member_code)
    reader.record("admin.keys.read", subject=member_code, found=bool(rows))
    return rows


async def create_api_key(
    graph: Graph, audit: AuditLog, actor: Principal, *,
    member_code: str, roles: Sequence[str], jurisdictions: Sequence[str] = (), expires_at: datetime | None = None,
    ip_allowlist: Sequence[str] = (), name: str = "",
) -> IssuedKey:
    parsed = _parse_roles(roles)
    jurisdictions = tuple(dict.fromkeys(j.strip() for j in jurisdictions))
    if Role.POLICE_LIAISON in parsed and not jurisdictions:
        raise BadInput("a police_liaison key must be bound to at least one jurisdiction code (e.g. 440300)", field="jurisdiction")
    if jurisdictions and Role.POLICE_LIAISON not in parsed:
        raise BadInput("jurisdictions apply only to police_liaison keys", field="jurisdiction")
    for code in jurisdictions:
        if not JURISDICTION_CODE.match(code):
            raise BadInput(f"jurisdiction {code!r} must be a 6-digit administrative division code, e.g. 440300", field="jurisdiction")
    networks = []
    for cidr in ip_allowlist:
        try:
            networks.append(str(ipaddress.ip_network(cidr.strip(), strict=False)))
        except ValueError:
            raise BadInput(f"IP allowlist entry {cidr!r} is not an address or CIDR block (e.g. 10.0.0.0/8)", field="ip_allowlist") from None
    if expires_at is not None:
        expires_at = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=timezone.utc)
        if expires_at <= datetime.now(timezone.utc):
            raise BadInput("expiry must be in the future", field="expires")
    if await repo.get_member(graph, member_code) is None:
        raise NotFound(f"no member with code {member_code}; add it first with `fenghuo members add`")
    new = generate_key()
    await repo.create_key(
        graph, id=f"key:{new.prefix}", prefix=new.prefix, secret_hash=new.secret_hash, member_code=member_code,
        name=name, roles=[r.value for r in parsed], jurisdictions=list(jurisdictions), ip_allowlist=networks,
        expires_at=expires_at,
    )
    audit.record(actor, "key.create", subject=[f"key:{new.prefix}", member_code],
                 detail="roles=" + ",".join(r.value for r in parsed))
    return IssuedKey(new.token, new.prefix, member_code, tuple(r.value for r in parsed), jurisdictions, expires_at)


async def revoke_api_key(graph: Graph, audit: AuditLog, actor: Principal, prefix: str) -> str:
    prefix = prefix.removeprefix("key:")
    revoked = await repo.revoke_key(graph, prefix)
    if revoked is None:
        raise NotFound(f"no API key with prefix {prefix}")
    KEY_RECORDS.forget(revoked["prefix"])
    audit.record(actor, "key.revoke", subject=f"key:{prefix}")
    return revoked["prefix"]


class KeyRecords:
    """Stored API key records remembered for a few seconds, so a request does not pay a Neo4j round trip
    (about 1.4 ms, a quarter of a single check) only to learn that its key is still the same.

    What is remembered is the record, never a decision: the secret, revocation, expiry and IP allowlist
    are checked on every request. A revocation through this process (the revokeApiKey mutation on this
    server) forgets the record at once; one made by another process (another API worker, `fenghuo keys revoke`) takes effect here
    within ``seconds`` (``FENGHUO_AUTH_CACHE_SECONDS``, 0 turns the memory off). Unknown prefixes are never
    remembered, so a new key works at once.
    """

    def __init__(self, seconds: float = 5.0, clock: Callable[[], float] = time.monotonic, limit: int = 10_000) -> None:
        self.seconds = seconds
        self.clock = clock
        self.limit = limit
        self._records: dict[str, tuple[float, dict[str, Any]]] = {}
        self._reading: dict[tuple[Any, str], asyncio.Future[dict[str, Any] | None]] = {}  # by (event loop, prefix)
        self._generation = 0  # a read that began before a forget() does not remember what it read

    async def get(self, graph: Graph, prefix: str) -> dict[str, Any] | None:
        now = self.clock()
        held = self._records.get(prefix)
        if held is not None and now - held[0] < self.seconds:
            return held[1]
        # The requests of one key arriving as its record expires (fifty, from a busy risk engine) share one read.
        reading_key = (asyncio.get_running_loop(), prefix)
        reading = self._reading.get(reading_key)
        if reading is None:
            reading = self._reading[reading_key] = asyncio.ensure_future(self._read(graph, prefix, now, reading_key))
        return await asyncio.shield(reading)

    async def _read(self, graph: Graph, prefix: str, now: float, reading_key: tuple[Any, str]) -> dict[str, Any] | None:
        generation = self._generation
        try:
            key = await repo.key_by_prefix(graph, prefix)
        finally:
            if self._reading.get(reading_key) is asyncio.current_task():
                del self._reading[reading_key]
        if key is None:
            self._records.pop(prefix, None)
        elif self.seconds > 0 and generation == self._generation:  # not if a key was forgotten meanwhile
            if len(self._records) >= self.limit:
                self._records.clear()
            self._records[prefix] = (now, key)
        return key

    def forget(self, prefix: str) -> None:
        self._generation += 1
        self._records.pop(prefix, None)
        for reading in [k for k in self._reading if k[1] == prefix]:  # later requests read afresh
            del self._reading[reading]

    def clear(self) -> None:
        self._generation += 1
        self._records.clear()
        self._reading.clear()


KEY_RECORDS = KeyRecords()


async def authenticate(
    graph: Graph, token: str, client_ip: str | None, now: datetime | None = None, records: KeyRecords | None = None,
) -> Principal:
    """The principal behind a bearer token; Unauthenticated with the reason when it cannot be used.

    ``records`` remembers key records briefly (see KeyRecords); without it every call reads Neo4j.
    """
    parsed = parse_token(token)
    if parsed is None:
        raise Unauthenticated("malformed API key: expected `Authorization: Bearer fh_<prefix>_<secret>`")
    prefix, secret = parsed
    key = await (records.get(graph, prefix) if records is not None else repo.key_by_prefix(graph, prefix))
    if key is None or not secret_matches(secret, key["secret_hash"]):
        raise Unauthenticated("unknown API key")
    now = now or datetime.now(timezone.utc)
    if key["revoked_at"] is not None:
        raise Unauthenticated(f"API key {prefix} was revoked")
    if repo.is_past(key["expires_at"], now):
        raise Unauthenticated(f"API key {prefix} expired")
    if key["ip_allowlist"] and not _ip_allowed(client_ip, key["ip_allowlist"]):
        raise Unauthenticated(f"API key {prefix} is not allowed from this address")
    return principal_of(key)


def principal_of(key: dict[str, Any]) -> Principal:
    """Who a stored key record speaks for. Built once per record read and kept on the record (a remembered record
    serves every request of its key for a few seconds); the checks above stay per request."""
    principal = key.get(_PRINCIPAL)
    if principal is None:
        principal = key[_PRINCIPAL] = Principal(
            id=key["id"], member_code=key["member_code"], roles=frozenset(Role(r) for r in key["roles"]),
            jurisdictions=frozenset(key["jurisdictions"] or ()), name=key["name"] or "",
        )
    return principal


_PRINCIPAL = "principal"


def _ip_allowed(client_ip: str | None, allowlist: Sequence[str]) -> bool:
    if not client_ip:
        return False
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(cidr) for cidr in allowlist)
