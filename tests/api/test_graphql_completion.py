"""A root field's answer completed by its plan (api/graphql/completion.py) is graphql-core's answer: the same data
for clean values, and for anything off the happy path graphql-core's own completion, errors and all. No Neo4j: a small
Strawberry schema on the product's executor class."""

from __future__ import annotations

from enum import Enum
from typing import Any

import pytest
import strawberry
from graphql.execution.executor import Executor as ExecutionContext

import api.graphql.pipeline as pipeline
from api.graphql.pipeline import Executor
from api.graphql.schema import build_schema


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Leaf:
    name: str
    colour: Colour
    size: int | None
    tags: list[str]


@strawberry.type
class Box:
    label: str
    leaves: list[Leaf]
    maybe: Leaf | None
    holes: list[Leaf | None]

    @strawberry.field
    def computed(self) -> int:
        return len(self.leaves)


def _leaf(name: Any = "a", colour: Any = Colour.RED, size: Any = 1, tags: Any = ("x", "y")) -> Leaf:
    return Leaf(name=name, colour=colour, size=size, tags=list(tags) if isinstance(tags, tuple) else tags)


async def _later(value: Any) -> Any:
    return value


def _boxes(kind: str) -> Box:
    good = [_leaf(), _leaf("b", Colour.BLUE, None, ())]
    if kind == "good":
        return Box(label="ok", leaves=good, maybe=None, holes=[None, _leaf("c")])
    if kind == "tuple":
        return Box(label="ok", leaves=tuple(good), maybe=_leaf("m"), holes=[])  # type: ignore[arg-type]
    if kind == "null_name":  # None in a non-null field: the error nulls the nearest nullable parent
        return Box(label="ok", leaves=good, maybe=_leaf(None), holes=[_leaf(None), _leaf("d")])
    if kind == "bad_enum":
        return Box(label="ok", leaves=[_leaf(colour="green")], maybe=None, holes=[])
    if kind == "bad_int":
        return Box(label="ok", leaves=good, maybe=_leaf(size="many"), holes=[])
    if kind == "generator":  # an iterator must reach graphql-core unused
        return Box(label="ok", leaves=(leaf for leaf in good), maybe=None, holes=[])  # type: ignore[arg-type]
    if kind == "awaitable":
        return Box(label="ok", leaves=good, maybe=_leaf(size=_later(5)), holes=[])
    if kind == "not_a_list":
        return Box(label="ok", leaves=good, maybe=None, holes=_leaf())  # type: ignore[arg-type]
    if kind == "exception":
        return Box(label="ok", leaves=good, maybe=ValueError("from the source"), holes=[])  # type: ignore[arg-type]
    raise AssertionError(kind)


@strawberry.type
class Query:
    @strawberry.field
    async def box(self, kind: str = "good") -> Box:
        return _boxes(kind)

    @strawberry.field
    def plain(self) -> Box | None:
        return _boxes("good")


SCHEMA = strawberry.Schema(query=Query, execution_context_class=Executor)
KINDS = ["good", "tuple", "null_name", "bad_enum", "bad_int", "generator", "awaitable", "not_a_list", "exception"]
PLANNED = [
    "query($k: String!) { box(kind: $k) { label leaves { name colour size tags __typename } maybe { name size } "
    "holes { name } } }",
    "query($k: String!) { box(kind: $k) { ...B } } fragment B on Box { a: label leaves { n: name ...L } "
    "maybe { ...L } holes { ... on Leaf { name } } } fragment L on Leaf { size colour name }",
]
NOT_PLANNED = [
    "query($k: String!) { box(kind: $k) { label computed leaves { name } } }",  # a resolver under the root
    "query($k: String!, $t: Boolean!) { box(kind: $k) { label leaves @include(if: $t) { name } } }",  # a directive
]


