"""The `fenghuo` command line: serve the platform, manage the embedded Neo4j, migrate, normalize."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from typing import Iterator

import typer
import uvicorn
from pydantic import ValidationError
from uvicorn.supervisors import Multiprocess

from api import client_cli, psi_cli
from api.demo_cli import demo_app
from api.peers_cli import dev_app, peers_app  # federation (issue 12)
from api.jobs_cli import jobs_app, scheduler_command
from api.admin_cli import audit_app, keys_app, members_app, run_admin
from api.demo import DEMO_ANALYST_KEY_FILE, DEMO_KEY_FILE, ensure_demo_alliance, ensure_demo_operator
from api.app import create_app
from api.graphql.schema import export_sdl
from core.logs import configure_logging
from core.settings import Settings, get_settings
from graph.database import Graph, Target, resolve_target
from graph.embedded import EmbeddedNeo4j, EmbeddedNeo4jError, launcher_classpath, read_state, stop_detached
from graph.sizing import human
from graph.migrate import migrate as apply_migrations
from graph.neo4j_status import collect as neo4j_status_of
from ingest.identifiers import INPUT_TYPES, Invalid, normalize as normalize_value
from ingest.pseudonym import mask

app = typer.Typer(help="Fenghuo (烽火): black-market intelligence sharing for anti-fraud alliances.", no_args_is_help=True)
neo4j_app = typer.Typer(help="The embedded Neo4j used when FENGHUO_NEO4J_URI is not set.", no_args_is_help=True)
app.add_typer(neo4j_app, name="neo4j")
app.add_typer(members_app, name="members")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(demo_app, name="demo")
app.command("upload")(client_cli.upload)
app.command("check")(client_cli.check)
# escalation (issue 13)
from api.escalation_cli import escalations_app, jurisdictions_app, verify_package  # noqa: E402
app.add_typer(jurisdictions_app, name="jurisdictions"); app.add_typer(escalations_app, name="escalations"); app.command("verify-package")(verify_package)
# federation (issue 12)
app.command("collide")(psi_cli.collide)  # lead collision (issue 15)
app.add_typer(peers_app, name="peers"); app.add_typer(dev_app, name="dev")  # noqa: E702  federation (issue 12)
app.add_typer(jobs_app, name="jobs"); app.command("scheduler")(scheduler_command)  # scheduled ingest (issue 11)


def _embedded(settings: Settings) -> EmbeddedNeo4j:
    return EmbeddedNeo4j(
        settings.data_dir, settings.neo4j_bolt_port, cache_dir=settings.cache_dir,
        heap=settings.neo4j_heap, page_cache=settings.neo4j_page_cache, start_timeout=settings.neo4j_start_timeout,
    )


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _require_target(settings: Settings) -> Target:
    target = resolve_target(settings)
    if target is None:
        raise _fail(
            "no Neo4j to talk to: set FENGHUO_NEO4J_URI, or start the embedded one with "
            "`fenghuo neo4j start` (or run `fenghuo serve`)"
        )
    return target


async def _seed_demo(graph, audit, actor, key, settings: Settings) -> tuple[str, str]:
    operator = await ensure_demo_operator(graph, audit, actor, key, settings.data_dir)
    typer.echo("preparing the demo alliance (seeded on first start only)…")
    return operator, await ensure_demo_alliance(graph, audit, actor, key, settings.data_dir)


class _QuietServer(uvicorn.Server):
    """Ctrl-C/SIGTERM shut down gracefully and return, instead of re-raising the signal after shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self.handle_exit)
        yield


@app.command()
def serve(
    host: str = typer.Option(None, help="address to listen on (default 127.0.0.1)"),
    port: int = typer.Option(None, help="port to listen on (default 8000)"),
    no_scheduler: bool = typer.Option(False, "--no-scheduler", help="run no job scheduler here (a separate `fenghuo scheduler` does)"),
    workers: int = typer.Option(None, "--workers", min=1, max=64,
                                help="API processes sharing the port (default FENGHUO_WORKERS, 1): one per core beyond Neo4j's"),
) -> None:
    """Serve the GraphQL API (and, unless --no-scheduler, the job scheduler); starts the embedded Neo4j when no FENGHUO_NEO4J_URI is set."""
    settings = get_settings()
    configure_logging(settings.log_level)
    embedded = None
    if settings.embedded and read_state(settings.data_dir) is None:
        embedded = _embedded(settings)
        try:
            state = embedded.start(supervise=True)
        except EmbeddedNeo4jError as error:
            raise _fail(str(error))
        typer.echo(f"Neo4j {state.version} (embedded) on {state.uri}, data in {settings.data_dir}, "
                   f"heap {human(embedded.sizing.heap)}, page cache {human(embedded.sizing.page_cache)} "
                   "(`fenghuo neo4j status` says why)")
    target = _require_target(settings)
    if settings.embedded and settings.demo_seed:
        operator, analyst = run_admin(lambda g, a, p, k: _seed_demo(g, a, p, k, settings), settings)
        typer.echo(f"demo operator key (also in {settings.data_dir / DEMO_KEY_FILE}):\n  {operator}\n"
                   f"demo analyst/uploader key of member DEMO_A (also in {settings.data_dir / DEMO_ANALYST_KEY_FILE}):\n"
                   f"  {analyst}\n"
                   f"GraphiQL: http://{host or settings.host}:{port or settings.port}/graphql  "
                   f"(header  Authorization: Bearer <key>)")
    try:
        _serve_api(settings, target, host or settings.host, port or settings.port, workers or settings.workers,
                   scheduler=settings.serve_scheduler and not no_scheduler)
    finally:
        if embedded is not None:
            embedded.stop()
            typer.echo("embedded Neo4j stopped")


