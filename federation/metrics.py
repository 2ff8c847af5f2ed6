"""Per-peer federation metrics in the default Prometheus registry (exported at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from federation.breaker import BreakerState

PEER_LATENCY = Histogram(
    "fenghuo_peer_request_seconds", "Latency of federated check requests to a peer, answered or failed",
    ["peer"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PEER_FAILURES = Counter("fenghuo_peer_failures_total", "Failed federated check requests to a peer", ["peer", "reason"])
PEER_SKIPPED = Counter("fenghuo_peer_skipped_total", "Federated checks that skipped a peer (breaker open)", ["peer"])
PEER_BREAKER = Gauge("fenghuo_peer_breaker_state", "Breaker of a peer: 0 closed, 1 half-open, 2 open", ["peer"])
REFUSED = Counter("fenghuo_federation_refused_total", "Federation requests this node refused", ["reason"])
ANSWERED = Counter("fenghuo_federation_answered_total", "Federation requests this node answered", ["peer"])

_BREAKER_VALUE = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


def breaker_changed(peer: str, state: BreakerState) -> None:
    PEER_BREAKER.labels(peer).set(_BREAKER_VALUE[state])
