"""What api/graphql/variables.py does with variables in place of graphql-core: the guard against variables nested too
deeply (answered from the type when the type bounds the depth, walked as graphql-core walks it when it does not), and
coercion by a function made once per type, which must answer exactly as graphql-core's `coerce_input_value`."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (GraphQLInt, GraphQLList, GraphQLNonNull, GraphQLSchema, GraphQLString, Undefined,
                     build_schema as build_sdl, graphql_sync, parse)
from graphql.execution import values as graphql_values
from graphql.language.parser import MAX_NESTING_DEPTH
from graphql.utilities import type_from_ast

from api.graphql.variables import coerce_input_value, graphql_coerce_input_value, nesting_bound
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


RICH = build_sdl("""
    enum Kind { PHONE DEVICE }
    input Inner { kind: Kind!, value: String!, weight: Float = 0.5, tags: [String!] }
    input Outer { ref: ID!, count: Int, flags: [Boolean], inner: [Inner!]!, nested: [[Int!]], maybe: Inner }
    input Choice @oneOf { a: Int, b: String }
    type Query { f(o: Outer, c: Choice, t: Branch): Int }
    input Branch { label: String, child: Branch, children: [Branch!] }
""")
INNER = {"kind": "PHONE", "value": "138", "tags": ["a"]}
OUTER = {"ref": "L1", "count": 3, "flags": [True, None], "inner": [INNER], "nested": [[1, 2], [3]]}
VALUES: list[Any] = [
    None, Undefined, 0, 1.5, "x", True, [], [None], [1, "2"], {}, (1, 2),
    OUTER, [OUTER, OUTER], {**OUTER, "extra": 1}, {**OUTER, "ref": None}, {**OUTER, "ref": 7}, {**OUTER, "ref": 1.5},
    {**OUTER, "count": 2**31}, {**OUTER, "count": "3"}, {**OUTER, "inner": INNER}, {**OUTER, "inner": []},
    {**OUTER, "inner": [None]}, {**OUTER, "inner": [{**INNER, "kind": "EMAIL"}]}, {**OUTER, "inner": [{"kind": "PHONE"}]},
    {**OUTER, "inner": [{**INNER, "weight": None}]}, {**OUTER, "inner": [{**INNER, "weight": 2}]},
    {**OUTER, "nested": [1, 2]}, {**OUTER, "nested": 5}, {**OUTER, "nested": [[None]]}, {**OUTER, "maybe": None},
    {**OUTER, "maybe": Undefined}, {"ref": "L1", "inner": [INNER], "count": Undefined},
    {"a": 1}, {"b": "x"}, {"a": 1, "b": "x"}, {"a": None}, {"a": Undefined, "b": "y"}, {"a": "1"},
    {"label": "x", "child": {"child": {"label": "y"}}, "children": [{"label": "z"}, {}]}, {"child": {"children": "no"}},
]
TYPES = {
    "Outer": RICH.type_map["Outer"], "[Outer!]!": GraphQLNonNull(GraphQLList(GraphQLNonNull(RICH.type_map["Outer"]))),
    "Choice": RICH.type_map["Choice"], "Branch!": GraphQLNonNull(RICH.type_map["Branch"]), "Kind!":
    GraphQLNonNull(RICH.type_map["Kind"]), "[[Int!]]": GraphQLList(GraphQLList(GraphQLNonNull(GraphQLInt))),
    "String": GraphQLString,
}


@pytest.mark.parametrize("name", sorted(TYPES))
def test_coercion_answers_exactly_as_graphql_core(name: str) -> None:
    type_ = TYPES[name]
    for value in VALUES:
        ours, theirs = coerce_input_value(value, type_), graphql_coerce_input_value(value, type_)
        assert (ours is Undefined) == (theirs is Undefined) and ours == theirs, (name, value, ours, theirs)
    assert graphql_values.coerce_input_value is coerce_input_value  # what graphql-core's variable coercion calls


def test_the_check_variable_is_coerced_as_graphql_core_coerces_it() -> None:
    leads = _variable_type(build_schema()._schema, CHECK)
    good = [{"ref": f"L{n}", "identifiers": [{"type": "PHONE", "value": "13800138000"}, {"type": "DEVICE", "value": "d"}]}
            for n in range(3)]
    for value in (good, good[0], [{**good[0], "identifiers": [{"type": "PHONE"}]}], [{"ref": "L1"}], [None]):
        ours, theirs = coerce_input_value(value, leads), graphql_coerce_input_value(value, leads)
        assert (ours is Undefined) == (theirs is Undefined) and ours == theirs
    assert coerce_input_value(good, leads)[1]["identifiers"][0]["value"] == "13800138000"


def test_an_invalid_variable_still_gets_graphql_cores_explanation() -> None:
    query = "query($o: Outer){ f(o: $o) }"
    refused = graphql_sync(RICH, query, variable_values={"o": {**OUTER, "inner": [{**INNER, "kind": "EMAIL"}]}})
    assert [e.message for e in refused.errors or []] == [
        "Variable '$o' has invalid value at .inner[0].kind: Value 'EMAIL' does not exist in 'Kind' enum."]
