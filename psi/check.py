"""The hub answering a private check: audited as a count, never as keys (it never sees any).

The hub learns how many identifiers a member asked about (the request holds that many blinded points) and
when; not which, not how many matched (matching happens on the member's side).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from audit.reader import Reader
from core.errors import BadInput
from psi.setup import PrivateSetup


@dataclass(frozen=True)
class PrivateAnswer:
    response: bytes  # a serialized psi Response: the request's points blinded again with the hub's key
    key_id: str
    setup_age_seconds: float | None


def setup_manifest(reader: Reader, setup: PrivateSetup) -> dict:
    manifest = setup.manifest()
    reader.record("check.private.setup", detail=f"segments={len(manifest['segments'])} age_s={manifest['age_seconds']}")
    return manifest


async def answer_private_check(reader: Reader, setup: PrivateSetup, request: bytes) -> PrivateAnswer:
    if not request:
        raise BadInput("the body must be a serialized PSI request (application/octet-stream); see psi/client.py",
                       field="body")
    try:
        response, asked = await asyncio.to_thread(setup.answer, request)
    except ValueError as error:
        raise BadInput(str(error), field="body") from None
    age = setup.age_seconds()
    reader.record("check.private", detail=f"identifiers={asked} setup_age_s={age} key_id={setup.key_id}")
    return PrivateAnswer(response, setup.key_id, age)
