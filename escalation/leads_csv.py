"""leads.csv: one row per (lead, identifier), UTF-8 with BOM so Excel opens it as Chinese, every cell neutralised
against spreadsheet formula injection (a cell starting with = + - @, tab or CR gets a leading apostrophe)."""

from __future__ import annotations

import csv
import io
from typing import Any, Iterable

from escalation.drawing import TYPE_LABELS

HEADER = ["案件编号", "提交成员", "线索编号", "类别", "类别代码", "发现时间", "团伙标签", "标识类型", "标识（脱敏）", "归属地"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def render(case: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in _rows(case):
        writer.writerow([neutralise(cell) for cell in row])
    return "\ufeff".encode("utf-8") + out.getvalue().encode("utf-8")


def _rows(case: dict[str, Any]) -> Iterable[list[object]]:
    for contribution in case["contributions"]:
        for lead in contribution.get("leads") or []:
            base = [case["number"], contribution["member_code"], lead["id"], lead.get("category_label"), lead["category"],
                    str(lead.get("observed_at") or ""), lead.get("agent")]
            for indicator in lead["indicators"] or [{}]:
                yield base + [TYPE_LABELS.get(indicator.get("type", ""), indicator.get("type")), indicator.get("masked"),
                              indicator.get("region") or indicator.get("region_code")]
