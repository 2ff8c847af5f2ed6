"""Check benchmark (DESIGN.md §9): the `checkLeads` GraphQL field over HTTP, against a bare driver lookup.

    .venv/bin/python bench/check.py [--indicators 1000000] [--small 10000] [--requests 5000] [--clients 50]
                                    [--neo4j-uri URI] [--heap 2g] [--page-cache 2g] [--profile-server FILE]

In one run, on one Neo4j 5.26 (an embedded one of its own in a temp dir, unless --neo4j-uri) and one real
`fenghuo serve` process (its own port, FENGHUO_* env, rate limits raised):

1. members and an analyst API key are created through access.service (as tests/support.py does);
2. phase A: `--small` phone indicators are seeded DIRECTLY with plain Cypher (UNWIND chunks in auto-commit
   sessions, not through the upload pipeline): keys from the real `indicator_key(AllianceKey(1, secret),
   normalize("phone", value))` with the secret the server uses, properties as graph/leads.py writes them,
   1–3 REPORTED aggregates each from random members, CO_OCCURS edges and Network nodes for clustered ones;
3. measured at that size: a single-lead `checkLeads` over HTTP with `--clients` concurrent clients (and with
   one client), a 10,000-identifier batch check (3 runs), and in the same run a bare async-driver lookup of
   the same keys (one key per query at the same concurrency, and the 10,000 keys in one query), with
   API ÷ bare ratios, CPU per request of each process, and the RSS of the Neo4j JVM and the API process;
4. phase B: the graph grows to `--indicators` and everything in 3 is measured again;
5. a summary, 10k and ≥ 1M side by side, with PASS/MISS per target (informational: exit code 0 unless
   something crashed).

The database is wiped at the start when --neo4j-uri is given: do not point it at data you want to keep.
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
import random  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402
from typing import Any, Awaitable, Callable, Sequence  # noqa: E402

from bench.common import MB, free_port, graph_counts, mb, say  # noqa: E402

import psutil  # noqa: E402

# Targets (DESIGN.md §9).
TARGET_P50_MS = 5.0
TARGET_P99_MS = 25.0
TARGET_BATCH_S = 1.0
TARGET_RATIO = 2.0
FLAT_FACTOR = 1.25  # "flat": the large graph's figure ≤ 1.25 × the small graph's + FLAT_SLACK
FLAT_SLACK_MS = 1.0

MEMBERS = 20
ANALYST_MEMBER = "FIN01"
HIT_PREFIX = "138"  # seeded phones: 138%08d, index 0 … n-1
MISS_PREFIX = "139"  # never seeded
MISS_SHARE = 0.2
SEED_CHUNK = 10_000
CLUSTER_START = 0.087  # chance a cluster of 3–6 starts at an indicator: ~30 % of indicators end up in one
BATCH_IDENTIFIERS = 10_000
BATCH_LEAD_SIZE = 4  # 2,500 leads × 4 identifiers
SEED = 11

CATEGORY_WEIGHTS = {  # roughly what a consumer-finance alliance files most
    "LOAN_INTERMEDIARY": 25, "APPLICATION_FRAUD": 15, "ANTI_COLLECTION": 12, "REMOTE_ASSISTED": 8,
    "IDENTITY_THEFT": 6, "CREDIT_REPAIR_SCAM": 5, "IMPERSONATE_SUPPORT": 6, "MONEY_MULE": 5, "DEVICE_FARM": 5,
    "FAKE_LOAN_APP": 4, "MALICIOUS_COMPLAINT": 3, "SURRENDER_AGENT": 2, "PROMOTION_ABUSE": 3,
    "IMPERSONATE_AUTHORITY": 1,
}
TLP_WEIGHTS = {"AMBER": 80, "GREEN": 10, "RED": 5, "CLEAR": 5}

# Every property spelled out (no `SET x += map`): dynamic map writes make the planner add Eager operators.
SEED_INDICATORS = """
UNWIND $rows AS row
CREATE (i:Indicator {key: row.key, type: 'phone', key_version: $key_version, masked: row.masked, status: row.status,
                     benign: false, lead_count: row.lead_count, member_count: size(row.reports),
                     first_seen: row.first_seen, last_seen: row.last_seen, network_id: row.network_id,
                     phone_type: row.phone_type, country: row.country, region: row.region, carrier: row.carrier})
WITH i, row
UNWIND row.reports AS rep
MATCH (m:Member {code: rep.member})
CREATE (m)-[:REPORTED {tlp: rep.tlp, category: rep.category, leads: rep.leads, max_confidence: rep.max_confidence,
                       max_confidence_at: rep.max_confidence_at, last_confidence: rep.last_confidence,
                       last_seen: rep.last_seen, first_seen: rep.first_seen, attributed: rep.attributed}]->(i)
"""

SEED_CO_OCCURS = """
UNWIND $pairs AS p
MATCH (a:Indicator {key: p.a})
MATCH (b:Indicator {key: p.b})
CREATE (a)-[:CO_OCCURS {count: p.count}]->(b)
"""

SEED_NETWORKS = """
UNWIND $networks AS n
CREATE (:Network {id: n.id, leads: n.leads, members: n.members, categories: n.categories, indicators: n.indicators})
"""

WIPE = "MATCH (n) WHERE NOT n:Migration CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS"

# The bare lookup the brief asks for: the indicator by key and its REPORTED aggregates.
BARE = """
UNWIND $keys AS key
MATCH (i:Indicator {key: key})
OPTIONAL MATCH (m:Member)-[r:REPORTED]->(i)
RETURN key, collect(r) AS reports
"""

# The same lookup returning only maps and epoch milliseconds, as graph/checks.py does: what the driver
# costs at the least for these keys and aggregates (no visibility, neighbours or network).
BARE_LEAN = """
UNWIND $keys AS key
MATCH (i:Indicator {key: key})
OPTIONAL MATCH (m:Member)-[r:REPORTED]->(i)
RETURN key, collect(r {.tlp, .category, .leads, .max_confidence, .last_confidence, member: m.code,
                       max_confidence_at: r.max_confidence_at.epochMillis, first_seen: r.first_seen.epochMillis,
                       last_seen: r.last_seen.epochMillis}) AS reports
