"""The verdict score of one identifier, from the REPORTED aggregates the caller may see (DESIGN.md §5).

This module is the one place the scoring formula and its constants live. It is pure: the caller reads the
per-(member, indicator, tlp, category) aggregates already filtered by visibility, and passes them in.

The formula
-----------
1. **Lead weight.** ``w = confidence × severity(category) × reliability(member) × decay(age)``.
   Each aggregate carries two leads worth weighing: its most confident one (``max_confidence`` observed at
   ``max_confidence_at``) and its latest one (``last_confidence`` at ``last_seen``). A report weighs the
   larger of the two, so a fresh weak lead never hides an older strong one that has not yet decayed, and
   vice versa.
2. **Decay** (MISP's polynomial model): ``decay(t) = max(0, 1 − (t/τ)^(1/δ))`` where ``t`` is the lead's
   age in days, ``τ`` is the category's ``lifetime_days`` (ingest/categories.py) and ``δ`` is
   ``DECAY_SPEED``. With ``δ < 1`` the exponent is above 1: a lead keeps most of its weight early and fades
   faster towards ``τ`` (δ = 0.5: 94 % left at τ/4, 75 % at τ/2, 44 % at 3τ/4, 0 at τ). A lead observed
   "in the future" (clock skew between members) counts as age 0. At or beyond ``τ`` a lead is expired and
   contributes nothing.
3. **Each member counts once**: its strongest weight over all of its reports on the identifier. One member
   filing 50 leads weighs like one lead; five members filing one each corroborate each other.
4. **Noisy-OR over members**: ``base = 1 − Π_m (1 − w_m)``. Members are treated as independent witnesses;
   more of them can only raise the score, and it never reaches 1 unless one witness is certain.
5. **Neighbour boost**, from identifiers linked to this one in the network (neighbour scores in 0–1):
   ``boost = min(BOOST_CAP, BOOST_RATE × Σ max(0, n − NEIGHBOUR_THRESHOLD))``. The boost only sharpens an
   existing signal: it is 0 when ``base`` is 0, so nobody is listed for their neighbours alone.
6. **Final**: ``score = round_half_up(100 × min(1, base + boost))``; ``level`` by ``LEVEL_THRESHOLDS``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable, NamedTuple

from ingest.categories import BY_CODE, accepted_categories_text

# δ of the MISP decay: below 1 keeps young leads strong (slow early decay, sharp fall near τ);
# 1 is linear; above 1 loses weight fast early (δ = 2.5 would already cost 60 % at τ/10).
DECAY_SPEED = 0.5

# Neighbours only boost when they are themselves more likely bad than not.
NEIGHBOUR_THRESHOLD = 0.5
# One neighbour at score 1.0 adds 0.1; the sum of all neighbours adds at most 0.15 (15 points).
BOOST_RATE = 0.2
BOOST_CAP = 0.15

# (lowest score of the level, level), highest first. 0 is "none": nothing live, or too weak to show.
LEVEL_THRESHOLDS: tuple[tuple[int, str], ...] = ((70, "high"), (40, "medium"), (1, "low"), (0, "none"))

_SECONDS_PER_DAY = 86_400.0
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Report:
    """One visible ``REPORTED`` aggregate: one member's leads on one indicator in one (tlp, category).

    ``member_code`` is None when the filer is hidden from the caller; ``member_ref`` is then an opaque,
    stable token for that member (it defaults to ``member_code``), so a hidden member still counts once.
    """

    member_code: str | None
    category: str
    tlp: str
    leads: int
    max_confidence: float
    max_confidence_at: datetime
    last_confidence: float
    last_seen: datetime
    first_seen: datetime
    reliability: float = 1.0
    member_ref: str | None = None
    node: str | None = None  # the node holding the leads, in a federated check

    def __post_init__(self) -> None:
        if self.member_ref is None and self.member_code is None:
            raise ValueError("a report needs member_code or, when the filer is hidden, an opaque member_ref")
        if self.category not in BY_CODE:
            raise ValueError(f"unknown category {self.category!r}; accepted: {accepted_categories_text()}")
        for name in ("max_confidence", "last_confidence", "reliability"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:  # also refuses NaN
                raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
        if self.leads < 0:
            raise ValueError(f"leads must not be negative, got {self.leads!r}")

    @property
    def member(self) -> str:
        """The identity a member is de-duplicated by: its opaque ref, else its code."""
        return self.member_ref if self.member_ref is not None else self.member_code  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Contribution:
    """One member's counted lead and every factor of its weight, for the explanation of a verdict.

    ``leads`` is how many leads this member filed on the identifier across all its visible reports;
    the other fields describe the single strongest one, the one that counts.
    """

    member_code: str | None
    member_ref: str
    category: str
    tlp: str
    confidence: float
    severity: float
    reliability: float
    decay: float
    age_days: float
    observed_at: datetime
    weight: float
    leads: int
    node: str | None = None


@dataclass(frozen=True, slots=True)
class Score:
    """The verdict's numbers. ``base + boost`` (capped at 1) × 100, rounded, is ``score``.

    ``contributions`` holds one entry per contributing member, strongest first; ``members`` and
    ``categories`` count only contributing (non-expired, non-zero) reports. ``first_seen`` and ``last_seen``
    span every report passed in, expired or not. ``expired`` is True when reports exist but all have
    decayed to nothing.
    """

    score: int
    level: str
    base: float
    boost: float
    contributions: tuple[Contribution, ...]
    categories: tuple[str, ...]
    members: int
    first_seen: datetime | None
    last_seen: datetime | None
    expired: bool


def decay(age_days: float, lifetime_days: float) -> float:
    """MISP polynomial decay ``max(0, 1 − (t/τ)^(1/δ))``; 1 for a lead of age 0 (or from the future)."""
    if age_days <= 0.0:
        return 1.0
    if age_days >= lifetime_days:
        return 0.0
    return max(0.0, 1.0 - (age_days / lifetime_days) ** (1.0 / DECAY_SPEED))


def noisy_or(weights: Iterable[float]) -> float:
    """``1 − Π(1 − w)``: the chance at least one independent witness is right."""
    miss = 1.0
    for weight in weights:
        miss *= 1.0 - weight
    return 1.0 - miss


def neighbour_boost(neighbour_scores: Iterable[float]) -> float:
    """The bounded lift from network neighbours whose scores (0–1) exceed ``NEIGHBOUR_THRESHOLD``."""
    excess = 0.0
    for value in neighbour_scores:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"neighbour scores are fractions between 0 and 1, got {value!r}")
        excess += max(0.0, value - NEIGHBOUR_THRESHOLD)
    return min(BOOST_CAP, BOOST_RATE * excess)


def level_of(score: int) -> str:
    """'none' | 'low' | 'medium' | 'high' for a 0–100 score, by ``LEVEL_THRESHOLDS``."""
    if not 0 <= score <= 100:
        raise ValueError(f"a score is between 0 and 100, got {score!r}")
    for lowest, level in LEVEL_THRESHOLDS:
        if score >= lowest:
            return level
    raise AssertionError("LEVEL_THRESHOLDS ends at 0")


def score(reports: Iterable[Report], *, now: datetime, neighbour_scores: Iterable[float] = ()) -> Score:
    """Score one identifier from the aggregates visible to the caller (see the module docstring)."""
    reports = list(reports)
    strongest: dict[str, tuple[_Lead, Report]] = {}
    leads: dict[str, int] = {}
    expired = bool(reports)
    for report in reports:
        member = report.member
        leads[member] = leads.get(member, 0) + report.leads
        lead, any_live = _stronger_lead(report, now)
        expired = expired and not any_live
        if lead.weight <= 0.0:
            continue
        current = strongest.get(member)
        if current is None or _strength(lead, report) > _strength(*current):
            strongest[member] = (lead, report)

    contributions = tuple(
        sorted(
            (_contribution(lead, report, leads[report.member]) for lead, report in strongest.values()),
            key=lambda c: (-c.weight, c.member_ref, c.category),
        )
    )
    base = noisy_or(c.weight for c in contributions)
    boost = min(neighbour_boost(neighbour_scores), 1.0 - base) if base > 0.0 else 0.0
    final = _percent(base + boost)
    return Score(
        score=final,
        level=level_of(final),
        base=base,
        boost=boost,
        contributions=contributions,
        categories=tuple(sorted({c.category for c in contributions})),
        members=len(contributions),
        first_seen=min((r.first_seen for r in reports), default=None),
        last_seen=max((r.last_seen for r in reports), default=None),
        expired=expired,
    )


def base(reports: Iterable[Report], *, now: datetime) -> float:
    """``score(reports, now=now).base`` without the explanation: all a neighbour lends a check is its base, and a
    10,000-identifier check scores ~14,000 neighbours. The two agree to the last bit."""
    return base_of((report.member, weight(report.category, report.reliability,
                                          report.max_confidence, _age_days(now, report.max_confidence_at),
                                          report.last_confidence, _age_days(now, report.last_seen)))
                   for report in reports)


def base_of(weights: Iterable[tuple[str, float]]) -> float:
    """``base`` from (member, report weight) pairs: each member's strongest weight, multiplied strongest first as
    ``score`` multiplies them. check/service.py scores neighbours this way straight from lookup rows, without
    building a Report (with its checks and datetimes) for each of their aggregates."""
    strongest: dict[str, float] = {}
    for member, value in weights:
        if value > strongest.get(member, 0.0):
            strongest[member] = value
    return noisy_or(sorted(strongest.values(), reverse=True))


def weight(category: str, reliability: float, max_confidence: float, max_confidence_age_days: float,
           last_confidence: float, last_age_days: float) -> float:
    """A report's weight as ``score`` counts it: its stronger lead's (the most confident or the latest), from the
    two leads' ages in days. The same arithmetic as ``_decayed``, in the same order, so the floats are equal."""
    category_ = BY_CODE[category]
    factor = category_.severity * reliability
    return max(max_confidence * factor * decay(max_confidence_age_days, category_.lifetime_days),
               last_confidence * factor * decay(last_age_days, category_.lifetime_days))


