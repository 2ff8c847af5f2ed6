"""What graphql-core does with a variable's value before execution, with the decisions taken from the type once.

Both replace a module function of graphql-core's `execution.values` at import (3.3 has them; pyproject.toml keeps
graphql-core at 3.3): `coerce_variable_values` calls them by these module names for every variable of every
operation.

- **The nesting guard.** graphql-core walks every variable's value once before coercing it, to refuse nesting deeper
  than the interpreter's recursion allows (`input_is_nested_too_deeply`). A type that does not contain itself bounds
  how deep its values nest, and no type of this schema comes near the limit, so the walk can only answer "no": for
  10,000 identifiers it cost ~40 ms before the check could start. `_guard_nesting` answers from the type when the
  type bounds the depth, and walks as graphql-core does when it does not (an input type that contains itself).
- **Coercion.** graphql-core's `coerce_input_value` asks of every value whether its type is non-null, a list, an
  input object or a leaf, and then coerces it: 75,000 calls for the 2,500 leads of a 10,000-identifier `checkLeads`.
  `coerce_input_value` here builds, once per type, a function that does only what that type needs, step for step as
  graphql-core does (the same checks, defaults, leaf coercion and `Undefined` for an invalid value; graphql-core then
  explains an invalid value with its own `validate_input_value`, as before). Input objects' functions live with
  their schema's types; a variable's non-null and list wrappers are new objects in every operation, so they are
  looked up by their shape.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

from graphql import (GraphQLInputObjectType, GraphQLInputType, GraphQLNamedType, Undefined, get_nullable_type,
                     is_input_object_type, is_list_type, is_non_null_type, is_required_input_field)
from graphql.execution import values as graphql_values
from graphql.language.parser import MAX_NESTING_DEPTH
from graphql.pyutils import is_iterable
from graphql.utilities.coerce_input_value import coerce_default_value

MAX_INPUT_TYPES = 512  # input types (with their wrappers' shapes) whose bound or coercion is remembered (~15 a schema)

Coerce = Callable[[Any], Any]

# graphql-core's own, for types that contain themselves and as the reference the tests compare against
_walk_nesting = graphql_values.input_is_nested_too_deeply
graphql_coerce_input_value = graphql_values.coerce_input_value


# -- the nesting guard -------------------------------------------------------------------------------------------

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


@lru_cache(maxsize=MAX_INPUT_TYPES)
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


# -- coercion ----------------------------------------------------------------------------------------------------

def coerce_input_value(input_value: Any, type_: GraphQLInputType) -> Any:
    """graphql-core's `coerce_input_value(input_value, type_)`: the coerced value, or `Undefined` when invalid."""
    return coercer(type_)(input_value)


def coercer(type_: GraphQLInputType) -> Coerce:
    shape = []
    while True:
        if is_non_null_type(type_):
            shape.append(True)
        elif is_list_type(type_):
            shape.append(False)
        else:
            break
        type_ = type_.of_type
    return _wrapped(tuple(shape), type_)


@lru_cache(maxsize=MAX_INPUT_TYPES)
def _wrapped(shape: tuple[bool, ...], named: GraphQLNamedType) -> Coerce:
    """The function for `named` inside wrappers, outermost first: True a non-null, False a list."""
    if not shape:
        return _input_object(named) if is_input_object_type(named) else _leaf(named)
    inner = _wrapped(shape[1:], named)
    return _non_null(inner) if shape[0] else _list(inner)


def _non_null(inner: Coerce) -> Coerce:
    def coerce(value: Any) -> Any:
        if value is None or value is Undefined:
            return Undefined
        return inner(value)

    return coerce


def _list(inner: Coerce) -> Coerce:
    def coerce(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        if not is_iterable(value):  # a single value stands for a list of one
            item = inner(value)
            return Undefined if item is Undefined else [item]
        coerced = []
        append = coerced.append
        for item_value in value:
            item = inner(item_value)
            if item is Undefined:
                return Undefined
            append(item)
        return coerced

    return coerce


def _leaf(type_: Any) -> Coerce:
    parse = type_.coerce_input_value

    def coerce(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        try:
            return parse(value)
        except Exception:  # noqa: BLE001 - as graphql-core: invalid, and validate_input_value says why
            return Undefined

    return coerce


def _input_object(type_: GraphQLInputObjectType) -> Coerce:
    fields = type_.fields
    # (name, key in the coerced dict, its function, required); built at the first value, so that a type containing
    # itself finds its own function already made
    specs: list[tuple[str, str, Coerce, bool, Any]] = []
    one_of = type_.is_one_of
    out_type = type_.out_type

    def coerce(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        if not isinstance(value, dict):
            return Undefined
        defined = 0
        for name, field_value in value.items():
            if field_value is Undefined:
                continue
            defined += 1
            if name not in fields:
                return Undefined
        if not specs:
            specs.extend((name, field.out_name or name, coercer(field.type), is_required_input_field(field), field)
                         for name, field in fields.items())
        coerced: dict[str, Any] = {}
        for name, key, coerce_field, required, field in specs:
            field_value = value.get(name, Undefined)
            if field_value is Undefined:
                if required:
                    return Undefined
                default = coerce_default_value(field)
                if default is not Undefined:
                    coerced[key] = default
            else:
                item = coerce_field(field_value)
                if item is Undefined:
                    return Undefined
                coerced[key] = item
        if one_of:
            keys = list(coerced)
            if defined != 1 or len(keys) != 1 or coerced[keys[0]] is None:
                return Undefined
        return out_type(coerced)

    return coerce


graphql_values.input_is_nested_too_deeply = _guard_nesting
graphql_values.coerce_input_value = coerce_input_value