"""

# The cheapest round trip there is: what one Neo4j transaction costs here, whatever it does.
FLOOR = "RETURN 1 AS one"

CHECK_QUERY = """query Check($leads: [LeadCheckInput!]!) {
  checkLeads(leads: $leads) {
    leads { ref score level identifiers { status score level categories members
      contributions { member category tlp confidence severity reliability decay ageDays weight leads } } }
  }
}"""





def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.2f} ms"


def pct(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return math.nan
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))]


def med(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def loadavg() -> str:
    return f"{os.getloadavg()[0]:.2f}"


# -- seeding -----------------------------------------------------------------------------------------------


@dataclass
class Seeded:
    indicators: int = 0
    reported: int = 0
    co_occurs: int = 0
    networks: int = 0
    seconds: float = 0.0


class Seeder:
    """Phone indicators 138%08d with realistic aggregates, written by plain UNWIND Cypher in chunks."""

    def __init__(self, graph: Any, key: Any, members: list[str]) -> None:
        self.graph = graph
        self.key = key
        self.members = members
        self.now = datetime.now(timezone.utc)
        self.total = Seeded()
        self._categories = list(CATEGORY_WEIGHTS)
        self._category_w = list(CATEGORY_WEIGHTS.values())
        self._tlps = list(TLP_WEIGHTS)
        self._tlp_w = list(TLP_WEIGHTS.values())

    def generate(self, start: int, count: int) -> tuple[list[dict], list[dict], list[dict]]:
        """Rows, CO_OCCURS pairs and networks for indicators start … start+count-1 (deterministic)."""
        from ingest.identifiers import Invalid, normalize
        from ingest.pseudonym import indicator_key, mask

        rng = random.Random(SEED * 1_000_003 + start)
        rows: list[dict] = []
        for index in range(start, start + count):
            normalized = normalize("phone", phone(index))
            if isinstance(normalized, Invalid):
                raise RuntimeError(f"seeded phone {index} is refused: {normalized.reason}")
            reports = []
            for member in rng.sample(self.members, rng.choices((1, 2, 3), (60, 30, 10))[0]):
                last_seen = self.now - timedelta(days=rng.uniform(0, 420), seconds=rng.randrange(86_400))
                first_seen = last_seen - timedelta(days=rng.expovariate(1 / 30))
                leads = 1 + min(int(rng.expovariate(1 / 1.5)), 40)
                max_confidence = round(rng.uniform(0.5, 1.0), 2)
                max_at = first_seen + (last_seen - first_seen) * rng.random() if leads > 1 else last_seen
                reports.append({
                    "member": member, "tlp": rng.choices(self._tlps, self._tlp_w)[0],
                    "category": rng.choices(self._categories, self._category_w)[0],
                    "leads": leads, "max_confidence": max_confidence, "max_confidence_at": max_at,
                    "last_confidence": max_confidence if leads == 1 else round(rng.uniform(0.4, max_confidence), 2),
                    "last_seen": last_seen, "first_seen": first_seen if leads > 1 else last_seen,
                    "attributed": rng.random() < 0.2,
                })
            rows.append({
                "key": indicator_key(self.key, normalized), "masked": mask(normalized),
                **{name: normalized.attributes.get(name) for name in ("phone_type", "country", "region", "carrier")},
                "status": "disputed" if rng.random() < 0.01 else "active",
                "lead_count": sum(r["leads"] for r in reports),
                "first_seen": min(r["first_seen"] for r in reports),
                "last_seen": max(r["last_seen"] for r in reports),
                "reports": reports, "network_id": None,
            })
        # About 30 % of indicators sit in small networks (3–6 identifiers named together by leads).
        pairs: list[dict] = []
        networks: list[dict] = []
        position = 0
        while position < len(rows):
            if rng.random() < CLUSTER_START:
                size = rng.randint(3, 6)
                cluster = rows[position: position + size]
                net_id = f"{start + position:032x}"  # opaque hex, like check/networks.py ids
                position += size
                if len(cluster) < 2:
                    continue
                for row in cluster:
                    row["network_id"] = net_id
                ordered = sorted(cluster, key=lambda r: r["key"])
                seen: set[tuple[str, str]] = set()
                for a, b in zip(ordered, ordered[1:]):  # a chain, plus a shortcut or two
                    seen.add((a["key"], b["key"]))
                for _ in range(rng.randint(0, 2)):
                    a, b = sorted(rng.sample(ordered, 2), key=lambda r: r["key"])
                    seen.add((a["key"], b["key"]))
                pairs.extend({"a": a, "b": b, "count": rng.randint(1, 3)} for a, b in seen)
                members = {r["member"] for row in cluster for r in row["reports"]}
                categories = sorted({r["category"] for row in cluster for r in row["reports"]})
                networks.append({"id": net_id, "leads": sum(r["lead_count"] for r in cluster), "members": len(members),
                                 "categories": categories, "indicators": len(cluster)})
            else:
                position += 1
        return rows, pairs, networks

    async def _write(self, rows: list[dict], pairs: list[dict], networks: list[dict]) -> None:
        async with self.graph.driver.session(database=self.graph.database) as session:  # auto-commit
            await (await session.run(SEED_INDICATORS, rows=rows, key_version=self.key.version)).consume()
            if pairs:
                await (await session.run(SEED_CO_OCCURS, pairs=pairs)).consume()
            if networks:
                await (await session.run(SEED_NETWORKS, networks=networks)).consume()
        self.total.indicators += len(rows)
        self.total.reported += sum(len(r["reports"]) for r in rows)
        self.total.co_occurs += len(pairs)
        self.total.networks += len(networks)

    async def grow_to(self, n: int) -> float:
        """Seed indicators until there are n; generation of the next chunk overlaps the current write."""
        began = time.perf_counter()
        start = self.total.indicators
        if n <= start:
            return 0.0
        starts = list(range(start, n, SEED_CHUNK))
        pending = asyncio.create_task(asyncio.to_thread(self.generate, starts[0], min(SEED_CHUNK, n - starts[0])))
        last_report = began
        for i, chunk_start in enumerate(starts):
            rows, pairs, networks = await pending
            if i + 1 < len(starts):
                nxt = starts[i + 1]
                pending = asyncio.create_task(asyncio.to_thread(self.generate, nxt, min(SEED_CHUNK, n - nxt)))
            await self._write(rows, pairs, networks)
            now = time.perf_counter()
            if now - last_report > 30:
                done = self.total.indicators - start
                say(f"  seeding …          {self.total.indicators:,} indicators ({done / (now - began):,.0f}/s)")
                last_report = now
        elapsed = time.perf_counter() - began
        self.total.seconds += elapsed
        return elapsed


def phone(index: int) -> str:
    return f"{HIT_PREFIX}{index:08d}"


def miss_phone(rng: random.Random) -> str:
    return f"{MISS_PREFIX}{rng.randrange(100_000_000):08d}"


def draw_values(rng: random.Random, seeded: int, count: int, *, distinct: bool = False) -> list[str]:
    """Phones to check: ~80 % seeded (uniform over all seeded indicators), ~20 % never seeded.

    `distinct`: no seeded phone twice (when there are enough), so a 10,000-identifier batch looks up as many
    distinct keys on a 10k graph as on a 1M one (the API de-duplicates keys before its query).
    """
    misses = [rng.random() < MISS_SHARE for _ in range(count)]
    hits = count - sum(misses)
    if distinct and hits <= seeded:
        picked = iter(rng.sample(range(seeded), hits))
    else:
        picked = iter([rng.randrange(seeded) for _ in range(hits)])
    return [miss_phone(rng) if miss else phone(next(picked)) for miss in misses]


# -- a lean HTTP/1.1 client (keep-alive, prebuilt requests) ------------------------------------------------


class Conn:
    """One keep-alive HTTP/1.1 connection to the API; a few µs of client CPU per request (httpx costs ~10×)."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.head = (f"POST /graphql HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
                     f"accept: application/json\r\nauthorization: Bearer {token}\r\ncontent-length: ").encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> "Conn":
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        return self

    async def post(self, body: bytes) -> tuple[int, bytes]:
        assert self.reader is not None and self.writer is not None
        self.writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at < 0:
            raise RuntimeError(f"response without content-length: {head[:200]!r}")
        length = int(lower[at + 17: lower.find(b"\r\n", at + 17)])
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except Exception:  # noqa: BLE001 — a reset on close says nothing about the measurement
                pass


