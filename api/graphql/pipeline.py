"""Everything the API adds around a GraphQL operation, as one schema extension.

- parsing: bounded by a token count, and remembered (risk engines send the same document with new variables);
- validation: the depth and alias limiters (and, when introspection is off, the rule refusing it) join
  graphql-core's rules; a document that passed them all once is not validated again. Variables play no part in
  validation, so a document (per schema) that was valid once is valid again. An invalid document is never
  remembered, and validating the check document costs ~1.5 ms of pure Python;
- execution: every error gets a stable `extensions.code` (api/graphql/errors.py), and the operation is counted and
  timed for GET /metrics (api/metrics.py).

`execute_known` runs a document that passed validation before straight on graphql-core, with the executor class
Strawberry uses, and does what the extension's execution hook does: Strawberry's `schema.execute` spent ~150 µs per
request building its execution context and the extension's four hooks, three times graphql-core's execution of
`{ __typename }`. Anything else (a new document, an invalid one, no operation to run) goes through `schema.execute`.

`Executor` is Strawberry's executor class without a reference cycle graphql-core's has (below).

Variables: graphql-core walks every variable's value once before coercing it, to refuse nesting deeper than the
interpreter's recursion allows (`input_is_nested_too_deeply`). A type that does not contain itself bounds how deep
its values nest, and no type of this schema comes near the limit, so the walk can only answer "no": for 10,000
identifiers it cost ~40 ms before the check could start. `_guard_nesting` answers from the type when the type
bounds the depth, and walks as graphql-core does when it does not (an input type that contains itself).

One extension rather than six (Strawberry's ParserCache, MaxTokensLimiter and AddValidationRules, and ours):
Strawberry builds every extension and a context manager per hook per request, and with six that machinery cost
about twice as much as executing `{ __typename }` itself.
"""

from __future__ import annotations

import time
import weakref
from collections import OrderedDict
from functools import lru_cache
from typing import Any, Callable, Iterator, Sequence

from graphql import (DocumentNode, GraphQLError, GraphQLInputObjectType, GraphQLInputType, GraphQLResolveInfoHelpers,
                     OperationType, execute, get_nullable_type, get_operation_ast, is_input_object_type, is_list_type,
                     parse)
from graphql.execution import values as graphql_values
from graphql.language.parser import MAX_NESTING_DEPTH
from graphql.validation import ASTValidationRule
from strawberry import Schema
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionResult

from api.graphql.errors import with_codes
from api.metrics import observe_operation

EXECUTED_HERE = (OperationType.QUERY, OperationType.MUTATION)  # subscriptions: Strawberry's own handling
MAX_DOCUMENTS = 512  # distinct documents remembered as parsed, and as valid
MAX_INPUT_OBJECTS = 512  # input object types whose nesting bound is remembered (each schema has ~15)


@lru_cache(maxsize=MAX_DOCUMENTS)
def _parse(query: str, max_tokens: int) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


# (id of the schema, query) → (the schema, the parsed document). Holding the schema keeps its id from being reused
# by another schema (a test's app with introspection closed) while the entry lives.
_valid: OrderedDict[tuple[int, str], tuple[Any, DocumentNode]] = OrderedDict()


def pipeline(max_tokens: int, rules: Sequence[type[ASTValidationRule]]) -> type[SchemaExtension]:
    """The extension class for one schema: Strawberry makes one per request, so its settings are class attributes."""
    return type("RequestPipeline", (RequestPipeline,), {"max_tokens": max_tokens, "rules": tuple(rules)})


