"""What crosses the wire between nodes: indicator keys out, visible REPORTED aggregates back. Nothing raw,
nothing masked — an indicator key is `type:HMAC-SHA256(alliance key, value)` under a shared key version.

Both sides validate with these models: a request that does not fit is refused, an answer that does not fit is
that peer's failure. TLP:RED never appears in an answer (the model refuses it as well as the query hiding it).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ingest.categories import BY_CODE

PROTOCOL_VERSION = 1
MAX_KEYS = 10_000
MAX_REPORTS_PER_KEY = 1_000

IndicatorKey = Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,32}:[0-9a-f]{64}$")]
Millis = Annotated[int, Field(ge=0, le=32503680000000)]  # up to year 3000
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckRequest(_Strict):
    protocol: Literal[1]
    key_version: int
    keys: list[IndicatorKey] = Field(max_length=MAX_KEYS)
    request_id: str | None = Field(default=None, max_length=64)


class ReportWire(_Strict):
    """One member's REPORTED aggregate on one indicator, as the answering node's sharing policy allows."""

    member_ref: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{10}$")]
    member_code: str | None = Field(default=None, max_length=64)  # only when the member filed with attribution
    reliability: Fraction
    tlp: Literal["AMBER", "GREEN", "CLEAR"]
    category: str
    leads: int = Field(ge=0)
    max_confidence: Fraction
    max_confidence_at: Millis
    last_confidence: Fraction
    last_seen: Millis
    first_seen: Millis

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        if value not in BY_CODE:
            raise ValueError(f"unknown category {value!r}")
        return value


class ResultWire(_Strict):
    key: IndicatorKey
    status: Literal["active", "disputed", "retracted"] | None = None
    benign: bool = False
    benign_reason: str | None = Field(default=None, max_length=300)
    reports: list[ReportWire] = Field(default_factory=list, max_length=MAX_REPORTS_PER_KEY)


class CheckAnswer(_Strict):
    protocol: Literal[1]
    node_id: str = Field(max_length=128)
    key_version: int
    results: list[ResultWire] = Field(max_length=MAX_KEYS)


def report_wire(row: dict, member_ref: str) -> ReportWire:
    """A lookup row's report as it leaves this node: the filer is named only when it chose attribution."""
    return ReportWire(
        member_ref=member_ref, member_code=row["member_code"] if row["attributed"] else None,
        reliability=row["reliability"], tlp=row["tlp"], category=row["category"], leads=row["leads"],
        max_confidence=row["max_confidence"], max_confidence_at=row["max_confidence_at"],
        last_confidence=row["last_confidence"], last_seen=row["last_seen"], first_seen=row["first_seen"],
    )


def report_row(report: ReportWire, node_id: str) -> dict:
    """A peer's report in the shape of a local lookup row's report (check.service judges both alike)."""
    named = report.member_code is not None  # the filer chose attribution on its node
    return {**report.model_dump(), "attributed": named, "named": named, "node": node_id}
