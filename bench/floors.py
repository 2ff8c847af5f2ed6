"""Floors measured in the same run as the checks: a bare Starlette endpoint under uvicorn, and the Neo4j driver
doing the product's check query (graph/checks.py), a lean lookup of the same keys, and `RETURN 1` directly.

    python bench/floors.py PORT      serves the bare Starlette endpoint (POST / → {"ok": true}) as serve runs
                                     the product: one uvicorn server, same venv, same loop/http defaults; with
                                     FLOOR_LOOKUP set (JSON: the Bolt URI and the query's parameters), also
                                     POST /lookup {"keys": […]}: the bare driver lookup behind that endpoint

The last is a floor for a check over HTTP, as `wrk` measures it: HTTP, then one lookup, and nothing of the product
between them (no guards, authentication, scoring or audit). At one connection its p50 is not the sum of the two
floors: a request there hands off between three processes (wrk, the server, Neo4j) on two cores, where the bare
lookup's loop hands off between two. In one process the lookup took 0.67 ms whether it ran in the benchmark or inside
`fenghuo serve` in a loop, and 0.85 ms more than the empty endpoint when each ran between HTTP requests (6 Dec 2026,
100k bench graph, scratch endpoints).
"""

from __future__ import annotations

import asyncio
import math
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The product's own lookup, and the least a lookup of the same keys can be.
LEAN = """
UNWIND $keys AS k
MATCH (i:Indicator {key: k})
RETURN k, i.status AS status, i.masked AS masked
"""
# The same lookup answered as one record: the driver's cost per record is half a 10,000-row answer's time (0.14-0.16 s
# against 0.07-0.08 s in run AB; 0.40 against 0.06 s while Neo4j's keep-alive hint put a timer on every driver read),
# so this is the least 10,000 keys can cost through the driver.
LEAN_COLLECTED = """
UNWIND $keys AS k
MATCH (i:Indicator {key: k})
RETURN collect([k, i.status, i.masked]) AS rows
"""
RETURN_1 = "RETURN 1 AS one"


# -- the bare Starlette endpoint -----------------------------------------------------------------------------


def floor_app(lookup: dict[str, Any] | None = None) -> Any:
    """`lookup`: {"uri", "params", "hub_cap", "neighbours"}, as `Driver` takes them — also serve POST /lookup, one bare
    driver lookup per request (`Driver.query`)."""
    import json

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def endpoint(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"ok": True})

    routes = [Route("/", endpoint, methods=["GET", "POST"])]
    if lookup:  # graph/ imported only here: the bare endpoint's process stays as it was
        from graph.checks import CHECK

        drivers: list[Driver] = []  # made on the first request, in the server's event loop

        async def looked_up(request: Request) -> JSONResponse:
            if not drivers:
                drivers.append(Driver.of(lookup))
            records = await drivers[0].query(CHECK, json.loads(await request.body())["keys"])
            return JSONResponse({"rows": len(records[0]["rows"])})

        routes.append(Route("/lookup", looked_up, methods=["POST"]))
    return Starlette(routes=routes)


class FloorServer:
    """The bare endpoint in its own process (this file run as a script); `lookup` as floor_app's."""

    def __init__(self, port: int, lookup: dict[str, Any] | None = None) -> None:
        self.port = port
        self.lookup = lookup
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> int:
        import json
        import os

        import httpx

        root = str(Path(__file__).resolve().parent.parent)  # graph/, for POST /lookup
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        if self.lookup:
            env["FLOOR_LOOKUP"] = json.dumps(self.lookup)
        self.process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), str(self.port)], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        for _ in range(100):
            try:
                if httpx.post(self.url, content=b"{}", timeout=2).status_code == 200:
                    return self.process.pid
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the bare Starlette endpoint did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# -- driver floors -------------------------------------------------------------------------------------------


@dataclass
class Timed:
    label: str
    concurrency: int
    times: list[float]
    wall: float

    def p(self, q: float) -> float:
        s = sorted(self.times)
        return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))] if s else math.nan

    @property
    def per_s(self) -> float:
        return len(self.times) / self.wall if self.wall else math.nan

    def line(self) -> str:
        return (f"p50 {self.p(.5) * 1e3:8.2f} ms  p90 {self.p(.9) * 1e3:8.2f} ms  p99 {self.p(.99) * 1e3:8.2f} ms  "
                f"{self.per_s:9,.0f} q/s  ({len(self.times):,} queries, {self.concurrency} concurrent)")


class Driver:
    """The neo4j async driver on the server's Neo4j, as a user of the database (no product code in the path)."""

    def __init__(self, uri: str, principal_params: dict[str, Any], hub_cap: int, neighbours: int) -> None:
        from neo4j import AsyncGraphDatabase

        self.driver = AsyncGraphDatabase.driver(uri, auth=None, max_connection_pool_size=100,
                                                   notifications_min_severity="OFF")  # as graph/database.py
        self.params = {**principal_params, "hub_cap": hub_cap, "neighbours": neighbours}

    @classmethod
    def of(cls, lookup: dict[str, Any]) -> "Driver":
        """From the settings floor_app's `lookup` holds: {"uri", "params", "hub_cap", "neighbours"}."""
        return cls(lookup["uri"], lookup["params"], lookup["hub_cap"], lookup["neighbours"])

    async def query(self, cypher: str, keys: list[str] | None = None) -> list[Any]:
        """One auto-commit read, the call graph/database.py makes for a read (one round trip; execute_query's
        managed transaction adds BEGIN and COMMIT): the floor is the least the driver does, not more."""
        # The product's query reads its keys from the map $part (graph/checks.py: one plan for any number of keys),
        # the lean floors from the list $keys; a query ignores parameters it does not name.
        params = {**self.params, "keys": keys, "part": {"keys": keys}} if keys is not None else {}
        async with self.driver.session(database="neo4j", default_access_mode="READ") as session:
            return [record async for record in await session.run(cypher, params)]

    async def closed_loop(self, label: str, cypher: str, keys: list[str], concurrency: int, seconds: float) -> Timed:
        """`concurrency` workers, one key per query, each waiting for its answer, for `seconds`."""
        times: list[float] = []
        stop = time.perf_counter() + seconds

        async def worker(w: int) -> None:
            i = w
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                await self.query(cypher, [keys[i % len(keys)]] if cypher != RETURN_1 else None)
                times.append(time.perf_counter() - t0)
                i += concurrency

        began = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        return Timed(label, concurrency, times, time.perf_counter() - began)

    async def batch(self, cypher: str, keys: list[str], runs: int) -> tuple[float, int]:
        """Median seconds of `runs` one-query lookups of all `keys`, and the rows returned (a query answering
        one record with a `rows` list counts that list)."""
        took, rows = [], 0
        for _ in range(runs):
            t0 = time.perf_counter()
            records = await self.query(cypher, keys)
            took.append(time.perf_counter() - t0)
            rows = len(records[0]["rows"]) if len(records) == 1 and "rows" in records[0].keys() else len(records)
        return statistics.median(took), rows

    async def close(self) -> None:
        await self.driver.close()


if __name__ == "__main__":
    import json
    import os

    import uvicorn

    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]  # as check.py
    lookup = json.loads(os.environ["FLOOR_LOOKUP"]) if os.environ.get("FLOOR_LOOKUP") else None
    uvicorn.Server(uvicorn.Config(floor_app(lookup), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                                  log_config=None)).run()
