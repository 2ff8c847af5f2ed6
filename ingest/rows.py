"""The row policy: one source row of a lead batch → an accepted lead, or the reasons it is not one.

- accepted: the category is known and at least one identifier is valid. Each refused identifier of an
  accepted row is a warning (a benign number — 110, 95588, a member's hotline — is dropped with why).
- rejected: unknown or missing category (the error lists the accepted codes and labels); no valid
  identifier (a benign number alone rejects the row with the benign reason); an unreadable or future
  observation time; an unknown TLP (guessing a sharing level could leak a lead).
- skipped: every mapped column is blank ("", "-", "无", "N/A", "#N/A"… count as blank).
- duplicate: same normalized content as an accepted row earlier in the batch (`RowDeduper`).

Defaults: a batch's own defaults (ingest/defaults.py) fill category, observation time, confidence, TLP and
agent where a row has none; otherwise no observation time → the upload time (`now`), with a warning; no
confidence → 0.7 (中); no TLP → AMBER. Confidence accepts 0–1, 1–100 or "80%", and 高/中/低, high/medium/low (0.9/0.7/0.4).
Over-long text is cut with a warning: note 2000, agent 200, reference 200 characters.

Messages never echo identifier values (PIPL): a `value_hint` names the column, never the content.
Nothing here raises on bad data; every problem is a FieldIssue.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable, Iterator, Literal, Mapping

from ingest.categories import Category, accepted_categories_text, resolve_category
from ingest.columns import Column, ColumnMap
from ingest.dates import DateError, parse_observed_at
from ingest.fingerprints import FingerprintSet
from ingest.formats import SourceRow
from ingest.identifiers import Invalid, Normalized, normalize

if TYPE_CHECKING:
    from ingest.defaults import BatchDefaults

log = logging.getLogger(__name__)

DEFAULT_CONFIDENCE = 0.7
DEFAULT_TLP = "AMBER"
TEXT_LIMITS = {"note": 2000, "agent": 200, "reference": 200}
TLP_LEVELS = ("RED", "AMBER", "GREEN", "CLEAR")
_TLP_WORDS = {
    "RED": "RED", "红": "RED", "红色": "RED",
    "AMBER": "AMBER", "琥珀": "AMBER", "琥珀色": "AMBER", "黄": "AMBER", "黄色": "AMBER",
    "GREEN": "GREEN", "绿": "GREEN", "绿色": "GREEN",
    "CLEAR": "CLEAR", "WHITE": "CLEAR", "白": "CLEAR", "白色": "CLEAR", "透明": "CLEAR",
}  # fmt: skip
_STRICT = {"AMBER+STRICT", "AMBERSTRICT", "琥珀+严格"}
TLP_ACCEPTED = "RED, AMBER, AMBER+STRICT (kept as AMBER), GREEN, CLEAR (or WHITE), 红, 琥珀, 绿, 白"
_CONFIDENCE_WORDS = {
    "高": 0.9, "high": 0.9, "h": 0.9, "较高": 0.8, "中": 0.7, "medium": 0.7, "med": 0.7, "m": 0.7, "一般": 0.7,
    "较低": 0.5, "低": 0.4, "low": 0.4, "l": 0.4,
}  # fmt: skip
_BLANK = {"", "-", "--", "—", "/", "无", "暂无", "null", "none", "n/a", "na", "nan", "#n/a"}
_SEPARATORS = re.compile(r"[\r\n;；、|，,]+")  # several identifiers typed into one cell
_URL_SEPARATORS = re.compile(r"[\s；、，]+")  # URLs may hold , ; | but never whitespace
_EXCEL_DIGITS = 10**15

Status = Literal["accepted", "rejected", "skipped", "duplicate"]


@dataclass(frozen=True, slots=True)
class FieldIssue:
    field: str  # a canonical field, "identifiers", "columns" or "row"
    message: str
    value_hint: str | None = None  # where to look ("column 手机号"), never the value itself


@dataclass(frozen=True)
class ParsedLead:
    category: Category
    identifiers: list[Normalized]
    observed_at: datetime  # aware, UTC
    confidence: float  # 0–1
    tlp: str  # RED, AMBER, GREEN or CLEAR
    agent: str | None
    note: str | None
    reference: str | None
    content_hash: str  # hex; equal for rows that say the same thing, however formatted


@dataclass
class RowResult:
    line: int
    status: Status
    lead: ParsedLead | None
    errors: list[FieldIssue] = field(default_factory=list)
    warnings: list[FieldIssue] = field(default_factory=list)


def validate_row(
    row: SourceRow,
    columns: ColumnMap,
    *,
    now: datetime,
    extra_aliases: Mapping[str, str] = {},
    content_key: bytes | None = None,
    defaults: BatchDefaults | None = None,
) -> RowResult:
    """Apply the row policy. `content_key` makes content_hash an HMAC (persist only keyed hashes: PIPL)."""
    errors: list[FieldIssue] = []
    warnings = [FieldIssue("row", note) for note in row.notes]
    if all(_is_blank(row.values.get(c.header)) for c in columns.columns):
        return RowResult(row.line, "skipped", None, [], warnings)
    category = _category(row, columns, extra_aliases, errors, defaults)
    identifiers = _identifiers(row, columns, errors, warnings)
    observed_at, given_at = _observed_at(row, columns, now, errors, warnings, defaults)
    confidence = _confidence(row, columns, warnings, defaults)
    tlp = _tlp(row, columns, errors, warnings, defaults)
    texts = {name: _text(row, columns, name, warnings) for name in TEXT_LIMITS}
    if texts["agent"] is None and defaults is not None:
        texts["agent"] = defaults.agent
    if errors or category is None or observed_at is None or tlp is None:
        return RowResult(row.line, "rejected", None, errors, warnings)
    digest = _content_hash(category, identifiers, given_at, confidence, tlp, texts, content_key)
    lead = ParsedLead(category, identifiers, observed_at, confidence, tlp, **texts, content_hash=digest)
    return RowResult(row.line, "accepted", lead, errors, warnings)


class RowDeduper:
    """Marks accepted rows whose content an earlier accepted row of the batch already had.

    Keeps 64 bits of each content hash (a collision among a million rows: ~3 in 10⁸), in 8 bytes a row.
    """

    def __init__(self) -> None:
        self._seen = FingerprintSet()

    def check(self, result: RowResult) -> RowResult:
        if result.status != "accepted" or result.lead is None:
            return result
        if not self._seen.add(int(result.lead.content_hash[:16], 16)):
            issue = FieldIssue("row", "same lead as an earlier row of this batch; not filed twice")
            return RowResult(result.line, "duplicate", None, [], [issue])
        return result


def validate_stream(
    rows: Iterable[SourceRow],
    columns: ColumnMap,
    *,
    now: datetime,
    extra_aliases: Mapping[str, str] = {},
    content_key: bytes | None = None,
    defaults: BatchDefaults | None = None,
) -> Iterator[RowResult]:
    """Validate and de-duplicate a stream of rows. Headers first seen mid-stream (JSON) are mapped into
    `columns` as they appear, with the mapping's warnings on the row that introduced them."""
    deduper = RowDeduper()
    for row in rows:
        learned = [] if columns.known.issuperset(row.values) else columns.extended(row.values)
        result = validate_row(row, columns, now=now, extra_aliases=extra_aliases, content_key=content_key,
                              defaults=defaults)
        result = deduper.check(result)
        result.warnings.extend(FieldIssue("columns", message) for message in learned)
        yield result


