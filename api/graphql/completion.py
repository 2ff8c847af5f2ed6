"""Completing a root field's answer by a plan made once per document, instead of graphql-core's generic walk per value.

graphql-core completes every value of an answer the same way: for each field it looks the field up, builds a
resolve-info object, calls Strawberry's resolver (which, for a plain attribute, calls `getattr`), asks whether the
value is awaitable, then dispatches on the field's type (non-null, list, leaf, abstract, object) and collects the
sub-selection again. A 10,000-identifier `checkLeads` answer is 12,500 objects and ~20,000 fields. In process (the
ASGI app called directly, the lookup answered from memory, 6 Dec 2026), completing it by plan took that call from
500–537 ms to 413–476 ms.

A plan does the same work with every decision taken in advance. It is made for one root field of one document
(keyed by the identity of the document's field nodes, which stay the same while the parsed document is remembered,
api/graphql/pipeline.py) and is a tree of small functions: non-null, list, leaf, object. An object's function reads
each selected field with `getattr` and completes it with the field's own function.

A plan is made only where its answer cannot differ from graphql-core's:
- every field under the root is a plain attribute (a Strawberry field without a resolver, arguments, permission
  classes, extensions or exception handlers) or `__typename`; no abstract types, no `is_type_of`;
- the selection carries no directives at all (nothing the variables could switch, no @defer or @stream).
Anything else makes no plan, and graphql-core completes the value as before.

While a plan runs it only reads; whenever a value is not what the happy path expects (None where the type says
non-null, something awaitable, an exception object, a list that is not a list or tuple, a leaf its type refuses,
a missing attribute) the plan stops and graphql-core completes the same value from the start, with its own error
handling and messages. So an error answer is graphql-core's, word for word, and only a clean answer comes from the
plan.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable

from graphql import (FieldNode, FragmentSpreadNode, GraphQLEnumType, GraphQLField, GraphQLObjectType,
                     GraphQLOutputType, InlineFragmentNode, SelectionSetNode, Undefined, is_leaf_type, is_list_type,
                     is_non_null_type, is_object_type)
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.schema_converter import GraphQLCoreConverter

MAX_PLANS = 512  # root fields (of remembered documents) whose plan, or whose lack of one, is remembered

Plan = Callable[[Any], Any]


class NoPlan(Exception):
    """This root field's selection has something a plan does not handle; graphql-core completes it."""


class Stop(Exception):
    """A value off the happy path: graphql-core completes the whole root value instead."""


# (id of the return type, ids of the root field nodes) → (the type and nodes, kept alive so their ids stay theirs;
# the plan, or None when there is none)
_plans: OrderedDict[tuple[int, ...], tuple[tuple[Any, ...], Plan | None]] = OrderedDict()


def plan_for(executor: Any, return_type: GraphQLOutputType, field_details_list: Any) -> Plan | None:
    """The plan completing this root field's value, made on first use; None when graphql-core must."""
    nodes = tuple(details.node for details in field_details_list)
    key = (id(return_type), *map(id, nodes))
    entry = _plans.get(key)
    if entry is not None:
        return entry[1]
    try:
        if not all(_free_of_directives(node, executor.fragments, set()) for node in nodes):
            raise NoPlan
        plan: Plan | None = _plan(executor, return_type, field_details_list)
    except Exception:  # noqa: BLE001 - NoPlan, or anything a type did while planned: graphql-core completes it
        plan = None
    _plans[key] = ((return_type, *nodes), plan)
    if len(_plans) > MAX_PLANS:
        _plans.popitem(last=False)
    return plan


def _free_of_directives(node: FieldNode | InlineFragmentNode, fragments: Any, seen: set[str]) -> bool:
    if node.directives:
        return False
    selection_set: SelectionSetNode | None = node.selection_set
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FragmentSpreadNode):
            if selection.directives:
                return False
            name = selection.name.value
            if name in seen:
                continue
            seen.add(name)
            fragment = fragments.get(name)
            if fragment is None or not _free_of_directives(fragment.definition, fragments, seen):
                return False
        elif not _free_of_directives(selection, fragments, seen):
            return False
    return True


def _plan(executor: Any, type_: GraphQLOutputType, field_details_list: Any) -> Plan:
    if is_non_null_type(type_):
        return _non_null(_plan(executor, type_.of_type, field_details_list))
    if is_list_type(type_):
        return _list(_plan(executor, type_.of_type, field_details_list))
    if is_leaf_type(type_):
        return _leaf(type_)
    if is_object_type(type_):
        return _object(executor, type_, field_details_list)
    raise NoPlan  # an interface or a union: graphql-core resolves the runtime type


def _non_null(inner: Plan) -> Plan:
    def complete(value: Any) -> Any:
        completed = inner(value)
        if completed is None:
            raise Stop
        return completed

    return complete


def _list(inner: Plan) -> Plan:
    def complete(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        kind = type(value)
        if kind is not list and kind is not tuple:  # an iterator would be used up before graphql-core saw it
            raise Stop
        return [inner(item) for item in value]

    return complete


def _leaf(type_: Any) -> Plan:
    coerce = type_.coerce_output_value
    known: dict[Any, Any] = {}
    wrapped = getattr(type_, "wrapped_cls", None)  # a Strawberry enum: its members' names, asked once
    if isinstance(type_, GraphQLEnumType) and wrapped is not None:
        for member in wrapped:
            try:
                known[member] = coerce(member)
            except Exception:  # noqa: BLE001 - a member the GraphQL enum leaves out: coerced (and refused) per value
                continue

    def complete(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        name = known.get(value) if type(value) is wrapped else None
        if name is not None:
            return name
        if optimized_is_awaitable(value) or isinstance(value, Exception):
            raise Stop
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise Stop
        return coerced

    return complete


def _object(executor: Any, type_: GraphQLObjectType, field_details_list: Any) -> Plan:
    if type_.is_type_of is not None:
        raise NoPlan
    grouped, new_defer_usages, _forbidden = executor.collect_subfields(type_, field_details_list)
    if new_defer_usages:
        raise NoPlan
    reads: list[tuple[str, str, Plan]] = []
    for response_name, details in grouped.items():
        if any(d.defer_usage is not None or d.fragment_variable_values is not None for d in details):
            raise NoPlan
        node = details[0].node
        if node.arguments:
            raise NoPlan
        name = node.name.value
        if name == "__typename":
            reads.append((response_name, "", _constant(type_.name)))
            continue
        field = executor.schema.get_field(type_, name)
        attribute = _plain_attribute(field)
        if attribute is None:
            raise NoPlan
        reads.append((response_name, attribute, _plan(executor, field.type, details)))

    def complete(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        if optimized_is_awaitable(value) or isinstance(value, Exception):
            raise Stop
        return {name: (read(getattr(value, attribute)) if attribute else read(None)) for name, attribute, read in reads}

    return complete


def _constant(value: Any) -> Plan:
    return lambda _ignored: value


def _plain_attribute(field: GraphQLField | None) -> str | None:
    """The attribute a field reads when it is a Strawberry field with nothing but the default resolver; else None."""
    if field is None or field.args:
        return None
    definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF) if field.extensions else None
    resolve = field.resolve
    if (definition is None or resolve is None or getattr(resolve, "__name__", "") != "_get_basic_result"
            or not definition.is_basic_field or definition.default_resolver is not getattr):
        return None
    return definition.python_name
