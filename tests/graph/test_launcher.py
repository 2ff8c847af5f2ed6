"""The Java launcher runs several independent Neo4j DBMSs (own directory, own port) in one JVM."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from neo4j import GraphDatabase

from core.settings import Settings
from graph.database import Target
from graph.embedded import LAUNCHER_MAIN, launcher_classpath
from tests.conftest import free_port


def _read_until(process: subprocess.Popen[str], prefix: str, timeout: float = 180) -> list[str]:
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.strip())
        if line.startswith(prefix):
            return lines
    raise AssertionError(f"never saw {prefix!r}: {lines[-20:]}")


def test_two_dbms_in_one_jvm_are_independent_and_more_start_on_command(tmp_path: Path) -> None:
    first, second, third = free_port(), free_port(), free_port()
    command = ["java", "-Xmx512m", "-cp", launcher_classpath(Settings().cache_dir), LAUNCHER_MAIN,
               "--db", f"{first}={tmp_path / 'a'}", "--db", f"{second}={tmp_path / 'b'}", "--page-cache", "32m", "--control-stdin"]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        ready = [line for line in _read_until(process, "FENGHUO-NEO4J ALL-READY") if "READY port=" in line]
        assert len(ready) == 2 and all("version=5.26" in line for line in ready)
        with GraphDatabase.driver(f"bolt://127.0.0.1:{first}") as a, GraphDatabase.driver(f"bolt://127.0.0.1:{second}") as b:
            a.execute_query("CREATE (:Probe {node: 'a'})")
            assert b.execute_query("MATCH (p:Probe) RETURN count(p) AS n").records[0]["n"] == 0
            assert a.execute_query("MATCH (p:Probe) RETURN count(p) AS n").records[0]["n"] == 1
        process.stdin.write(f"start {third} {tmp_path / 'c'}\n")
        process.stdin.flush()
        assert any(f"READY port={third}" in line for line in _read_until(process, f"FENGHUO-NEO4J READY port={third}"))
        with GraphDatabase.driver(f"bolt://127.0.0.1:{third}") as c:
            assert c.execute_query("RETURN 1 AS one").records[0]["one"] == 1
    finally:
        process.stdin.close()  # stdin closing stops every DBMS and the JVM
        process.wait(60)
    assert process.returncode == 0
    for directory in ("a", "b", "c"):
        assert (tmp_path / directory / "data" / "databases" / "neo4j").is_dir()


def test_the_embedded_server_keeps_no_connection_alive_for_every_request(neo4j_target: Target) -> None:
    """With keep-alive for every request (Neo4j's default) the server hints a 120 s receive timeout, and the Python
    driver then puts every socket read under a timer: 0.04-0.1 ms of the API's CPU per query. Loopback needs no probes."""
    if os.environ.get("FENGHUO_TEST_NEO4J_URI"):
        pytest.skip("an external Neo4j: its settings are its operator's")
    with GraphDatabase.driver(neo4j_target.uri) as driver:
        records = driver.execute_query(
            "SHOW SETTINGS YIELD name, value WHERE name STARTS WITH 'server.bolt.connection_keep_alive' "
            "RETURN name, value", database_="system").records
    settings = {record["name"]: record["value"] for record in records}
    assert settings["server.bolt.connection_keep_alive_for_requests"] == "OFF"