def single_body(value: str, ref: str = "r1") -> bytes:
    return json.dumps({"query": CHECK_QUERY, "variables": {
        "leads": [{"ref": ref, "identifiers": [{"type": "PHONE", "value": value}]}]}}, ensure_ascii=False).encode()


def batch_body(values: list[str]) -> bytes:
    leads = [{"ref": f"L{i // BATCH_LEAD_SIZE}", "identifiers": [{"type": "PHONE", "value": v}
                                                                for v in values[i: i + BATCH_LEAD_SIZE]]}
             for i in range(0, len(values), BATCH_LEAD_SIZE)]
    return json.dumps({"query": CHECK_QUERY, "variables": {"leads": leads}}, ensure_ascii=False).encode()


# -- measuring ---------------------------------------------------------------------------------------------


@dataclass
class Latencies:
    label: str
    clients: int
    times: list[float]
    wall: float
    errors: int = 0
    cpu_ms: dict[str, float] = field(default_factory=dict)  # process → CPU ms per request

    @property
    def sorted(self) -> list[float]:
        return sorted(self.times)

    def p(self, q: float) -> float:
        return pct(self.sorted, q)

    @property
    def throughput(self) -> float:
        return len(self.times) / self.wall if self.wall else math.nan

    def line(self) -> str:
        s = self.sorted
        return (f"p50 {ms(pct(s, .5))}  p90 {ms(pct(s, .9))}  p99 {ms(pct(s, .99))}  max {ms(s[-1])}  "
                f"→ {self.throughput:,.0f} req/s  ({len(s):,} requests, {self.clients} clients"
                + (f", {self.errors} ERRORS" if self.errors else "") + ")")


class CpuMeter:
    """User+system CPU seconds of named processes between enter and exit."""

    def __init__(self, processes: dict[str, psutil.Process | None]) -> None:
        self.processes = {name: p for name, p in processes.items() if p is not None}
        self.used: dict[str, float] = {}

    @staticmethod
    def _cpu(process: psutil.Process) -> float:
        try:
            t = process.cpu_times()
            return t.user + t.system
        except psutil.Error:
            return math.nan

    def __enter__(self) -> "CpuMeter":
        self._start = {name: self._cpu(p) for name, p in self.processes.items()}
        return self

    def __exit__(self, *exc: object) -> None:
        self.used = {name: self._cpu(p) - self._start[name] for name, p in self.processes.items()}


