"""Telling escalating members that their case changed: a signed POST to the webhook a member registered.

Body: JSON {event, case_number, status, status_label, note, police_case_number, escalation_ids, at}. Headers:
`X-Fenghuo-Timestamp` (unix seconds) and `X-Fenghuo-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`
with the secret returned once at registration. A member's endpoint that fails is logged (without the body) and
does not stop the status change: the member still sees it over GraphQL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlparse

import httpx

from core.principal import Principal
from core.errors import BadInput
from escalation.models import CaseStatus
from graph import escalations as repo

log = logging.getLogger(__name__)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


async def register(desk, principal: Principal, url: str) -> str:  # desk: escalation.desk.Desk
    """Store the member's webhook URL; returns the signing secret (shown once)."""
    parsed = urlparse(url.strip())
    if parsed.scheme not in ("https", "http") or not parsed.netloc:
        raise BadInput("webhook URL must be an absolute http(s) URL, e.g. https://risk.example.com/fenghuo", field="url")
    secret = secrets.token_urlsafe(32)
    sealed = desk.sealer.seal(secret.encode(), "webhook:" + principal.member_code)
    await repo.set_webhook(desk.graph, principal.member_code, url.strip(), sealed)
    desk.audit.record(principal, "escalation.webhook.set", subject=principal.member_code)
    return secret


async def notify(desk, case: dict[str, Any], note: str) -> int:
    """POST the case's new status to every contributing member's webhook; returns how many answered 2xx."""
    by_member: dict[str, list[str]] = {}
    for contribution in case["contributions"]:
        by_member.setdefault(contribution["member_code"], []).append(contribution["id"])
    hooks = await repo.webhooks(desk.graph, sorted(by_member))
    delivered = 0
    async with httpx.AsyncClient(timeout=desk.settings.webhook_timeout_seconds, follow_redirects=False) as client:
        for hook in hooks:
            secret = desk.sealer.open(hook["secret_sealed"], "webhook:" + hook["member_code"]).decode()
            status = CaseStatus(case["status"])
            body = json.dumps({
                "event": "case.status", "case_number": case["number"], "status": status.value,
                "status_label": status.label, "note": note, "police_case_number": case.get("police_case_number"),
                "escalation_ids": by_member[hook["member_code"]], "at": datetime.now(timezone.utc).isoformat(),
            }, ensure_ascii=False).encode()
            timestamp = str(int(time.time()))
            try:
                response = await client.post(hook["url"], content=body, headers={
                    "content-type": "application/json", "x-fenghuo-timestamp": timestamp,
                    "x-fenghuo-signature": sign(secret, timestamp, body)})
                delivered += response.is_success
                if not response.is_success:
                    log.warning("webhook of member %s answered %d", hook["member_code"], response.status_code)
            except httpx.HTTPError as error:
                log.warning("webhook of member %s failed: %s", hook["member_code"], type(error).__name__)
    return delivered
