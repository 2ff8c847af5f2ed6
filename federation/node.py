"""What one API process holds for federation: this node's identity, the shared fan-out client, the replay window."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from core.settings import Settings
from federation.client import FederationClient, PeerTarget
from federation.peers import enabled_targets
from federation.signing import NodeIdentity, load_identity
from graph import peers as repo
from graph.database import Graph


@dataclass
class Federation:
    """Peer registrations are remembered for `cache_seconds` (a check or an answer does not wait on reading them);
    a change made through this process is seen at once, one made through another process within that time."""

    identity: NodeIdentity
    client: FederationClient
    skew_seconds: float
    cache_seconds: float = 2.0
    last_purge: float = 0.0
    _targets: tuple[float, list[PeerTarget]] | None = None
    _callers: dict[str, tuple[float, dict[str, Any] | None]] = field(default_factory=dict)

    @property
    def node_id(self) -> str:
        return self.identity.node_id

    async def targets(self, graph: Graph) -> list[PeerTarget]:
        """The enabled peers a federated check asks."""
        if self._targets is None or time.monotonic() - self._targets[0] > self.cache_seconds:
            self._targets = (time.monotonic(), await enabled_targets(graph))
        return self._targets[1]

    async def caller(self, graph: Graph, node_id: str) -> dict[str, Any] | None:
        """The registration of a node that claims to call us."""
        cached = self._callers.get(node_id)
        if cached is None or time.monotonic() - cached[0] > self.cache_seconds:
            if len(self._callers) > 10_000:  # claimed ids are caller input: keep the memory bounded
                self._callers.clear()
            cached = self._callers[node_id] = (time.monotonic(), await repo.caller(graph, node_id))
        return cached[1]

    def forget_peers(self) -> None:
        self._targets = None
        self._callers.clear()

    async def close(self) -> None:
        await self.client.close()


def start_federation(settings: Settings) -> Federation:
    identity = load_identity(settings.data_dir, settings.node_id,
                             settings.node_key.get_secret_value() if settings.node_key else None)
    client = FederationClient(identity, max_answer_bytes=settings.federation_max_answer_bytes,
                              failures_to_open=settings.federation_breaker_failures,
                              reset_seconds=settings.federation_breaker_reset_seconds)
    return Federation(identity, client, settings.federation_clock_skew_seconds, settings.federation_peer_cache_seconds)
