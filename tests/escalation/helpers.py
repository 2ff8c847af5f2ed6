"""Shared steps of the escalation tests: file leads, escalate over GraphQL, sign a liaison in to the inbox."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.support import gql

ESCALATE = """
mutation($input: EscalateInput!) {
  escalate(input: $input) {
    joinedExistingCase
    escalation { id caseId caseNumber status statusLabel routingRule routingBasis jurisdiction { code bureau }
                 maskedIdentifiers latestNote timeline { kind status statusLabel note } }
  }
}"""

SUBMIT = "mutation($leads: [LeadInput!]!) { submitLeads(leads: $leads) { batch { status accepted } } }"


async def escalate(api: httpx.AsyncClient, token: str, **fields: Any) -> dict[str, Any]:
    payload = {"title": "测试团伙", "category": "LOAN_INTERMEDIARY", "reason": "多名客户被同一中介包装资料", **fields}
    return await gql(api, ESCALATE, token, input=payload)


def escalated(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    return body["data"]["escalate"]


async def sign_in(client: httpx.AsyncClient, key: str) -> httpx.Response:
    """Sign in through the login form like a browser (double-submit token included)."""
    form = await client.get("/police/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text).group(1)
    return await client.post("/police/login", data={"login_token": token, "api_key": key})


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)
