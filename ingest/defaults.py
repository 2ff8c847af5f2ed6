"""Batch-level defaults: the category, TLP, confidence, observation time and agent a whole upload shares.

A fraud team's export often has no category column ("these 2,000 phones are all 贷款中介") and a partner's
STIX bundle names none of our categories. Defaults fill a field only where a row has none; a row's own
value (even an unknown one, which stays an error) always wins. They are part of a batch's content
identity: the same file with other defaults is another batch.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from core.errors import BadInput
from ingest.categories import accepted_categories_text, resolve_category
from ingest.dates import ACCEPTED_FORMATS, DateError, parse_observed_at
from ingest.rows import TEXT_LIMITS, TLP_ACCEPTED, parse_tlp

_CONFIDENCE_WORDS = {"高": 0.9, "high": 0.9, "中": 0.7, "medium": 0.7, "低": 0.4, "low": 0.4}
CONFIDENCE_ACCEPTED = "a number from 0 to 1 (e.g. 0.8), a percentage (80%), 高/中/低 or high/medium/low"


@dataclass(frozen=True)
class BatchDefaults:
    """Validated defaults; build them with `BatchDefaults.parse` (user text) — every field may be None."""

    category: str | None = None  # a category code (LOAN_INTERMEDIARY)
    tlp: str | None = None  # RED, AMBER, GREEN or CLEAR
    confidence: float | None = None  # 0–1
    observed_at: datetime | None = None  # aware, UTC
    agent: str | None = None

    @classmethod
    def parse(cls, *, category: str | None = None, tlp: str | None = None, confidence: str | float | None = None,
              observed_at: str | datetime | None = None, agent: str | None = None,
              extra_aliases: Mapping[str, str] = {}, now: datetime | None = None) -> BatchDefaults:
        """Defaults from what a user typed; BadInput names the field, what was wrong and what is accepted."""
        return cls(
            category=_category(category, extra_aliases),
            tlp=_tlp(tlp),
            confidence=_confidence(confidence),
            observed_at=_observed_at(observed_at, now or datetime.now(timezone.utc)),
            agent=_agent(agent),
        )

    def __bool__(self) -> bool:
        return any(value is not None for value in asdict(self).values())

    def as_properties(self) -> dict[str, Any]:
        """The defaults as Batch node properties (`default_<field>`), only those set."""
        return {f"default_{name}": value for name, value in asdict(self).items() if value is not None}

    def identity(self) -> str:
        """A stable text of the defaults, folded into a batch's content hash."""
        values = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(self).items() if v is not None}
        return json.dumps(values, sort_keys=True, ensure_ascii=False)


def content_hash(file_digest: str, defaults: BatchDefaults | None) -> str:
    """The batch's content identity: the file's SHA-256 alone without defaults, else with them folded in."""
    if not defaults:
        return file_digest
    return hashlib.sha256(f"{file_digest}|{defaults.identity()}".encode()).hexdigest()


def defaults_of(batch: Mapping[str, Any]) -> dict[str, Any]:
    """The defaults recorded on a Batch node (its `default_*` properties), by field name."""
    return {name: batch[f"default_{name}"] for name in ("category", "tlp", "confidence", "observed_at", "agent")
            if batch.get(f"default_{name}") is not None}


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _category(text: str | None, extra_aliases: Mapping[str, str]) -> str | None:
    if _blank(text):
        return None
    found = resolve_category(text, extra_aliases)
    if found is None:
        raise BadInput(f"default category {str(text)[:40]!r} is unknown; accepted: {accepted_categories_text()}",
                       field="category")
    return found.code


def _tlp(text: str | None) -> str | None:
    if _blank(text):
        return None
    level = parse_tlp(str(text))
    if level is None:
        raise BadInput(f"default TLP {str(text)[:20]!r} is unknown; accepted: {TLP_ACCEPTED}", field="tlp")
    return "AMBER" if level == "AMBER+STRICT" else level


def _confidence(value: str | float | None) -> float | None:
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise BadInput(f"default confidence must be {CONFIDENCE_ACCEPTED}", field="confidence")
    text = unicodedata.normalize("NFKC", str(value)).strip().casefold()
    if text in _CONFIDENCE_WORDS:
        return _CONFIDENCE_WORDS[text]
    try:
        number = float(text.removesuffix("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        number = float("nan")
    if not 0 <= number <= 1:  # also refuses NaN
        raise BadInput(f"default confidence {str(value)[:20]!r} is outside 0–1; accepted: {CONFIDENCE_ACCEPTED}",
                       field="confidence")
    return round(number, 4)


def _observed_at(value: str | datetime | None, now: datetime) -> datetime | None:
    if _blank(value):
        return None
    parsed = parse_observed_at(value, now=now)
    if isinstance(parsed, DateError):
        raise BadInput(f"default observation time {str(value)[:40]!r}: {parsed.reason}; accepted: {ACCEPTED_FORMATS}",
                       field="observed_at")
    return parsed


def _agent(text: str | None) -> str | None:
    if _blank(text):
        return None
    agent = " ".join(unicodedata.normalize("NFKC", str(text)).split())  # one spelling per name, as rows do
    if len(agent) > TEXT_LIMITS["agent"]:
        raise BadInput(f"default agent is longer than {TEXT_LIMITS['agent']} characters", field="agent")
    return agent
