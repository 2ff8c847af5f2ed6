"""Row reports as spreadsheet-safe CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from api.row_report import safe_cell, write_fix_file

REJECTED = {"line": 2, "status": "rejected", "errors": [{"field": "category", "message": "no category", "where": None}],
            "warnings": []}
WARNED = {"line": 3, "status": "accepted", "errors": [],
          "warnings": [{"field": "observed_at", "message": "no observation time", "where": "column 时间"}]}


@pytest.mark.parametrize("text", ["=1+1", "+86 138", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_cells_a_spreadsheet_would_evaluate_are_neutralised(text: str) -> None:
    assert safe_cell(text) == "'" + text


def test_plain_cells_are_kept() -> None:
    assert [safe_cell(v) for v in ("13800138000", "贷款中介", None, 0.8)] == ["13800138000", "贷款中介", "", "0.8"]


def test_a_non_tabular_source_gets_the_rejected_rows_problems_without_cells(tmp_path: Path) -> None:
    source = tmp_path / "leads.json"
    source.write_text('[{"phone": "13800138000"}]', encoding="utf-8")
    out = tmp_path / "report.csv"
    assert write_fix_file(out, [REJECTED, WARNED], source, "json") == 0
    rows = list(csv.reader(out.open(encoding="utf-8-sig")))
    assert rows == [["line", "status", "problems"], ["2", "rejected", "error category: no category"]]