class RequestPipeline(SchemaExtension):
    max_tokens: int = 5000
    rules: tuple[type[ASTValidationRule], ...] = ()

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.graphql_document = _parse(context.query or "", self.max_tokens)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        key = (id(context.schema), context.query or "")
        if key in _valid:
            _valid.move_to_end(key)
            context.pre_execution_errors = []  # valid before: Strawberry then skips validation
            yield
            return
        context.validation_rules = (*context.validation_rules, *self.rules)
        yield
        if context.query and not context.pre_execution_errors:
            _valid[key] = (context.schema, context.graphql_document)
            if len(_valid) > MAX_DOCUMENTS:
                _valid.popitem(last=False)

    def on_execute(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        result = context.result
        if result is not None and result.errors:
            result.errors = with_codes(result.errors, context.context)
        observe_operation(context.graphql_document, result is not None and bool(result.errors),
                          time.perf_counter() - started)


class Executor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor hands each resolver `info.async_helpers`, two of its own bound methods, which it keeps
    on itself: a reference cycle. Every operation's executor, and with it the request, the response, the context
    and the variables, then outlived the answer until the cyclic collector found it: 35 objects per
    `{ __typename }`, 137 per single-phone `checkLeads`, waiting in memory between collections (measured with
    gc.DEBUG_SAVEALL, 5 Dec 2026). The helpers here reach the executor through a weak reference; reference counting
    frees it when the operation answers. Nothing of ours calls them, and graphql-core does so only while the
    operation (which holds the executor) runs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.async_helpers = GraphQLResolveInfoHelpers(gather=_weakly(self.gather_async_work),
                                                       track=_weakly(self.track_async_work))


# graphql-core's walk, for types that contain themselves (3.3 has it; pyproject.toml keeps graphql-core at 3.3)
_walk_nesting = graphql_values.input_is_nested_too_deeply


def nesting_bound(type_: GraphQLInputType) -> int | None:
    """How many list or input-object levels a value of this type can nest, counted as graphql-core's walk counts
    them; None when the type contains itself (no bound). A variable's list and non-null wrappers are new objects
    each operation, so they are counted here and only input objects (which live with their schema) are cached."""
    lists = 0
    type_ = get_nullable_type(type_)
    while is_list_type(type_):
        lists += 1
        type_ = get_nullable_type(type_.of_type)
    if not is_input_object_type(type_):
        return lists  # a scalar or an enum: the walk does not go inside, whatever the value holds
    inner = _object_bound(type_)
    return None if inner is None else lists + inner


@lru_cache(maxsize=MAX_INPUT_OBJECTS)
def _object_bound(type_: GraphQLInputObjectType) -> int | None:
    return _bound_within(type_, frozenset())


def _bound_within(type_: GraphQLInputType, enclosing: frozenset[str]) -> int | None:
    type_ = get_nullable_type(type_)
    if is_list_type(type_):
        inner = _bound_within(type_.of_type, enclosing)
        return None if inner is None else inner + 1
    if not is_input_object_type(type_):
        return 0
    if type_.name in enclosing:
        return None
    deepest = 0
    for field in type_.fields.values():
        inner = _bound_within(field.type, enclosing | {type_.name})
        if inner is None:
            return None
        deepest = max(deepest, inner)
    return deepest + 1


def _guard_nesting(value: Any, type_: GraphQLInputType) -> bool:
    bound = nesting_bound(type_)
    if bound is not None and bound <= MAX_NESTING_DEPTH:
        return False
    return _walk_nesting(value, type_)


graphql_values.input_is_nested_too_deeply = _guard_nesting


def _weakly(method: Callable[..., Any]) -> Callable[..., Any]:
    reference = weakref.WeakMethod(method)

    def call(*args: Any) -> Any:
        bound = reference()
        if bound is None:
            raise RuntimeError("the GraphQL operation these helpers belong to has finished")
        return bound(*args)

    return call


async def execute_known(schema: Schema, query: str, variables: dict[str, Any] | None, operation_name: str | None,
                        context: Any, extensions: dict[str, Any] | None) -> ExecutionResult | None:
    """What `schema.execute` answers over POST for a document that passed validation before and names one query or
    mutation; None for any other (the caller then asks `schema.execute`, which answers with its errors)."""
    key = (id(schema), query)
    entry = _valid.get(key)
    if entry is None or schema.directives:  # directives: Strawberry adds its own extension, not done here
        return None
    document = entry[1]
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation not in EXECUTED_HERE:
        return None
    _valid.move_to_end(key)
    started = time.perf_counter()
    try:
        result = execute(schema._schema, document, root_value=None, context_value=context, variable_values=variables,
                         operation_name=operation_name, executor_class=schema.execution_context_class,
                         is_awaitable=optimized_is_awaitable, operation_extensions=extensions)
        if optimized_is_awaitable(result):
            result = await result
        errors = result.errors
    except Exception as error:  # noqa: BLE001 - as schema.execute: the error in the answer (with a code, below)
        result, errors = None, [error if isinstance(error, GraphQLError) else GraphQLError(str(error), original_error=error)]
    if errors:
        errors = with_codes(errors, context)
    observe_operation(document, bool(errors), time.perf_counter() - started)
    return ExecutionResult(data=result.data if result is not None else None, errors=errors or None, extensions={})
