"""Fan-out to peers: one shared httpx.AsyncClient (HTTP/2 where a peer offers it), a timeout and a breaker per
peer, and every answer verified (signature, size, shape) before it is believed.

A dead or slow peer costs at most its own timeout; a failed or malformed answer is that peer's failure and
never the check's.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Sequence

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from federation import metrics
from federation.breaker import Breaker, BreakerState
from federation.signing import H_NONCE, NodeIdentity, SignatureRefused, sign_request, verify_response
from federation.wire import PROTOCOL_VERSION, CheckAnswer

CHECK_PATH = "/v1/federation/check"


class OutcomeStatus(str, Enum):
    ANSWERED = "ANSWERED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


@dataclass(frozen=True)
class PeerTarget:
    node_id: str
    url: str
    public_key: Ed25519PublicKey
    timeout_seconds: float


@dataclass
class PeerOutcome:
    node_id: str
    status: OutcomeStatus
    latency_ms: float | None = None
    reason: str | None = None
    answer: CheckAnswer | None = None


@dataclass
class PeerStats:
    """What this process has seen of one peer (for the `peers` query; Prometheus has the same at /metrics)."""

    breaker: Breaker
    requests: int = 0
    failures: int = 0
    skipped: int = 0
    last_latency_ms: float | None = None
    last_error: str | None = None
    latencies_ms: list[float] = field(default_factory=list)

    def latency_percentile(self, fraction: float) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class PeerFailure(Exception):
    def __init__(self, reason: str, metric: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.metric = metric


class FederationClient:
    def __init__(self, identity: NodeIdentity, *, max_answer_bytes: int, failures_to_open: int, reset_seconds: float) -> None:
        self.identity = identity
        self.max_answer_bytes = max_answer_bytes
        self.failures_to_open = failures_to_open
        self.reset_seconds = reset_seconds
        self.stats: dict[str, PeerStats] = {}
        self.http = httpx.AsyncClient(
            http2=True, timeout=httpx.Timeout(60.0), follow_redirects=False, trust_env=False,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )

    async def close(self) -> None:
        await self.http.aclose()

    def stats_for(self, node_id: str) -> PeerStats:
        if node_id not in self.stats:
            self.stats[node_id] = PeerStats(Breaker(self.failures_to_open, self.reset_seconds))
        return self.stats[node_id]

    async def ask_all(self, peers: Sequence[PeerTarget], keys: list[str], key_version: int,
                      request_id: str | None = None) -> list[PeerOutcome]:
        """Ask every peer concurrently; each outcome says answered (with latency), failed (why) or skipped."""
        body = json.dumps({"protocol": PROTOCOL_VERSION, "key_version": key_version, "keys": keys,
                           "request_id": request_id}, separators=(",", ":")).encode()
        return list(await asyncio.gather(*(self._ask_one(peer, body, set(keys), key_version) for peer in peers)))

    async def _ask_one(self, peer: PeerTarget, body: bytes, keys: set[str], key_version: int) -> PeerOutcome:
        stats = self.stats_for(peer.node_id)
        if not stats.breaker.allow():
            stats.skipped += 1
            metrics.PEER_SKIPPED.labels(peer.node_id).inc()
            return PeerOutcome(peer.node_id, OutcomeStatus.SKIPPED,
                               reason=f"breaker open after {stats.breaker.consecutive_failures} consecutive failures")
        metrics.breaker_changed(peer.node_id, stats.breaker.state)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(peer.timeout_seconds):
                answer = await self.post_check(peer, body)
            _validate(answer, peer.node_id, keys, key_version)
        except TimeoutError:
            return self._failed(peer, stats, started, f"no answer within its timeout of {peer.timeout_seconds:g}s", "timeout")
        except PeerFailure as failure:
            return self._failed(peer, stats, started, failure.reason, failure.metric)
        latency = (time.perf_counter() - started) * 1000
        stats.breaker.succeeded()
        self._observe(peer, stats, latency)
        return PeerOutcome(peer.node_id, OutcomeStatus.ANSWERED, latency_ms=round(latency, 2), answer=answer)

    def _failed(self, peer: PeerTarget, stats: PeerStats, started: float, reason: str, metric: str) -> PeerOutcome:
        latency = (time.perf_counter() - started) * 1000
        stats.breaker.failed()
        stats.failures += 1
        stats.last_error = reason
        metrics.PEER_FAILURES.labels(peer.node_id, metric).inc()
        self._observe(peer, stats, latency)
        return PeerOutcome(peer.node_id, OutcomeStatus.FAILED, latency_ms=round(latency, 2), reason=reason)

    def _observe(self, peer: PeerTarget, stats: PeerStats, latency_ms: float) -> None:
        stats.requests += 1
        stats.last_latency_ms = round(latency_ms, 2)
        stats.latencies_ms = (stats.latencies_ms + [latency_ms])[-200:]
        metrics.PEER_LATENCY.labels(peer.node_id).observe(latency_ms / 1000)
        metrics.breaker_changed(peer.node_id, stats.breaker.state)

    async def post_check(self, peer: PeerTarget, body: bytes) -> CheckAnswer:
        """One signed request; raises PeerFailure saying what went wrong (transport, refusal, signature, shape)."""
        headers = sign_request(self.identity, "POST", CHECK_PATH, body)
        headers["content-type"] = "application/json"
        try:
            async with self.http.stream("POST", peer.url.rstrip("/") + CHECK_PATH, content=body, headers=headers) as response:
                raw = await _read_bounded(response, self.max_answer_bytes)
        except httpx.HTTPError as error:
            raise PeerFailure(describe_transport_error(error, peer.url), "transport") from None
        if response.status_code != 200:
            raise PeerFailure(_refusal(response.status_code, raw), "refused")
        try:
            verify_response(peer.public_key, peer.node_id, response.status_code, headers[H_NONCE], raw,
                            {k.lower(): v for k, v in response.headers.items()})
        except SignatureRefused as refused:
            raise PeerFailure(refused.message, "signature") from None
        try:
            return CheckAnswer.model_validate_json(raw)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise PeerFailure(f"malformed answer: {where}: {first['msg']} ({error.error_count()} problems)", "malformed") from None


async def _read_bounded(response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PeerFailure(f"answer of {int(declared)} bytes exceeds the limit of {limit} bytes", "oversized")
    chunks, size = [], 0
    async for chunk in response.aiter_raw():
        size += len(chunk)
        if size > limit:
            raise PeerFailure(f"answer exceeds the limit of {limit} bytes", "oversized")
        chunks.append(chunk)
    return b"".join(chunks)


def _refusal(status: int, raw: bytes) -> str:
    try:
        error = json.loads(raw)["errors"][0]
        return f"refused with HTTP {status} {error['extensions']['code']}: {error['message']}"
    except (ValueError, KeyError, IndexError, TypeError):
        return f"refused with HTTP {status}"


def _validate(answer: CheckAnswer, node_id: str, keys: set[str], key_version: int) -> None:
    if answer.node_id != node_id:
        raise PeerFailure(f"malformed answer: it names node {answer.node_id!r}, not {node_id!r}", "malformed")
    if answer.key_version != key_version:
        raise PeerFailure(f"key version mismatch: this node uses alliance key v{key_version}, "
                          f"the peer answered with v{answer.key_version}", "key_version")
    unasked = sum(1 for result in answer.results if result.key not in keys)
    if unasked:
        raise PeerFailure(f"malformed answer: {unasked} results for keys that were not asked", "malformed")


def describe_transport_error(error: BaseException, url: str) -> str:
    """What an operator can act on: DNS, TLS, refused connection, or the transport error's own words."""
    chain, cause = [], error
    while cause is not None and len(chain) < 6:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    text = " / ".join(str(e) for e in chain if str(e))
    if any(isinstance(e, socket.gaierror) for e in chain) or "Name or service not known" in text \
            or "Temporary failure in name resolution" in text or "nodename nor servname" in text:
        return f"DNS: the peer's host in {url} does not resolve ({text})"
    if any(isinstance(e, ssl.SSLError) for e in chain) or "SSL" in text or "certificate" in text:
        return f"TLS: the connection to {url} failed its TLS handshake ({text})"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "Connection refused" in text or "[Errno 111]" in text:
        return f"connection refused by {url} (is the peer's API running?)"
    if isinstance(error, httpx.TimeoutException):
        return f"{type(error).__name__} talking to {url}"
    return f"{type(error).__name__} talking to {url}: {text or 'no detail'}"
