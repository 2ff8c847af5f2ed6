"""`fenghuo neo4j status`: the memory chosen and why, the store and the running server, as a user runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from core.settings import Settings
from graph.sizing import choose, human
from tests.conftest import free_port

FENGHUO = str(Path(sys.executable).with_name("fenghuo"))


def _fenghuo(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FENGHUO, *args], env=env, capture_output=True, text=True, timeout=240)


def _env(data_dir: Path, bolt_port: int, **extra: str) -> dict[str, str]:
    env = {**os.environ, "FENGHUO_DATA_DIR": str(data_dir), "FENGHUO_NEO4J_BOLT_PORT": str(bolt_port),
           "FENGHUO_CACHE_DIR": str(Settings().cache_dir), **extra}
    for name in ("FENGHUO_NEO4J_URI", "FENGHUO_NEO4J_HEAP", "FENGHUO_NEO4J_PAGE_CACHE"):
        if name not in extra:
            env.pop(name, None)
    return env


def _field(output: str, name: str) -> str:
    match = re.search(rf"^{name}\s+(.*)$", output, re.MULTILINE)
    assert match, f"no {name!r} line in:\n{output}"
    return match.group(1)


def test_status_of_a_stopped_neo4j_says_what_auto_would_choose_and_exits_3(tmp_path: Path) -> None:
    port = free_port()
    done = _fenghuo(_env(tmp_path / "data", port), "neo4j", "status")
    assert done.returncode == 3, done.stdout + done.stderr
    expected = choose()
    assert _field(done.stdout, "heap").startswith(f"{human(expected.heap)} (auto: Neo4j's recommendation")
    assert _field(done.stdout, "page cache").startswith(f"{human(expected.page_cache)} (auto:")
    assert _field(done.stdout, "machine memory") == human(expected.memory.physical)
    assert _field(done.stdout, "data dir") == str(tmp_path / "data")
    assert _field(done.stdout, "store size") == "empty (no store yet)"
    assert _field(done.stdout, "bolt port") == str(port)
    assert _field(done.stdout, "running") == "no"


def test_status_of_a_running_neo4j_names_its_sizes_store_version_and_gds(tmp_path: Path) -> None:
    port = free_port()
    env = _env(tmp_path / "data", port, FENGHUO_NEO4J_HEAP="512m", FENGHUO_NEO4J_PAGE_CACHE="64m")
    started = _fenghuo(env, "neo4j", "start")
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        done = _fenghuo(env, "neo4j", "status")
        changed = _fenghuo({**env, "FENGHUO_NEO4J_HEAP": "640m"}, "neo4j", "status")
    finally:
        stopped = _fenghuo(env, "neo4j", "stop")
    assert stopped.returncode == 0 and "stopped Neo4j pid" in stopped.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    assert _field(done.stdout, "heap") == "512 MiB (set by FENGHUO_NEO4J_HEAP)"
    assert _field(done.stdout, "page cache") == "64 MiB (set by FENGHUO_NEO4J_PAGE_CACHE)"
    assert "started with" not in done.stdout  # the running JVM has the sizes the settings name
    assert re.fullmatch(r"yes, pid \d+ \(detached\), bolt://127\.0\.0\.1:" + str(port), _field(done.stdout, "running"))
    assert _field(done.stdout, "version").startswith("5.26")
    assert re.fullmatch(r"2\.\d+\.\d+ loaded", _field(done.stdout, "GDS"))
    assert re.fullmatch(r"\d+(\.\d)? (MiB|GiB)", _field(done.stdout, "store size"))
    # settings changed since the start: the chosen sizes and what the running JVM has are both said
    assert _field(changed.stdout, "heap") == "640 MiB (set by FENGHUO_NEO4J_HEAP)"
    assert _field(changed.stdout, "  started with").startswith("heap 512 MiB, page cache 64 MiB")


def test_a_bad_heap_setting_is_refused_naming_what_is_accepted(tmp_path: Path) -> None:
    done = _fenghuo(_env(tmp_path / "data", free_port(), FENGHUO_NEO4J_HEAP="lots"), "neo4j", "status")
    assert done.returncode != 0
    assert "such as 512m or 4g" in done.stdout + done.stderr
