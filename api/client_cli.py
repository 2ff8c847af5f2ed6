"""Client commands talking to a running Fenghuo over HTTP: `fenghuo upload` (and, later, `fenghuo check`).

Server and key come from --url/--key or FENGHUO_URL/FENGHUO_API_KEY.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.row_report import write_fix_file
from core.settings import get_settings

console = Console(stderr=True)


def _client(url: str | None, key: str | None) -> httpx.Client:
    settings = get_settings()
    token = key or (settings.api_key.get_secret_value() if settings.api_key else None)
    if not token:
        console.print("[red]error:[/] no API key: pass --key or set FENGHUO_API_KEY")
        raise typer.Exit(2)
    return httpx.Client(base_url=url or settings.url, headers={"authorization": f"Bearer {token}"},
                        timeout=httpx.Timeout(60.0, read=600.0))


def _fail_on(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = {"errors": [{"message": response.text[:500]}]}
    if response.status_code >= 400:
        message = "; ".join(e.get("message", "") for e in body.get("errors", [])) or response.reason_phrase
        console.print(f"[red]error ({response.status_code}):[/] {message}")
        raise typer.Exit(1)
    return body


def _read_chunks(path: Path, progress: Progress, task: Any) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while data := f.read(1 << 20):
            progress.update(task, advance=len(data))
            yield data


def upload(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="CSV, XLSX, JSON, NDJSON or STIX file"),
    format: str = typer.Option(None, "--format", help="csv, xlsx, json, ndjson or stix (default: detected)"),
    idempotency_key: str = typer.Option(None, "--idempotency-key", help="re-sending with the same key returns the same batch"),
    mapping: list[str] = typer.Option([], "--map", help="COLUMN=FIELD, to map a column explicitly (repeatable)"),
    attributed: bool = typer.Option(False, "--attributed", help="name your firm to other members on these leads"),
    category: str = typer.Option(None, "--category", help="default category for rows without one (code, 中文 label or alias)"),
    tlp: str = typer.Option(None, "--tlp", help="default TLP for rows without one: RED, AMBER, GREEN or CLEAR"),
    confidence: str = typer.Option(None, "--confidence", help="default confidence for rows without one: 0–1, 80%, 高/中/低"),
    observed_at: str = typer.Option(None, "--observed-at", help="default observation time for rows without one (2026-11-30, ISO 8601)"),
    agent: str = typer.Option(None, "--agent", help="default agent/gang label for rows without one"),
    report_file: Path = typer.Option(None, "--report", dir_okay=False, writable=True,
                                      help="write the rejected rows to this CSV (Excel-safe) with their problems and cells, to fix and upload again"),
    as_json: bool = typer.Option(False, "--json", help="print the batch and its row report as JSON"),
    url: str = typer.Option(None, "--url", help="server (default FENGHUO_URL)"),
    key: str = typer.Option(None, "--key", help="API key (default FENGHUO_API_KEY)"),
) -> None:
    """Upload a lead batch, follow its progress and print the report."""
    column_mapping = {}
    for item in mapping:
        column, sep, field = item.partition("=")
        if not sep:
            console.print(f"[red]error:[/] --map expects COLUMN=FIELD, got {item!r}")
            raise typer.Exit(2)
        column_mapping[column] = field
    params = {"filename": file.name}
    params.update({k: v for k, v in {"format": format, "idempotency_key": idempotency_key}.items() if v})
    if column_mapping:
        params["column_mapping"] = json.dumps(column_mapping, ensure_ascii=False)
    if attributed:
        params["attributed"] = "true"
    defaults = {"category": category, "tlp": tlp, "confidence": confidence, "observed_at": observed_at, "agent": agent}
    params.update({k: v for k, v in defaults.items() if v})
    with _client(url, key) as client, Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
        console=console, disable=as_json,
    ) as progress:
        sending = progress.add_task(f"uploading {file.name}", total=file.stat().st_size)
        body = _fail_on(client.post("/v1/batches", params=params, content=_read_chunks(file, progress, sending)))
        batch = body["batch"]
        processing = progress.add_task("processing", total=1.0)
        while batch["status"] == "processing" or (batch["status"] == "committed" and not batch.get("checks_ready")):
            time.sleep(0.5)
            batch = _fail_on(client.get(f"/v1/batches/{batch['id']}"))
            total = batch.get("bytes_total") or 0
            progress.update(processing, completed=min(1.0, (batch.get("bytes_done") or 0) / total) if total else 0)
        progress.update(processing, completed=1.0)
        report = _fail_on(client.get(f"/v1/batches/{batch['id']}/report.json"))
    if as_json:
        typer.echo(json.dumps({"created": body["created"], **report}, ensure_ascii=False, indent=2))
    else:
        _print_summary(batch, report["rows"], created=body["created"])
    if report_file is not None:
        _write_report(report_file, report["rows"], file, batch.get("format"))
    if batch["status"] != "committed":
        raise typer.Exit(1)


def _write_report(path: Path, rows: list[dict[str, Any]], source: Path, fmt: str | None) -> None:
    with_cells = write_fix_file(path, rows, source, fmt)
    rejected = sum(1 for row in rows if row["status"] == "rejected")
    cells = " with their cells" if with_cells else ""
    console.print(f"report: {rejected} rejected rows written to {path}{cells}; fix them there and upload that file"
                  if rejected else f"report: no rejected rows; {path} holds the header only")


def _print_summary(batch: dict[str, Any], rows: list[dict[str, Any]], *, created: bool) -> None:
    if not created:
        console.print("[yellow]this content was uploaded before: the existing batch is shown; nothing new was written[/]")
    table = Table(title=f"batch {batch['id']} — {batch['status']}")
    for column in ("rows", "accepted", "rejected", "skipped", "duplicate", "with warnings"):
        table.add_column(column, justify="right")
    table.add_row(*(str(batch.get(k) or 0) for k in ("rows_total", "accepted", "rejected", "skipped", "duplicate", "warnings")))
    console.print(table)
    if batch.get("defaults"):
        console.print("defaults for empty fields: " + ", ".join(f"{k}={v}" for k, v in batch["defaults"].items()))
    if batch.get("error"):
        console.print(f"[red]failed:[/] {batch['error']}")
    for warning in batch.get("file_warnings") or []:
        console.print(f"[yellow]file:[/] {warning}")
    problems = [r for r in rows if r["status"] != "accepted"]
    if problems:
        issues = Table(title=f"rows not accepted (first 20 of {len(problems)})")
        for column in ("line", "status", "field", "message"):
            issues.add_column(column)
        for row in problems[:20]:
            issue = (row["errors"] or row["warnings"] or [{"field": "", "message": ""}])[0]
            issues.add_row(str(row["line"]), row["status"], issue["field"], issue["message"])
        console.print(issues)


CHECK = """query($leads: [LeadCheckInput!]!, $scope: CheckScope!) { checkLeads(leads: $leads, scope: $scope) {
  peers { nodeId status latencyMs reason } leads { ref score level identifiers {
  inputType type masked status reason score level categories members firstSeen lastSeen base boost
  contributions { filer node category categoryLabel tlp confidence decay ageDays weight leads } network { id size members } } } } }"""

GUESS_ORDER = ("id_number", "phone", "imei", "bank_card", "ad_id", "email", "ip", "url", "domain")


def guess_type(value: str) -> str:
    """The first identifier type whose rules accept the value (the analyst can force one with --type)."""
    from ingest.identifiers import Invalid, normalize

    for kind in GUESS_ORDER:
        if not isinstance(normalize(kind, value), Invalid):
            return kind
    return "phone"


def check(
    values: list[str] = typer.Argument(..., help="identifiers to check (phones, ID numbers, cards, devices…)"),
    type: str = typer.Option(None, "--type", help="the identifier type of every value (default: guessed per value)"),
    as_json: bool = typer.Option(False, "--json", help="print the full verdicts as JSON"),
    federated: bool = typer.Option(False, "--federated", help="also ask every enabled peer node"),
    url: str = typer.Option(None, "--url", help="server (default FENGHUO_URL)"),
    key: str = typer.Option(None, "--key", help="API key (default FENGHUO_API_KEY)"),
    purpose: str = typer.Option(None, "--purpose", help="why you check (recorded in the audit trail), e.g. loan-2024-118"),
    private: bool = typer.Option(False, "--private", help="private set intersection: the hub learns only how many "
                                 "identifiers you asked (VALUES may be one FILE, a value or type,value a line)"),
    verdicts: bool = typer.Option(False, "--verdicts", help="with --private: then check the matching ones normally"),
) -> None:
    """Check identifiers against the alliance: a verdict per identifier with the reasons behind its score."""
    if private:  # issue 15: api/psi_cli.py
        from api import psi_cli

        return psi_cli.private_check(values, type, as_json, url, key, purpose, verdicts)
    # GraphQL enum values are the upper-case names (IdentifierKind: PHONE, ID_NUMBER, …)
    identifiers = [{"type": (type or guess_type(value)).strip().upper(), "value": value} for value in values]
    with _client(url, key) as client:
        headers = {"x-fenghuo-purpose": purpose} if purpose else {}
        variables = {"leads": [{"ref": "cli", "identifiers": identifiers}], "scope": "FEDERATED" if federated else "LOCAL"}
        body = _fail_on(client.post("/graphql", headers=headers, json={"query": CHECK, "variables": variables}))
    if body.get("errors"):
        console.print("[red]error:[/] " + "; ".join(e["message"] for e in body["errors"]))
        raise typer.Exit(1)
    lead, peers = body["data"]["checkLeads"]["leads"][0], body["data"]["checkLeads"]["peers"]
    if as_json:
        typer.echo(json.dumps({**lead, "peers": peers} if federated else lead, ensure_ascii=False, indent=2))
        return
    for peer in peers:
        detail = f"{peer['latencyMs']:.0f} ms" if peer["status"] == "ANSWERED" else peer["reason"]
        console.print(f"peer {peer['nodeId']}: {peer['status'].lower()} ({detail})")
    table = Table(title=f"overall: {lead['score']} ({lead['level'].lower()})")
    for column in ("identifier", "type", "status", "score", "categories", "members", "last seen", "why"):
        table.add_column(column)
    for verdict in lead["identifiers"]:
        why = verdict["reason"] or "; ".join(
            f"{c['filer'] or 'a member'}{' @' + c['node'] if c.get('node') else ''}: {c['categoryLabel']} "
            f"conf {c['confidence']:.2f} × decay {c['decay']:.2f} = {c['weight']:.2f}"
            for c in verdict["contributions"][:3])
        table.add_row(verdict["masked"] or "-", (verdict["type"] or verdict["inputType"]).lower(), verdict["status"].lower(),
                      str(verdict["score"]),
                      ",".join(verdict["categories"]), str(verdict["members"]), (verdict["lastSeen"] or "")[:10], why)
    Console(width=None if console.is_terminal else 160).print(table)
