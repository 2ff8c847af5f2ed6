"""Federation benchmark: 5 real peer nodes, each behind a delay proxy; prints the federated check's p50/p99 next to
the slowest peer's own p50/p99 (measured in the same run), and the cost of one dead peer (connection refused) and
one black-holed peer (accepts, never answers). DESIGN.md §9: federated p50 ≤ slowest peer's p50 + 10 ms; a dead
or black-holed peer adds ≤ its timeout.

    .venv/bin/python bench/federation.py [--requests 100] [--faulty-requests 12]

Nodes are `fenghuo serve` processes on one launcher JVM with six DBMSs (api/dev_cluster.py): node a asks, nodes b–f
answer. Breakers are set not to open (FENGHUO_FEDERATION_BREAKER_FAILURES=100000) so every request pays for the dead
and black-holed peers: the worst case. Sequential requests (one connection): latency, not throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.principal import cli_principal  # noqa: E402
from api.dev_cluster import Cluster, Node  # noqa: E402
from audit.log import AuditLog  # noqa: E402
from bench.common import free_port, say  # noqa: E402
from core.settings import Settings  # noqa: E402
from federation import peers as peer_service  # noqa: E402
from federation.client import CHECK_PATH  # noqa: E402
from federation.signing import sign_request  # noqa: E402
from graph.database import Graph, Target  # noqa: E402
from ingest.identifiers import normalize  # noqa: E402
from ingest.pseudonym import indicator_key, key_from_config  # noqa: E402

DELAYS_MS = (2, 4, 6, 8, 10)  # one-way latency each proxy adds to the answers of peers b–f
FAULTY_TIMEOUT = 0.5
PEER_CACHE_SECONDS = 1.0
PHONES = [f"1391234{n:04d}" for n in range(40)]
CHECK = """query($leads: [LeadCheckInput!]!) { checkLeads(leads: $leads, scope: FEDERATED) {
  peers { nodeId status } leads { score } } }"""


class DelayProxy:
    """A TCP proxy that delivers every chunk `delay` seconds after it arrived (latency, not a bandwidth cap)."""

    def __init__(self, target_port: int, delay: float) -> None:
        self.target_port, self.delay, self.port = target_port, delay, free_port()

    async def serve(self) -> asyncio.AbstractServer:
        return await asyncio.start_server(self._connection, "127.0.0.1", self.port)

    async def _connection(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(self._pipe(client_r, server_w, 0.0), self._pipe(server_r, client_w, self.delay),
                             return_exceptions=True)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    break
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                writer.write(data)
                await writer.drain()
            writer.close()

        sender = asyncio.create_task(deliver())
        try:
            while data := await reader.read(65536):
                queue.put_nowait((time.monotonic() + delay, data))
        finally:
            queue.put_nowait((time.monotonic() + delay, b""))
            await sender


class BlackHole:
    """Accepts connections and never answers."""

    def __init__(self) -> None:
        self.port = free_port()
        self.held: list[asyncio.StreamWriter] = []

    async def serve(self) -> asyncio.AbstractServer:
        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.held.append(writer)
        return await asyncio.start_server(hold, "127.0.0.1", self.port)


def run_network(proxies: list[DelayProxy], hole: BlackHole) -> None:
    """Proxies and the black hole run on their own loop and thread, apart from the measuring client."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    async def main() -> None:
        for server in [*(await asyncio.gather(*(p.serve() for p in proxies))), await hole.serve()]:
            loop.create_task(server.serve_forever())
        ready.set()

    loop.run_until_complete(main())
    threading.Thread(target=loop.run_forever, daemon=True, name="delay-proxies").start()
    ready.wait()


