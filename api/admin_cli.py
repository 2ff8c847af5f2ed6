"""Admin commands acting directly on the configured Neo4j: members, API keys, the audit trail."""

from __future__ import annotations

import asyncio
import getpass
from datetime import datetime, timezone
from typing import Awaitable, Callable, TypeVar

import typer

from access import service
from core.principal import Principal, cli_principal
from api.runtime import open_runtime
from audit.log import AuditLog, verify
from audit.reader import Reader
from core.errors import FenghuoError
from core.settings import Settings, get_settings
from graph.database import Graph, resolve_target
from graph.migrate import migrate
from ingest.pseudonym import AllianceKey

T = TypeVar("T")

members_app = typer.Typer(help="Member firms of the alliance.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys (shown once, stored hashed).", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)


def run_admin(work: Callable[[Graph, AuditLog, Principal, AllianceKey], Awaitable[T]], settings: Settings | None = None) -> T:
    """Connect, migrate, run `work` as the CLI operator, and write its audit records before returning."""
    settings = settings or get_settings()
    target = resolve_target(settings)
    if target is None:
        typer.secho("error: no Neo4j to talk to: set FENGHUO_NEO4J_URI, or start the embedded one with "
                    "`fenghuo neo4j start` (or run `fenghuo serve`)", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)

    async def main() -> T:
        async with open_runtime(settings, target, announce_key=False) as runtime:
            await migrate(runtime.graph)
            return await work(runtime.graph, runtime.audit, cli_principal(getpass.getuser()), runtime.alliance_key)

    try:
        return asyncio.run(main())
    except FenghuoError as error:
        typer.secho(f"error: {error.message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)


@members_app.command("add")
def members_add(
    code: str = typer.Argument(..., help="member code, e.g. ZHAOLIAN"),
    name: str = typer.Option(..., "--name", help="the firm's name"),
    jurisdiction: str = typer.Option(None, "--jurisdiction", help="home jurisdiction code, e.g. 440300"),
    hotline: list[str] = typer.Option([], "--hotline", help="a hotline, the member's official number (repeatable); joins the benign list"),
) -> None:
    """Add a member firm with its official hotlines."""
    member = run_admin(lambda g, a, p, k: service.add_member(
        g, a, p, k, code=code, name=name, home_jurisdiction=jurisdiction, hotlines=hotline))
    typer.echo(f"member {member['code']} ({member['name']}); hotlines: {', '.join(member['hotlines']) or 'none'}")


@members_app.command("list")
def members_list() -> None:
    """List member firms."""
    rows = run_admin(lambda g, a, p, k: service.read_members(Reader(g, a, p)))
    for row in rows:
        typer.echo(f"{row['code']:<16} {row['name']:<30} {row.get('home_jurisdiction') or '-':<8} "
                   f"hotlines: {', '.join(row['hotlines']) or '-'}")


def _expiry(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        typer.secho(f"error: --expires {text!r} is not a date or ISO datetime (e.g. 2027-06-30)", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@keys_app.command("create")
def keys_create(
    member: str = typer.Option(..., "--member", help="member code"),
    role: list[str] = typer.Option(..., "--role", help="analyst, uploader, police_liaison, operator or peer (repeatable)"),
    jurisdiction: list[str] = typer.Option([], "--jurisdiction", help="for police_liaison: a 6-digit code (repeatable)"),
    expires: str = typer.Option(None, "--expires", help="expiry date or datetime (ISO)"),
    allow_ip: list[str] = typer.Option([], "--allow-ip", help="address or CIDR the key may be used from (repeatable)"),
    name: str = typer.Option("", "--name", help="who or what holds the key"),
) -> None:
    """Create an API key and print it (it is shown only now)."""
    issued = run_admin(lambda g, a, p, k: service.create_api_key(
        g, a, p, member_code=member, roles=role, jurisdictions=jurisdiction, expires_at=_expiry(expires),
        ip_allowlist=allow_ip, name=name))
    typer.echo(issued.token)
    typer.echo(f"(key {issued.prefix} for {issued.member_code}, roles {', '.join(issued.roles)}; "
               "store it now, it cannot be shown again)", err=True)


@keys_app.command("revoke")
def keys_revoke(prefix: str = typer.Argument(..., help="the key's prefix (8 characters after fh_)")) -> None:
    """Revoke an API key; running API servers refuse it within FENGHUO_AUTH_CACHE_SECONDS (5 s by default)."""
    revoked = run_admin(lambda g, a, p, k: service.revoke_api_key(g, a, p, prefix))
    seconds = get_settings().auth_cache_seconds
    typer.echo(f"revoked key {revoked}; running API servers refuse it within {seconds:g} s "
               "(the revokeApiKey mutation takes effect at once on the server that runs it)")


@keys_app.command("list")
def keys_list(member: str = typer.Option(None, "--member", help="only this member's keys")) -> None:
    """List API keys (never their secrets)."""
    rows = run_admin(lambda g, a, p, k: service.read_keys(Reader(g, a, p), member))
    for row in rows:
        state = "revoked" if row.get("revoked_at") else ("expires " + str(row["expires_at"])[:10] if row.get("expires_at") else "active")
        typer.echo(f"{row['prefix']}  {row['member_code']:<12} {','.join(row['roles']):<24} "
                   f"{','.join(row.get('jurisdictions') or []) or '-':<14} {state}  {row.get('name') or ''}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the hash chain; exit 1 and name the first broken record or block if it was tampered with."""
    broken, blocks, records = run_admin(lambda g, a, p, k: verify(g))
    if broken is not None:
        typer.secho(f"BROKEN: {broken}", fg=typer.colors.RED)
        raise typer.Exit(1)
    typer.echo(f"audit chain intact: {blocks} blocks, {records} records")
