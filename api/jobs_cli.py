"""`fenghuo jobs list|add|pause|resume|run|show` and `fenghuo scheduler` (the one scheduling process)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from datetime import datetime
from typing import Any, Iterator

import typer
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api import loopwatch
from api.admin_cli import run_admin
from core.logs import configure_logging
from api.metrics import routes as metrics_routes
from api.runtime import open_runtime
from audit.reader import Reader
from core.settings import get_settings
from graph.database import resolve_target
from graph.migrate import migrate
from jobs import service
from jobs.process import build_scheduler
from jobs.scheduler import LeaseHeld
from jobs.secrets import SecretBox

jobs_app = typer.Typer(help="Scheduled ingest jobs (drop folders, HTTP feeds, TAXII, MISP) and housekeeping.",
                       no_args_is_help=True)


def _when(value: Any) -> str:
    if value is None:
        return "-"
    value = value.to_native() if hasattr(value, "to_native") else value
    return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if isinstance(value, datetime) else str(value)


def _last_run(job: dict[str, Any]) -> str:
    run = job.get("last_run")
    if not run:
        return "never ran"
    text = f"{run['status']} {_when(run.get('started_at'))}, rows {run.get('rows', 0)} accepted {run.get('accepted', 0)} rejected {run.get('rejected', 0)}"
    return text + (f" — {run['error']}" if run.get("error") else "")


@jobs_app.command("list")
def jobs_list() -> None:
    """Every job with its schedule, state, last run and next run."""
    jobs = run_admin(lambda g, a, p, k: service.list_jobs(Reader(g, a, p)))
    for job in jobs:
        schedule = f"cron {job['cron']}" if job.get("cron") else f"every {job.get('interval_seconds')}s"
        state = "paused" if job.get("paused") else "active"
        typer.echo(f"{job['name']:<32} {job['kind']:<16} {schedule:<20} {state:<7} next {_when(job.get('next_run_at'))}")
        typer.echo(f"    last run: {_last_run(job)}")


@jobs_app.command("show")
def jobs_show(job: str = typer.Argument(..., help="job name or id")) -> None:
    """One job: config (without secrets), cursor, and its recent runs."""

    async def work(graph, audit, principal, key):
        found = await service.get_job(Reader(graph, audit, principal), job)
        return found, (await service.runs_of(graph, principal, found["id"], 10) if found else [])

    found, runs = run_admin(work)
    if found is None:
        typer.secho(f"error: no job {job!r}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    for name in ("id", "name", "kind", "member_code", "interval_seconds", "cron", "timezone", "paused", "failures"):
        typer.echo(f"{name}: {found.get(name)}")
    typer.echo(f"config: {found.get('config')}\ndefaults: {found.get('defaults')}\ncursor: {found.get('cursor')}")
    typer.echo(f"secrets: {'set' if found.get('secrets_set') else 'not set'}\nnext run: {_when(found.get('next_run_at'))}")
    for run in runs:
        typer.echo(f"  {_when(run.get('started_at'))}  {run['status']:<9} {run.get('trigger', ''):<8} rows {run.get('rows', 0)} "
                   f"accepted {run.get('accepted', 0)} rejected {run.get('rejected', 0)} {run.get('error') or ''}")


@jobs_app.command("add")
def jobs_add(
    name: str = typer.Argument(..., help="a unique name, e.g. partner-a-feed"),
    kind: str = typer.Option(..., "--kind", help="drop_folder, http_feed, taxii or misp_feed"),
    member: str = typer.Option(..., "--member", help="the member whose leads these are"),
    config: str = typer.Option(..., "--config", help='connector settings as JSON, e.g. \'{"url": "https://…"}\''),
    every: int = typer.Option(None, "--every", help="interval in seconds"),
    cron: str = typer.Option(None, "--cron", help="crontab expression, e.g. '0 2 * * *'"),
    timezone: str = typer.Option(None, "--timezone", help="default Asia/Shanghai"),
    category: str = typer.Option(None, "--category", help="default category where the source has none"),
    tlp: str = typer.Option(None, "--tlp"),
    confidence: str = typer.Option(None, "--confidence"),
    token_env: str = typer.Option(None, "--token-from", help="read the bearer token from this file (never on the command line)"),
    password_env: str = typer.Option(None, "--password-from", help="read the password from this file"),
    paused: bool = typer.Option(False, "--paused"),
) -> None:
    """Create a job (secrets are read from files so they never sit in shell history)."""
    try:
        parsed = json.loads(config)
    except ValueError as error:
        typer.secho(f"error: --config is not valid JSON ({error})", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    secrets = {name: open(path, encoding="utf-8").read().strip()
               for name, path in (("token", token_env), ("password", password_env)) if path}
    defaults = {k: v for k, v in (("category", category), ("tlp", tlp), ("confidence", confidence)) if v}
    spec = service.JobSpec(name=name, kind=kind, member_code=member, interval_seconds=every, cron=cron, timezone=timezone,
                           config=parsed, secrets=secrets, defaults=defaults, paused=paused)
    settings = get_settings()
    job = run_admin(lambda g, a, p, k: service.create_job(g, a, SecretBox.from_settings(settings), p, spec))
    typer.echo(f"created job {job['name']} ({job['id']})")


@jobs_app.command("pause")
def jobs_pause(job: str = typer.Argument(..., help="job name or id")) -> None:
    """Stop scheduling a job."""
    found = run_admin(lambda g, a, p, k: service.set_paused(g, a, p, job, True))
    typer.echo(f"paused {found['name']}")


@jobs_app.command("resume")
def jobs_resume(job: str = typer.Argument(..., help="job name or id")) -> None:
    """Schedule a paused job again."""
    found = run_admin(lambda g, a, p, k: service.set_paused(g, a, p, job, False))
    typer.echo(f"resumed {found['name']}")


@jobs_app.command("run")
def jobs_run(job: str = typer.Argument(..., help="job name or id")) -> None:
    """Ask the scheduler to run a job now (it must be running: `fenghuo serve` or `fenghuo scheduler`)."""
    found = run_admin(lambda g, a, p, k: service.run_now(g, a, p, job))
    typer.echo(f"run of {found['name']} requested; follow it with `fenghuo jobs show {found['name']}`")


def scheduler_command(
    metrics_port: int = typer.Option(None, "--metrics-port", help="GET /metrics port (default FENGHUO_SCHEDULER_METRICS_PORT)"),
) -> None:
    """Run the one scheduling process; refuses to start while another holds the scheduler lease."""
    settings = get_settings()
    configure_logging(settings.log_level)
    target = resolve_target(settings)
    if target is None:
        typer.secho("error: no Neo4j to talk to: set FENGHUO_NEO4J_URI, or start the embedded one with "
                    "`fenghuo neo4j start`", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    try:
        asyncio.run(_scheduler_main(settings, target, metrics_port or settings.scheduler_metrics_port))
    except LeaseHeld as held:
        typer.secho(f"error: {held}", fg=typer.colors.RED, err=True)
        raise typer.Exit(3)


async def _scheduler_main(settings, target, metrics_port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with open_runtime(settings, target) as runtime:
        graph, audit, batches = runtime.graph, runtime.audit, runtime.batches
        await migrate(graph)
        await batches.resume_pending()
        scheduler = build_scheduler(graph, audit, batches, settings)
        await scheduler.start(wait_for_lease=False)
        audit.start()
        typer.echo(f"scheduler {scheduler.holder} holds the lease; metrics on http://{settings.host}:{metrics_port}/metrics")
        server = _SignalFreeServer(uvicorn.Config(_metrics_app(), host=settings.host, port=metrics_port,
                                                  log_level="warning", log_config=None))
        serving = asyncio.create_task(server.serve())
        watcher = asyncio.create_task(loopwatch.watch())
        await stop.wait()
        watcher.cancel()
        server.should_exit = True
        await scheduler.stop()
        await asyncio.gather(serving, return_exceptions=True)


class _SignalFreeServer(uvicorn.Server):
    """The scheduler owns SIGINT/SIGTERM; its metrics server must not take them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _metrics_app() -> Starlette:
    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, "role": "scheduler"})

    return Starlette(routes=[*metrics_routes, Route("/healthz", healthz)])
