"""Fixtures of the escalation tests: the escalation desk over the test graph, with the test server's keys."""

from __future__ import annotations

from typing import AsyncIterator

import pytest

from audit.log import AuditLog
from core.settings import Settings
from escalation.desk import Desk
from graph.database import Graph
from tests.support import TEST_KEY


@pytest.fixture
async def desk(graph: Graph, settings: Settings) -> AsyncIterator[Desk]:
    audit = AuditLog(graph)
    yield Desk.open(graph, audit, TEST_KEY, settings)
    await audit.flush()