async def configure_a(cluster: Cluster, proxies: dict[str, DelayProxy], dead_port: int, hole: BlackHole) -> None:
    """Point node a's peers at the proxies, and register the dead and black-holed peers (disabled for now)."""
    a = cluster.node("a")
    graph = Graph.connect(Target(a.bolt_uri, None))
    audit = AuditLog(graph)
    actor = cli_principal("bench")
    try:
        for node_id, proxy in proxies.items():
            await peer_service.update_peer(graph, audit, actor, node_id, url=f"http://127.0.0.1:{proxy.port}")
        for node_id, port in (("node-dead", dead_port), ("node-blackhole", hole.port)):
            await peer_service.add_peer(graph, audit, actor, own_node_id=a.node_id, node_id=node_id,
                                        url=f"http://127.0.0.1:{port}", public_key=a.identity.public_key,
                                        timeout_seconds=FAULTY_TIMEOUT, sharing=peer_service.SharingPolicy.EXTERNAL,
                                        enabled=False)
    finally:
        await audit.close()
        await graph.close()


async def set_enabled(node: Node, node_id: str | list[str], enabled: bool) -> None:
    graph = Graph.connect(Target(node.bolt_uri, None))
    audit = AuditLog(graph)
    try:
        for one in [node_id] if isinstance(node_id, str) else node_id:
            await peer_service.update_peer(graph, audit, cli_principal("bench"), one, enabled=enabled)
    finally:
        await audit.close()
        await graph.close()
    await asyncio.sleep(PEER_CACHE_SECONDS + 0.5)  # node a re-reads its peers after this


async def seed(cluster: Cluster, http: httpx.AsyncClient) -> None:
    """Each peer files leads on an overlapping slice of the phones (as its member)."""
    for i, node in enumerate(cluster.nodes[1:]):
        leads = [{"category": "LOAN_INTERMEDIARY", "identifiers": [{"type": "PHONE", "value": p}], "tlp": "GREEN",
                  "confidence": "0.8"} for p in PHONES[i * 5: i * 5 + 20]]
        query = "mutation($l: [LeadInput!]!) { submitLeads(leads: $l) { batch { status } } }"
        r = await http.post(node.url + "/graphql", json={"query": query, "variables": {"l": leads}},
                            headers={"authorization": f"Bearer {node.member_key}"})
        assert r.json()["data"]["submitLeads"]["batch"]["status"] == "COMMITTED", r.text


def identifiers(i: int) -> list[dict[str, str]]:
    return [{"type": "PHONE", "value": PHONES[(i + k * 7) % len(PHONES)]} for k in range(5)]


async def federated(http: httpx.AsyncClient, a: Node, count: int) -> list[float]:
    times = []
    for i in range(count):
        started = time.perf_counter()
        r = await http.post(a.url + "/graphql", headers={"authorization": f"Bearer {a.member_key}"},
                            json={"query": CHECK, "variables": {"leads": [{"ref": "x", "identifiers": identifiers(i)}]}})
        times.append((time.perf_counter() - started) * 1000)
        assert "errors" not in r.json(), r.text
    return times


