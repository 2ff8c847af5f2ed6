"""A serving app hides its start-up objects from the cyclic collector (api/app.py, _FROZEN) and gives them back when
it stops."""

import gc

from api.app import create_app
from core.settings import Settings
from graph.database import Target


async def test_start_up_objects_are_frozen_while_the_app_serves(settings: Settings, neo4j_target: Target) -> None:
    gc.unfreeze()  # another app of this test process may have frozen its own
    app = create_app(settings, neo4j_target)
    async with app.router.lifespan_context(app):
        frozen = gc.get_freeze_count()
    assert frozen > 10_000  # the modules and the schema, at least
    assert gc.get_freeze_count() == 0