class _Lead(NamedTuple):
    weight: float
    confidence: float
    observed_at: datetime
    age_days: float
    decay: float


def _stronger_lead(report: Report, now: datetime) -> tuple[_Lead, bool]:
    """The report's stronger lead — its most confident one or its latest one, each decayed by its own age —
    and whether either of them is still live (not decayed to nothing)."""
    category = BY_CODE[report.category]
    factor = category.severity * report.reliability
    most = _decayed(report.max_confidence, report.max_confidence_at, factor, category.lifetime_days, now)
    latest = _decayed(report.last_confidence, report.last_seen, factor, category.lifetime_days, now)
    best = latest if (latest.weight, -latest.age_days) > (most.weight, -most.age_days) else most
    return best, most.decay > 0.0 or latest.decay > 0.0


def _decayed(confidence: float, observed_at: datetime, factor: float, lifetime: int, now: datetime) -> _Lead:
    age = _age_days(now, observed_at)
    kept = decay(age, lifetime)
    return _Lead(confidence * factor * kept, confidence, observed_at, age, kept)


def _strength(lead: _Lead, report: Report) -> tuple[float, float, str]:
    # Equal weights: prefer the fresher lead, then the category code, so the explanation is deterministic.
    return (lead.weight, -lead.age_days, report.category)


