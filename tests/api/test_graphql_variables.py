"""graphql-core's guard against variables nested too deeply (api/graphql/pipeline._guard_nesting): answered from the
type when the type bounds the depth, walked as graphql-core walks it when it does not."""

from __future__ import annotations

from graphql import GraphQLList, GraphQLSchema, GraphQLString, build_schema as build_sdl, graphql_sync, parse
from graphql.execution import values as graphql_values
from graphql.language.parser import MAX_NESTING_DEPTH
from graphql.utilities import type_from_ast

from api.graphql.pipeline import nesting_bound
from api.graphql.schema import build_schema

CHECK = "query($leads:[LeadCheckInput!]!){ checkLeads(leads:$leads){ leads { ref } } }"
SELF_CONTAINING = build_sdl("""
    input Branch { label: String, child: Branch, children: [Branch!] }
    type Query { depth(branch: Branch): Int }
""")


class _Unwalkable(list):
    """A list that fails if anything walks it: the guard must answer from the type alone."""

    def __iter__(self):  # type: ignore[override]
        raise AssertionError("the value was walked")


def _variable_type(schema: GraphQLSchema, document: str):  # type: ignore[no-untyped-def]
    return type_from_ast(schema, parse(document).definitions[0].variable_definitions[0].type)


def test_the_check_input_is_bounded_and_not_walked() -> None:
    leads = _variable_type(build_schema()._schema, CHECK)
    assert nesting_bound(leads) == 4  # the list, a lead, its identifiers, an identifier
    assert graphql_values.input_is_nested_too_deeply(_Unwalkable([{"ref": "L1"}]), leads) is False


def test_a_type_that_contains_itself_has_no_bound_and_is_still_refused_when_too_deep() -> None:
    branch = SELF_CONTAINING.type_map["Branch"]
    assert nesting_bound(branch) is None
    deep: dict = {"label": "leaf"}
    for _ in range(MAX_NESTING_DEPTH + 1):
        deep = {"child": deep}
    query = "query($b: Branch){ depth(branch: $b) }"
    refused = graphql_sync(SELF_CONTAINING, query, variable_values={"b": deep})
    assert [e.message for e in refused.errors or []] == ["Variable values are nested too deeply."]
    shallow = graphql_sync(SELF_CONTAINING, query, variable_values={"b": {"child": {"children": [{"label": "x"}]}}})
    assert shallow.errors is None


def test_a_bound_beyond_the_limit_is_walked_as_graphql_core_walks_it() -> None:
    at_limit = GraphQLString
    for _ in range(MAX_NESTING_DEPTH):
        at_limit = GraphQLList(at_limit)
    beyond = GraphQLList(at_limit)
    assert nesting_bound(at_limit) == MAX_NESTING_DEPTH
    assert graphql_values.input_is_nested_too_deeply(_Unwalkable(["x"]), at_limit) is False
    # graphql-core's walk follows the type, and a single value stands for a list of one: even "x" counts as nested
    # as deep as the type, so the walk, not the type, answers beyond the limit.
    assert nesting_bound(beyond) == MAX_NESTING_DEPTH + 1
    assert graphql_values.input_is_nested_too_deeply("x", beyond) is True
