"""The schema's closed sets as GraphQL enums, so GraphiQL completes them and typed clients keep them.

Each enum is the domain's own Python enum where one exists (roles, TLP, identifier types, categories), or the
closed set of values the domain functions return. GraphQL names are the upper-case member names; values are
what the domain uses. Categories stay a string on input (fraud teams write Chinese labels and aliases).
"""

from __future__ import annotations

from enum import Enum
from typing import Iterable, TypeVar

import strawberry

from core.principal import Role as DomainRole, Tlp as DomainTlp
from ingest.categories import BY_CODE, CATEGORIES
from ingest.identifiers import INPUT_TYPES, IdentifierType

E = TypeVar("E", bound=Enum)

Role = strawberry.enum(DomainRole, name="Role", description="What an API key may do (see README: roles and visibility).")
Tlp = strawberry.enum(DomainTlp, name="Tlp", description="Traffic Light Protocol of a lead: who beyond the filer may see it.")
IndicatorType = strawberry.enum(IdentifierType, name="IndicatorType",
                                description="The namespace an indicator lives in: two inputs match only within one type.")

IdentifierKind = strawberry.enum(
    Enum("IdentifierKind", {name.upper(): name for name in INPUT_TYPES}, type=str),  # type: ignore[misc]
    description="What a raw identifier given as input is: several kinds share one indicator type "
                "(OAID, IDFA → AD_ID; IMEISV → IMEI); DEVICE is classified by its shape.",
)

Category = strawberry.enum(
    Enum("Category", {c.code: c.code for c in CATEGORIES}, type=str),  # type: ignore[misc]
    description="A lead category (DESIGN.md §2); each comes with its Chinese label in a `…Label` field.",
)


@strawberry.enum(description="The verdict on one checked identifier.")
class VerdictStatus(Enum):
    NO_RECORD = "no_record"
    ACTIVE = "active"
    DISPUTED = "disputed"
    RETRACTED = "retracted"
    EXPIRED = "expired"
    BENIGN = "benign"
    INVALID = "invalid"


@strawberry.enum(description="A score's band: none < 1 ≤ low < medium < high (check/scoring.py LEVEL_THRESHOLDS).")
class Level(Enum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@strawberry.enum(description="An indicator's standing: disputed while a dispute is open; retracted once one is upheld.")
class IndicatorStatus(Enum):
    ACTIVE = "active"
    DISPUTED = "disputed"
    RETRACTED = "retracted"


@strawberry.enum(description="A lead is active until its member retracts it (kept for audit, never shown as intelligence).")
class LeadStatus(Enum):
    ACTIVE = "active"
    RETRACTED = "retracted"


@strawberry.enum(description="A dispute is open until an operator upholds or rejects it.")
class DisputeStatus(Enum):
    OPEN = "open"
    UPHELD = "upheld"
    REJECTED = "rejected"


@strawberry.enum(description="A batch is processing until it is committed (all rows visible at once) or failed.")
class BatchStatus(Enum):
    PROCESSING = "processing"
    COMMITTED = "committed"
    FAILED = "failed"


@strawberry.enum(description="The outcome of one row of a batch.")
class RowStatus(Enum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SKIPPED = "skipped"
    DUPLICATE = "duplicate"


@strawberry.enum(description="What a node of a network drawing stands for.")
class DrawingNodeKind(Enum):
    LEAD = "lead"
    INDICATOR = "indicator"
    AGENT = "agent"


@strawberry.enum(description="What an edge of a network drawing stands for (the graph's relationship type).")
class DrawingEdgeType(Enum):
    NAMES = "NAMES"
    OPERATED_BY = "OPERATED_BY"


def by_value(enum: type[E], value: str) -> E:
    return enum(value)


def all_by_value(enum: type[E], values: Iterable[str]) -> list[E]:
    return [enum(value) for value in values]


def category_label(code: str) -> str:
    """The Chinese label of a category code (DESIGN.md §2)."""
    category = BY_CODE.get(code)
    return category.label if category else code