async def closed_loop(label: str, clients: int, items: Sequence[Any], call: Callable[[int, Any], Awaitable[bool]],
                      meter: dict[str, psutil.Process | None]) -> Latencies:
    """`clients` workers take items from a shared cursor, each waiting for its answer before the next."""
    times: list[float] = []
    errors = 0
    cursor = 0

    async def worker(w: int) -> None:
        nonlocal cursor, errors
        while cursor < len(items):
            item = items[cursor]
            cursor += 1
            t0 = time.perf_counter()
            ok = await call(w, item)
            times.append(time.perf_counter() - t0)
            if not ok:
                errors += 1

    with CpuMeter(meter) as cpu:
        began = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(clients)))
        wall = time.perf_counter() - began
    result = Latencies(label, clients, times, wall, errors)
    result.cpu_ms = {name: used * 1000 / len(times) for name, used in cpu.used.items()}
    return result


def cpu_line(lat: Latencies) -> str:
    parts = [f"{name} {v:.2f}" for name, v in lat.cpu_ms.items()]
    return "CPU ms per request: " + ", ".join(parts)


@dataclass
class BatchRun:
    api_s: list[float] = field(default_factory=list)
    api_bytes: list[int] = field(default_factory=list)
    parse_s: list[float] = field(default_factory=list)
    bare_hash_s: list[float] = field(default_factory=list)
    bare_query_s: list[float] = field(default_factory=list)
    hits: list[int] = field(default_factory=list)
    bare_found: list[int] = field(default_factory=list)
    bare_cpu_s: list[float] = field(default_factory=list)  # this process: hashing, driver packing/hydration
    bare_jvm_cpu_s: list[float] = field(default_factory=list)
    api_cpu_s: list[float] = field(default_factory=list)
    jvm_cpu_s: list[float] = field(default_factory=list)
    lean_s: list[float] = field(default_factory=list)  # BARE_LEAN: hashing + query

    @property
    def bare_s(self) -> list[float]:
        return [h + q for h, q in zip(self.bare_hash_s, self.bare_query_s)]


@dataclass
class PhaseResult:
    label: str
    indicators: int
    http: Latencies | None = None
    http_serial: Latencies | None = None
    bare: Latencies | None = None
    bare_serial: Latencies | None = None
    floor_serial: Latencies | None = None
    batch: BatchRun = field(default_factory=BatchRun)
    jvm_rss: int = 0
    api_rss: int = 0
    me_rss: int = 0
    load: str = ""  # 1-minute load average at the start and at the end of the phase