async def peer_direct(http: httpx.AsyncClient, a: Node, proxy: DelayProxy, key_hex: str, count: int) -> list[float]:
    """What node a's fan-out sends the slowest peer, sent straight to that peer's proxy (signed as node a)."""
    key = key_from_config(key_hex, 1)
    times = []
    for i in range(count):
        keys = [indicator_key(key, normalize(x["type"], x["value"])) for x in identifiers(i)]
        body = json.dumps({"protocol": 1, "key_version": 1, "keys": keys}, separators=(",", ":")).encode()
        headers = {**sign_request(a.identity, "POST", CHECK_PATH, body), "content-type": "application/json"}
        started = time.perf_counter()
        r = await http.post(f"http://127.0.0.1:{proxy.port}{CHECK_PATH}", content=body, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, r.text
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def line(name: str, values: list[float]) -> str:
    return (f"  {name:<44} p50 {pct(values, .5):7.1f} ms   p99 {pct(values, .99):7.1f} ms   "
            f"max {max(values):7.1f} ms   n={len(values)}")


async def measure(cluster: Cluster, proxies: dict[str, DelayProxy], args: argparse.Namespace) -> None:
    a = cluster.node("a")
    slowest_id = max(proxies, key=lambda n: proxies[n].delay)
    async with httpx.AsyncClient(timeout=30) as http:
        await seed(cluster, http)
        await federated(http, a, 10)  # warm the query plans on every node
        await peer_direct(http, a, proxies[slowest_id], cluster.alliance_key_hex, 10)
        # Interleave the two series so drifting machine load hits both alike.
        fed, own = [], []
        for _ in range(args.requests // 10):
            fed += await federated(http, a, 10)
            own += await peer_direct(http, a, proxies[slowest_id], cluster.alliance_key_hex, 10)
        say(line("federated check on a (5 peers)", fed))
        say(line(f"slowest peer {slowest_id} direct (+{proxies[slowest_id].delay * 1000:.0f} ms proxy)", own))
        say(f"  federated p50 − slowest peer's p50 = {pct(fed, .5) - pct(own, .5):+.1f} ms  (target ≤ +10 ms)")
        baseline = await federated(http, a, args.faulty_requests)
        for node_id, what in (("node-dead", "dead peer (connection refused)"), ("node-blackhole", "black-holed peer (never answers)")):
            await set_enabled(a, node_id, True)
            faulty = await federated(http, a, args.faulty_requests)
            await set_enabled(a, node_id, False)
            say(line(f"+ {what}", faulty))
            say(f"    adds {pct(faulty, .5) - pct(baseline, .5):+.1f} ms at p50, max {max(faulty) - pct(baseline, .5):+.1f} ms "
                f"(its timeout {FAULTY_TIMEOUT * 1000:.0f} ms)")
        say(line("baseline for the two lines above", baseline))
        # The same comparison with one peer: what the fan-out itself costs, apart from five peers' API processes
        # and DBMSs competing for the same CPUs as the asking node.
        await set_enabled(a, [n for n in proxies if n != slowest_id], False)
        fed1, own1 = [], []
        for _ in range(max(1, args.requests // 20)):
            fed1 += await federated(http, a, 10)
            own1 += await peer_direct(http, a, proxies[slowest_id], cluster.alliance_key_hex, 10)
        say(line(f"federated check on a (only {slowest_id} enabled)", fed1))
        say(line(f"{slowest_id} direct, same interleaved run", own1))
        say(f"  one-peer federated p50 − that peer's p50 = {pct(fed1, .5) - pct(own1, .5):+.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--faulty-requests", type=int, default=10)
    args = parser.parse_args()
    say(f"bench/federation.py  {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC  load {os.getloadavg()[0]:.2f}  "
        f"{os.cpu_count()} CPUs")
    started = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="fenghuo-bench-federation-"))
    cluster = Cluster(6, base, cache_dir=Settings(_env_file=None).cache_dir, heap="1536m", peer_timeout=5.0, node_env={
        "FENGHUO_FEDERATION_BREAKER_FAILURES": "100000", "FENGHUO_RATE_LIMIT_PER_MINUTE": "1000000",
        "FENGHUO_RATE_LIMIT_BURST": "100000", "FENGHUO_FEDERATION_PEER_CACHE_SECONDS": str(PEER_CACHE_SECONDS)})
    cluster.start()
    try:
        say(f"6 nodes up in {time.monotonic() - started:.0f}s (a asks; b–f answer behind proxies adding {DELAYS_MS} ms)")
        proxies = {node.node_id: DelayProxy(node.port, delay / 1000) for node, delay in zip(cluster.nodes[1:], DELAYS_MS)}
        hole = BlackHole()
        run_network(list(proxies.values()), hole)
        asyncio.run(configure_a(cluster, proxies, free_port(), hole))
        asyncio.run(measure(cluster, proxies, args))
        say(f"done in {time.monotonic() - started:.0f}s, load {os.getloadavg()[0]:.2f}")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
