"""Escalation commands: find jurisdictions, verify a downloaded case package offline, build the daily digest.

Liaisons are API keys: `fenghuo keys create --member CODE --role police_liaison --jurisdiction 440300`.
"""

from __future__ import annotations

import base64
from datetime import date
from pathlib import Path

import typer

from escalation import jurisdictions
from escalation.package import verify

jurisdictions_app = typer.Typer(help="Police jurisdictions (GB/T 2260 provinces and prefectures) and their bureaus.",
                                no_args_is_help=True)
escalations_app = typer.Typer(help="Escalation to police: cases and their daily digest.", no_args_is_help=True)


@jurisdictions_app.command("find")
def jurisdictions_find(text: str = typer.Argument(..., help="code, name or bureau, e.g. 深圳, 4403, 襄樊")) -> None:
    """Jurisdictions whose code, name (or old name) or bureau contains TEXT."""
    found = jurisdictions.find(text, limit=400)
    if not found:
        typer.secho(f"no jurisdiction matches {text!r}", fg=typer.colors.YELLOW, err=True)
        raise typer.Exit(1)
    for j in found:
        level = "省级" if j.level == "province" else "地级"
        typer.echo(f"{j.code}  {j.name:<12} {level}  {j.bureau or '（无公安机关）'}")


def verify_package(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="a case package ZIP downloaded from the inbox"),
    public_key: str = typer.Option(None, "--public-key", help="the node's public key (base64) from "
                                   "/.well-known/fenghuo/node-key; without it the key in the manifest is reported"),
) -> None:
    """Check a case package offline: the manifest's Ed25519 signature and the SHA-256 of every file."""
    trusted = base64.b64decode(public_key) if public_key else None
    result = verify(file, trusted)
    if not result.ok:
        for problem in result.problems:
            typer.secho(f"FAIL {problem}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    pinned = "the trusted key" if trusted else "the key in its manifest (pass --public-key to pin the node's key)"
    typer.echo(f"OK {result.case_number}: {result.files} files match the manifest, signed by {pinned}, "
               f"key id {result.key_id}")


@escalations_app.command("digest")
def escalations_digest(day: str = typer.Option(None, "--day", help="YYYY-MM-DD in China time; default yesterday")) -> None:
    """Build the daily digest of new and changed cases per jurisdiction (what the scheduler runs daily)."""
    from api.admin_cli import run_admin
    from escalation.scheduled import daily_digest

    try:
        chosen = date.fromisoformat(day) if day else None
    except ValueError:
        typer.secho(f"error: --day {day!r} is not a date like 2026-12-01", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    stored = run_admin(lambda graph, audit, principal, key: daily_digest(graph, chosen))
    for d in stored:
        typer.echo(f"{d['day']} {d['code']}: {d['new_cases']} new, {d['changed_cases']} changed")
    if not stored:
        typer.echo("no new or changed cases that day")
