"""Status changes reach a member's registered webhook (signed, checked by a real local HTTP server); the daily
digest lists each jurisdiction's new and changed cases, for the prefecture and its province, once per day."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import httpx
import pytest

from escalation.scheduled import CHINA, daily_digest
from graph.database import Graph
from tests.escalation.helpers import escalate, escalated
from tests.support import error_codes, gql, issue_key


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["content-length"]))
        Receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/fenghuo-hook"
    server.shutdown()
    server.server_close()
    thread.join(10)


async def test_a_status_change_is_posted_signed_to_the_members_webhook(api: httpx.AsyncClient, graph: Graph, receiver: str) -> None:
    analyst = await issue_key(graph, "ACME", "analyst")
    other = await issue_key(graph, "BETA", "analyst")
    liaison = await issue_key(graph, "SZPSB", "police_liaison", jurisdictions=["440300"])
    bad = await gql(api, 'mutation { setEscalationWebhook(url: "ftp://x") }', analyst)
    assert error_codes(bad) == ["BAD_USER_INPUT"]
    secret = (await gql(api, "mutation($u: String!) { setEscalationWebhook(url: $u) }", analyst, u=receiver))["data"]["setEscalationWebhook"]
    e = escalated(await escalate(api, analyst, identifiers=[{"type": "PHONE", "value": "13510001234"}]))["escalation"]
    escalated(await escalate(api, other, identifiers=[{"type": "PHONE", "value": "13510001234"}]))  # BETA joins, no hook
    done = await gql(api, 'mutation($id: String!) { updateCaseStatus(caseId: $id, status: ACKNOWLEDGED, note: "已受理，联系人张警官") { status } }',
                     liaison, id=e["caseId"])
    assert done["data"]["updateCaseStatus"]["status"] == "ACKNOWLEDGED"
    assert len(Receiver.received) == 1
    headers, body = Receiver.received[0]
    expected = hmac.new(secret.encode(), headers["x-fenghuo-timestamp"].encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["x-fenghuo-signature"] == "sha256=" + expected
    payload = json.loads(body)
    assert (payload["case_number"], payload["status_label"], payload["note"]) == (e["caseNumber"], "已受理", "已受理，联系人张警官")
    assert payload["escalation_ids"] == [e["id"]]  # only ACME's own contribution is named to ACME


async def test_the_daily_digest_lists_new_and_changed_cases_per_jurisdiction(api: httpx.AsyncClient, graph: Graph) -> None:
    analyst = await issue_key(graph, "ACME", "analyst")
    szx = await issue_key(graph, "SZPSB", "police_liaison", jurisdictions=["440300"])
    sha = await issue_key(graph, "SHPSB", "police_liaison", jurisdictions=["310000"])
    operator = await issue_key(graph, "HUB", "operator")
    e = escalated(await escalate(api, analyst, title="今日新案", identifiers=[{"type": "PHONE", "value": "13510001234"}]))["escalation"]
    today = datetime.now(CHINA).date()
    first = await daily_digest(graph, today)
    again = await daily_digest(graph, today)
    assert [(d["code"], d["new_cases"]) for d in first] == [("440000", 1), ("440300", 1)] == [(d["code"], d["new_cases"]) for d in again]
    assert await daily_digest(graph, today - timedelta(days=3)) == []

    query = "{ escalationDigests { jurisdictionCode day newCases cases { number title new } } }"
    mine = (await gql(api, query, szx))["data"]["escalationDigests"]
    assert [(d["jurisdictionCode"], d["cases"][0]["number"]) for d in mine] == [("440300", e["caseNumber"])]
    assert (await gql(api, query, sha))["data"]["escalationDigests"] == []
    ran = await gql(api, "mutation($d: Date) { runEscalationDigest(day: $d) { jurisdictionCode } }", operator, d=today.isoformat())
    assert [d["jurisdictionCode"] for d in ran["data"]["runEscalationDigest"]] == ["440000", "440300"]
    assert error_codes(await gql(api, "mutation { runEscalationDigest { jurisdictionCode } }", szx)) == ["FORBIDDEN"]
