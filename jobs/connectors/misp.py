"""A MISP feed (`manifest.json` + `<event uuid>.json`): events new or changed since the last run, as leads.

Config: `url` (the feed's base URL; the manifest is `<url>/manifest.json`), `timeout_seconds`, `max_bytes`,
`auth` like an HTTP feed. The mapping of attribute types, to_ids, distribution, tags and dates is in
MISP_MAPPING.md beside this file. Cursor: `{event uuid: manifest timestamp}` of the events filed. Source id of
each lead: the MISP attribute uuid, so an event that changes files only its new attributes.
"""

from __future__ import annotations

import json
from pathlib import Path
from collections import Counter
from typing import Any, Iterator
from urllib.parse import urljoin

import httpx

from jobs.connectors.base import Payload, RunContext, SourceFailed
from jobs.connectors.http_feed import DEFAULT_MAX_BYTES, HttpFeed, auth_for, http_status_message
from jobs.connectors.misp_mapping import attribute_row

EVENTS_PER_BATCH = 200


class MispFeed:
    def validate(self, config: dict[str, Any], secrets: dict[str, str]) -> dict[str, Any]:
        clean = HttpFeed(Path("spool")).validate({**config, "format": None}, secrets)
        clean.pop("format")
        clean["url"] = clean["url"] if clean["url"].endswith("/") else clean["url"] + "/"
        return clean

    async def run(self, context: RunContext) -> None:
        config, cursor = context.job.config, dict(context.job.cursor)
        if not context.job.defaults.get("category"):
            raise SourceFailed("a MISP feed job needs a default category (MISP has no Fenghuo category): "
                               "set defaults.category on the job", retry=False)
        headers, auth = auth_for(config, context.secrets)
        async with httpx.AsyncClient(timeout=config.get("timeout_seconds", 30), headers=headers, auth=auth,
                                     follow_redirects=True) as client:
            manifest = await _get_json(client, urljoin(config["url"], "manifest.json"), config, "the feed's manifest")
            if not isinstance(manifest, dict):
                raise SourceFailed("the feed's manifest.json is not a JSON object of events", retry=False)
            changed = sorted(uuid for uuid, entry in manifest.items()
                             if isinstance(entry, dict) and int(entry.get("timestamp") or 0) > int(cursor.get(uuid, 0)))
            if not changed:
                context.notes.append("no event is new or changed since the last run")
                return
            for start in range(0, len(changed), EVENTS_PER_BATCH):
                events = []
                for uuid in changed[start:start + EVENTS_PER_BATCH]:
                    body = await _get_json(client, urljoin(config["url"], f"{uuid}.json"), config, f"event {uuid}")
                    events.append(_event(body, uuid))
                    cursor[uuid] = int(manifest[uuid].get("timestamp") or 0)
                await self._file(context, events, dict(cursor))

    async def _file(self, context: RunContext, events: list[dict[str, Any]], cursor: dict[str, Any]) -> None:
        skipped: Counter[str] = Counter()
        rows = {row["reference"]: row for row in _rows(events, context.job.defaults, skipped)}
        context.skipped += sum(skipped.values())
        if skipped:
            context.notes.append("attributes that are not identifiers, counted and skipped: "
                                 + ", ".join(f"{kind} {count}" for kind, count in sorted(skipped.items())))
        filed = await context.filed_ids(list(rows))
        fresh = [rows[uuid] for uuid in sorted(rows) if uuid not in filed]
        if not fresh:
            await context.save_cursor(cursor)
            return
        data = "\n".join(json.dumps(row, ensure_ascii=False, sort_keys=True) for row in fresh).encode() + b"\n"
        outcome = await context.file(Payload(filename="misp-feed.ndjson", format="ndjson",
                                             source_ids=[row["reference"] for row in fresh], data=data,
                                             cursor=cursor, items=len(fresh)))
        if outcome.batch["status"] != "committed":
            raise SourceFailed(f"the feed's attributes were refused: {outcome.batch.get('error')}", retry=False)


def _event(body: Any, uuid: str) -> dict[str, Any]:
    event = body.get("Event") if isinstance(body, dict) else None
    if not isinstance(event, dict):
        raise SourceFailed(f"event {uuid}.json is not a MISP event (no 'Event' object)", retry=False)
    return event


def _rows(events: list[dict[str, Any]], defaults: dict[str, Any], skipped: Counter[str]) -> Iterator[dict[str, Any]]:
    for event in events:
        attributes = [(a, None) for a in event.get("Attribute") or []]
        attributes += [(a, obj) for obj in event.get("Object") or [] for a in (obj.get("Attribute") or [])]
        for attribute, obj in attributes:
            if not isinstance(attribute, dict) or not attribute.get("uuid"):
                skipped["without uuid"] += 1
                continue
            row = attribute_row(event, attribute, obj, defaults)
            if row is None:
                skipped[str(attribute.get("type"))] += 1
                continue
            yield row


async def _get_json(client: httpx.AsyncClient, url: str, config: dict[str, Any], what: str) -> Any:
    limit = config.get("max_bytes", DEFAULT_MAX_BYTES)
    try:
        async with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise http_status_message(response.status_code, f"the MISP feed ({what})")
            body = bytearray()
            async for block in response.aiter_bytes():
                body += block
                if len(body) > limit:
                    raise SourceFailed(f"{what} is larger than max_bytes ({limit} bytes)", retry=False)
    except httpx.TimeoutException:
        raise SourceFailed(f"the MISP feed did not answer within {config.get('timeout_seconds', 30)} s ({what}): retrying with backoff")
    except httpx.TransportError as error:
        raise SourceFailed(f"could not reach the MISP feed ({error.__class__.__name__}): check the URL and the network")
    try:
        return json.loads(bytes(body))
    except ValueError as error:
        raise SourceFailed(f"{what} is not valid JSON ({error})", retry=False)
