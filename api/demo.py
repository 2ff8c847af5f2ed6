"""The embedded default's demo alliance: a hub operator key (printed at start) so GraphiQL works at once."""

from __future__ import annotations

import os
from pathlib import Path

from access import service
from access.keys import parse_token
from access.principal import Principal
from audit.log import AuditLog
from core.errors import Unauthenticated
from graph.database import Graph
from ingest.pseudonym import AllianceKey

DEMO_KEY_FILE = "demo-operator.key"
HUB = "HUB"


async def ensure_demo_operator(graph: Graph, audit: AuditLog, actor: Principal, key: AllianceKey, data_dir: Path) -> str:
    """The demo operator's token: the stored one while it still works, else a new one (stored 0600)."""
    path = data_dir / DEMO_KEY_FILE
    if path.exists():
        token = path.read_text().strip()
        if parse_token(token):
            try:
                await service.authenticate(graph, token, None)
                return token
            except Unauthenticated:
                pass
    await service.add_member(graph, audit, actor, key, code=HUB, name="烽火联盟枢纽 (alliance hub)")
    issued = await service.create_api_key(graph, audit, actor, member_code=HUB, roles=["operator"], name="demo operator")
    path.write_text(issued.token + "\n")
    os.chmod(path, 0o600)
    return issued.token
