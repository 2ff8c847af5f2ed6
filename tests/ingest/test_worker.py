"""The batch worker process dies with its parent: a SIGKILLed API leaves no worker or resource tracker behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from graph.database import Graph, Target
from ingest import demo, worker
from tests.conftest import repo_root

PARENT = textwrap.dedent("""
    import asyncio, sys
    from pathlib import Path
    from core.principal import Principal, Role
    from audit.log import AuditLog
    from graph.database import Graph, Target
    from ingest.pipeline import BatchRunner, UploadRequest, copy_file_chunks
    from tests.support import TEST_KEY

    async def main(uri, path, spool):
        graph = Graph.connect(Target(uri, None))
        runner = BatchRunner(graph, AuditLog(graph), TEST_KEY, Path(spool))
        uploader = Principal(id="key:uploader", member_code="ACME", roles=frozenset({Role.UPLOADER}))
        await runner.submit_file(uploader, copy_file_chunks(Path(path)), UploadRequest(filename="big.csv"), wait=True)

    asyncio.run(main(*sys.argv[1:]))
""")


# A parent script that notes each time it runs, and runs one batch worker over a small file.
NOTING_MAIN = textwrap.dedent("""
    import sys
    with open(sys.argv[1], "a") as notes:
        notes.write(__name__ + "\\n")
    if __name__ == "__main__":
        from datetime import datetime, timezone
        from ingest import worker
        from tests.support import TEST_KEY
        job = worker.Job(batch_id="b1", path=sys.argv[2], filename="leads.csv", format=None, column_mapping=None,
                         key_version=TEST_KEY.version, key_secret=TEST_KEY.secret, benign_keys=frozenset(),
                         now=datetime.now(timezone.utc), extra_aliases={})
        process, messages = worker.start(job)
        kinds = []
        while not kinds or kinds[-1] not in ("done", "error"):
            kinds.append(messages.get(timeout=120)[0])
        process.join(10)
        print(kinds[-1], kinds.count("chunk"), sys.modules["__main__"].__file__ == __file__)
""")


def test_the_batch_worker_does_not_rerun_the_parents_main_script(tmp_path: Path) -> None:
    """Under `fenghuo serve` the main script imports the whole API; the worker must not pay for it again."""
    path, notes, script = tmp_path / "leads.csv", tmp_path / "notes.txt", tmp_path / "parent_main.py"
    demo.generate(path, 300, seed=3)
    script.write_text(NOTING_MAIN)
    done = subprocess.run([sys.executable, str(script), str(notes), str(path)], cwd=repo_root(), capture_output=True,
                          text=True, timeout=180, env={**os.environ, "PYTHONPATH": str(repo_root())})
    assert done.returncode == 0, done.stderr
    outcome, chunks, restored = done.stdout.split()
    assert (outcome, restored) == ("done", "True") and int(chunks) >= 1  # the worker ran; __main__ is restored
    assert notes.read_text().split() == ["__main__"]  # never again as __mp_main__ in the worker


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


async def test_sigkilled_parent_leaves_no_batch_worker_or_resource_tracker(graph: Graph, neo4j_target: Target,
                                                                           tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    demo.generate(path, 60_000, seed=5)
    parent = subprocess.Popen([sys.executable, "-c", PARENT, neo4j_target.uri, str(path), str(tmp_path / "spool")],
                              cwd=repo_root(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120  # until the worker runs and the batch is being written
        while time.monotonic() < deadline:
            children = _descendants(parent.pid)
            rows = await graph.read("MATCH (b:Batch) RETURN b.written_seq AS seq")
            if rows and rows[0]["seq"] > 0 and len(children) >= 2:
                break
            time.sleep(0.2)
        names = [" ".join(p.cmdline()) for p in children]
        assert any("resource_tracker" in n for n in names) and any("multiprocessing" in n for n in names), names
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        gone, alive = psutil.wait_procs(children, timeout=30)
        assert _alive(alive) == [], [" ".join(p.cmdline()) for p in alive]
    finally:
        for process in _alive(_descendants(parent.pid) + children):  # never leave one behind, even on failure
            process.kill()
        if parent.poll() is None:
            parent.kill()
            parent.wait()


@pytest.mark.parametrize("nice", [0, 10])
def test_the_batch_worker_runs_as_far_below_the_api_as_the_settings_say(tmp_path: Path, nice: int) -> None:
    """Settings.batch_worker_nice: 10 by default (checks first), 0 where ingest should keep pace with Neo4j."""
    from datetime import datetime, timezone

    from tests.support import TEST_KEY

    own = psutil.Process().nice()
    assert own + nice < 19 or nice == 0  # room to differ, or this test could not tell
    path = tmp_path / "leads.csv"
    demo.generate(path, 20_000, seed=3)  # long enough to be running when looked at
    job = worker.Job(batch_id="b1", path=str(path), filename="leads.csv", format=None, column_mapping=None,
                     key_version=TEST_KEY.version, key_secret=TEST_KEY.secret, benign_keys=frozenset(),
                     now=datetime.now(timezone.utc), extra_aliases={}, nice=nice)
    process, messages = worker.start(job)
    try:
        kinds = [messages.get(timeout=120)[0]]  # sent once the worker has set itself up
        seen = psutil.Process(process.pid).nice()
        while kinds[-1] not in ("done", "error"):
            kinds.append(messages.get(timeout=120)[0])
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()
    assert kinds[-1] == "done"
    assert seen == own + nice
