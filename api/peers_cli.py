"""`fenghuo peers …` (register, list, disable and test peer nodes) and `fenghuo dev cluster` (N nodes on loopback)."""

from __future__ import annotations

import asyncio
import json
import signal
import tempfile
import time
from pathlib import Path

import typer

from audit.reader import Reader
from api.admin_cli import run_admin
from api.dev_cluster import Cluster
from core.settings import get_settings
from federation import peers as peer_service
from federation.client import FederationClient, PeerFailure
from federation.signing import load_identity
from federation.wire import PROTOCOL_VERSION

peers_app = typer.Typer(help="Peer nodes this node asks and answers in federated checks.", no_args_is_help=True)
dev_app = typer.Typer(help="Development helpers.", no_args_is_help=True)


def _identity():
    settings = get_settings()
    return load_identity(settings.data_dir, settings.node_id, settings.node_key.get_secret_value() if settings.node_key else None)


@peers_app.command("identity")
def peers_identity() -> None:
    """Print this node's id, key id and public key: what other nodes' operators register."""
    identity = _identity()
    typer.echo(f"node id:    {identity.node_id}\nkey id:     {identity.key_id}\npublic key: {identity.public_key}")


@peers_app.command("add")
def peers_add(
    node_id: str = typer.Argument(..., help="the peer's node id"),
    url: str = typer.Argument(..., help="the peer's base URL, e.g. https://peer.example.com"),
    public_key: str = typer.Option(..., "--public-key", help="the peer's Ed25519 public key (base64; `fenghuo peers identity` there)"),
    timeout: float = typer.Option(2.0, "--timeout", help="seconds a federated check waits for this peer"),
    sharing: peer_service.SharingPolicy = typer.Option(peer_service.SharingPolicy.EXTERNAL, "--sharing",
                                                      help="ALLIANCE: AMBER, GREEN, CLEAR; EXTERNAL: GREEN, CLEAR"),
) -> None:
    """Register a peer node."""
    own = _identity().node_id
    peer = run_admin(lambda g, a, p, k: peer_service.add_peer(
        g, a, p, own_node_id=own, node_id=node_id, url=url, public_key=public_key, timeout_seconds=timeout, sharing=sharing))
    typer.echo(f"added peer {peer['node_id']} at {peer['url']} (key id {peer['key_id']}, {peer['sharing']})")


@peers_app.command("list")
def peers_list(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """List registered peers."""
    peers = run_admin(lambda g, a, p, k: peer_service.list_peers(Reader(g, a, p)))
    if as_json:
        typer.echo(json.dumps(peers, default=str, indent=2))
        return
    if not peers:
        typer.echo("no peers registered")
    for peer in peers:
        state = "enabled" if peer["enabled"] else "disabled"
        typer.echo(f"{peer['node_id']:<20} {peer['url']:<40} {state:<8} {peer['sharing']:<8} "
                   f"timeout {peer['timeout_seconds']:g}s  key id {peer['key_id']}")


@peers_app.command("disable")
def peers_disable(node_id: str = typer.Argument(...)) -> None:
    """Stop asking and answering a peer."""
    run_admin(lambda g, a, p, k: peer_service.update_peer(g, a, p, node_id, enabled=False))
    typer.echo(f"disabled peer {node_id}")


@peers_app.command("test")
def peers_test(node_id: str = typer.Argument(...)) -> None:
    """A signed round trip to the peer; says what is wrong (DNS, TLS, clock skew, key, key version)."""
    settings = get_settings()
    identity = _identity()

    async def probe(graph, audit, principal, alliance_key) -> tuple[float, int]:
        target = peer_service.target(await peer_service.get_peer(graph, principal, node_id))
        client = FederationClient(identity, max_answer_bytes=settings.federation_max_answer_bytes,
                                  failures_to_open=1, reset_seconds=1)
        body = json.dumps({"protocol": PROTOCOL_VERSION, "key_version": alliance_key.version, "keys": []}).encode()
        started = time.perf_counter()
        try:
            async with asyncio.timeout(target.timeout_seconds):
                answer = await client.post_check(target, body)
        except TimeoutError:
            raise PeerFailure(f"no answer within the peer's timeout of {target.timeout_seconds:g}s", "timeout") from None
        finally:
            await client.close()
        if answer.key_version != alliance_key.version:
            raise PeerFailure(f"key version mismatch: this node uses v{alliance_key.version}, the peer v{answer.key_version}", "")
        return (time.perf_counter() - started) * 1000, alliance_key.version

    try:
        latency, version = run_admin(probe)
    except PeerFailure as failure:
        typer.secho(f"FAILED: {node_id}: {_advice(failure.reason)}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    typer.echo(f"ok: {node_id} verified this node's signature and answered, signed, in {latency:.1f} ms "
               f"(this node {identity.node_id}, key id {identity.key_id}, alliance key v{version})")


def _advice(reason: str) -> str:
    hints = {
        "STALE_TIMESTAMP": "clock skew: synchronise both nodes' clocks (NTP)",
        "UNKNOWN_NODE": f"key mismatch: register this node on the peer (`fenghuo peers identity` prints what to register)",
        "KEY_MISMATCH": "key mismatch: the peer holds an older public key of this node; update it there",
        "BAD_SIGNATURE": "key mismatch: the peer cannot verify this node's signature with the key it has registered",
        "KEY_VERSION_MISMATCH": "key-version mismatch: both nodes must use the alliance's current key version",
        "BAD_ANSWER_SIGNATURE": "key mismatch: the peer's answer does not verify with the public key registered here",
    }
    hint = next((text for code, text in hints.items() if code in reason), None)
    return f"{reason}\n  → {hint}" if hint else reason


@dev_app.command("cluster")
def dev_cluster(
    nodes: int = typer.Option(3, "--nodes", help="how many nodes (1–26)"),
    directory: Path = typer.Option(None, "--dir", help="where the nodes keep their data (default: a temporary directory)"),
) -> None:
    """Start N complete nodes on loopback (one JVM with N DBMSs, N API servers), peered with each other; Ctrl-C stops all."""
    base = directory or Path(tempfile.mkdtemp(prefix="fenghuo-cluster-"))
    cluster = Cluster(nodes, base, cache_dir=get_settings().cache_dir)
    typer.echo(f"starting {nodes} nodes in {base} …")
    cluster.start()
    try:
        for node in cluster.nodes:
            typer.echo(f"{node.node_id}: {node.url}/graphql  member {node.member}\n"
                       f"  operator key: {node.operator_key}\n  member key (analyst+uploader): {node.member_key}")
        typer.echo("all nodes are peered with each other (ALLIANCE sharing). Ctrl-C stops every node.")
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        signal.sigwait({signal.SIGINT, signal.SIGTERM})  # until Ctrl-C or SIGTERM
    finally:
        typer.echo("stopping the cluster …")
        cluster.stop()
