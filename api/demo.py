"""The embedded default's demo alliance: a hub operator key (printed at start) so GraphiQL works at once,
and, on first start, three demo member firms whose generated lead batches share planted gangs."""

from __future__ import annotations

import os
from pathlib import Path

from access import service
from access.keys import parse_token
from api.runtime import batch_runner
from core.principal import Principal, Role
from audit.log import AuditLog
from core.errors import Unauthenticated
from graph.database import Graph
from ingest import demo
from ingest.pipeline import UploadRequest, copy_file_chunks
from ingest.pseudonym import AllianceKey

DEMO_KEY_FILE = "demo-operator.key"
DEMO_ANALYST_KEY_FILE = "demo-analyst.key"
HUB = "HUB"
DEMO_MEMBERS = (("DEMO_A", "演示消费金融甲", "440300"), ("DEMO_B", "演示消费金融乙", "310000"), ("DEMO_C", "演示小贷丙", "510100"))
DEMO_ROWS = 1500


async def ensure_demo_operator(graph: Graph, audit: AuditLog, actor: Principal, key: AllianceKey, data_dir: Path) -> str:
    """The demo operator's token: the stored one while it still works, else a new one (stored 0600)."""
    await service.add_member(graph, audit, actor, key, code=HUB, name="烽火联盟枢纽 (alliance hub)")
    return await _stored_or_new(graph, audit, actor, data_dir / DEMO_KEY_FILE, HUB, ["operator"], "demo operator")


async def ensure_demo_alliance(graph: Graph, audit: AuditLog, actor: Principal, key: AllianceKey, data_dir: Path) -> str:
    """Seed three demo members with overlapping generated batches (once); return a DEMO_A analyst key."""
    for code, name, jurisdiction in DEMO_MEMBERS:
        await service.add_member(graph, audit, actor, key, code=code, name=name, home_jurisdiction=jurisdiction)
    if not await graph.read("MATCH (l:Lead) RETURN l.id LIMIT 1"):
        runner = batch_runner(graph, audit, key, data_dir)
        folder = data_dir / "demo"
        folder.mkdir(parents=True, exist_ok=True)
        for index, (code, _, _) in enumerate(DEMO_MEMBERS):
            path = folder / f"{code.lower()}-leads.csv"
            demo.generate(path, DEMO_ROWS, seed=2024, members=len(DEMO_MEMBERS), member=index)
            uploader = Principal(id=f"demo:{code}", member_code=code, roles=frozenset({Role.UPLOADER}))
            await runner.submit_file(uploader, copy_file_chunks(path), UploadRequest(filename=path.name), wait=True)
    return await _stored_or_new(graph, audit, actor, data_dir / DEMO_ANALYST_KEY_FILE, "DEMO_A",
                                ["analyst", "uploader"], "demo analyst")


async def _stored_or_new(graph: Graph, audit: AuditLog, actor: Principal, path: Path, member: str,
                         roles: list[str], name: str) -> str:
    if path.exists():
        token = path.read_text().strip()
        if parse_token(token):
            try:
                await service.authenticate(graph, token, None)
                return token
            except Unauthenticated:
                pass
    issued = await service.create_api_key(graph, audit, actor, member_code=member, roles=roles, name=name)
    path.write_text(issued.token + "\n")
    os.chmod(path, 0o600)
    return issued.token
