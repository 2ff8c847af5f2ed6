"""One real Neo4j 5.26 per test session (embedded launcher, or FENGHUO_TEST_NEO4J_URI), clean data per test."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import AsyncIterator, Iterator

import asyncio

import httpx
import pytest
import uvicorn
from neo4j.exceptions import TransientError

from access.service import KEY_RECORDS
from api.app import create_app
from core.settings import Settings
from graph.database import Graph, Target
from graph.embedded import EmbeddedNeo4j
from graph.migrate import migrate

AUDIT_LABELS = "n:AuditHead OR n:AuditBlock OR n:AuditRecord"
WIPE = f"MATCH (n) WHERE NOT n:Migration AND NOT ({AUDIT_LABELS}) CALL (n) {{ DETACH DELETE n }} IN TRANSACTIONS OF 5000 ROWS"
# The audit chain goes in one transaction that first takes the chain head's lock, as appenders do: a live
# server's block being appended is committed before the wipe reads, so no block outlives its head, and an
# appender that comes later starts a fresh chain cleanly.
WIPE_AUDIT = f"""
OPTIONAL MATCH (h:AuditHead {{id: 'head'}}) SET h.locked_at = timestamp()
WITH count(*) AS locked
MATCH (n) WHERE {AUDIT_LABELS} DETACH DELETE n
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def neo4j_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    external = os.environ.get("FENGHUO_TEST_NEO4J_URI")
    if external:
        yield Target(external, None)
        return
    server = EmbeddedNeo4j(
        tmp_path_factory.mktemp("neo4j"), free_port(), cache_dir=Settings().cache_dir,
        heap="1g", page_cache="256m",
    )
    server.start()
    yield Target(server.uri, None)
    server.stop()


@pytest.fixture(scope="session")
def settings(neo4j_target: Target, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        neo4j_uri=neo4j_target.uri, data_dir=tmp_path_factory.mktemp("data"),
        alliance_key="ab" * 32, alliance_key_version=1, demo_seed=False, _env_file=None,
    )


@pytest.fixture(scope="session")
async def session_graph(neo4j_target: Target) -> AsyncIterator[Graph]:
    graph = Graph.connect(neo4j_target)
    await migrate(graph)
    yield graph
    await graph.close()


@pytest.fixture
async def graph(session_graph: Graph) -> AsyncIterator[Graph]:
    """The session's graph with every node but the migration records removed before the test."""
    await _wipe(session_graph)
    KEY_RECORDS.clear()  # key records remembered by a previous test's server belong to a wiped graph
    yield session_graph


async def _wipe(graph: Graph) -> None:
    for attempt in range(5):  # a server task of the previous test may still be finishing (e.g. networks)
        try:
            async with graph.driver.session(database=graph.database) as session:
                await (await session.run(WIPE)).consume()
            break
        except TransientError:
            await asyncio.sleep(0.5 * (attempt + 1))
    else:
        raise RuntimeError("could not wipe the test graph: it stayed locked")
    await graph.write(WIPE_AUDIT)


class ServerThread:
    """A real uvicorn server on a free loopback port, in a thread, for tests that speak HTTP."""

    def __init__(self, app: object) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test API server did not start")
            time.sleep(0.02)
        return self

    def settle_audit(self, timeout: float = 10.0) -> None:
        """Wait until the server's audit log has written what it queued, so it cannot land in the next test's graph."""
        runtime = getattr(getattr(self.server.config.app, "state", None), "runtime", None)
        deadline = time.monotonic() + timeout
        while runtime is not None and not runtime.audit.settled and time.monotonic() < deadline:
            time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture(scope="session")
def api_server(settings: Settings, neo4j_target: Target) -> Iterator[ServerThread]:
    with ServerThread(create_app(settings, neo4j_target)) as server:
        client = httpx.Client(base_url=server.url)
        deadline = time.monotonic() + 60
        while client.get("/healthz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        yield server


@pytest.fixture
async def api(api_server: ServerThread, graph: Graph) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the test API over a freshly wiped graph."""
    async with httpx.AsyncClient(base_url=api_server.url, timeout=30) as client:
        yield client
    await asyncio.to_thread(api_server.settle_audit)


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
