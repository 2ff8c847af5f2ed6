"""GraphQL view of the identifier rules: what would the alliance store for this raw value?"""

from __future__ import annotations

import strawberry

from api.graphql.enums import IdentifierKind, IndicatorType
from ingest.identifiers import Invalid, normalize
from ingest.pseudonym import mask


@strawberry.type(description="A derived, non-identifying attribute such as region or carrier.")
class Attribute:
    name: str
    value: str


@strawberry.type(description="The normalized form of one raw identifier, or why it was refused.")
class NormalizedIdentifier:
    input_type: IdentifierKind
    valid: bool
    type: IndicatorType | None
    value: str | None = strawberry.field(description="Canonical form; never stored raw, only as a keyed hash.")
    masked: str | None
    attributes: list[Attribute]
    warnings: list[str]
    reason: str | None = strawberry.field(description="Why the value was refused (when valid is false).")
    benign: bool = strawberry.field(description="A known-harmless number (emergency or service line).")


def normalize_identifier(input_type: IdentifierKind, value: str) -> NormalizedIdentifier:
    result = normalize(input_type.value, value)
    if isinstance(result, Invalid):
        return NormalizedIdentifier(
            input_type=input_type, valid=False, type=None, value=None, masked=None,
            attributes=[], warnings=[], reason=result.reason, benign=result.benign,
        )
    return NormalizedIdentifier(
        input_type=input_type, valid=True, type=IndicatorType(result.type.value), value=result.value, masked=mask(result),
        attributes=[Attribute(name=k, value=v) for k, v in sorted(result.attributes.items())],
        warnings=list(result.warnings), reason=None, benign=False,
    )