@pytest.fixture
def graphql_core_completions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts graphql-core's own completions (the plan's fallback, and every value without a plan)."""
    calls = [0]
    original = ExecutionContext.complete_value

    def counted(self: Any, *args: Any) -> Any:
        calls[0] += 1
        return original(self, *args)

    monkeypatch.setattr(ExecutionContext, "complete_value", counted)
    return calls


async def _answer(query: str, kind: str, *, plans: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    with monkeypatch.context() as patch:
        if not plans:
            patch.setattr(pipeline, "plan_for", lambda *args: None)
        result = await SCHEMA.execute(query, variable_values={"k": kind, "t": True})
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    return result.data, errors


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")  # selections without `maybe.size`
@pytest.mark.parametrize("query", PLANNED + NOT_PLANNED)
@pytest.mark.parametrize("kind", KINDS)
async def test_planned_and_unplanned_answers_are_the_same(query: str, kind: str, monkeypatch: pytest.MonkeyPatch,
                                                          graphql_core_completions: list[int]) -> None:
    planned = await _answer(query, kind, plans=True, monkeypatch=monkeypatch)
    by_graphql_core = await _answer(query, kind, plans=False, monkeypatch=monkeypatch)
    assert planned == by_graphql_core
    if kind in ("good", "tuple"):
        assert planned[1] == [] and planned[0]["box"]["leaves"]


@pytest.mark.parametrize("query", PLANNED)
async def test_a_clean_answer_is_completed_by_the_plan_alone(query: str, monkeypatch: pytest.MonkeyPatch,
                                                             graphql_core_completions: list[int]) -> None:
    data, errors = await _answer(query, "good", plans=True, monkeypatch=monkeypatch)
    assert errors == [] and data["box"]["leaves"][1] == {**data["box"]["leaves"][1]}
    assert graphql_core_completions[0] == 0
    await _answer(query, "bad_enum", plans=True, monkeypatch=monkeypatch)  # stops: graphql-core completes it
    assert graphql_core_completions[0] > 0


@pytest.mark.parametrize("query", NOT_PLANNED)
async def test_a_selection_a_plan_cannot_answer_exactly_goes_to_graphql_core(
        query: str, monkeypatch: pytest.MonkeyPatch, graphql_core_completions: list[int]) -> None:
    data, errors = await _answer(query, "good", plans=True, monkeypatch=monkeypatch)
    assert errors == [] and data["box"]["label"] == "ok"
    assert graphql_core_completions[0] > 0


async def test_the_check_answer_is_planned(monkeypatch: pytest.MonkeyPatch,
                                           graphql_core_completions: list[int]) -> None:
    """The product's schema: a risk engine's selection of plain fields gets a plan (a Strawberry release that changed
    how it marks plain fields would turn plans off silently; this says so). The check's resolver is replaced: only the
    completion of its answer is under test here."""
    from api.graphql import checks

    answer = checks.CheckResult(checked_at=__import__("datetime").datetime(2026, 12, 6), scope=checks.CheckScope.LOCAL,
                                leads=[checks.LeadCheck(ref="L1", score=80, level=checks.Level.HIGH, identifiers=[])])
    schema = build_schema()
    field = schema._schema.query_type.fields["checkLeads"]

    async def resolved(*_args: Any, **_kwargs: Any) -> Any:
        return answer

    monkeypatch.setattr(field, "resolve", resolved)
    query = "query($leads:[LeadCheckInput!]!){ checkLeads(leads:$leads){ checkedAt scope leads { ref score level } } }"
    result = await schema.execute(query, variable_values={"leads": []}, context_value=None)
    assert result.errors is None
    assert result.data == {"checkLeads": {"checkedAt": "2026-12-06T00:00:00", "scope": "LOCAL",
                                          "leads": [{"ref": "L1", "score": 80, "level": "HIGH"}]}}
    assert graphql_core_completions[0] == 0


async def test_a_type_that_fails_while_planned_leaves_the_answer_to_graphql_core(
        monkeypatch: pytest.MonkeyPatch, graphql_core_completions: list[int]) -> None:
    from api.graphql import completion

    def misbehaving(*_args: Any) -> Any:
        raise ValueError("a type failed while it was planned")

    monkeypatch.setattr(completion, "_plan", misbehaving)
    data, errors = await _answer(PLANNED[0], "good", plans=True, monkeypatch=monkeypatch)
    assert errors == [] and data["box"]["label"] == "ok"
    assert graphql_core_completions[0] > 0
