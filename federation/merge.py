"""Merge peers' answers into the local lookup rows, keeping provenance: every report carries its node.

Members are alliance-wide and `member_ref` is the same hash of (member code, indicator key) on every node, so
a member that filed on several nodes is one witness when scored; a retraction or benign listing anywhere wins.
"""

from __future__ import annotations

from typing import Any, Iterable

from federation.wire import CheckAnswer, report_row


def merge_rows(local_node: str, rows: list[dict[str, Any]], answers: Iterable[CheckAnswer]) -> list[dict[str, Any]]:
    merged = {row["key"]: _local(local_node, row) for row in rows}
    for answer in answers:
        for result in answer.results:
            row = merged.get(result.key)
            if row is None:
                continue
            if result.benign and not row["benign"]:
                row["benign"], row["benign_reason"] = True, f"{result.benign_reason or 'a known benign number'} (node {answer.node_id})"
            if result.status == "retracted" or not result.reports:
                continue
            row["known"] = True
            row["status"] = _status(row["status"], result.status)
            row["reports"].extend(report_row(report, answer.node_id) for report in result.reports)
    return list(merged.values())


def _local(node: str, row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "reports": [{**report, "node": node} for report in row["reports"]]}


def _status(local: str | None, remote: str | None) -> str:
    """Retracted here stays retracted; a dispute anywhere shows; otherwise active."""
    if local == "retracted":
        return local
    if "disputed" in (local, remote):
        return "disputed"
    return "active"
