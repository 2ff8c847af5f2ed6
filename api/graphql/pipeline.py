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

Variables are coerced as graphql-core coerces them, with the decisions taken from the type once
(api/graphql/variables.py); a root field's answer is completed by a plan made once per document where graphql-core's
answer could not differ (api/graphql/completion.py).

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

from graphql import DocumentNode, GraphQLError, GraphQLResolveInfoHelpers, OperationType, execute, get_operation_ast, parse
from graphql.validation import ASTValidationRule
from strawberry import Schema
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionResult

from api.graphql import variables  # noqa: F401 - installs the variable coercion (api/graphql/variables.py)
from api.graphql.completion import plan_for
from api.graphql.errors import with_codes
from api.metrics import observe_operation

EXECUTED_HERE = (OperationType.QUERY, OperationType.MUTATION)  # subscriptions: Strawberry's own handling
MAX_DOCUMENTS = 512  # distinct documents remembered as parsed, and as valid


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

    def complete_value(self, return_type: Any, field_details_list: Any, info: Any, path: Any, result: Any,
                       position_context: Any) -> Any:
        """A root field's value is completed by its plan when it has one (api/graphql/completion.py); graphql-core
        completes everything else, and a value the plan stops on."""
        if path.prev is None:
            plan = plan_for(self, return_type, field_details_list)
            if plan is not None:
                try:
                    return plan(result)
                except Exception:  # noqa: BLE001 - the plan only reads: graphql-core completes it, errors and all
                    pass
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)


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
