"""`fenghuo serve --workers N`: N API processes share the port over one Neo4j, and Ctrl-C ends every one of them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import psutil

from core.settings import Settings
from tests.api.test_serve import FENGHUO, _launchers_for, _wait_status
from tests.conftest import free_port
from tests.support import ends_with_the_tests


def test_two_workers_answer_checks_and_ctrl_c_leaves_no_process(tmp_path: Path) -> None:
    data_dir, bolt, http = tmp_path / "data", free_port(), free_port()
    env = {**os.environ, "FENGHUO_DATA_DIR": str(data_dir), "FENGHUO_NEO4J_BOLT_PORT": str(bolt),
           "FENGHUO_NEO4J_HEAP": "512m", "FENGHUO_NEO4J_PAGE_CACHE": "64m", "FENGHUO_CACHE_DIR": str(Settings().cache_dir),
           "FENGHUO_SCHEDULER_METRICS_PORT": str(free_port()), "FENGHUO_DEMO_SEED": "false"}
    env.pop("FENGHUO_NEO4J_URI", None)
    process = subprocess.Popen([FENGHUO, "serve", "--port", str(http), "--workers", "2"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=ends_with_the_tests)
    url = f"http://127.0.0.1:{http}"
    workers: list[psutil.Process] = []
    try:
        _wait_status(url, 200, 300)
        deadline = time.monotonic() + 120  # the first worker may answer while a loaded machine still starts the second
        while len(workers) < 2 and time.monotonic() < deadline:
            tree = psutil.Process(process.pid).children(recursive=True)
            workers = [p for p in tree if "spawn_main" in _command_line(p)]
            time.sleep(0.5)
        assert len(workers) == 2, f"{len(workers)} worker processes"
        subprocess.run([FENGHUO, "members", "add", "ACME", "--name", "ACME 消费金融"], env=env, check=True, capture_output=True)
        created = subprocess.run([FENGHUO, "keys", "create", "--member", "ACME", "--role", "analyst"], env=env, check=True,
                                 capture_output=True, text=True).stdout
        key = re.search(r"fh_\S+", created).group(0)
        for _ in range(20):
            response = httpx.post(f"{url}/v1/checks", headers={"authorization": f"Bearer {key}"}, timeout=30,
                                  json={"leads": [{"ref": "a", "identifiers": [{"type": "PHONE", "value": "110"}]}]})
            assert response.status_code == 200 and response.json()["leads"][0]["identifiers"][0]["status"] == "BENIGN"
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=120)[0].decode("utf-8", "replace")
    assert process.returncode == 0, output
    assert not [p for p in workers if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not _launchers_for(data_dir), "the embedded Neo4j outlived serve"
    assert "2 worker processes" in output


def _command_line(process: psutil.Process) -> str:
    """A child's command line; empty for one that ended while the tree was listed (a short-lived helper left a
    zombie between `children()` and `cmdline()` in one CI run)."""
    try:
        return " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return ""
