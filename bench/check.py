"""Check benchmark (issue 14): checks as a user runs them, as ratios to floors measured in the same run.

    flock /work/bench.lock .venv/bin/python bench/check.py [--rows 100000] [--duration 15] [--markdown out.md]
                                                           [--profile top.txt] [--rate-limit N] [--workers N]
                                                           [--rounds N]

1. the graph: `fenghuo demo generate --rows N` (planted networks included) uploaded with `fenghuo upload` through
   POST /v1/batches to a fresh `fenghuo serve` (embedded Neo4j, default settings) until checksReady; the file and a
   snapshot of the data directory are cached in ~/.cache/fenghuo/bench (the output says when a cached graph is used);
2. the server: `fenghuo serve` on a copy of that data directory, default settings; overrides (ports, and only
   if asked: rate limit, workers) are printed beside the figures; it and its Neo4j are stopped at the end;
3. load: `wrk` (apt-get installs it when missing), one thread, 1 and 50 connections, a Lua script POSTing a pool of
   phones drawn from the ingested file (~80 % named by it, ~20 % not);
4. floors in the same run: a bare Starlette endpoint (bench/floors.py), the product's authenticated
   `{ __typename }`, the product's check query (graph/checks.py) through the driver one query per check, a lean
   `UNWIND … MATCH` of the same keys, `RETURN 1`; and, as an extra that no target names, the bare lookup behind the
   bare endpoint (HTTP and one lookup, nothing of the product between them);
5. the targets of issue 14 as ratios with PASS/MISS (informational; exit code 0 unless something broke). With
   --rounds N, steps 3–4 run N times after one warm-up; each ratio is taken within its round and printed per round,
   and a target whose rounds disagree is SPLIT (with how many passed): a verdict that close to its bound is the
   run's, not the code's.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `python bench/check.py` puts bench/ first on sys.path, where bench/ingest.py would shadow the `ingest` package.
_REPO = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(_REPO))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from functools import cache  # noqa: E402
from typing import Callable  # noqa: E402

import httpx  # noqa: E402
import psutil  # noqa: E402

from bench import dataset, floors, wrk  # noqa: E402
from bench.check_report import Figures, report  # noqa: E402
from bench.common import exit_on_sigterm, free_port, rate_limit, say  # noqa: E402
from bench.ingest_probe import jvm_thread_cpu  # noqa: E402

EMPTY = json.dumps({"query": "{ __typename }"})
GRAPHQL_CHECK = "query($leads:[LeadCheckInput!]!){ checkLeads(leads:$leads){ leads { ref score level identifiers { status } } } }"
BATCH_IDENTIFIERS = 10_000
BATCH_LEAD_SIZE = 4
JIT_SETTLED = 0.10  # warm: Neo4j's JIT compilers used less than this share of a core in the last warm-up round


def leads_of(values: list[str]) -> list[dict]:
    return [{"ref": f"L{i // BATCH_LEAD_SIZE}", "identifiers": [{"type": "PHONE", "value": v}
                                                                for v in values[i: i + BATCH_LEAD_SIZE]]}
            for i in range(0, len(values), BATCH_LEAD_SIZE)]


def graphql_body(values: list[str]) -> str:
    return json.dumps({"query": GRAPHQL_CHECK, "variables": {"leads": leads_of(values)}})


def rest_body(values: list[str]) -> str:
    return json.dumps({"leads": leads_of(values)})


def floor_lookup(bolt_uri: str) -> dict:
    """The driver floors' settings (bench/floors.Driver.of): the check query as the demo analyst the benchmark checks
    as sees it, with the product's hub cap and neighbour count."""
    from check.service import HUB_CAP, NEIGHBOURS_FOR_BOOST
    from core.principal import Principal, Role
    from graph import visibility

    analyst = Principal(id="key:bench", member_code="DEMO_A", roles=frozenset({Role.ANALYST, Role.UPLOADER}))
    return {"uri": bolt_uri, "params": visibility.params(analyst), "hub_cap": HUB_CAP, "neighbours": NEIGHBOURS_FOR_BOOST}


def loadavg() -> float:
    return os.getloadavg()[0]