def _contribution(lead: _Lead, report: Report, member_leads: int) -> Contribution:
    return Contribution(
        member_code=report.member_code,
        member_ref=report.member,
        category=report.category,
        tlp=report.tlp,
        confidence=lead.confidence,
        severity=BY_CODE[report.category].severity,
        reliability=report.reliability,
        decay=lead.decay,
        age_days=lead.age_days,
        observed_at=lead.observed_at,
        weight=lead.weight,
        leads=member_leads,
        node=report.node,
    )


def micros(now: datetime) -> int:
    """`now` as integer microseconds since the epoch (a naive datetime is read as UTC), for `age_days_since`."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return (now - _EPOCH) // _MICROSECOND


def age_days_since(now_micros: int, millis: int) -> float:
    """``_age_days`` for a time given as epoch milliseconds (graph/checks.py's), without making a datetime: the
    same integer microseconds divided the same way as ``timedelta.total_seconds``, so the floats are equal."""
    return max(0.0, (now_micros - millis * 1000) / 1_000_000 / _SECONDS_PER_DAY)


def _age_days(now: datetime, at: datetime) -> float:
    """Days from `at` to `now`, never negative; a naive datetime is read as UTC."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return max(0.0, (now - at).total_seconds() / _SECONDS_PER_DAY)


def _percent(fraction: float) -> int:
    """0–100, rounded half up (Python's round() would send 0.5 to 0 and 2.5 to 2)."""
    return min(100, max(0, math.floor(fraction * 100.0 + 0.5)))