def _is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip().casefold() in _BLANK
    if isinstance(value, (list, tuple)):
        return all(_is_blank(v) for v in value)
    return False


def _value(row: SourceRow, columns: ColumnMap, name: str) -> tuple[object, Column | None]:
    column = columns.lead_column(name)
    if column is None:
        return None, None
    value = row.values.get(column.header)
    return (None if _is_blank(value) else value), column


def _hint(column: Column | None) -> str | None:
    return f"column {column.header}" if column else None


def _category(
    row: SourceRow, columns: ColumnMap, extra_aliases: Mapping[str, str], errors: list[FieldIssue],
    defaults: BatchDefaults | None = None,
) -> Category | None:
    value, column = _value(row, columns, "category")
    candidates = [v for v in (value if isinstance(value, (list, tuple)) else [value]) if not _is_blank(v)]
    if not candidates and defaults is not None and defaults.category is not None:
        candidates = [defaults.category]
    elif isinstance(value, (list, tuple)) and defaults is not None and defaults.category is not None:
        candidates.append(defaults.category)  # STIX indicator_types/labels are hints (url-watchlist…), not a member's category
    for candidate in candidates:
        found = resolve_category(str(candidate), extra_aliases)
        if found is not None:
            return found
    if not candidates:
        message = f"no category; accepted: {accepted_categories_text()}"
    else:
        given = ", ".join(repr(str(c)[:40]) for c in candidates)
        message = f"unknown category {given}; accepted: {accepted_categories_text()} (operators can add aliases)"
    errors.append(FieldIssue("category", message, _hint(column)))
    return None


