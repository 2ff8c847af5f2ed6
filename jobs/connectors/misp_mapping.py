"""One MISP attribute → one lead row (canonical field names), or None when it names no identifier.

The table and its reasons are in MISP_MAPPING.md; keep the two in step.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

# MISP attribute type → Fenghuo identifier fields of its value; composite types split on "|".
TYPE_FIELDS: dict[str, tuple[str | None, ...]] = {
    "ip-src": ("ip",), "ip-dst": ("ip",),
    "ip-src|port": ("ip", None), "ip-dst|port": ("ip", None),
    "domain": ("domain",), "hostname": ("domain",), "hostname|port": ("domain", None),
    "domain|ip": ("domain", "ip"),
    "url": ("url",), "uri": ("url",),
    "email": ("email",), "email-src": ("email",), "email-dst": ("email",), "email-reply-to": ("email",),
    "whois-registrant-email": ("email",), "dns-soa-email": ("email",),
    "phone-number": ("phone",), "whois-registrant-phone": ("phone",),
    "identity-card-number": ("id_number",),
    "cc-number": ("bank_card",), "bank-account-nr": ("bank_card",),
    "imei": ("imei",),
}  # fmt: skip

# MISP distribution → TLP when no tlp:* tag says otherwise (5 = inherit the event's).
DISTRIBUTION_TLP = {0: "RED", 1: "AMBER", 2: "GREEN", 3: "CLEAR", 4: "AMBER"}
TLP_TAGS = {"tlp:red": "RED", "tlp:amber+strict": "AMBER+STRICT", "tlp:amber": "AMBER", "tlp:green": "GREEN",
            "tlp:clear": "CLEAR", "tlp:white": "CLEAR"}
TO_IDS_CONFIDENCE = 0.8  # the publisher marks it for detection
CONTEXT_CONFIDENCE = 0.4  # to_ids false: published as context, not for blocking
THREAT_ACTOR_TAG = 'misp-galaxy:threat-actor="'


def attribute_row(event: dict[str, Any], attribute: dict[str, Any], obj: dict[str, Any] | None,
                  defaults: dict[str, Any]) -> dict[str, Any] | None:
    fields = TYPE_FIELDS.get(str(attribute.get("type")))
    value = attribute.get("value")
    if fields is None or not isinstance(value, str) or not value.strip():
        return None
    parts = value.split("|") if len(fields) > 1 else [value]
    row: dict[str, Any] = {field: part.strip() for field, part in zip(fields, parts) if field and part.strip()}
    if not row:
        return None
    row.update({
        "category": defaults.get("category"),
        "tlp": _tlp(event, attribute, defaults),
        "confidence": _confidence(attribute, defaults),
        "observed_at": _observed_at(event, attribute),
        "reference": attribute["uuid"],
        "note": _note(event, attribute, obj),
    })
    agent = defaults.get("agent") or _threat_actor(event)
    if agent:
        row["agent"] = agent
    return row


def _tags(item: dict[str, Any]) -> list[str]:
    return [str(tag.get("name", "")).strip().lower() for tag in item.get("Tag") or [] if isinstance(tag, dict)]


def _tlp(event: dict[str, Any], attribute: dict[str, Any], defaults: dict[str, Any]) -> str:
    for tags in (_tags(attribute), _tags(event)):
        found = [TLP_TAGS[tag] for tag in tags if tag in TLP_TAGS]
        if found:
            return min(found, key=["RED", "AMBER+STRICT", "AMBER", "GREEN", "CLEAR"].index)  # the strictest
    distribution = _int(attribute.get("distribution"))
    if distribution == 5 or distribution is None:
        distribution = _int(event.get("distribution"))
    if distribution in DISTRIBUTION_TLP:
        return DISTRIBUTION_TLP[distribution]
    return defaults.get("tlp") or "AMBER"


def _confidence(attribute: dict[str, Any], defaults: dict[str, Any]) -> float:
    if attribute.get("to_ids") in (True, 1, "1", "true", "True"):
        return float(defaults.get("confidence") or TO_IDS_CONFIDENCE)
    return CONTEXT_CONFIDENCE


def _observed_at(event: dict[str, Any], attribute: dict[str, Any]) -> str | None:
    if attribute.get("first_seen"):
        return str(attribute["first_seen"])
    if event.get("date"):
        return str(event["date"])
    stamp = _int(attribute.get("timestamp"))
    return datetime.fromtimestamp(stamp, timezone.utc).isoformat() if stamp else None


def _note(event: dict[str, Any], attribute: dict[str, Any], obj: dict[str, Any] | None) -> str:
    parts = [f"MISP event {event.get('uuid', '')}: {str(event.get('info') or '')[:300]}"]
    if obj is not None:
        parts.append(f"object {obj.get('name', '')}")
    if attribute.get("comment"):
        parts.append(str(attribute["comment"])[:500])
    return " | ".join(parts)


def _threat_actor(event: dict[str, Any]) -> str | None:
    for tag in event.get("Tag") or []:
        name = str(tag.get("name", "")) if isinstance(tag, dict) else ""
        if name.startswith(THREAT_ACTOR_TAG) and name.endswith('"'):
            return name[len(THREAT_ACTOR_TAG):-1][:200]
    return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
