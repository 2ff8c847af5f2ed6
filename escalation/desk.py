"""What the escalation flows need from the process: the graph, the audit log, the keys, the limits."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from access.node_key import load_or_create_node_key
from audit.log import AuditLog
from core.settings import Settings
from escalation.sealing import Sealer, load_sealer
from graph.database import Graph
from ingest.pseudonym import AllianceKey


@dataclass
class Desk:
    graph: Graph
    audit: AuditLog
    alliance_key: AllianceKey
    sealer: Sealer
    node_key: Ed25519PrivateKey
    settings: Settings

    @classmethod
    def open(cls, graph: Graph, audit: AuditLog, alliance_key: AllianceKey, settings: Settings) -> "Desk":
        configured = settings.node_key.get_secret_value() if settings.node_key else None
        return cls(graph, audit, alliance_key, load_sealer(settings),
                   load_or_create_node_key(settings.data_dir, configured), settings)
