"""The embedded default: a real Neo4j 5.26 Community started from graph/launcher, owned by this process.

Python builds the launcher once (cached outside the repo, keyed by a hash of its sources), starts the JVM,
waits until Bolt answers, and stops it. The JVM watches our pid (`--parent-pid`) and its stdin, so a killed
parent never leaves an orphan. A state file in the data directory lets other `fenghuo` commands find a
running Neo4j and connect to it instead of failing on a locked store.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from graph import sizing

log = logging.getLogger(__name__)

LAUNCHER_SOURCE = Path(__file__).parent / "launcher"
LAUNCHER_MAIN = "org.fenghuo.launcher.Launcher"
READY_PREFIX = "FENGHUO-NEO4J READY"
STATE_FILE = "neo4j.state.json"


class EmbeddedNeo4jError(RuntimeError):
    """The embedded Neo4j cannot be built or started; the message says what to install or configure."""


@dataclass(frozen=True)
class RunningNeo4j:
    pid: int
    port: int
    uri: str
    version: str
    home: str
    detached: bool


def launcher_classpath(cache_dir: Path) -> str:
    """Build the launcher with Maven once per source version; return the JVM classpath."""
    sources = sorted(p for p in LAUNCHER_SOURCE.rglob("*") if p.is_file() and p.suffix in {".java", ".xml"})
    digest = hashlib.sha256()
    for path in sources:
        digest.update(path.relative_to(LAUNCHER_SOURCE).as_posix().encode())
        digest.update(path.read_bytes())
    build_dir = cache_dir / f"launcher-{digest.hexdigest()[:16]}"
    jar = build_dir / "target" / "fenghuo-neo4j-launcher-1.0.0.jar"
    classpath = f"{jar}{os.pathsep}{build_dir / 'target' / 'lib' / '*'}"
    if jar.exists():
        return classpath
    _require_tools()
    build_dir.mkdir(parents=True, exist_ok=True)
    with open(build_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent first runs build once
        if jar.exists():
            return classpath
        shutil.copy2(LAUNCHER_SOURCE / "pom.xml", build_dir / "pom.xml")
        shutil.copytree(LAUNCHER_SOURCE / "src", build_dir / "src", dirs_exist_ok=True)
        log.info("building the embedded Neo4j launcher with Maven (first run only) in %s", build_dir)
        done = subprocess.run(
            ["mvn", "-q", "-B", "package", "-DskipTests"], cwd=build_dir, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise EmbeddedNeo4jError(
                "Maven could not build the embedded Neo4j launcher "
                f"(org.neo4j:neo4j 5.26 from Maven Central):\n{(done.stdout + done.stderr)[-3000:]}"
            )
    return classpath


def _require_tools() -> None:
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing:
        raise EmbeddedNeo4jError(
            f"the embedded Neo4j needs {' and '.join(missing)} on PATH: install OpenJDK 17 and Maven "
            "(Debian: apt-get install openjdk-17-jdk-headless maven), or point FENGHUO_NEO4J_URI "
            "(with FENGHUO_NEO4J_USER/FENGHUO_NEO4J_PASSWORD) at an existing Neo4j 5.26"
        )


def read_state(data_dir: Path) -> RunningNeo4j | None:
    """The Neo4j another fenghuo process started in this data directory, if it is still alive."""
    path = data_dir / STATE_FILE
    try:
        state = RunningNeo4j(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if not _is_launcher(state.pid) or not _port_open(state.port):
        return None
    return state


def _is_launcher(pid: int) -> bool:
    try:
        return LAUNCHER_MAIN in " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return False


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class EmbeddedNeo4j:
    """One embedded Neo4j DBMS (its own home directory and Bolt port) in a JVM owned by this process."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        *,
        cache_dir: Path,
        heap: str = "auto",
        page_cache: str = "auto",
        start_timeout: float = 180.0,
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.cache_dir = cache_dir
        self.sizing = sizing.choose(heap, page_cache)  # "auto": from the machine's memory (graph/sizing.py)
        self.heap = self.sizing.heap_arg
        self.page_cache = self.sizing.page_cache_arg
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.version = ""
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    @property
    def home(self) -> Path:
        return self.data_dir / "neo4j"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "logs" / "neo4j-launcher.log"

    def start(self, *, detached: bool = False, supervise: bool = False) -> RunningNeo4j:
        """Start the JVM and wait until Bolt answers. Detached: outlives us (for `fenghuo neo4j start`)."""
        running = read_state(self.data_dir)
        if running is not None:
            raise EmbeddedNeo4jError(
                f"a Neo4j is already running for {self.data_dir} (pid {running.pid}, {running.uri}); "
                "connect to it or stop it with `fenghuo neo4j stop`"
            )
        if _port_open(self.port):
            raise EmbeddedNeo4jError(
                f"port {self.port} on 127.0.0.1 is taken by another program; set FENGHUO_NEO4J_BOLT_PORT"
            )
        log.info("embedded Neo4j memory: %s", self.sizing.describe())
        self._spawn(detached)
        state = RunningNeo4j(self.process.pid, self.port, self.uri, self.version, str(self.home), detached)
        (self.data_dir / STATE_FILE).write_text(json.dumps(asdict(state)))
        if supervise:
            self._supervisor = threading.Thread(target=self._supervise, name="neo4j-supervisor", daemon=True)
            self._supervisor.start()
        return state

    def _spawn(self, detached: bool) -> None:
        classpath = launcher_classpath(self.cache_dir)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            "java", f"-Xmx{self.heap}", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError",
            "-cp", classpath, LAUNCHER_MAIN,
            "--db", f"{self.port}={self.home}", "--page-cache", self.page_cache,
        ]
        if not detached:
            command += ["--parent-pid", str(os.getpid()), "--control-stdin"]
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL if detached else subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us; we stop the JVM in order
            )
        self.version = self._wait_ready(offset)

    def _wait_ready(self, offset: int) -> str:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                for line in f.read().decode("utf-8", "replace").splitlines():
                    if line.startswith(READY_PREFIX):
                        version = line.split("version=", 1)[1].split()[0]
                        if _port_open(self.port):
                            return version
                    elif line.startswith("FENGHUO-NEO4J ERROR"):
                        self._kill()
                        raise EmbeddedNeo4jError(f"embedded Neo4j failed to start: {line} (log: {self.log_path})")
            if self.process.poll() is not None:
                raise EmbeddedNeo4jError(
                    f"embedded Neo4j exited with code {self.process.returncode}; see {self.log_path}"
                )
            time.sleep(0.1)
        self._kill()
        raise EmbeddedNeo4jError(f"embedded Neo4j did not answer within {self.start_timeout:.0f}s; see {self.log_path}")

    def _supervise(self) -> None:
        """Restart the JVM if it dies while we still want it (the API answers 503 meanwhile)."""
        backoff = 1.0
        while not self._stopping.is_set():
            if self.process is not None and self.process.poll() is not None and not self._stopping.is_set():
                log.error("embedded Neo4j exited (code %s); restarting in %.0fs", self.process.returncode, backoff)
                if self._stopping.wait(backoff):
                    return
                try:
                    self._spawn(detached=False)
                    (self.data_dir / STATE_FILE).write_text(json.dumps(asdict(RunningNeo4j(
                        self.process.pid, self.port, self.uri, self.version, str(self.home), False))))
                    log.info("embedded Neo4j is back on %s", self.uri)
                    backoff = 1.0
                except EmbeddedNeo4jError as error:
                    log.error("embedded Neo4j restart failed: %s", error)
                    backoff = min(backoff * 2, 30.0)
            self._stopping.wait(0.5)

    def stop(self, timeout: float = 60.0) -> None:
        self._stopping.set()
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill()
        if self.process.stdin:
            self.process.stdin.close()
        state = self.data_dir / STATE_FILE
        if state.exists() and json.loads(state.read_text()).get("pid") == self.process.pid:
            state.unlink()

    def _kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def stop_detached(data_dir: Path, timeout: float = 60.0) -> RunningNeo4j | None:
    """Stop the Neo4j recorded in the data directory's state file (started by `fenghuo neo4j start`)."""
    state = read_state(data_dir)
    if state is None:
        return None
    process = psutil.Process(state.pid)
    process.terminate()
    try:
        process.wait(timeout)
    except psutil.TimeoutExpired:
        process.kill()
    (data_dir / STATE_FILE).unlink(missing_ok=True)
    return state
