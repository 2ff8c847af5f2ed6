"""Merging peers' answers into local rows: provenance on every report, one witness per member, retraction wins."""

from __future__ import annotations

from datetime import datetime, timezone

from core.principal import Principal, Role
from check import service as check_service
from federation.merge import merge_rows
from federation.wire import CheckAnswer, ResultWire, report_wire

KEY = "phone:" + "a" * 64
NOW_MS = int(datetime.now(timezone.utc).timestamp() * 1000)
ANALYST = Principal(id="key:x", member_code="MEMBER_A", roles=frozenset({Role.ANALYST}))


def row(member: str, *, attributed: bool = False, tlp: str = "AMBER") -> dict:
    return {"member_code": member, "reliability": 1.0, "tlp": tlp, "category": "LOAN_INTERMEDIARY", "leads": 1,
            "max_confidence": 0.9, "max_confidence_at": NOW_MS, "last_confidence": 0.9, "last_seen": NOW_MS,
            "first_seen": NOW_MS, "attributed": attributed,
            "named": attributed or member == ANALYST.member_code}  # as graph/visibility.reported_named says for ANALYST


def answer(node: str, *members: str, status: str = "active", attributed: bool = False) -> CheckAnswer:
    reports = [report_wire(row(m, attributed=attributed), check_service.member_ref(m, KEY)) for m in members]
    return CheckAnswer(protocol=1, node_id=node, key_version=1,
                       results=[ResultWire(key=KEY, status=status, reports=reports)])


def local(*members: str, status: str | None = None) -> dict:
    return {"key": KEY, "known": bool(members), "status": status or ("active" if members else None), "benign": False,
            "benign_reason": None, "masked": None, "reports": [row(m) for m in members], "neighbours": [], "network": None}


def judge(merged: dict) -> check_service.Verdict:
    verdict = check_service.Verdict(input_type="phone", status=check_service.NO_RECORD)
    check_service.judge(verdict, merged, datetime.now(timezone.utc))
    return verdict


def test_reports_from_two_nodes_keep_their_node_and_count_two_members() -> None:
    [merged] = merge_rows("node-a", [local()], [answer("node-b", "MB"), answer("node-c", "MC")])
    verdict = judge(merged)
    assert verdict.status == "active" and verdict.score.members == 2
    assert sorted(c.node for c in verdict.score.contributions) == ["node-b", "node-c"]


def test_the_same_member_on_two_nodes_and_locally_counts_once() -> None:
    [merged] = merge_rows("node-a", [local("MX")], [answer("node-b", "MX"), answer("node-c", "MX")])
    assert judge(merged).score.members == 1


def test_a_hidden_filer_stays_hidden_and_an_attributed_one_is_named() -> None:
    [hidden] = merge_rows("node-a", [local()], [answer("node-b", "MB")])
    [named] = merge_rows("node-a", [local()], [answer("node-b", "MB", attributed=True)])
    assert judge(hidden).score.contributions[0].member_code is None
    assert judge(named).score.contributions[0].member_code == "MB"


def test_a_local_retraction_wins_and_a_remote_retraction_drops_that_nodes_reports() -> None:
    [retracted_here] = merge_rows("node-a", [local("MA", status="retracted")], [answer("node-b", "MB")])
    assert judge(retracted_here).status == check_service.RETRACTED
    [retracted_there] = merge_rows("node-a", [local()], [answer("node-b", "MB", status="retracted")])
    assert judge(retracted_there).status == check_service.NO_RECORD


def test_a_dispute_on_any_node_shows() -> None:
    [merged] = merge_rows("node-a", [local("MA")], [answer("node-b", "MB", status="disputed")])
    assert judge(merged).status == check_service.DISPUTED
