"""What one API process holds for federation: this node's identity, the shared fan-out client, the replay window."""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import Settings
from federation.client import FederationClient
from federation.signing import NodeIdentity, load_identity


@dataclass
class Federation:
    identity: NodeIdentity
    client: FederationClient
    skew_seconds: float
    last_purge: float = 0.0

    @property
    def node_id(self) -> str:
        return self.identity.node_id

    async def close(self) -> None:
        await self.client.close()


def start_federation(settings: Settings) -> Federation:
    identity = load_identity(settings.data_dir, settings.node_id,
                             settings.node_key.get_secret_value() if settings.node_key else None)
    client = FederationClient(identity, max_answer_bytes=settings.federation_max_answer_bytes,
                              failures_to_open=settings.federation_breaker_failures,
                              reset_seconds=settings.federation_breaker_reset_seconds)
    return Federation(identity, client, settings.federation_clock_skew_seconds)
