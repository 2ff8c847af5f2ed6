"""The case as a STIX 2.1 bundle: identities (this node, the bureau, the escalating members), one indicator per
identifier (raw values the members supplied; the alliance's keyed hash for the leads' masked identifiers), the
gang as a threat-actor the indicators indicate, and a report naming them all. Custom `x-fenghuo-*` objects in
patterns follow ingest/formats/STIX_MAPPING.md, so another Fenghuo node reads the bundle back."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from escalation.drawing import TYPE_LABELS

NAMESPACE = uuid.UUID("6f1c1f5e-6a4e-4c55-9d3a-2f0f6b7b9e13")
TLP_AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
_STANDARD_SCO = {"ip": "ipv4-addr", "domain": "domain-name", "url": "url", "email": "email-addr"}


def _id(kind: str, *parts: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, '|'.join(parts))}"


def _ts(value: datetime | None = None) -> str:
    value = (value or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _pattern(type_name: str, value: str) -> str:
    if type_name == "ip" and ":" in value:
        return f"[ipv6-addr:value = '{_quote(value)}']"
    if type_name in _STANDARD_SCO:
        return f"[{_STANDARD_SCO[type_name]}:value = '{_quote(value)}']"
    return f"[x-fenghuo-{type_name.replace('_', '-')}:value = '{_quote(value)}']"


def bundle(case: dict[str, Any], revealed: list[dict[str, Any]], node_name: str) -> dict[str, Any]:
    created = case["created_at"] if isinstance(case.get("created_at"), datetime) else None
    now, made = _ts(), _ts(created)
    common = {"spec_version": "2.1", "created": made, "modified": now, "object_marking_refs": [TLP_AMBER]}
    node = {"type": "identity", "id": _id("identity", "node", node_name), "name": node_name,
            "identity_class": "organization", **common}
    common["created_by_ref"] = node["id"]
    j = case.get("jurisdiction")
    objects: list[dict[str, Any]] = [node]
    if j is not None:
        objects.append({"type": "identity", "id": _id("identity", "bureau", j.code), "name": j.bureau or j.name,
                        "identity_class": "organization", "sectors": ["government-public-services"],
                        "description": f"{j.code} {j.name}", **common})
    for member in sorted({c["member_code"] for c in case["contributions"]}):
        objects.append({"type": "identity", "id": _id("identity", "member", member), "name": member,
                        "identity_class": "organization", "sectors": ["financial-services"], **common})
    gang = {"type": "threat-actor", "id": _id("threat-actor", case["id"]), "name": case["title"],
            "threat_actor_types": ["criminal"], "description": f"烽火案件 {case['number']}", **common}
    objects.append(gang)
    indicators = _indicators(case, revealed, common, made)
    objects += indicators
    objects += [{"type": "relationship", "id": _id("relationship", i["id"], gang["id"]), "relationship_type": "indicates",
                 "source_ref": i["id"], "target_ref": gang["id"], **common} for i in indicators]
    objects.append({"type": "report", "id": _id("report", case["id"]), "name": f"{case['number']} {case['title']}",
                    "report_types": ["threat-actor"], "published": now, "description": _summary(case),
                    "object_refs": [o["id"] for o in objects], **common})
    return {"type": "bundle", "id": _id("bundle", case["id"], now), "objects": objects}


def _indicators(case: dict[str, Any], revealed: list[dict[str, Any]], common: dict[str, Any], made: str) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for contribution in revealed:
        for ident in contribution["identifiers"]:
            pattern = _pattern(ident["type"], ident["value"])
            found.setdefault(pattern, {"name": f"{TYPE_LABELS.get(ident['type'], ident['type'])} {ident['masked']}"})
    for contribution in case["contributions"]:
        for lead in contribution.get("leads") or []:
            for ind in lead["indicators"]:
                pattern = f"[x-fenghuo-identifier:key = '{_quote(ind['key'])}']"
                found.setdefault(pattern, {"name": f"{TYPE_LABELS.get(ind['type'], ind['type'])} {ind['masked']}（联盟键控哈希）"})
    return [{"type": "indicator", "id": _id("indicator", case["id"], pattern), "name": info["name"],
             "indicator_types": ["malicious-activity"], "pattern": pattern, "pattern_type": "stix",
             "valid_from": made, "x_fenghuo_categories": case.get("categories") or [], **common}
            for pattern, info in sorted(found.items())]


def _summary(case: dict[str, Any]) -> str:
    return "；".join(f"{c['member_code']}：{c['reason']}" for c in case["contributions"])
