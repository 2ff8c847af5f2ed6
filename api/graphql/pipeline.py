"""Everything the API adds around a GraphQL operation, as one schema extension.

- parsing: bounded by a token count, and remembered (risk engines send the same document with new variables);
- validation: the depth and alias limiters (and, when introspection is off, the rule refusing it) join
  graphql-core's rules; a document that passed them all once is not validated again. Variables play no part in
  validation, so a document (per schema) that was valid once is valid again. An invalid document is never
  remembered, and validating the check document costs ~1.5 ms of pure Python;
- execution: every error gets a stable `extensions.code` (api/graphql/errors.py), and the operation is counted and
  timed for GET /metrics (api/metrics.py).

One extension rather than six (Strawberry's ParserCache, MaxTokensLimiter and AddValidationRules, and ours):
Strawberry builds every extension and a context manager per hook per request, and with six that machinery cost
about twice as much as executing `{ __typename }` itself.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from functools import lru_cache
from typing import Iterator, Sequence

from graphql import DocumentNode, parse
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension

from api.graphql.errors import with_codes
from api.metrics import observe_operation

MAX_DOCUMENTS = 512  # distinct documents remembered as parsed, and as valid


@lru_cache(maxsize=MAX_DOCUMENTS)
def _parse(query: str, max_tokens: int) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


_valid: OrderedDict[tuple[int, str], None] = OrderedDict()


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
            _valid[key] = None
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
