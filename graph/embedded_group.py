"""Several embedded Neo4j DBMSs in one launcher JVM (its multi-DBMS mode): one per node of a loopback cluster.

The JVM watches our pid and its stdin, like graph/embedded.py's single DBMS, so it never outlives us.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from graph.embedded import LAUNCHER_MAIN, READY_PREFIX, EmbeddedNeo4jError, launcher_classpath

ALL_READY = "FENGHUO-NEO4J ALL-READY"


class EmbeddedNeo4jGroup:
    def __init__(self, homes: dict[int, Path], *, cache_dir: Path, log_path: Path, heap: str = "1g",
                 page_cache: str = "64m", start_timeout: float = 240.0) -> None:
        self.homes = homes  # bolt port -> DBMS home directory
        self.cache_dir = cache_dir
        self.log_path = log_path
        self.heap = heap
        self.page_cache = page_cache
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None

    def uri(self, port: int) -> str:
        return f"bolt://127.0.0.1:{port}"

    def start(self) -> None:
        command = ["java", f"-Xmx{self.heap}", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError",
                   "-cp", launcher_classpath(self.cache_dir), LAUNCHER_MAIN, "--page-cache", self.page_cache,
                   "--parent-pid", str(os.getpid()), "--control-stdin"]
        for port, home in self.homes.items():
            command += ["--db", f"{port}={home}"]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            offset = out.tell()
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self._wait_ready(offset)

    def _wait_ready(self, offset: int) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                lines = f.read().decode("utf-8", "replace").splitlines()
            errors = [line for line in lines if line.startswith("FENGHUO-NEO4J ERROR")]
            if errors:
                self.stop()
                raise EmbeddedNeo4jError(f"embedded Neo4j group failed: {errors[0]} (log: {self.log_path})")
            if ALL_READY in lines and sum(line.startswith(READY_PREFIX) for line in lines) >= len(self.homes):
                return
            if self.process.poll() is not None:
                raise EmbeddedNeo4jError(f"embedded Neo4j group exited with {self.process.returncode}; see {self.log_path}")
            time.sleep(0.1)
        self.stop()
        raise EmbeddedNeo4jError(f"embedded Neo4j group did not start within {self.start_timeout:.0f}s; see {self.log_path}")

    def stop(self, timeout: float = 60.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdin:
            self.process.stdin.close()