class Bench:
    def __init__(self, args: argparse.Namespace, graph: Any, key: Any, token: str, api_port: int,
                 api_proc: psutil.Process, jvm: psutil.Process | None) -> None:
        self.args = args
        self.graph = graph
        self.key = key
        self.token = token
        self.api_port = api_port
        self.meter = {"load generator": psutil.Process(), "API": api_proc, "Neo4j": jvm}
        self.api_proc = api_proc
        self.jvm = jvm

    # HTTP -----------------------------------------------------------------------------------------------

    async def _conns(self, n: int) -> list[Conn]:
        return list(await asyncio.gather(*(Conn("127.0.0.1", self.api_port, self.token).open() for _ in range(n))))

    async def http_single(self, label: str, values: list[str], clients: int) -> Latencies:
        bodies = [single_body(v) for v in values]
        conns = await self._conns(clients)
        try:
            async def call(w: int, body: bytes) -> bool:
                status, payload = await conns[w].post(body)
                return status == 200 and b'"errors"' not in payload

            return await closed_loop(label, clients, bodies, call, self.meter)
        finally:
            await asyncio.gather(*(c.close() for c in conns))

    async def http_batch(self, values: list[str], run: BatchRun | None) -> None:
        body = batch_body(values)
        conn = await Conn("127.0.0.1", self.api_port, self.token).open()
        try:
            with CpuMeter({"API": self.api_proc, "Neo4j": self.jvm}) as cpu:
                t0 = time.perf_counter()
                status, payload = await conn.post(body)
                elapsed = time.perf_counter() - t0
            t1 = time.perf_counter()
            data = json.loads(payload)
            parse = time.perf_counter() - t1
        finally:
            await conn.close()
        if status != 200 or data.get("errors"):
            raise RuntimeError(f"batch check failed: HTTP {status} {str(data.get('errors'))[:500]}")
        verdicts = [v for lead in data["data"]["checkLeads"]["leads"] for v in lead["identifiers"]]
        if len(verdicts) != len(values):
            raise RuntimeError(f"batch check answered {len(verdicts)} verdicts for {len(values)} identifiers")
        if run is not None:
            run.api_s.append(elapsed)
            run.api_bytes.append(len(payload))
            run.parse_s.append(parse)
            run.hits.append(sum(1 for v in verdicts if v["status"] != "no_record"))
            run.api_cpu_s.append(cpu.used.get("API", math.nan))
            run.jvm_cpu_s.append(cpu.used.get("Neo4j", math.nan))

    # bare driver ----------------------------------------------------------------------------------------

    def _key_of(self, value: str) -> str:
        from ingest.identifiers import normalize
        from ingest.pseudonym import indicator_key

        return indicator_key(self.key, normalize("phone", value))

    async def _bare_query(self, keys: list[str], query: str = BARE) -> list[Any]:
        from neo4j import RoutingControl

        result = await self.graph.driver.execute_query(query, keys=keys, database_=self.graph.database,
                                                       routing_=RoutingControl.READ)
        return result.records

    async def floor_single(self, label: str, values: list[str]) -> Latencies:
        async def call(w: int, value: str) -> bool:
            await self._bare_query([], FLOOR)
            return True

        return await closed_loop(label, 1, values, call, self.meter)

    async def bare_single(self, label: str, values: list[str], clients: int) -> Latencies:
        async def call(w: int, value: str) -> bool:
            await self._bare_query([self._key_of(value)])  # hashing included: the API does it too
            return True

        return await closed_loop(label, clients, values, call, self.meter)

    async def bare_batch(self, values: list[str], run: BatchRun | None) -> None:
        with CpuMeter({"load generator": psutil.Process(), "Neo4j": self.jvm}) as cpu:
            t0 = time.perf_counter()
            keys = [self._key_of(v) for v in values]
            hashed = time.perf_counter() - t0
            t1 = time.perf_counter()
            records = await self._bare_query(keys)
            queried = time.perf_counter() - t1
        if run is not None:
            run.bare_hash_s.append(hashed)
            run.bare_query_s.append(queried)
            run.bare_cpu_s.append(cpu.used.get("load generator", math.nan))
            run.bare_jvm_cpu_s.append(cpu.used.get("Neo4j", math.nan))
            run.bare_found.append(len(records))
            t0 = time.perf_counter()
            await self._bare_query([self._key_of(v) for v in values], BARE_LEAN)
            run.lean_s.append(time.perf_counter() - t0)

    # one phase ------------------------------------------------------------------------------------------

    async def phase(self, label: str, indicators: int) -> PhaseResult:
        args = self.args
        rng = random.Random(SEED + indicators)
        r = PhaseResult(label, indicators)
        load_start = loadavg()
        say(f"\n== phase {label}: {indicators:,} indicators in the graph (load average {loadavg()}) ==")

        say(f"warm-up              {args.warmup:,} HTTP checks + {args.warmup:,} bare lookups, {args.clients} clients"
            + (f"; 1 batch of {BATCH_IDENTIFIERS:,} of each" if args.batch_runs else ""))
        await self.http_single("warm-up", draw_values(rng, indicators, args.warmup), args.clients)
        await self.bare_single("warm-up", draw_values(rng, indicators, args.warmup), args.clients)
        if args.batch_runs:
            warm = draw_values(rng, indicators, BATCH_IDENTIFIERS, distinct=True)
            await self.http_batch(warm, None)
            await self.bare_batch(warm, None)

        values = draw_values(rng, indicators, args.requests)
        serial = values[: args.serial_requests]

        say(f"\n-- single-lead checkLeads over HTTP (1 phone; ~{MISS_SHARE:.0%} misses) --")
        r.http = await self.http_single("http", values, args.clients)
        say(f"{args.clients:>3} clients          {r.http.line()}")
        say(f"                     {cpu_line(r.http)}")
        r.http_serial = await self.http_single("http-1", serial, 1)
        say(f"  1 client           {r.http_serial.line()}")
        say(f"                     {cpu_line(r.http_serial)}")

        say("\n-- bare async-driver lookup of the same keys (normalize + indicator_key + one query per key) --")
        r.bare = await self.bare_single("bare", values, args.clients)
        say(f"{args.clients:>3} clients          {r.bare.line()}")
        say(f"                     {cpu_line(r.bare)}")
        r.bare_serial = await self.bare_single("bare-1", serial, 1)
        say(f"  1 client           {r.bare_serial.line()}")
        r.floor_serial = await self.floor_single("floor-1", serial)
        say(f"  `{FLOOR}`, 1 client {r.floor_serial.line()}")
        say(f"                     {cpu_line(r.floor_serial)}  (what any one Neo4j transaction costs here)")

        say(f"\n-- {BATCH_IDENTIFIERS:,}-identifier batch check ({BATCH_IDENTIFIERS // BATCH_LEAD_SIZE:,} leads × "
            f"{BATCH_LEAD_SIZE} phones), {args.batch_runs} runs, each against the bare lookup of the same keys --")
        for i in range(args.batch_runs):
            batch_values = draw_values(rng, indicators, BATCH_IDENTIFIERS, distinct=True)
            await self.http_batch(batch_values, r.batch)
            await self.bare_batch(batch_values, r.batch)
            b = r.batch
            say(f"run {i + 1}                API {b.api_s[i]:.3f} s ({b.api_bytes[i] / MB:,.1f} MB JSON, "
                f"{b.hits[i]:,} with a record; API CPU {b.api_cpu_s[i]:.2f} s, Neo4j CPU {b.jvm_cpu_s[i]:.2f} s)"
                f"  |  bare {b.bare_s[i]:.3f} s (hashing {b.bare_hash_s[i]:.3f} s + query {b.bare_query_s[i]:.3f} s, "
                f"{b.bare_found[i]:,} distinct keys found; client CPU {b.bare_cpu_s[i]:.2f} s, "
                f"Neo4j CPU {b.bare_jvm_cpu_s[i]:.2f} s)"
                f"  |  ratio {b.api_s[i] / b.bare_s[i]:.2f}  |  lean bare (maps, epoch ms) {b.lean_s[i]:.3f} s, "
                f"ratio {b.api_s[i] / b.lean_s[i]:.2f}")
        b = r.batch
        if args.batch_runs:
            say(f"median               API {med(b.api_s):.3f} s  |  bare {med(b.bare_s):.3f} s  "
                f"|  ratio {med(b.api_s) / med(b.bare_s):.2f}  "
                f"(client-side JSON parse of the answer, not counted: {med(b.parse_s):.3f} s)")

        r.load = f"{load_start} → {loadavg()}"
        r.jvm_rss = rss(self.jvm)
        r.api_rss = rss(self.api_proc)
        r.me_rss = rss(psutil.Process())
        say(f"\nRSS                  Neo4j JVM {mb(r.jvm_rss)}, API process {mb(r.api_rss)}, "
            f"this load generator {mb(r.me_rss)}")
        say(f"ratios API ÷ bare    single p50 {ratio(r.http.p(.5), r.bare.p(.5))}, p99 "
            f"{ratio(r.http.p(.99), r.bare.p(.99))} ({args.clients} clients); 1 client p50 "
            f"{ratio(r.http_serial.p(.5), r.bare_serial.p(.5))}; batch "
            f"{ratio(med(b.api_s), med(b.bare_s))}")
        return r


