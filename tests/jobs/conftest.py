"""Fixtures for scheduled ingest: a job runner over the real Neo4j, and real HTTP servers on loopback."""

from __future__ import annotations

import http.server
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator

import pytest

from audit.log import AuditLog
from core.settings import Settings
from graph import jobs as jobs_repo
from graph.database import Graph
from ingest.pipeline import BatchRunner
from jobs import service
from jobs.runner import JobRunner
from jobs.secrets import SecretBox
from tests.support import ACTOR, TEST_KEY, add_member

MEMBER = "FEEDCO"
SNAPSHOT = """
MATCH (n) WHERE n:Lead OR n:Batch OR n:Indicator OR n:JobItem
RETURN labels(n)[0] AS label, count(n) AS nodes ORDER BY label
"""


@dataclass
class JobsEnv:
    graph: Graph
    audit: AuditLog
    box: SecretBox
    runner: JobRunner
    settings: Settings

    async def create(self, name: str, kind: str, config: dict[str, Any], **options: Any) -> dict[str, Any]:
        options.setdefault("interval_seconds", 3600)
        spec = service.JobSpec(name=name, kind=kind, member_code=options.pop("member_code", MEMBER), config=config, **options)
        return await service.create_job(self.graph, self.audit, self.box, ACTOR, spec)

    async def run(self, job: dict[str, Any], trigger: str = "manual") -> dict[str, Any]:
        result = await self.runner.run(job["id"], trigger)
        assert result is not None, "the job's lock was taken"
        return result

    async def job(self, job_id: str) -> dict[str, Any]:
        found = await jobs_repo.find_job(self.graph, job_id)
        assert found is not None
        return found

    async def snapshot(self) -> dict[str, int]:
        return {row["label"]: row["nodes"] for row in await self.graph.read(SNAPSHOT)}

    async def count(self, query: str, **params: Any) -> int:
        rows = await self.graph.read(query, params)
        return list(rows[0].values())[0] if rows else 0


@pytest.fixture
async def jobs_env(graph: Graph, settings: Settings, tmp_path: Path) -> AsyncIterator[JobsEnv]:
    await add_member(graph, MEMBER)
    audit = AuditLog(graph)
    local = settings.model_copy(update={"data_dir": tmp_path / "data", "job_retry_base_seconds": 60.0})
    batches = BatchRunner(graph, audit, TEST_KEY, tmp_path / "spool")
    box = SecretBox.from_settings(local)
    yield JobsEnv(graph, audit, box, JobRunner(graph, audit, batches, box, local, "test-holder"), local)
    await batches.close()
    await audit.close()


class LoopbackServer:
    """A real threaded HTTP server on 127.0.0.1 with a handler class the test writes."""

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler]) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> "LoopbackServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


@pytest.fixture
def serve_http() -> Iterator[Callable[[type[http.server.BaseHTTPRequestHandler]], LoopbackServer]]:
    servers: list[LoopbackServer] = []

    def start(handler: type[http.server.BaseHTTPRequestHandler]) -> LoopbackServer:
        server = LoopbackServer(handler).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__()


def directory_handler(directory: Path) -> type[http.server.SimpleHTTPRequestHandler]:
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(directory), **kwargs)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def reference_dir() -> Path | None:
    """../shared/reference beside the repository, else /work/shared/reference; None when neither exists."""
    repo = Path(__file__).resolve().parents[2]
    for candidate in (repo.parent / "shared" / "reference", Path("/work/shared/reference")):
        if candidate.is_dir():
            return candidate
    return None
