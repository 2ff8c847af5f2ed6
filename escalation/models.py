"""The closed sets of escalation: case statuses (with the police's words for them) and routing rules."""

from __future__ import annotations

from enum import Enum


class CaseStatus(str, Enum):
    SUBMITTED = "submitted"  # 待受理: routed, not yet seen by the bureau
    ACKNOWLEDGED = "acknowledged"  # 已受理
    FILED = "filed"  # 已立案 (with the bureau's 案件编号)
    DECLINED = "declined"  # 不予立案
    CLOSED = "closed"  # 已结案

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    CaseStatus.SUBMITTED: "待受理", CaseStatus.ACKNOWLEDGED: "已受理", CaseStatus.FILED: "已立案",
    CaseStatus.DECLINED: "不予立案", CaseStatus.CLOSED: "已结案",
}
OPEN_STATUSES = (CaseStatus.SUBMITTED, CaseStatus.ACKNOWLEDGED, CaseStatus.FILED)
TRANSITIONS = {
    CaseStatus.SUBMITTED: (CaseStatus.ACKNOWLEDGED, CaseStatus.FILED, CaseStatus.DECLINED),
    CaseStatus.ACKNOWLEDGED: (CaseStatus.FILED, CaseStatus.DECLINED, CaseStatus.CLOSED),
    CaseStatus.FILED: (CaseStatus.CLOSED,),
    CaseStatus.DECLINED: (),
    CaseStatus.CLOSED: (),
}


class RoutingRule(str, Enum):
    EXPLICIT = "explicit"  # the escalating member chose the jurisdiction
    PHONE_GEOCODE = "phone_geocode"  # the main phone's geocoded city
    ID_REGION = "id_region"  # the resident ID's region code (first 6 digits → prefecture)
    MEMBER_HOME = "member_home"  # the member's home jurisdiction

    @property
    def label(self) -> str:
        return RULE_LABELS[self]


RULE_LABELS = {
    RoutingRule.EXPLICIT: "成员指定管辖地", RoutingRule.PHONE_GEOCODE: "主要手机号归属地",
    RoutingRule.ID_REGION: "身份证号地区码", RoutingRule.MEMBER_HOME: "成员所在地",
}
