"""An answered GraphQL operation is freed by reference counting (api/graphql/pipeline.Executor): graphql-core's
executor kept its resolver helpers, bound to itself, on itself, and the cycle held the request's context until the
cyclic collector ran."""

from __future__ import annotations

import gc
import weakref

import pytest
from graphql import parse

from api.graphql.pipeline import Executor, execute_known
from api.graphql.schema import build_schema

QUERY = "{ __typename }"


class _Context:
    """Stands in for the request's context: only its lifetime is observed."""


async def test_an_answered_operation_leaves_nothing_for_the_cyclic_collector() -> None:
    schema = build_schema()
    gc.collect()
    gc.disable()  # only reference counting may free what the operations leave
    try:
        first, second = _Context(), _Context()
        through_strawberry, known = weakref.ref(first), weakref.ref(second)
        result = await schema.execute(QUERY, context_value=first)  # a new document: Strawberry's own path
        assert result.data == {"__typename": "Query"}
        again = await execute_known(schema, QUERY, None, None, second, None)  # valid before: the short path
        assert again is not None and again.data == {"__typename": "Query"}
        del first, second, result, again
        assert through_strawberry() is None
        assert known() is None
    finally:
        gc.enable()


def test_the_helpers_reach_a_live_executor_and_refuse_a_finished_one() -> None:
    executor = Executor.build(build_schema()._schema, parse(QUERY))
    helpers = executor.async_helpers
    assert helpers.track([1, "not awaitable"]) is None  # graphql-core's own method ran (nothing to settle)
    del executor
    with pytest.raises(RuntimeError, match="has finished"):
        helpers.track([])