def _serve_api(settings: Settings, target: Target, host: str, port: int, workers: int, *, scheduler: bool) -> None:
    """One process, or `workers` processes under uvicorn's supervisor sharing one socket (api.app.worker_app)."""
    if workers == 1:
        config = uvicorn.Config(create_app(settings, target, scheduler=scheduler), host=host, port=port,
                                log_level=settings.log_level.lower(), log_config=None, access_log=settings.access_log)
        _QuietServer(config).run()
        return
    run_admin(lambda graph, audit, principal, key: asyncio.sleep(0), settings)  # migrate once, before the workers
    os.environ["FENGHUO_SERVE_SCHEDULER"] = "true" if scheduler else "false"  # what the workers' settings read
    config = uvicorn.Config("api.app:worker_app", factory=True, host=host, port=port, workers=workers,
                            log_level=settings.log_level.lower(), log_config=None, access_log=settings.access_log)
    typer.echo(f"serving on http://{host}:{port} with {workers} worker processes")
    Multiprocess(config, sockets=[config.bind_socket()]).run()


@neo4j_app.command("build")
def neo4j_build() -> None:
    """Build the embedded Neo4j launcher with Maven (cached; later runs reuse it)."""
    try:
        classpath = launcher_classpath(get_settings().cache_dir)
    except EmbeddedNeo4jError as error:
        raise _fail(str(error))
    typer.echo(f"launcher ready: {classpath.split(os.pathsep)[0]}")


@neo4j_app.command("start")
def neo4j_start() -> None:
    """Start the embedded Neo4j in the background (it keeps running until `fenghuo neo4j stop`)."""
    settings = get_settings()
    embedded = _embedded(settings)
    try:
        state = embedded.start(detached=True)
    except EmbeddedNeo4jError as error:
        raise _fail(str(error))
    typer.echo(f"Neo4j {state.version} running on {state.uri} (pid {state.pid}), data in {settings.data_dir}, "
               f"heap {human(embedded.sizing.heap)}, page cache {human(embedded.sizing.page_cache)}")


@neo4j_app.command("stop")
def neo4j_stop() -> None:
    """Stop the embedded Neo4j started by `fenghuo neo4j start`."""
    state = stop_detached(get_settings().data_dir)
    typer.echo(f"stopped Neo4j pid {state.pid}" if state else "no embedded Neo4j is running")


@neo4j_app.command("status")
def neo4j_status() -> None:
    """The embedded Neo4j: memory chosen and why, data dir, store size, whether it runs, port, version, GDS."""
    settings = get_settings()
    if not settings.embedded:
        typer.echo(f"FENGHUO_NEO4J_URI is set: fenghuo uses the Neo4j at {settings.neo4j_uri} and does not start or size it")
        return
    status = neo4j_status_of(settings)
    for line in status.lines():
        typer.echo(line)
    if status.running is None:
        raise typer.Exit(3)


@app.command()
def migrate() -> None:
    """Apply schema migrations (constraints and indexes) to the configured Neo4j."""
    settings = get_settings()
    target = _require_target(settings)

    async def run() -> list[int]:
        graph = Graph.connect(target, settings.neo4j_database)
        try:
            return [m.version for m in await apply_migrations(graph)]
        finally:
            await graph.close()

    applied = asyncio.run(run())
    typer.echo(f"applied migrations {applied}" if applied else "schema is up to date")


@app.command()
def normalize(
    type: str = typer.Argument(..., help=f"one of: {', '.join(INPUT_TYPES)}"),
    value: str = typer.Argument(..., help="the raw identifier"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Normalize one identifier by the alliance's rules (nothing is stored or sent)."""
    result = normalize_value(type, value)
    if isinstance(result, Invalid):
        if as_json:
            typer.echo(json.dumps({"valid": False, "type": type, "reason": result.reason, "benign": result.benign}, ensure_ascii=False))
        else:
            typer.secho(f"refused: {result.reason}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    payload = {
        "valid": True, "type": result.type.value, "value": result.value, "masked": mask(result),
        "attributes": dict(result.attributes), "warnings": list(result.warnings),
    }
    if as_json:
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    typer.echo(result.value)
    for name, attribute in sorted(result.attributes.items()):
        typer.echo(f"  {name}: {attribute}")
    for warning in result.warnings:
        typer.secho(f"  warning: {warning}", fg=typer.colors.YELLOW)


@app.command("schema")
def schema_command() -> None:
    """Print the GraphQL SDL (the content of schema.graphql)."""
    sys.stdout.write(export_sdl())


def main() -> None:
    try:
        app()
    except ValidationError as error:
        if error.title != "Settings":
            raise
        # A FENGHUO_* setting out of its range: which one and what is accepted, on one line each, before anything
        # starts. Never the value given: some settings are keys.
        for problem in error.errors():
            name = "FENGHUO_" + "_".join(str(part) for part in problem["loc"]).upper()
            sys.stderr.write(f"fenghuo: {name} is not accepted: {problem['msg']}\n")
        raise SystemExit(2) from None
