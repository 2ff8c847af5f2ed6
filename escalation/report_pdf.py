"""report.pdf: the case in Chinese for the bureau — summary, routing, leads, the network picture, timeline.

The font is Noto Sans SC from the `pylopdf-fonts-zh-cn` package (installed by `make install`); fpdf2 embeds the
subset of glyphs used, so the PDF reads the same on any machine. The network picture is drawn as vector strokes
from the same layout as the inbox's SVG.
"""

from __future__ import annotations

from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace
from pylopdf_fonts_zh_cn import sans_path

from escalation.drawing import COLOURS, TYPE_LABELS, layout
from escalation.models import CaseStatus, RoutingRule
from ingest.categories import BY_CODE

FONT = "NotoSansSC"
HEADINGS = FontFace(emphasis="", fill_color=(238, 240, 243))  # one regular face: no bold CJK font is shipped


def _hex(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


class _Report(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.cell(0, 6, f"烽火联盟 案件材料 · 第 {self.page_no()} 页", align="C")


def render(case: dict[str, Any], revealed: list[dict[str, Any]]) -> bytes:
    pdf = _Report(format="A4")
    pdf.set_title(f"{case['number']} {case['title']}")
    pdf.add_font(FONT, fname=str(sans_path()))
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_page()
    pdf.set_font(FONT, size=17)
    pdf.multi_cell(0, 9, case["title"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=10)
    jurisdiction = case.get("jurisdiction")
    rows = [
        ("案件编号", case["number"]),
        ("管辖机关", f"{jurisdiction.bureau}（{jurisdiction.code} {jurisdiction.name}）" if jurisdiction else case["jurisdiction_code"]),
        ("状态", CaseStatus(case["status"]).label + (f"，案件编号 {case['police_case_number']}" if case.get("police_case_number") else "")),
        ("线索类别", "、".join(_category_labels(case))),
        ("提交成员", "、".join(sorted({c["member_code"] for c in case["contributions"]}))),
        ("分派依据", "；".join(f"{RoutingRule(c['routing_rule']).label}（{c['routing_basis']}）" for c in case["contributions"])),
    ]
    _table(pdf, rows)
    _section(pdf, "举报理由与证据")
    evidence = {r["escalation_id"]: r for r in revealed}
    for c in case["contributions"]:
        pdf.multi_cell(0, 6, f"【{c['member_code']}】{c['reason']}", new_x="LMARGIN", new_y="NEXT")
        if evidence.get(c["id"], {}).get("evidence"):
            pdf.multi_cell(0, 6, "证据说明：" + evidence[c["id"]]["evidence"], new_x="LMARGIN", new_y="NEXT")
        for ident in evidence.get(c["id"], {}).get("identifiers", []):
            pdf.multi_cell(0, 6, f"  {TYPE_LABELS.get(ident['type'], ident['type'])}：{ident['value']}",
                           new_x="LMARGIN", new_y="NEXT")
    _section(pdf, "线索列表")
    _leads(pdf, case)
    _section(pdf, "关系图")
    for c in case["contributions"]:
        _picture(pdf, c.get("snapshot") or {})
    _section(pdf, "时间线")
    for event in case["events"]:
        status = CaseStatus(event["status"]).label if event.get("status") else "成员提交"
        text = f"{event['at']:%Y-%m-%d %H:%M} UTC  {status}  {event.get('note') or ''}"
        if event.get("police_case_number"):
            text += f"（案件编号 {event['police_case_number']}）"
        pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _category_labels(case: dict[str, Any]) -> list[str]:
    return [BY_CODE[c].label if c in BY_CODE else c for c in case.get("categories") or []]


def _section(pdf: FPDF, title: str) -> None:
    pdf.ln(3)
    pdf.set_font(FONT, size=13)
    pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=10)


def _table(pdf: FPDF, rows: list[tuple[str, str]]) -> None:
    with pdf.table(col_widths=(30, 150), text_align="LEFT", first_row_as_headings=False) as table:
        for key, value in rows:
            row = table.row()
            row.cell(key)
            row.cell(value)


def _leads(pdf: FPDF, case: dict[str, Any]) -> None:
    leads = [lead for c in case["contributions"] for lead in c.get("leads") or []]
    if not leads:
        pdf.cell(0, 6, "（本案未附线索，仅有成员提供的标识）", new_x="LMARGIN", new_y="NEXT")
        return
    pdf.set_font(FONT, size=8)
    with pdf.table(col_widths=(40, 22, 28, 90), text_align="LEFT", headings_style=HEADINGS) as table:
        table.row(["线索编号", "类别", "发现时间", "标识（脱敏）"])
        for lead in leads[:300]:
            indicators = "；".join(f"{TYPE_LABELS.get(i['type'], i['type'])} {i['masked']}" for i in lead["indicators"])
            table.row([lead["id"], lead.get("category_label") or lead["category"], str(lead.get("observed_at") or "")[:10],
                       indicators])
    pdf.set_font(FONT, size=10)


def _picture(pdf: FPDF, drawing: dict[str, Any]) -> None:
    if not drawing.get("nodes"):
        return
    width, height = 180.0, 120.0
    if pdf.get_y() + height > pdf.h - 20:
        pdf.add_page()
    x0, y0 = pdf.l_margin, pdf.get_y()
    nodes, lines = layout(drawing, width, height)
    pdf.set_draw_color(160, 160, 160)
    pdf.set_line_width(0.2)
    pdf.rect(x0, y0, width, height)
    for a, b in lines:
        pdf.line(x0 + a.x, y0 + a.y, x0 + b.x, y0 + b.y)
    pdf.set_font(FONT, size=5)
    for n in nodes:
        pdf.set_fill_color(*_hex(COLOURS.get(n.kind, "#555555")))
        r = 1.6 if n.kind == "lead" else 1.1
        pdf.circle(x0 + n.x, y0 + n.y, r, style="F")
        pdf.text(x0 + n.x + r + 0.5, y0 + n.y + 0.8, n.label)
    pdf.set_y(y0 + height + 3)
    pdf.set_font(FONT, size=10)
