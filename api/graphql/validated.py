"""Skip re-validating a GraphQL document that already passed every rule (depth, aliases, introspection…).

Risk engines send the same check document thousands of times with new variables; validating it costs ~5 ms
of pure Python each time. Strawberry's ValidationCache cannot help here: the depth and alias limiters add new
rule objects per request, so its cache key never repeats. Variables play no part in validation, so a
document (per schema) that was valid once is valid again.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Iterator

from strawberry.extensions import SchemaExtension

MAX_DOCUMENTS = 512
_valid: OrderedDict[tuple[int, str], None] = OrderedDict()


class ValidatedDocuments(SchemaExtension):
    """List it after the limiters: it only skips validation for documents they already accepted."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        key = (id(context.schema), context.query or "")
        if key in _valid:
            _valid.move_to_end(key)
            context.pre_execution_errors = []  # validated before: Strawberry then skips validation
            yield
            return
        yield
        if context.query and not context.pre_execution_errors:
            _valid[key] = None
            if len(_valid) > MAX_DOCUMENTS:
                _valid.popitem(last=False)