def rss(process: psutil.Process | None) -> int:
    if process is None:
        return 0
    try:
        return process.memory_info().rss
    except psutil.Error:
        return 0


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "n/a"


# -- summary -----------------------------------------------------------------------------------------------


def summary(args: argparse.Namespace, small: PhaseResult, large: PhaseResult) -> None:
    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    def flat(a: float, b: float) -> bool:
        return b <= a * FLAT_FACTOR + FLAT_SLACK_MS / 1000

    w = 112
    say("\n" + "=" * w)
    say("SUMMARY  fenghuo check (DESIGN.md §9)")
    say("=" * w)
    say(f"{'':38}{small.indicators:>12,} ind.{'':5}{large.indicators:>12,} ind.   target         verdict (small | large)")

    def row(name: str, a: float, b: float, fmt: Callable[[float], str], target: str, ok: Callable[[float], bool]) -> None:
        say(f"{name:38}{fmt(a):>17}{'':5}{fmt(b):>17}   {target:14} {verdict(ok(a))} | {verdict(ok(b))}")

    sec_ms = lambda v: f"{v * 1000:,.2f} ms"  # noqa: E731
    sec = lambda v: f"{v:,.3f} s"  # noqa: E731
    times = lambda v: f"{v:.2f}×"  # noqa: E731
    rps = lambda v: f"{v:,.0f} req/s"  # noqa: E731
    c = args.clients
    row(f"single check p50, {c} clients", small.http.p(.5), large.http.p(.5), sec_ms, f"≤ {TARGET_P50_MS:g} ms",
        lambda v: v * 1000 <= TARGET_P50_MS)
    row(f"single check p99, {c} clients", small.http.p(.99), large.http.p(.99), sec_ms, f"≤ {TARGET_P99_MS:g} ms",
        lambda v: v * 1000 <= TARGET_P99_MS)
    say(f"{f'single check throughput, {c} clients':38}{rps(small.http.throughput):>17}{'':5}"
        f"{rps(large.http.throughput):>17}   (informational)")
    row("single check p50, 1 client", small.http_serial.p(.5), large.http_serial.p(.5), sec_ms,
        f"(≤ {TARGET_P50_MS:g} ms)", lambda v: v * 1000 <= TARGET_P50_MS)
    row("single check p99, 1 client", small.http_serial.p(.99), large.http_serial.p(.99), sec_ms,
        f"(≤ {TARGET_P99_MS:g} ms)", lambda v: v * 1000 <= TARGET_P99_MS)
    sb, lb = med(small.batch.api_s), med(large.batch.api_s)
    row(f"{BATCH_IDENTIFIERS:,}-identifier batch (median)", sb, lb, sec, f"≤ {TARGET_BATCH_S:g} s",
        lambda v: v <= TARGET_BATCH_S)
    under = lambda v: v <= TARGET_RATIO  # noqa: E731
    row(f"API ÷ bare, single p50 ({c} clients)", small.http.p(.5) / small.bare.p(.5),
        large.http.p(.5) / large.bare.p(.5), times, f"≤ {TARGET_RATIO:g}×", under)
    row(f"API ÷ bare, single p99 ({c} clients)", small.http.p(.99) / small.bare.p(.99),
        large.http.p(.99) / large.bare.p(.99), times, f"≤ {TARGET_RATIO:g}×", under)
    row("API ÷ bare, single p50 (1 client)", small.http_serial.p(.5) / small.bare_serial.p(.5),
        large.http_serial.p(.5) / large.bare_serial.p(.5), times, f"(≤ {TARGET_RATIO:g}×)", under)
    row("API ÷ bare, 10k batch (medians)", sb / med(small.batch.bare_s),
        lb / med(large.batch.bare_s), times, f"≤ {TARGET_RATIO:g}×", under)
    row("API ÷ lean bare, 10k batch (medians)", sb / med(small.batch.lean_s),
        lb / med(large.batch.lean_s), times, f"(≤ {TARGET_RATIO:g}×)", under)
    cpu_of = lambda r, name: f"{r.http.cpu_ms.get(name, math.nan):.2f} ms"  # noqa: E731
    say(f"{'CPU per single check: API process':38}{cpu_of(small, 'API'):>17}{'':5}{cpu_of(large, 'API'):>17}"
        "   (load-independent-ish)")
    say(f"{'CPU per single check: Neo4j JVM':38}{cpu_of(small, 'Neo4j'):>17}{'':5}{cpu_of(large, 'Neo4j'):>17}")
    say(f"{'CPU per 10k batch: API / Neo4j':38}"
        f"{f'{med(small.batch.api_cpu_s):.2f} s / {med(small.batch.jvm_cpu_s):.2f} s':>17}{'':5}"
        f"{f'{med(large.batch.api_cpu_s):.2f} s / {med(large.batch.jvm_cpu_s):.2f} s':>17}")
    say(f"{'bare lookup p50 / p99, ' + str(c) + ' clients':38}"
        f"{sec_ms(small.bare.p(.5)) + ' / ' + sec_ms(small.bare.p(.99)):>17}{'':5}"
        f"{sec_ms(large.bare.p(.5)) + ' / ' + sec_ms(large.bare.p(.99)):>17}")
    say(f"{'bare 10k batch (median)':38}{sec(med(small.batch.bare_s)):>17}{'':5}"
        f"{sec(med(large.batch.bare_s)):>17}")
    say(f"{'lean bare 10k batch (median)':38}{sec(med(small.batch.lean_s)):>17}{'':5}"
        f"{sec(med(large.batch.lean_s)):>17}   (BARE_LEAN: maps and epoch ms, like graph/checks.py)")
    say(f"{'`RETURN 1` p50, 1 client':38}{sec_ms(small.floor_serial.p(.5)):>17}{'':5}"
        f"{sec_ms(large.floor_serial.p(.5)):>17}   (one Neo4j round trip: the floor under any check)")
    say(f"{'load average, phase start → end':38}{small.load:>17}{'':5}{large.load:>17}   "
        f"({os.cpu_count()} CPUs; this benchmark itself accounts for ~2–3)")
    say(f"{'RSS Neo4j JVM / API process':38}{mb(small.jvm_rss) + ' / ' + mb(small.api_rss):>17}{'':5}"
        f"{mb(large.jvm_rss) + ' / ' + mb(large.api_rss):>17}")
    say("-" * w)
    checks = [
        (f"single p50, {c} clients", small.http.p(.5), large.http.p(.5)),
        (f"single p99, {c} clients", small.http.p(.99), large.http.p(.99)),
        ("single p50, 1 client", small.http_serial.p(.5), large.http_serial.p(.5)),
        ("10k batch", sb, lb),
    ]
    for name, a, b in checks:
        say(f"flat {small.indicators:,} → {large.indicators:,}: {name:24} {b / a:5.2f}×   "
            f"{verdict(flat(a, b))}   (flat = ≤ {FLAT_FACTOR}× + {FLAT_SLACK_MS:g} ms)")
    say("-" * w)
    say(f"CAVEAT: this machine has {os.cpu_count()} CPU cores, shared by Neo4j, the API process (one uvicorn worker) "
        f"and this load generator;")
    say(f"        with {c} closed-loop clients, latency ≈ {c} ÷ throughput (Little's law), so p50/p99 at {c} clients "
        "measure CPU saturation,")
    say("        not the per-request path: the 1-client rows show that. Load average at the end: "
        f"{loadavg()}.  Verdicts are informational.")
    say("=" * w)


