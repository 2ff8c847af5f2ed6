"""The scheduler as a real process: one lease holder at a time, and a SIGKILL mid-run loses and duplicates nothing."""

from __future__ import annotations

import asyncio
import http.server
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest
from cryptography.fernet import Fernet

from core.settings import Settings
from graph import jobs as jobs_repo
from graph.database import Graph
from jobs import service
from jobs.secrets import SecretBox
from tests.conftest import free_port
from tests.support import ends_with_the_tests
from tests.jobs.conftest import MEMBER, LoopbackServer
from tests.support import ACTOR, add_member
from audit.log import AuditLog

ROWS = 20_000
SECRET_KEY = Fernet.generate_key().decode()


def scheduler_env(settings: Settings, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FENGHUO_")}
    env.update({
        "FENGHUO_NEO4J_URI": settings.neo4j_uri or "", "FENGHUO_DATA_DIR": str(data_dir),
        "FENGHUO_ALLIANCE_KEY": "ab" * 32, "FENGHUO_DEMO_SEED": "false", "FENGHUO_JOBS_SECRET_KEY": SECRET_KEY,
        "FENGHUO_SCHEDULER_LEASE_SECONDS": "5", "FENGHUO_SCHEDULER_POLL_SECONDS": "0.5",
        "FENGHUO_SCHEDULER_METRICS_PORT": str(free_port()), "FENGHUO_LOG_LEVEL": "WARNING",
    })
    return env


class SchedulerProcess:
    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", "from api.cli import main; main()", "scheduler"], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        cwd=Path(__file__).resolve().parents[2], preexec_fn=ends_with_the_tests)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def schedulers() -> Iterator[Callable[[dict[str, str]], SchedulerProcess]]:
    started: list[SchedulerProcess] = []

    def start(env: dict[str, str]) -> SchedulerProcess:
        process = SchedulerProcess(env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


async def _lease(graph: Graph) -> dict[str, Any] | None:
    rows = await graph.read("MATCH (k:SchedulerLease {id: 'scheduler'}) WHERE k.expires_at > timestamp() "
                            "RETURN k.holder AS holder, k.pid AS pid")
    return rows[0] if rows else None


async def _until(check: Callable[[], Any], seconds: float = 60, every: float = 0.05,
                 process: SchedulerProcess | None = None) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        if process is not None and process.process.poll() is not None:
            raise AssertionError(f"the scheduler exited {process.process.returncode}: {process.process.stderr.read()}")
        await asyncio.sleep(every)
    raise AssertionError("condition not reached in time")


async def test_a_second_scheduler_refuses_while_the_first_holds_the_lease(
        graph: Graph, settings: Settings, tmp_path: Path, schedulers: Callable[[dict[str, str]], SchedulerProcess]) -> None:
    env = scheduler_env(settings, tmp_path / "data")
    first = schedulers(env)
    lease = await _until(lambda: _lease(graph), process=first)

    second = schedulers(scheduler_env(settings, tmp_path / "data"))
    code = await asyncio.to_thread(second.process.wait, 60)

    assert lease["pid"] == first.process.pid
    assert code == 3
    stderr = second.process.stderr.read() if second.process.stderr else ""
    assert "another scheduler holds the lease" in stderr and str(first.process.pid) in stderr
    assert first.process.poll() is None  # the holder keeps running


async def test_the_scheduler_process_exports_its_event_loops_lateness(
        graph: Graph, settings: Settings, tmp_path: Path, schedulers: Callable[[dict[str, str]], SchedulerProcess]) -> None:
    env = scheduler_env(settings, tmp_path / "data")
    process = schedulers(env)
    await _until(lambda: _lease(graph), process=process)
    url = f"http://127.0.0.1:{env['FENGHUO_SCHEDULER_METRICS_PORT']}/metrics"

    async def ticked() -> str | None:
        try:
            text = (await asyncio.to_thread(httpx.get, url, timeout=5)).text
        except httpx.TransportError:
            return None  # its metrics server not listening yet
        found = re.search(r"^fenghuo_event_loop_lag_seconds_count (\S+)$", text, re.M)
        return text if found and float(found[1]) >= 3 else None

    text = await _until(ticked, process=process)

    if sys.platform.startswith("linux"):
        assert re.search(r'^fenghuo_event_loop_thread_seconds_total\{state="waiting_for_cpu"\} \d', text, re.M)


def _big_feed(path: Path) -> bytes:
    lines = ["phone,category,reference"] + [f"138{n:08d},LOAN_INTERMEDIARY,r{n}" for n in range(ROWS)]
    return ("\n".join(lines) + "\n").encode()


def _static(body: bytes) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


async def test_sigkill_mid_run_then_restart_files_each_row_exactly_once(
        graph: Graph, settings: Settings, tmp_path: Path, schedulers: Callable[[dict[str, str]], SchedulerProcess]) -> None:
    await add_member(graph, MEMBER)
    audit = AuditLog(graph)
    box = SecretBox(SECRET_KEY.encode())
    with LoopbackServer(_static(_big_feed(tmp_path))) as feed:
        job = await service.create_job(graph, audit, box, ACTOR, service.JobSpec(
            name="big-feed", kind="http_feed", member_code=MEMBER, interval_seconds=3600, config={"url": feed.url + "/big.csv"}))
        await audit.close()
        env = scheduler_env(settings, tmp_path / "data")
        first = schedulers(env)
        await _until(lambda: _lease(graph), process=first)
        await jobs_repo.request_run(graph, job["id"])

        async def chunk_written() -> bool:
            rows = await graph.read("MATCH (b:Batch {status: 'processing'}) WHERE b.written_seq > 0 RETURN b.id AS id")
            return bool(rows)

        await _until(chunk_written, every=0.01)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)
        assert await graph.read("MATCH (b:Batch) RETURN b.status AS status") == [{"status": "processing"}]

        await _until(lambda: _no_lease(graph), seconds=30, every=0.2)
        second = schedulers(env)
        await _until(lambda: _lease(graph), process=second)
        await jobs_repo.request_run(graph, job["id"])

        async def succeeded() -> Any:
            rows = await graph.read("MATCH (r:JobRun {job_id: $id, status: 'succeeded'}) RETURN r {.*} AS run", {"id": job["id"]})
            return rows[0]["run"] if rows else None

        try:
            run = await _until(succeeded, seconds=300, every=0.2, process=second)
        except AssertionError:
            second.stop()
            print("DEBUG runs", await graph.read("MATCH (r:JobRun) RETURN r {.*} AS r"))
            print("DEBUG batches", await graph.read("MATCH (b:Batch) RETURN b {.status, .written_seq, .error} AS b"))
            print("DEBUG stderr", second.process.stderr.read()[-3000:])
            raise

    runs = await graph.read("MATCH (r:JobRun {job_id: $id}) RETURN r.status AS status, r.error AS error ORDER BY r.started_at",
                            {"id": job["id"]})
    counts = (await graph.read("MATCH (l:Lead) RETURN count(l) AS leads, count(DISTINCT l.reference) AS refs"))[0]
    assert runs[0]["status"] == "failed" and "scheduler stopped during this run" in runs[0]["error"]
    assert run["accepted"] == ROWS
    assert counts == {"leads": ROWS, "refs": ROWS}
    assert await graph.read("MATCH (b:Batch) RETURN b.status AS status") == [{"status": "committed"}]


async def _no_lease(graph: Graph) -> bool:
    return await _lease(graph) is None
