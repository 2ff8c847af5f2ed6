"""`fenghuo check --private FILE|VALUE…` and `fenghuo collide --peer ID --category CODE` (issue 15).

The private check runs on this machine: it keys the identifiers with the alliance key (FENGHUO_ALLIANCE_KEY, or
the development key in FENGHUO_DATA_DIR), blinds them, and learns which match; the hub learns only how many
were asked. `--verdicts` then sends only the matching ones to a normal check.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from api import client_cli
from api.runtime import load_alliance_key
from core.settings import get_settings
from ingest.identifiers import Invalid, normalize
from ingest.pseudonym import mask
from psi.client import PrivateCheckFailed, PrivateChecker

console = Console(stderr=True)


def read_values(values: list[str], type: str | None) -> list[tuple[str, str]]:
    """Values from the command line, or from a file given as the only argument (one value, or `type,value`, a line)."""
    if len(values) == 1 and Path(values[0]).is_file():
        lines = [line.strip() for line in Path(values[0]).read_text(encoding="utf-8").splitlines()]
        values = [line for line in lines if line and not line.startswith("#")]
    pairs = []
    for value in values:
        kind, sep, rest = value.partition(",")
        if sep and not type and kind.strip().lower() in client_cli.GUESS_ORDER + ("wechat", "alipay", "device", "oaid", "idfa"):
            pairs.append((kind.strip().lower(), rest.strip()))
        else:
            pairs.append(((type or client_cli.guess_type(value)).strip().lower(), value))
    return pairs


def private_check(values: list[str], type: str | None, as_json: bool, url: str | None, key: str | None,
                  purpose: str | None, verdicts: bool) -> None:
    settings = get_settings()
    token = key or (settings.api_key.get_secret_value() if settings.api_key else None)
    if not token:
        console.print("[red]error:[/] no API key: pass --key or set FENGHUO_API_KEY")
        raise typer.Exit(2)
    pairs = read_values(values, type)
    try:
        with PrivateChecker(url or settings.url, token, load_alliance_key(settings, announce=False), purpose=purpose) as checker:
            result = checker.check(pairs)
    except PrivateCheckFailed as error:
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps({
            "asked": result.asked, "matched": [{"type": t, "value": v} for t, v in result.matched],
            "invalid": [{"type": t, "value": v, "reason": r} for t, v, r in result.invalid],
            "setup_age_seconds": result.setup_age_seconds, "segments": result.segments,
            "bytes_sent": result.bytes_sent, "bytes_received": result.bytes_received}, ensure_ascii=False, indent=2))
    else:
        _print(result)
    if verdicts and result.matched:
        client_cli.check([v for _, v in result.matched], type=None, as_json=as_json, url=url, key=key, purpose=purpose)


def _print(result) -> None:
    table = Table(title=f"private check: {len(result.matched)} of {result.asked} match "
                        f"(setup {result.setup_age_seconds}s old, {result.segments} segments)")
    table.add_column("identifier")
    table.add_column("type")
    for kind, value in result.matched:
        normalized = normalize(kind, value)
        table.add_row(value if isinstance(normalized, Invalid) else mask(normalized), kind)
    Console(width=None if console.is_terminal else 160).print(table)
    for kind, _, reason in result.invalid:
        console.print(f"[yellow]not checked ({kind}):[/] {reason}")
    console.print(f"sent {result.bytes_sent} bytes, received {result.bytes_received}; the hub learned only that "
                  f"{result.asked} identifiers were asked. Run with --verdicts for the matches' verdicts.")


COLLIDE = """mutation($peer: String!, $filter: CollisionFilter!) { collideLeads(peer: $peer, filter: $filter) {
  peer collisionId category ours theirs matchedCount matched { type masked } peerRecorded } }"""


def collide(
    peer: str = typer.Option(..., "--peer", help="the peer node's id (see `fenghuo peers list`)"),
    category: str = typer.Option(..., "--category", help="lead category code, e.g. LOAN_INTERMEDIARY"),
    as_json: bool = typer.Option(False, "--json", help="print the collision as JSON"),
    url: str = typer.Option(None, "--url", help="your node (default FENGHUO_URL)"),
    key: str = typer.Option(None, "--key", help="API key (default FENGHUO_API_KEY)"),
    purpose: str = typer.Option(None, "--purpose", help="why you collide (recorded on both audit trails' sides)"),
) -> None:
    """Collide your firm's leads of one category with a peer node's: both learn the overlap only."""
    with client_cli._client(url, key) as client:
        headers = {"x-fenghuo-purpose": purpose} if purpose else {}
        body = client_cli._fail_on(client.post("/graphql", headers=headers, json={
            "query": COLLIDE, "variables": {"peer": peer, "filter": {"category": category.strip().upper()}}}))
    if body.get("errors"):
        console.print("[red]error:[/] " + "; ".join(e["message"] for e in body["errors"]))
        raise typer.Exit(1)
    result = body["data"]["collideLeads"]
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"collision {result['collisionId'][:8]} with {result['peer']}: our {result['ours']} against "
                        f"their {result['theirs']}, {result['matchedCount']} in both")
    table.add_column("identifier")
    table.add_column("type")
    for item in result["matched"]:
        table.add_row(item["masked"], item["type"].lower())
    Console(width=None if console.is_terminal else 160).print(table)