def _identifiers(
    row: SourceRow, columns: ColumnMap, errors: list[FieldIssue], warnings: list[FieldIssue]
) -> list[Normalized]:
    found: dict[tuple[str, str], Normalized] = {}
    refused: list[FieldIssue] = []
    benign: list[FieldIssue] = []
    for column in columns.identifier_columns:
        parts = _identifier_parts(row.values.get(column.header), column.field)
        for index, part in enumerate(parts, start=1):
            hint = f"column {column.header}" + (f", value {index} of {len(parts)}" if len(parts) > 1 else "")
            result = part if isinstance(part, Invalid) else _normalize(column, part)
            if isinstance(result, Normalized):
                found.setdefault((result.type.value, result.value), result)
                warnings.extend(FieldIssue(column.field, w, hint) for w in result.warnings)
            else:
                issue = FieldIssue(column.field, result.reason, hint)
                (benign if result.benign else refused).append(issue)
    if found:
        warnings.extend(FieldIssue(i.field, f"dropped: {i.message}", i.value_hint) for i in benign)
        warnings.extend(refused)
    elif benign:
        errors.extend(benign)
        warnings.extend(refused)
    elif refused:
        errors.append(FieldIssue("identifiers", "no valid identifier: every identifier in the row was refused"))
        errors.extend(refused)
    else:
        headers = ", ".join(c.header for c in columns.identifier_columns)
        errors.append(FieldIssue("identifiers", f"no identifier: fill at least one of the columns {headers}"))
    return list(found.values())


def _identifier_parts(value: object, field_name: str) -> list[str | Invalid]:
    """The identifiers a cell holds: split text, exact numbers as digits, refusals for lossy numbers."""
    if _is_blank(value):
        return []
    if isinstance(value, (list, tuple)):
        return [p for v in value for p in _identifier_parts(v, field_name)]
    if isinstance(value, bool) or isinstance(value, (dict, datetime)):
        return [Invalid(field_name, "this cell does not hold an identifier (a true/false, date or nested value)")]
    if isinstance(value, float) and (not value.is_integer() or abs(value) >= _EXCEL_DIGITS):
        return [
            Invalid(
                field_name,
                "the cell is a number of more than 15 digits (or with a fraction): Excel keeps only 15 "
                "significant digits, so digits are already lost; format the column as text and re-enter it",
            )
        ]
    if isinstance(value, (int, float)):
        return [str(int(value))]
    separators = _URL_SEPARATORS if field_name == "url" else _SEPARATORS
    # A leading apostrophe is a spreadsheet's text marker (and how row reports neutralise "+86…" cells).
    return [p for p in separators.split(str(value).removeprefix("'")) if not _is_blank(p)]


def _normalize(column: Column, raw: str) -> Normalized | Invalid:
    try:
        return normalize(column.field, raw, vendor=column.vendor)
    except Exception:  # a rule's bug must cost one identifier, not the batch; the value is not logged
        log.exception("identifier rule for %s failed", column.field)
        return Invalid(column.field, "this value could not be checked (internal error); it was not used")


def _observed_at(
    row: SourceRow, columns: ColumnMap, now: datetime, errors: list[FieldIssue], warnings: list[FieldIssue],
    defaults: BatchDefaults | None = None,
) -> tuple[datetime | None, datetime | None]:
    """(observation time to file, the time the row or batch gave — None when it is the upload time)."""
    value, column = _value(row, columns, "observed_at")
    if value is None and defaults is not None and defaults.observed_at is not None:
        return defaults.observed_at, defaults.observed_at
    if value is None:
        warnings.append(FieldIssue("observed_at", "no observation time; the upload time is used", _hint(column)))
        return now.astimezone(timezone.utc), None
    parsed = parse_observed_at(value, now=now)
    if isinstance(parsed, DateError):
        errors.append(FieldIssue("observed_at", parsed.reason, _hint(column)))
        return None, None
    return parsed, parsed


