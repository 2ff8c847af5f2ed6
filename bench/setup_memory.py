"""The API process's memory while a fresh server builds the private-check setup (issue 14: memory flat 100k → 1M).

    flock /work/bench.lock .venv/bin/python bench/setup_memory.py [--rows 100000 1000000] [--hold 30]

For each size, in turn: the graph of `fenghuo demo generate --rows N`, ingested through the product (the same
cached snapshot `bench/check.py` uses, built by `fenghuo upload` to `fenghuo serve` if absent); `fenghuo serve`
with default settings (a free Bolt port) started on a copy of it, as `make run` starts it; the API process's RSS sampled every 0.1 s
from its start until the private-check setup answers and the server is idle, then `--hold` seconds more. Printed:
the peak while the setup was built, the median after, the setup's keys and segments, and, for two sizes, whether
the larger is flat (≤ 1.25 × the smaller + 32 MB, the rule `bench/ingest.py` applies to peak RSS).

What it does not see: the full comparison a running server makes every 30 minutes (psi/setup.FULL_SECONDS) reads
every key again beside the setup it holds; tests/psi cover what that read holds at once.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import MB, exit_on_sigterm, free_port, say  # noqa: E402
from bench.dataset import REPO, Server, ingested_graph, serve_copy  # noqa: E402


class Sampler(threading.Thread):
    """RSS of one process every `every` seconds, with the time of each sample."""

    def __init__(self, process: psutil.Process, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.process, self.every, self.samples = process, every, []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                self.samples.append((time.monotonic(), self.process.memory_info().rss))
            except psutil.Error:
                return
            time.sleep(self.every)

    def stop(self) -> None:
        self.done.set()
        self.join()


def measure(rows: int, hold: float) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"fenghuo-setup-memory-{rows}-"))
    server: Server | None = None
    try:
        overrides = {"FENGHUO_NEO4J_BOLT_PORT": str(free_port())}  # beside another Neo4j; nothing else differs
        how = ingested_graph(rows, work, overrides)
        say(f"graph                {how}")
        server = serve_copy(rows, work, overrides, [])
        sampler = Sampler(server.api)
        sampler.start()
        waited, idle = server.settle(limit=max(600.0, rows / 500))
        settled_at = time.monotonic()
        time.sleep(hold)
        sampler.stop()
        manifest = httpx.get(server.url + "/v1/psi/setup", timeout=30,
                             headers={"authorization": f"Bearer {server.key()}"}).json()
        after = [rss for at, rss in sampler.samples if at >= settled_at]
        return {"rows": rows, "peak": max(rss for _, rss in sampler.samples), "settled": statistics.median(after),
                "waited": waited, "idle": idle, "keys": sum(s["size"] for s in manifest["segments"]),
                "segments": len(manifest["segments"]),
                "served": sum(s["bytes"] for s in manifest["segments"])}
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--hold", type=float, default=30.0, help="seconds sampled after the setup is built")
    args = parser.parse_args()
    exit_on_sigterm()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    code = os.environ.get("PYTHONPATH") or f"{REPO} ({commit})"
    say(f"setup memory         {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; code {code}; {os.cpu_count()} CPUs "
        f"({platform.processor() or platform.machine()}); load average {os.getloadavg()[0]:.2f}; "
        "`fenghuo serve` default settings; override: FENGHUO_NEO4J_BOLT_PORT (a free port)")
    results = []
    for rows in args.rows:
        result = measure(rows, args.hold)
        results.append(result)
        say(f"{rows:>9,} rows       {result['keys']:,} keys in {result['segments']} segments ({result['served'] / MB:,.1f} MB "
            f"served); built in {result['waited']:,.0f} s{'' if result['idle'] else ' (NOT idle at the end)'}; API RSS "
            f"peak while building {result['peak'] / MB:,.0f} MB, after {result['settled'] / MB:,.0f} MB; "
            f"load average {os.getloadavg()[0]:.2f}")
    if len(results) >= 2:
        small, large = results[0], results[-1]
        for name in ("settled", "peak"):
            bound = 1.25 * small[name] + 32 * MB
            say(f"flat {small['rows']:,} → {large['rows']:,} rows, API {name}: {small[name] / MB:,.0f} → "
                f"{large[name] / MB:,.0f} MB (bound {bound / MB:,.0f} MB): {'PASS' if large[name] <= bound else 'MISS'}")


if __name__ == "__main__":
    main()
