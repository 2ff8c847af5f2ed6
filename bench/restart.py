"""What a restarted server makes its first callers wait (issue 14, latency as run): the first checks of each kind of
caller and size, and the first seconds of a risk engine's load, on a server fresh from its start.

    flock /work/bench.lock .venv/bin/python bench/restart.py [--rows 100000] [--rate-limit N]

1. first calls: `fenghuo serve` on a copy of the cached graph of `--rows` rows (bench/dataset.py: generated,
   uploaded through POST /v1/batches, networks assigned), default settings, settled. Then, one after another, the
   demo analyst's and the demo operator's `POST /v1/checks` of 1, 2, 11, 101 and 1,000 phones: each shape's first
   call and a second one like it. Neo4j plans a query once for each kind of parameters it sees, so a first call
   is where a plan the server did not make at start shows.
2. first load: another fresh server on another copy; single-phone `POST /v1/checks` by the demo analyst at 50
   connections (wrk) in `--windows` back-to-back windows of `--window` seconds, from the moment it settled.

The rate limit is raised for the load generator (printed); everything else is `fenghuo serve`'s default.
"""

from __future__ import annotations

import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(_REPO))

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402

import httpx  # noqa: E402

from bench import dataset, wrk  # noqa: E402
from bench.common import begin, free_port, rate_limit, say  # noqa: E402

SIZES = (1, 2, 11, 101, 1000)  # phones per call: one of each power-of-ten size class Neo4j plans apart
CALLERS = ("demo-analyst.key", "demo-operator.key")


def first_calls(server: dataset.Server, pool: list[str]) -> None:
    picker = random.Random(3)
    for key_file in CALLERS:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.key(key_file)}"},
                          timeout=120) as client:
            for size in SIZES:
                took = []
                for _ in range(2):
                    body = {"leads": [{"ref": f"r{n}", "identifiers": [{"type": "PHONE", "value": phone}]}
                                      for n, phone in enumerate(picker.sample(pool, size))]}
                    began = time.perf_counter()
                    answer = client.post("/v1/checks", json=body)
                    took.append(time.perf_counter() - began)
                    if answer.status_code != 200:
                        raise RuntimeError(f"POST /v1/checks answered {answer.status_code}: {answer.text[:300]}")
                say(f"first calls          {key_file.removesuffix('.key'):<13} {size:5,d} phones: first "
                    f"{took[0] * 1e3:8.1f} ms, second {took[1] * 1e3:8.1f} ms")


def first_load(server: dataset.Server, pool: list[str], windows: int, seconds: float) -> None:
    bodies = [json.dumps({"leads": [{"ref": "a", "identifiers": [{"type": "PHONE", "value": v}]}]}) for v in pool]
    lua = wrk.script("/v1/checks", bodies, {"Authorization": f"Bearer {server.key()}",
                                           "Content-Type": "application/json"})
    for n in range(windows):
        window = wrk.run(f"window {n + 1}", server.url + "/v1/checks", lua, 50, seconds)
        say(f"first load           window {n + 1} (from {n * seconds:3.0f} s)  {window.line()}  "
            f"max {window.max * 1e3:8.1f} ms")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/restart.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000, help="rows of the cached graph (default 100,000)")
    ap.add_argument("--rate-limit", type=int, default=100_000_000,
                    help="FENGHUO_RATE_LIMIT_PER_MINUTE for the load (default 100,000,000) — printed")
    ap.add_argument("--windows", type=int, default=3, help="windows of the first load (default 3)")
    ap.add_argument("--window", type=float, default=10, help="seconds per window (default 10)")
    args = ap.parse_args(argv)
    begin("a restarted server")
    wrk.ensure_wrk()
    overrides = rate_limit(args.rate_limit)
    pool = dataset.phone_pool(dataset.phones_of(dataset.generated_file(args.rows)[0]), 5000)
    for step in ("first calls", "first load"):
        bolt = {"FENGHUO_NEO4J_BOLT_PORT": str(free_port())}  # not a developer's `make run` port
        with dataset.served(args.rows, {**overrides, **bolt}, "fresh from its start, default settings") as server:
            if step == "first calls":
                first_calls(server, pool)
            else:
                first_load(server, pool, args.windows, args.window)
    return 0


if __name__ == "__main__":
    sys.exit(main())
