"""The network picture of a case, laid out once and drawn twice: as SVG for the inbox, as vector strokes in the PDF.

Leads sit on an inner ring, indicators and agents on an outer ring, each outer node near the mean angle of the
leads naming it, so shared identifiers (the gang's links) sit between the leads they join.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from ingest.categories import BY_CODE

COLOURS = {"lead": "#c0392b", "indicator": "#2c6fbb", "agent": "#8e44ad"}
TYPE_LABELS = {"phone": "手机号", "id_number": "身份证号", "bank_card": "银行卡", "imei": "IMEI", "ad_id": "广告ID",
               "device_fingerprint": "设备指纹", "ip": "IP", "url": "网址", "domain": "域名", "email": "邮箱",
               "wechat": "微信", "alipay": "支付宝", "qq": "QQ"}


@dataclass(frozen=True)
class Placed:
    id: str
    kind: str
    label: str
    x: float
    y: float


def node_label(node: dict[str, Any]) -> str:
    if node["kind"] == "lead":
        category = BY_CODE.get(node.get("category") or "")
        return category.label if category else (node.get("category") or "线索")
    if node["kind"] == "agent":
        return f"团伙 {node.get('label') or ''}".strip()
    return f"{TYPE_LABELS.get(node.get('type') or '', node.get('type') or '')} {node.get('masked') or ''}".strip()


def layout(drawing: dict[str, Any], width: float = 800, height: float = 560) -> tuple[list[Placed], list[tuple[Placed, Placed]]]:
    nodes = drawing.get("nodes") or []
    leads = [n for n in nodes if n["kind"] == "lead"]
    others = [n for n in nodes if n["kind"] != "lead"]
    cx, cy = width / 2, height / 2
    inner, outer = min(width, height) * 0.22, min(width, height) * 0.42
    angle: dict[str, float] = {}
    for i, lead in enumerate(leads):
        angle[lead["id"]] = 2 * math.pi * i / max(len(leads), 1)
    neighbours: dict[str, list[float]] = {}
    for edge in drawing.get("edges") or []:
        if edge["source"] in angle:
            neighbours.setdefault(edge["target"], []).append(angle[edge["source"]])
    def mean_angle(node_id: str) -> float:
        seen = neighbours.get(node_id) or [0.0]
        return math.atan2(sum(map(math.sin, seen)), sum(map(math.cos, seen))) % (2 * math.pi)
    ordered = sorted(others, key=lambda n: (mean_angle(n["id"]), n["id"]))
    for i, other in enumerate(ordered):
        angle[other["id"]] = 2 * math.pi * (i + 0.5) / max(len(ordered), 1)
    placed = {}
    for n in nodes:
        radius = inner if n["kind"] == "lead" and len(leads) > 1 else (0 if n["kind"] == "lead" else outer)
        a = angle[n["id"]]
        placed[n["id"]] = Placed(n["id"], n["kind"], node_label(n), cx + radius * math.cos(a), cy + radius * math.sin(a))
    lines = [(placed[e["source"]], placed[e["target"]]) for e in drawing.get("edges") or []
             if e["source"] in placed and e["target"] in placed]
    return list(placed.values()), lines


def svg(drawing: dict[str, Any], width: int = 800, height: int = 560) -> str:
    """A self-contained SVG (no script); every label is escaped text."""
    nodes, lines = layout(drawing, width, height)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
             f'role="img" aria-label="案件关系图" class="network-picture">',
             f'<rect width="{width}" height="{height}" fill="#fbfbfd" stroke="#ccc"/>']
    for a, b in lines:
        parts.append(f'<line x1="{a.x:.1f}" y1="{a.y:.1f}" x2="{b.x:.1f}" y2="{b.y:.1f}" stroke="#999" stroke-width="1"/>')
    for n in nodes:
        r = 9 if n.kind == "lead" else 6
        parts.append(f'<g class="node {n.kind}"><title>{escape(n.label)}</title>'
                     f'<circle cx="{n.x:.1f}" cy="{n.y:.1f}" r="{r}" fill="{COLOURS.get(n.kind, "#555")}"/>'
                     f'<text x="{n.x + r + 2:.1f}" y="{n.y + 4:.1f}" font-size="11" fill="#222">{escape(n.label)}</text></g>')
    legend = [("lead", "线索"), ("indicator", "标识（脱敏）"), ("agent", "团伙/中介")]
    for i, (kind, text) in enumerate(legend):
        y = 18 + 16 * i
        parts.append(f'<circle cx="14" cy="{y}" r="5" fill="{COLOURS[kind]}"/>'
                     f'<text x="24" y="{y + 4}" font-size="11">{text}</text>')
    if drawing.get("truncated"):
        parts.append(f'<text x="{width - 10}" y="{height - 10}" font-size="11" text-anchor="end">（仅显示部分节点）</text>')
    parts.append("</svg>")
    return "".join(parts)
