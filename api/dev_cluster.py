"""N complete Fenghuo nodes on loopback: one launcher JVM with N DBMSs, N API servers (`fenghuo serve`), each
node with its own member, keys and signing key, every node peered with every other.

Used by `fenghuo dev cluster`, the federation tests and bench/federation.py. Every process it starts dies with
the process that started it: the JVM watches our pid, and each API server gets SIGTERM when we die (PDEATHSIG).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import secrets
import signal
import socket
import string
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from access import service as access_service
from core.principal import cli_principal
from audit.log import AuditLog
from federation import peers as peer_service
from federation.signing import NodeIdentity, load_identity
from graph.database import Graph, Target
from graph.embedded_group import EmbeddedNeo4jGroup
from graph.migrate import migrate
from ingest.pseudonym import key_from_config

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Node:
    name: str  # a, b, c…
    node_id: str
    member: str
    data_dir: Path
    bolt_port: int
    port: int
    identity: NodeIdentity
    operator_key: str = ""
    member_key: str = ""  # analyst + uploader of `member`
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def bolt_uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Cluster:
    def __init__(self, count: int, base_dir: Path, *, cache_dir: Path, alliance_key_hex: str | None = None,
                 sharing: peer_service.SharingPolicy = peer_service.SharingPolicy.ALLIANCE,
                 peer_timeout: float = 2.0, node_env: dict[str, str] | None = None, heap: str = "1g") -> None:
        if not 1 <= count <= 26:
            raise ValueError(f"a dev cluster has 1–26 nodes, not {count}")
        self.base_dir = base_dir
        self.alliance_key_hex = alliance_key_hex or secrets.token_hex(32)
        self.sharing = sharing
        self.peer_timeout = peer_timeout
        self.node_env = node_env or {}
        self.nodes = [self._node(letter, base_dir) for letter in string.ascii_lowercase[:count]]
        self.neo4j = EmbeddedNeo4jGroup({n.bolt_port: n.data_dir / "neo4j" for n in self.nodes}, cache_dir=cache_dir,
                                        log_path=base_dir / "neo4j-launcher.log", heap=heap)

    @staticmethod
    def _node(letter: str, base_dir: Path) -> Node:
        data_dir = base_dir / f"node-{letter}"
        data_dir.mkdir(parents=True, exist_ok=True)
        node_id = f"node-{letter}"
        return Node(letter, node_id, f"MEMBER_{letter.upper()}", data_dir, free_port(), free_port(),
                    load_identity(data_dir, node_id, None))

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def start(self) -> None:
        try:
            self.neo4j.start()
            asyncio.run(self._seed_all())
            for node in self.nodes:
                self.start_api(node)
            for node in self.nodes:
                self.wait_healthy(node)
            self.warm_up()
        except BaseException:
            self.stop()
            raise

    async def _seed_all(self) -> None:
        await asyncio.gather(*(self._seed(node) for node in self.nodes))

    async def _seed(self, node: Node) -> None:
        graph = Graph.connect(Target(node.bolt_uri, None))
        audit = AuditLog(graph)
        actor = cli_principal("dev-cluster")
        key = key_from_config(self.alliance_key_hex, 1)
        try:
            await migrate(graph)
            await access_service.add_member(graph, audit, actor, key, code=node.member, name=f"{node.member} 消费金融")
            await access_service.add_member(graph, audit, actor, key, code="HUB", name="联盟运营")
            node.operator_key = (await access_service.create_api_key(
                graph, audit, actor, member_code="HUB", roles=["operator"], name="dev cluster operator")).token
            node.member_key = (await access_service.create_api_key(
                graph, audit, actor, member_code=node.member, roles=["analyst", "uploader"], name="dev cluster member")).token
            for other in self.nodes:
                if other is not node:
                    await peer_service.add_peer(
                        graph, audit, actor, own_node_id=node.node_id, node_id=other.node_id, url=other.url,
                        public_key=other.identity.public_key, timeout_seconds=self.peer_timeout, sharing=self.sharing)
        finally:
            await audit.close()
            await graph.close()

    def start_api(self, node: Node) -> None:
        env = {**os.environ, "FENGHUO_NEO4J_URI": node.bolt_uri, "FENGHUO_DATA_DIR": str(node.data_dir),
               "FENGHUO_NODE_ID": node.node_id, "FENGHUO_ALLIANCE_KEY": self.alliance_key_hex,
               "FENGHUO_ALLIANCE_KEY_VERSION": "1", "FENGHUO_DEMO_SEED": "false", "FENGHUO_LOG_LEVEL": "WARNING",
               **self.node_env, **node.env}
        log = open(node.data_dir / "api.log", "ab")
        node.process = subprocess.Popen(
            [sys.executable, "-c", "from api.cli import main; main()", "serve", "--port", str(node.port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent,
            cwd=self.base_dir,
        )
        log.close()

    def wait_healthy(self, node: Node, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if node.process is not None and node.process.poll() is not None:
                raise RuntimeError(f"API of {node.node_id} exited with {node.process.returncode}; see {node.data_dir / 'api.log'}")
            try:
                if httpx.get(node.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"API of {node.node_id} did not become healthy within {timeout:.0f}s")

    def warm_up(self, rounds: int = 2) -> None:
        """A federated check from every node, so the first real one does not pay for query planning on a cold JVM."""
        query = ('query { checkLeads(scope: FEDERATED, leads: [{ref: "warm-up", identifiers: [{type: PHONE, '
                 'value: "13800000000"}]}]) { peers { status } } }')
        for _ in range(rounds):
            for node in self.nodes:
                httpx.post(node.url + "/graphql", json={"query": query}, timeout=60,
                           headers={"authorization": f"Bearer {node.member_key}"}).raise_for_status()

    def stop_api(self, node: Node, timeout: float = 20.0) -> None:
        if node.process is None or node.process.poll() is not None:
            return
        node.process.send_signal(signal.SIGTERM)
        try:
            node.process.wait(timeout)
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()

    def stop(self) -> None:
        for node in self.nodes:
            self.stop_api(node)
        self.neo4j.stop()
