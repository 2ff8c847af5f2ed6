"""What a risk engine's bulk check costs the single checks answered beside it (issue 14, latency as run).

    flock /work/bench.lock .venv/bin/python bench/beside_bulk.py [--rows 100000] [--calls 6]

`fenghuo serve` on a copy of the cached graph of `--rows` rows (bench/dataset.py: generated, uploaded through
POST /v1/batches, networks assigned), default settings, settled. For each bulk path (GraphQL `checkLeads`, then
`POST /v1/checks`): one client sends single-phone `POST /v1/checks` one after another, as a risk engine's online
flow does, while another sends `--calls` calls of 10,000 phones, a second apart. Printed per path: the bulk calls'
times; how often the API's event loop came back late (its `fenghuo_event_loop_lag_seconds` histogram at GET /metrics,
read before and after); the single checks' p50, p99 and worst. The single checks are timed by a Python client
(httpx), sequential, so their figures include the client's own time; the comparison is between code versions on
the same machine, not against a floor.

The rate limit is raised for the clients (printed); everything else is `fenghuo serve`'s default.
"""

from __future__ import annotations

import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(_REPO))

import argparse  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import httpx  # noqa: E402

from bench import dataset  # noqa: E402
from bench.check import graphql_body, rest_body  # noqa: E402
from bench.common import begin, free_port, rate_limit, say  # noqa: E402

BULK = 10_000  # phones per bulk call: the most one call takes
LATE = (0.025, 0.1, 0.25, 0.5)  # lateness bounds counted (buckets of fenghuo_event_loop_lag_seconds)


def _lag_buckets(client: httpx.Client) -> dict[float, float]:
    text = client.get("/metrics").text
    return {float(le) if le != "+Inf" else float("inf"): float(count)
            for le, count in re.findall(r'^fenghuo_event_loop_lag_seconds_bucket\{le="([^"]+)"\} (\S+)$', text, re.M)}


class Singles:
    """Single-phone checks one after another on a thread of their own, until stopped."""

    def __init__(self, server: dataset.Server, pool: list[str]) -> None:
        self.server, self.pool, self.took = server, pool, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Singles:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with httpx.Client(base_url=self.server.url, timeout=60, headers={
                "Authorization": f"Bearer {self.server.key()}", "Content-Type": "application/json"}) as client:
            n = 0
            while not self._stop.is_set():
                began = time.perf_counter()
                answer = client.post("/v1/checks", content=rest_body([self.pool[n % len(self.pool)]]))
                if answer.status_code != 200:
                    raise RuntimeError(f"POST /v1/checks answered {answer.status_code}: {answer.text[:300]}")
                self.took.append(time.perf_counter() - began)
                n += 1


def beside(server: dataset.Server, pool: list[str], phones: list[str], calls: int) -> None:
    headers = {"Authorization": f"Bearer {server.key()}", "Content-Type": "application/json"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=300) as client:
        bulks = (("checkLeads", "/graphql", graphql_body(phones)), ("POST /v1/checks", "/v1/checks", rest_body(phones)))
        for _, path, body in bulks:  # each path's first call plans and warms what later calls reuse
            client.post(path, content=body).raise_for_status()
        for name, path, body in bulks:
            with Singles(server, pool) as singles:
                time.sleep(2)
                before, first, load = _lag_buckets(client), len(singles.took), os.getloadavg()[0]
                took = []
                for _ in range(calls):
                    began = time.perf_counter()
                    client.post(path, content=body).raise_for_status()
                    took.append(time.perf_counter() - began)
                    time.sleep(1)
                after, last = _lag_buckets(client), len(singles.took)
            ticks = after[float("inf")] - before[float("inf")]
            late = ", ".join(f">{bound * 1e3:.0f} ms {ticks - (after[bound] - before[bound]):.0f}" for bound in LATE)
            single = sorted(singles.took[first:last])
            say(f"{name:<16} {calls} calls of {len(phones):,} phones: {min(took):.2f}-{max(took):.2f} s; loop ticks "
                f"{ticks:.0f}, late {late}; load {load:.1f} -> {os.getloadavg()[0]:.1f}")
            say(f"{'':<16} single checks beside them: {len(single)}, p50 {single[len(single) // 2] * 1e3:.1f} ms, "
                f"p99 {single[int(len(single) * 0.99)] * 1e3:.0f} ms, worst {single[-1] * 1e3:.0f} ms")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/beside_bulk.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000, help="rows of the cached graph (default 100,000)")
    ap.add_argument("--calls", type=int, default=6, help="bulk calls per path (default 6)")
    ap.add_argument("--rate-limit", type=int, default=100_000_000,
                    help="FENGHUO_RATE_LIMIT_PER_MINUTE for the clients (default 100,000,000) — printed")
    args = ap.parse_args(argv)
    begin("single checks beside bulk checks")
    overrides = {**rate_limit(args.rate_limit), "FENGHUO_NEO4J_BOLT_PORT": str(free_port())}
    phones = dataset.phones_of(dataset.generated_file(args.rows)[0])
    pool, bulk = dataset.phone_pool(phones, 5000), dataset.phone_pool(phones, BULK, seed=12)
    with dataset.served(args.rows, overrides) as server:
        beside(server, pool, bulk, args.calls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