class Run:
    """One benchmark run against one server: every figure with the load average when it was taken."""

    def __init__(self, args: argparse.Namespace, server: dataset.Server, floor: floors.FloorServer,
                 pool: list[str], figures: Figures) -> None:
        self.args, self.server, self.floor, self.pool, self.fig = args, server, floor, pool, figures
        self.token = server.key()
        self.auth = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}

    def wrk(self, name: str, url: str, bodies: list[str], conns: int, headers: dict[str, str] | None = None,
            seconds: float | None = None) -> wrk.WrkResult:
        lua = wrk.script(httpx.URL(url).raw_path.decode(), bodies, headers if headers is not None else self.auth)
        cpu = {"API": self.server.api, "Neo4j": self.server.jvm}
        idle = {k: sum(p.cpu_times()[:2]) for k, p in cpu.items() if p is not None}
        time.sleep(2)  # what serve and its JVM burn with no load (jobs, refreshers): printed beside the figure
        idle = {f"idle {k}": (sum(cpu[k].cpu_times()[:2]) - v) * 50 for k, v in idle.items()}  # % of a core
        before = {k: p.cpu_times() for k, p in cpu.items() if p is not None}
        result = wrk.run(name, url, lua, conns, seconds or self.args.duration)
        spent = {k: sum(p.cpu_times()[:2]) - sum(before[k][:2]) for k, p in cpu.items() if p is not None}
        done = max(1, result.requests)
        self.fig.add(f"{name} @{conns}", result, load=loadavg(),
                     cpu={k: v * 1000 / done for k, v in spent.items()}, idle=idle)
        return result

    def preflight(self) -> bool:
        """Each kind of request answers correctly once; returns whether POST /v1/checks exists on this build."""
        url = self.server.url
        answer = httpx.post(url + "/graphql", content=EMPTY, headers=self.auth, timeout=120).json()
        if answer.get("data", {}).get("__typename") != "Query":
            raise RuntimeError(f"{{ __typename }} answered {answer}")
        answer = httpx.post(url + "/graphql", content=graphql_body(self.pool[:1]), headers=self.auth, timeout=120).json()
        if answer.get("errors") or not answer.get("data"):
            raise RuntimeError(f"checkLeads answered {str(answer)[:500]}")
        rest = httpx.post(url + "/v1/checks", content=rest_body(self.pool[:1]), headers=self.auth, timeout=120)
        if rest.status_code in (404, 405):
            say("POST /v1/checks      not on this build (HTTP %d): its rows are left out" % rest.status_code)
            return False
        if rest.status_code != 200 or "leads" not in rest.json():
            raise RuntimeError(f"POST /v1/checks answered {rest.status_code}: {rest.text[:500]}")
        return True

    def warm_up(self, rest: bool) -> None:
        """Load until Neo4j's JIT compilers settle, so the figures are a running server's, not a fresh JVM's.

        A fresh JVM compiles the paths a check takes for minutes: on this machine its C1/C2 compiler threads
        burned 8–9 ms of CPU per single check at first (more than Neo4j's own work), on two cores shared with the
        API. Each round is --warmup seconds of single checks through each path at 50 and at 1 connection; warm
        means the compiler threads used less than JIT_SETTLED of a core in the last round (at most
        --warmup-max seconds; the figures say which)."""
        url = self.server.url
        bodies = [("/graphql", [graphql_body([v]) for v in self.pool])]
        if rest:
            bodies.append(("/v1/checks", [rest_body([v]) for v in self.pool]))
        began, rounds, share = time.perf_counter(), 0, math.nan
        while True:
            before = jit_cpu(self.server.jvm)
            t0 = time.perf_counter()
            for path, pool in bodies:
                for conns in (50, 1):
                    wrk.run("warm-up", url + path, wrk.script(path, pool, self.auth), conns, self.args.warmup / 2)
            share = (jit_cpu(self.server.jvm) - before) / (time.perf_counter() - t0)
            rounds += 1
            spent = time.perf_counter() - began
            say(f"warm-up              round {rounds}: Neo4j's JIT compilers used {100 * share:.0f} % of a core")
            if share < JIT_SETTLED or spent >= self.args.warmup_max:
                break
        settled = "settled" if share < JIT_SETTLED else f"NOT settled after --warmup-max {self.args.warmup_max:.0f} s"
        self.fig.warmup = (f"{spent:.0f} s of single checks until Neo4j's JIT compilers used {100 * share:.0f} % of a "
                           f"core ({settled}; threshold {100 * JIT_SETTLED:.0f} %)")
        say(f"warm-up              {self.fig.warmup}")
        self.fig.mark()

    def http_figures(self, rest: bool, keys: list[str]) -> None:
        """`keys`: the pool's keys, for the bare lookup behind the bare endpoint (bench/floors.py)."""
        url = self.server.url
        singles = [graphql_body([v]) for v in self.pool]
        plain = {"Content-Type": "application/json"}
        for conns in (1, 50):
            self.wrk("bare Starlette", self.floor.url, [EMPTY], conns, plain)
            self.wrk("bare lookup over HTTP", self.floor.url + "lookup", [json.dumps({"keys": [k]}) for k in keys],
                     conns, plain)
            self.wrk("{ __typename }", url + "/graphql", [EMPTY], conns)
            self.wrk("checkLeads single", url + "/graphql", singles, conns)
            if rest:
                self.wrk("POST /v1/checks single", url + "/v1/checks", [rest_body([v]) for v in self.pool], conns)

    def batch_figures(self, rest: bool, key_of: Callable[[str], str]) -> list[str]:
        """10,000 identifiers in one request, through each path (median of --batch-runs)."""
        values = list(dict.fromkeys(self.pool))[:BATCH_IDENTIFIERS]
        while len(values) < BATCH_IDENTIFIERS:  # the pool is smaller than 10k: widen it with more of the file
            values += dataset.phone_pool(self.args.phones, BATCH_IDENTIFIERS - len(values), seed=len(values))
        paths = [("checkLeads 10k", "/graphql", graphql_body(values), {})]
        if rest:
            paths.append(("POST /v1/checks 10k", "/v1/checks", rest_body(values), {}))
            ndjson = "\n".join(json.dumps(lead) for lead in leads_of(values)) + "\n"
            paths.append(("POST /v1/checks 10k ndjson", "/v1/checks", ndjson,
                          {"Content-Type": "application/x-ndjson"}))
        with httpx.Client(base_url=self.server.url, timeout=300) as client:
            for name, path, body, extra in paths:
                took = []
                for _ in range(self.args.batch_runs):
                    t0 = time.perf_counter()
                    response = client.post(path, content=body.encode(), headers={**self.auth, **extra})
                    response.read()
                    took.append(time.perf_counter() - t0)
                    if response.status_code != 200 or b'"errors"' in response.content[:200]:
                        raise RuntimeError(f"{name}: HTTP {response.status_code} {response.text[:300]}")
                self.fig.add_seconds(name, sorted(took)[len(took) // 2], load=loadavg())
        return [key_of(v) for v in values]

    async def driver_figures(self, keys: list[str], batch_keys: list[str]) -> None:
        from graph import checks

        driver = floors.Driver.of(floor_lookup(self.server.bolt_uri))
        try:
            seconds = self.args.duration
            for conns in (1, 50):
                self.fig.add(f"RETURN 1 @{conns}", await driver.closed_loop("RETURN 1", floors.RETURN_1, keys, conns,
                                                                           seconds), load=loadavg())
                self.fig.add(f"bare lookup @{conns}", await driver.closed_loop(
                    "bare lookup", checks.CHECK, keys, conns, seconds), load=loadavg())
                self.fig.add(f"lean lookup @{conns}", await driver.closed_loop(
                    "lean lookup", floors.LEAN, keys, conns, seconds), load=loadavg())
            for name, cypher in (("bare lookup 10k", checks.CHECK), ("lean lookup 10k", floors.LEAN),
                                 ("lean lookup 10k one record", floors.LEAN_COLLECTED)):
                took, _ = await driver.batch(cypher, batch_keys, self.args.batch_runs)
                self.fig.add_seconds(name, took, load=loadavg())
        finally:
            await driver.close()

    def profile(self, path: Path) -> None:
        """py-spy on the API process under the 50-connection single-check load: the top frames by self time."""
        pyspy = shutil.which("py-spy", path=str(dataset.VENV_BIN)) or shutil.which("py-spy")
        if not pyspy:
            say("profile              py-spy is not installed (pip install -e '.[bench]'): no profile")
            return
        raw = path.with_suffix(".raw.txt")
        seconds = max(10, round(self.args.duration))
        singles = [graphql_body([v]) for v in self.pool]
        self.warm_up(rest=False)
        load = loadavg()
        spy = subprocess.Popen([pyspy, "record", "--pid", str(self.server.api.pid), "--duration", str(seconds),
                                "--rate", "200", "--format", "raw", "--output", str(raw), "--nonblocking"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1)
        profiled = wrk.run("profiled", self.server.url + "/graphql", wrk.script("/graphql", singles, self.auth), 50, seconds)
        _, err = spy.communicate(timeout=60)
        if not raw.exists():
            say(f"profile              py-spy wrote nothing (exit {spy.returncode}): {err.decode(errors='replace')[-500:]}")
            return
        path.write_text(f"load average {load:.2f} → {loadavg():.2f}; under py-spy: {profiled.line()}\n"
                        + top_frames(raw.read_text(), 30))
        say(f"profile              top frames by self time in {path} (raw stacks: {raw})")


def jit_cpu(jvm: psutil.Process | None) -> float:
    """CPU seconds the JVM's JIT compiler threads have used so far (bench/ingest_probe.jvm_thread_cpu's "JIT" group)."""
    if jvm is None:
        return 0.0
    return sum(cpu for kind, cpu in jvm_thread_cpu(jvm.pid).values() if kind == "JIT")


def top_frames(raw: str, n: int) -> str:
    """py-spy raw (collapsed stacks 'a;b;c count') → the n frames with the most self time, and inclusive time."""
    self_t: dict[str, int] = {}
    incl: dict[str, int] = {}
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        total += int(count)
        self_t[frames[-1]] = self_t.get(frames[-1], 0) + int(count)
        for frame in set(frames):
            incl[frame] = incl.get(frame, 0) + int(count)
    out = [f"py-spy samples: {total} (API process, 50-connection single-check load)", "", "self %  frame"]
    for frame, count in sorted(self_t.items(), key=lambda kv: -kv[1])[:n]:
        out.append(f"{100 * count / total:5.1f}  {frame}")
    out += ["", "inclusive %  frame (product code only)"]
    product = [(f, c) for f, c in incl.items() if any(f"({p}/" in f for p in ("api", "check", "graph", "core", "access", "audit", "ingest"))]
    for frame, count in sorted(product, key=lambda kv: -kv[1])[:n]:
        out.append(f"{100 * count / total:5.1f}  {frame}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/check.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000, help="rows of the generated file ingested (default 100,000)")
    ap.add_argument("--duration", type=float, default=15, help="seconds per wrk/driver measurement (default 15)")
    ap.add_argument("--warmup", type=float, default=10,
                    help="seconds per warm-up round and path (default 10); rounds repeat until Neo4j's JIT settles")
    ap.add_argument("--warmup-max", type=float, default=900, help="stop warming up after this many seconds (default 900)")
    ap.add_argument("--pool", type=int, default=5000, help="phones in the request pool (default 5,000)")
    ap.add_argument("--batch-runs", type=int, default=3, help="10,000-identifier requests per path (default 3)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="measure every figure and floor this many times over, one round after another, after one "
                         "warm-up; each ratio is taken within its round and reported per round (default 1)")
    ap.add_argument("--rate-limit", type=int, help="override FENGHUO_RATE_LIMIT_PER_MINUTE (and the burst) — printed")
    ap.add_argument("--workers", type=int, help="`fenghuo serve --workers N` (when the build has it) — printed")
    ap.add_argument("--profile", type=Path, help="py-spy the API under 50-connection checks; top frames to this file")
    ap.add_argument("--profile-only", type=Path, help="only warm up and profile (top frames to this file)")
    ap.add_argument("--markdown", type=Path, help="write the figures and targets as a markdown table")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (server data and logs)")
    args = ap.parse_args(argv)
    exit_on_sigterm()
    overrides: dict[str, str] = {"FENGHUO_NEO4J_BOLT_PORT": str(free_port())}
    if args.rate_limit:
        overrides.update(rate_limit(args.rate_limit))
    serve_args = ["--workers", str(args.workers)] if args.workers else []
    wrk.ensure_wrk()
    figures = Figures(rows=args.rows, overrides={**overrides, **({"serve --workers": str(args.workers)} if args.workers else {})},
                      load_before=loadavg())
    work = Path(tempfile.mkdtemp(prefix="fenghuo-bench-check-"))
    server = floor = None
    try:
        server, figures.graph = dataset.prepare(args.rows, work, overrides, serve_args)
        say(f"graph                {figures.graph}")
        say(f"server               `fenghuo serve` pid {server.api.pid} at {server.url}, Neo4j {server.bolt_uri}; "
            f"overrides: {', '.join(f'{k}={v}' for k, v in overrides.items())}")
        args.phones = dataset.phones_of(dataset.generated_file(args.rows)[0])
        pool = dataset.phone_pool(args.phones, args.pool)
        floor = floors.FloorServer(free_port(), lookup=floor_lookup(server.bolt_uri))
        floor.start()
        run = Run(args, server, floor, pool, figures)
        rest = run.preflight()
        if args.profile_only:
            run.profile(args.profile_only)
            return 0
        from ingest.pseudonym import identify, load_or_create_dev_key

        alliance, _ = load_or_create_dev_key(server.data_dir)
        key_of = cache(lambda v: identify(alliance, "phone", v).key)
        run.warm_up(rest)
        keys = [key_of(v) for v in pool]
        for round_no in range(1, args.rounds + 1):
            if args.rounds > 1:
                say(f"round                {round_no} of {args.rounds}")
            figures.end_round()
            run.http_figures(rest, keys)
            batch_keys = run.batch_figures(rest, key_of)
            asyncio.run(run.driver_figures(keys, batch_keys))
        if args.profile:
            run.profile(args.profile)
        figures.load_after = loadavg()
        report(figures, args.markdown, dataset.CACHE, server.log_path.read_text(errors="replace"))
        return 0
    except BaseException:
        if server is not None:
            say(f"\nlast lines of {server.log_path}:\n{server.tail()}")
        raise
    finally:
        if floor is not None:
            floor.stop()
        if server is not None:
            server.stop()
            if server.log_path.exists():
                kept = dataset.CACHE / "check-last-serve.log"
                shutil.copyfile(server.log_path, kept)
                say(f"serve log            {kept}")
        if args.keep:
            say(f"kept                 {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
