"""Checks while a member uploads (issue 14, latency as run): does a batch's ingest and agent-network work hold up
the risk engines checking at the same time?

    flock /work/bench.lock .venv/bin/python bench/during_upload.py [--rows 100000] [--upload-rows 50000]

1. the server: `fenghuo serve` on the cached graph of `--rows` rows (bench/dataset.py: generated, uploaded through
   POST /v1/batches, networks assigned), default settings but the printed rate limit (a
   closed loop at one connection outruns the default 500 checks/s once checks are fast), settled;
2. quiet: single-phone `POST /v1/checks` at 1 connection (wrk) for `--window` seconds, nothing else running;
3. during: another member's generated file (`fenghuo demo generate --rows M --seed 8 --members 2 --member 1`) is
   uploaded with `fenghuo upload`; wrk runs back-to-back windows of the same load until the server's after-batch
   hook has assigned the batch's agent networks. Each window prints its phase (upload until checksReady, then
   networks), p50, p99 and the longest request, and what the API's `GET /metrics` says of its event loop over the
   window (api/loopwatch.py): how often it came back more than 0.1 s late, the worst (as the bucket it fell in), and
   how long its thread ran and waited for a CPU.
"""

from __future__ import annotations

import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(_REPO))

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import httpx  # noqa: E402

from bench import dataset, wrk  # noqa: E402
from bench.common import begin, free_port, networks_assigned, on_graph, rate_limit, say  # noqa: E402


def upload_file(rows: int) -> Path:
    """Another member's batch (seed 8, member 1 of 2: gangs overlap with the cached graph's), generated once."""
    path = dataset.CACHE / f"demo-{rows}-seed8-member1.csv"
    if not path.exists():
        partial = path.with_suffix(".partial.csv")
        subprocess.run([str(dataset.VENV_BIN / "fenghuo"), "demo", "generate", "--rows", str(rows), "--seed", "8",
                        "--members", "2", "--member", "1", "--out", str(partial)],
                       check=True, stdout=subprocess.DEVNULL, cwd=dataset.CACHE)
        partial.rename(path)
        partial.with_name(partial.stem + ".truth.csv").unlink(missing_ok=True)
    return path


class Loop:
    """The API's event-loop figures at one moment, from its GET /metrics (api/loopwatch.py)."""

    def __init__(self, url: str) -> None:
        text = httpx.get(url + "/metrics", timeout=30).text
        self.buckets = {float(le): float(n) for le, n in
                        re.findall(r'^fenghuo_event_loop_lag_seconds_bucket\{le="([^"]+)"\} (\S+)$', text, re.M)}
        thread = dict(re.findall(r'^fenghuo_event_loop_thread_seconds_total\{state="(\w+)"\} (\S+)$', text, re.M))
        self.running = float(thread.get("running", "nan"))
        self.waiting = float(thread.get("waiting_for_cpu", "nan"))

    def since(self, earlier: Loop) -> str:
        if not self.buckets:
            return "loop: not exported by this build"
        delta = {le: n - earlier.buckets.get(le, 0.0) for le, n in self.buckets.items()}
        late = delta[math.inf] - delta[0.1]
        worst = min(le for le, n in delta.items() if n == delta[math.inf])
        return (f"loop late >0.1 s ×{late:.0f} (worst ≤ {worst:g} s), thread ran {self.running - earlier.running:.2f} s,"
                f" waited {self.waiting - earlier.waiting:.2f} s for a CPU")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/during_upload.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000, help="rows of the cached graph (default 100,000)")
    ap.add_argument("--upload-rows", type=int, default=50_000, help="rows of the file uploaded meanwhile (default 50,000)")
    ap.add_argument("--window", type=float, default=10, help="seconds per wrk window (default 10)")
    ap.add_argument("--rate-limit", type=int, default=100_000_000,
                    help="FENGHUO_RATE_LIMIT_PER_MINUTE (default 100,000,000): one connection of wrk outruns the "
                         "default 500 checks/s — printed")
    args = ap.parse_args(argv)
    begin("checks during an upload")
    wrk.ensure_wrk()
    work = Path(tempfile.mkdtemp(prefix="fenghuo-bench-during-"))
    server = None
    try:
        overrides = {"FENGHUO_NEO4J_BOLT_PORT": str(free_port()),  # not a developer's `make run` port
                     **rate_limit(args.rate_limit)}
        server, how = dataset.prepare(args.rows, work, overrides, [])
        say(f"graph                {how}")
        say(f"server               `fenghuo serve` pid {server.api.pid} at {server.url}, default settings; "
            "overrides: " + ", ".join(f"{k}={v}" for k, v in overrides.items()))
        pool = dataset.phone_pool(dataset.phones_of(dataset.generated_file(args.rows)[0]), 5000)
        bodies = [json.dumps({"leads": [{"ref": "a", "identifiers": [{"type": "PHONE", "value": v}]}]}) for v in pool]
        lua = wrk.script("/v1/checks", bodies, {"Authorization": f"Bearer {server.key()}",
                                               "Content-Type": "application/json"})
        url = server.url + "/v1/checks"
        path = upload_file(args.upload_rows)
        loop = Loop(server.url)
        quiet = wrk.run("quiet", url, lua, 1, args.window)
        loop, was = Loop(server.url), loop
        say(f"quiet                {quiet.line()}  max {quiet.max * 1e3:8.1f} ms  {loop.since(was)}")

        state: dict[str, object] = {"phase": "upload"}

        def upload() -> None:
            try:
                report = dataset.upload(server, path)
                state["ready_s"] = report["seconds"]
                state["phase"] = "networks"
                began = time.perf_counter()
                on_graph(server.bolt_uri, lambda graph: networks_assigned(graph, report["batch"]["id"]))
                state["networks_s"] = time.perf_counter() - began
            except Exception as error:  # noqa: BLE001 - reported by the main thread
                state["error"] = error
            finally:
                state["done"] = True

        uploader = threading.Thread(target=upload, daemon=True)
        began = time.perf_counter()
        uploader.start()
        worst = []
        while not state.get("done"):
            phase = state["phase"]
            window = wrk.run(str(phase), url, lua, 1, args.window)
            loop, was = Loop(server.url), loop
            worst.append(window)
            say(f"{time.perf_counter() - began:6.0f} s {phase:<9}  {window.line()}  max {window.max * 1e3:8.1f} ms"
                f"  {loop.since(was)}")
        uploader.join()
        if "error" in state:
            raise state["error"]  # type: ignore[misc]
        say(f"upload               {args.upload_rows:,} rows → checksReady in {state['ready_s']:.0f} s; networks "
            f"assigned {state['networks_s']:.0f} s later")
        say(f"during               worst window p99 {max(w.p99 for w in worst) * 1e3:.1f} ms, longest request "
            f"{max(w.max for w in worst) * 1e3:.1f} ms (quiet: p99 {quiet.p99 * 1e3:.1f} ms, longest {quiet.max * 1e3:.1f} ms)")
        return 0
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