def _confidence(row: SourceRow, columns: ColumnMap, warnings: list[FieldIssue],
                defaults: BatchDefaults | None = None) -> float:
    value, column = _value(row, columns, "confidence")
    if value is None:
        return defaults.confidence if defaults is not None and defaults.confidence is not None else DEFAULT_CONFIDENCE
    parsed = _parse_confidence(value)
    if parsed is None:
        warnings.append(
            FieldIssue(
                "confidence",
                f"unreadable confidence {str(value)[:20]!r}; {DEFAULT_CONFIDENCE} used "
                "(accepted: 0–1, 0–100, 80%, 高/中/低, high/medium/low)",
                _hint(column),
            )
        )
        return DEFAULT_CONFIDENCE
    return parsed


def _parse_confidence(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    return _confidence_text(str(value))


@lru_cache(maxsize=1024)
def _confidence_text(raw: str) -> float | None:
    text = unicodedata.normalize("NFKC", raw).strip().casefold()
    if text in _CONFIDENCE_WORDS:
        return _CONFIDENCE_WORDS[text]
    percent = text.endswith("%")
    try:
        number = float(text.removesuffix("%"))
    except ValueError:
        return None
    if percent or number > 1:
        number /= 100
    return round(number, 4) if 0 <= number <= 1 else None


def _tlp(row: SourceRow, columns: ColumnMap, errors: list[FieldIssue], warnings: list[FieldIssue],
         defaults: BatchDefaults | None = None) -> str | None:
    value, column = _value(row, columns, "tlp")
    if value is None:
        return defaults.tlp if defaults is not None and defaults.tlp is not None else DEFAULT_TLP
    level = parse_tlp(str(value))
    if level == "AMBER+STRICT":
        warnings.append(FieldIssue("tlp", "AMBER+STRICT is kept as AMBER (shared with alliance members)", _hint(column)))
        return "AMBER"
    if level is not None:
        return level
    errors.append(FieldIssue("tlp", f"unknown TLP {str(value)[:20]!r}; accepted: {TLP_ACCEPTED}", _hint(column)))
    return None


def parse_tlp(raw: str) -> str | None:
    """RED, AMBER, AMBER+STRICT, GREEN or CLEAR for a TLP as people write it (TLP:AMBER, 琥珀, WHITE…), or None."""
    text = unicodedata.normalize("NFKC", raw).strip().upper()
    key = re.sub(r"^TLP[\s:：_-]*|[\s_-]+", "", text)
    if key in _STRICT:
        return "AMBER+STRICT"
    return _TLP_WORDS.get(key)


def _text(row: SourceRow, columns: ColumnMap, name: str, warnings: list[FieldIssue]) -> str | None:
    value, column = _value(row, columns, name)
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        text = "; ".join(str(v) for v in value if not _is_blank(v))
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value)
    text = text.strip()
    if name == "agent":  # agent labels are matched across members: one spelling per name
        text = " ".join(unicodedata.normalize("NFKC", text).split())
    limit = TEXT_LIMITS[name]
    if len(text) > limit:
        warnings.append(FieldIssue(name, f"longer than {limit} characters; cut to {limit}", _hint(column)))
        text = text[:limit]
    return text or None


def _content_hash(
    category: Category,
    identifiers: list[Normalized],
    given_at: datetime | None,
    confidence: float,
    tlp: str,
    texts: Mapping[str, str | None],
    key: bytes | None,
) -> str:
    """Hash of what the row says. A defaulted observation time is left out, so re-uploading a row
    without a date on another day still yields the same hash."""
    parts = [
        category.code,
        str(len(identifiers)),
        *sorted(f"{i.type.value}:{i.value}" for i in identifiers),
        given_at.isoformat() if given_at else "",
        f"{confidence:.4f}",
        tlp,
        *(texts[name] or "" for name in TEXT_LIMITS),
    ]
    payload = "\x1f".join(parts).encode()
    if key is not None:
        return hmac.new(key, payload, hashlib.sha256).hexdigest()
    return hashlib.sha256(payload).hexdigest()
