"""`fenghuo serve` on the embedded default, as a user runs it: a real process tree, real signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from core.settings import Settings
from graph.embedded import LAUNCHER_MAIN, STATE_FILE
from tests.conftest import free_port
from tests.support import ends_with_the_tests

FENGHUO = str(Path(sys.executable).with_name("fenghuo"))


def _launchers_for(data_dir: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if LAUNCHER_MAIN in cmdline and str(data_dir) in cmdline:
            found.append(process)
    return found


def _wait_status(url: str, wanted: int, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if httpx.get(f"{url}/healthz", timeout=3).status_code == wanted:
                return time.monotonic() - start
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"/healthz never answered {wanted} within {timeout}s")


def _serve(data_dir: Path, bolt_port: int, http_port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ, "FENGHUO_DATA_DIR": str(data_dir), "FENGHUO_NEO4J_BOLT_PORT": str(bolt_port),
        "FENGHUO_NEO4J_HEAP": "512m", "FENGHUO_NEO4J_PAGE_CACHE": "64m", "FENGHUO_DEMO_SEED": "false",
        "FENGHUO_CACHE_DIR": str(Settings().cache_dir),
    }
    env.pop("FENGHUO_NEO4J_URI", None)
    return subprocess.Popen([FENGHUO, "serve", "--port", str(http_port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=ends_with_the_tests)


def _stop(process: subprocess.Popen[bytes]) -> str:
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=90)
    return output.decode("utf-8", "replace")


def _graphql(url: str, query: str) -> dict:
    return httpx.post(f"{url}/graphql", json={"query": query}, timeout=10).json()


def test_serve_recovers_from_a_killed_neo4j_and_ctrl_c_leaves_no_jvm(tmp_path: Path) -> None:
    data_dir, bolt, http = tmp_path / "data", free_port(), free_port()
    url = f"http://127.0.0.1:{http}"
    process = _serve(data_dir, bolt, http)
    try:
        _wait_status(url, 200, 180)
        body = httpx.get(f"{url}/healthz").json()
        assert body["neo4j"]["version"].startswith("5.26")

        jvm_pid = json.loads((data_dir / STATE_FILE).read_text())["pid"]
        os.kill(jvm_pid, signal.SIGKILL)
        _wait_status(url, 503, 30)
        _wait_status(url, 200, 120)  # the supervisor restarted Neo4j; the API was not restarted
        assert process.poll() is None
    finally:
        output = _stop(process)
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert _launchers_for(data_dir) == []


def test_a_second_run_keeps_the_data(tmp_path: Path) -> None:
    data_dir, bolt, http = tmp_path / "data", free_port(), free_port()
    url = f"http://127.0.0.1:{http}"
    first = _serve(data_dir, bolt, http)
    try:
        _wait_status(url, 200, 180)
        applied = _graphql(url, "{ health { migrationsApplied } }")
        assert applied["data"]["health"]["migrationsApplied"] is True
    finally:
        output = _stop(first)
    # the memory chosen for Neo4j is logged once at start, with why
    assert output.count("embedded Neo4j memory: heap 512 MiB (set by FENGHUO_NEO4J_HEAP), "
                        "page cache 64 MiB (set by FENGHUO_NEO4J_PAGE_CACHE); machine memory") == 1, output
    store = data_dir / "neo4j" / "data" / "databases" / "neo4j"
    assert store.is_dir()
    second = _serve(data_dir, bolt, http)
    try:
        _wait_status(url, 200, 180)
        # The migration records written by the first run are still there: nothing re-applied.
        env = {**os.environ, "FENGHUO_DATA_DIR": str(data_dir)}
        env.pop("FENGHUO_NEO4J_URI", None)
        migrated = subprocess.run([FENGHUO, "migrate"], env=env, capture_output=True, text=True, timeout=60)
        assert migrated.returncode == 0, migrated.stderr
        assert "up to date" in migrated.stdout
    finally:
        _stop(second)


def test_killing_the_parent_leaves_no_orphan_jvm(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    script = (
        "import sys, time; from pathlib import Path; from graph.embedded import EmbeddedNeo4j;"
        f"s = EmbeddedNeo4j(Path({str(data_dir)!r}), {free_port()}, cache_dir=Path({str(Settings().cache_dir)!r}),"
        " heap='512m', page_cache='64m'); s.start(); print('up', flush=True); time.sleep(600)"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=Path(__file__).parents[2])
    assert parent.stdout.readline().strip() == b"up"
    assert len(_launchers_for(data_dir)) == 1
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 30
    while _launchers_for(data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _launchers_for(data_dir) == []


def test_missing_java_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from graph import embedded

    monkeypatch.setattr(embedded.shutil, "which", lambda tool: None)
    with pytest.raises(embedded.EmbeddedNeo4jError) as error:
        embedded._require_tools()
    assert "java" in str(error.value) and "FENGHUO_NEO4J_URI" in str(error.value)