# -- the API server ----------------------------------------------------------------------------------------


class ApiServer:
    """`fenghuo serve` as a separate process (optionally under cProfile), configured by FENGHUO_* env."""

    def __init__(self, uri: str, secret_hex: str, work_dir: Path, profile: str | None) -> None:
        self.port = free_port()
        self.work_dir = work_dir
        self.log_path = work_dir / "api.log"
        self.profile = profile
        env = {k: v for k, v in os.environ.items() if not k.startswith("FENGHUO_")}
        env.update({
            "FENGHUO_NEO4J_URI": uri, "FENGHUO_ALLIANCE_KEY": secret_hex, "FENGHUO_ALLIANCE_KEY_VERSION": "1",
            "FENGHUO_DATA_DIR": str(work_dir / "api-data"), "FENGHUO_DEMO_SEED": "false",
            "FENGHUO_RATE_LIMIT_PER_MINUTE": "100000000", "FENGHUO_RATE_LIMIT_BURST": "10000000",
            "FENGHUO_LOG_LEVEL": "WARNING",
        })
        for name in ("FENGHUO_NEO4J_USER", "FENGHUO_NEO4J_PASSWORD"):
            if name in os.environ:
                env[name] = os.environ[name]
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> psutil.Process:
        import httpx

        fenghuo = str(Path(sys.executable).parent / "fenghuo")
        command = [fenghuo, "serve", "--port", str(self.port)]
        if self.profile:
            command = [sys.executable, "-m", "cProfile", "-o", self.profile, *command]
        (self.work_dir / "api-data").mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(command, env=self.env, cwd=self.work_dir, stdout=out,
                                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=5) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"fenghuo serve exited with {self.process.returncode}:\n{self.tail()}")
                try:
                    if client.get("/healthz").status_code == 200:
                        return psutil.Process(self.process.pid)
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        raise RuntimeError(f"fenghuo serve did not answer /healthz 200 within {timeout:.0f}s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 30.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# -- setup and main ----------------------------------------------------------------------------------------


async def setup_graph(graph: Any, key: Any, wipe: bool) -> tuple[list[str], str]:
    from access import service
    from core.principal import cli_principal
    from audit.log import AuditLog
    from graph.migrate import migrate

    await migrate(graph)
    if wipe:
        async with graph.driver.session(database=graph.database) as session:
            await (await session.run(WIPE)).consume()
    audit = AuditLog(graph)
    actor = cli_principal("bench")
    members = [f"FIN{i:02d}" for i in range(1, MEMBERS + 1)]
    for code in members:
        await service.add_member(graph, audit, actor, key, code=code, name=f"{code} 消费金融")
    rng = random.Random(SEED)
    await graph.write("UNWIND $rows AS row MATCH (m:Member {code: row.code}) SET m.reliability = row.reliability",
                      {"rows": [{"code": c, "reliability": round(rng.uniform(0.6, 1.0), 2)} for c in members]})
    issued = await service.create_api_key(graph, audit, actor, member_code=ANALYST_MEMBER, roles=["analyst"],
                                          name="bench-check")
    await audit.flush()
    return members, issued.token


async def counts(graph: Any) -> dict[str, int]:
    return await graph_counts(graph, {"indicators": "Indicator", "networks": "Network"},
                              {"reported": "REPORTED", "co_occurs": "CO_OCCURS"})


def find_jvm(port: int) -> psutil.Process | None:
    """The process listening on the Bolt port (for an external Neo4j on this host), if we may see it."""
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                return psutil.Process(conn.pid)
    except (psutil.Error, OSError):
        pass
    return None


async def run(args: argparse.Namespace, target: Any, jvm: psutil.Process | None, work_dir: Path, external: bool) -> None:
    from graph.database import Graph
    from ingest.pseudonym import AllianceKey

    secret = secrets.token_bytes(32)
    key = AllianceKey(version=1, secret=secret)
    graph = Graph.connect(target)
    api: ApiServer | None = None
    try:
        say(f"Neo4j                {await graph.server_version(10)} at {target.uri}")
        members, token = await setup_graph(graph, key, wipe=external)
        say(f"setup                migrations applied{', database wiped' if external else ''}; {len(members)} members, "
            f"analyst key of {ANALYST_MEMBER}")

        seeder = Seeder(graph, key, members)
        say(f"\nseeding              {args.small:,} phone indicators DIRECTLY with UNWIND Cypher (chunks of "
            f"{SEED_CHUNK:,}, auto-commit), not through the upload pipeline")
        took = await seeder.grow_to(args.small)
        c = await counts(graph)
        say(f"seeded               {c['indicators']:,} indicators, {c['reported']:,} REPORTED, {c['co_occurs']:,} "
            f"CO_OCCURS, {c['networks']:,} networks in {took:,.1f} s ({args.small / took:,.0f} indicators/s)")

        api = ApiServer(target.uri, secret.hex(), work_dir, args.profile_server)
        began = time.perf_counter()
        api_proc = api.start()
        say(f"API                  `fenghuo serve` pid {api_proc.pid} on 127.0.0.1:{api.port}, /healthz 200 after "
            f"{time.perf_counter() - began:.1f} s{' (under cProfile → ' + args.profile_server + ')' if args.profile_server else ''}")

        bench = Bench(args, graph, key, token, api.port, api_proc, jvm)
        small = await bench.phase("A", c["indicators"])

        say(f"\ngrowing              to {args.indicators:,} indicators (same direct seeding)")
        took = await seeder.grow_to(args.indicators)
        c = await counts(graph)
        grown = args.indicators - args.small
        say(f"seeded               {c['indicators']:,} indicators, {c['reported']:,} REPORTED, {c['co_occurs']:,} "
            f"CO_OCCURS, {c['networks']:,} networks; +{grown:,} in {took:,.1f} s ({grown / max(took, 1e-9):,.0f} indicators/s)")
        large = await bench.phase("B", c["indicators"])

        summary(args, small, large)
    except BaseException:
        if api is not None and api.process is not None:
            alive = api.process.poll() is None
            say(f"\nAPI process          {'still running' if alive else f'EXITED with {api.process.returncode}'}; "
                f"last lines of {api.log_path}:\n{api.tail() or '(empty)'}")
        raise
    finally:
        if api is not None:
            api.stop()
            if args.profile_server:
                say(f"API profile          {args.profile_server} (python -m pstats)")
        await graph.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/check.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--indicators", type=int, default=1_000_000, help="indicators in phase B (default 1,000,000)")
    ap.add_argument("--small", type=int, default=10_000, help="indicators in phase A (default 10,000)")
    ap.add_argument("--requests", type=int, default=5_000, help="single-lead checks per measurement (default 5,000)")
    ap.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    ap.add_argument("--serial-requests", type=int, default=500, help="single-lead checks with one client (default 500)")
    ap.add_argument("--warmup", type=int, default=500, help="warm-up requests per phase (default 500)")
    ap.add_argument("--batch-runs", type=int, default=3, help="10,000-identifier batch checks per phase (default 3)")
    ap.add_argument("--neo4j-uri", help="use this Neo4j (it is WIPED) instead of starting an embedded one; "
                                        "auth from FENGHUO_NEO4J_USER/FENGHUO_NEO4J_PASSWORD")
    ap.add_argument("--heap", default="2g", help="embedded Neo4j JVM heap (default 2g)")
    ap.add_argument("--page-cache", default="2g", help="embedded Neo4j page cache (default 2g)")
    ap.add_argument("--profile-server", metavar="FILE", help="run the API under cProfile, writing FILE at the end")
    ap.add_argument("--keep", action="store_true", help="keep the temp directory (Neo4j data, API log)")
    args = ap.parse_args(argv)
    if args.small < 100 or args.indicators < args.small:
        ap.error("need 100 ≤ --small ≤ --indicators")
    args.serial_requests = min(args.serial_requests, args.requests)
    if args.profile_server:
        args.profile_server = str(Path(args.profile_server).resolve())

    from core.settings import Settings
    from graph.database import Target, resolve_target
    from graph.embedded import EmbeddedNeo4j

    work_dir = Path(tempfile.mkdtemp(prefix="fenghuo-bench-check-"))
    neo4j = None
    jvm = None
    say(f"fenghuo check benchmark: {args.small:,} then {args.indicators:,} indicators, {args.requests:,} requests × "
        f"{args.clients} clients; {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 1024 ** 3:.0f} GiB RAM, "
        f"load average {loadavg()}")
    say(f"CAVEAT               {os.cpu_count()} CPU cores shared by Neo4j, the API process and this load generator: "
        "latencies under load are CPU-bound")
    try:
        if args.neo4j_uri:
            target = resolve_target(Settings(neo4j_uri=args.neo4j_uri, _env_file=None))
            port = int(args.neo4j_uri.rsplit(":", 1)[-1]) if args.neo4j_uri.rsplit(":", 1)[-1].isdigit() else 7687
            jvm = find_jvm(port)
        else:
            neo4j = EmbeddedNeo4j(work_dir / "neo4j-data", free_port(), cache_dir=Settings(_env_file=None).cache_dir,
                                  heap=args.heap, page_cache=args.page_cache)
            began = time.perf_counter()
            running = neo4j.start()
            jvm = psutil.Process(running.pid)
            say(f"embedded Neo4j       pid {running.pid}, heap {args.heap}, page cache {args.page_cache}, "
                f"started in {time.perf_counter() - began:.1f} s, data in {neo4j.data_dir}")
            target = Target(neo4j.uri, None)
        asyncio.run(run(args, target, jvm, work_dir, external=bool(args.neo4j_uri)))
        return 0
    finally:
        if neo4j is not None:
            neo4j.stop()
        if args.keep:
            say(f"kept                 {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
