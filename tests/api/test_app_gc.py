"""A serving app hides its start-up objects from the cyclic collector (api/app.py, _FROZEN) and collects its young
generation less often (_SERVING_GC_THRESHOLDS); it gives both back when it stops."""

import gc

from api.app import _SERVING_GC_THRESHOLDS, create_app
from core.settings import Settings
from graph.database import Target

CPYTHON_DEFAULT = (700, 10, 10)


async def test_a_serving_app_freezes_its_start_up_and_collects_less_often(settings: Settings, neo4j_target: Target) -> None:
    gc.unfreeze()  # another app of this test process may have frozen its own
    outer = gc.get_threshold()  # and set its own thresholds (the session's API server does)
    gc.set_threshold(*CPYTHON_DEFAULT)
    try:
        app = create_app(settings, neo4j_target)
        async with app.router.lifespan_context(app):
            frozen = gc.get_freeze_count()
            serving = gc.get_threshold()
        after = gc.get_threshold()
    finally:
        gc.set_threshold(*outer)
    assert frozen > 10_000  # the modules and the schema, at least
    assert gc.get_freeze_count() == 0
    assert serving == _SERVING_GC_THRESHOLDS and serving[0] > CPYTHON_DEFAULT[0]
    assert after == CPYTHON_DEFAULT
