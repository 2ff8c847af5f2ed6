"""A TAXII 2.1 collection (`taxii2-client`), paged with an `added_after` cursor kept per job.

Config: `collection_url` (…/api-root/collections/<id>/), `page_size` (10,000), `max_objects_per_batch` (50,000),
`timeout_seconds` (30), `auth` (none, basic, bearer) with `username` for basic. Secrets: `password` or `token`.

`page_size` is what the job asks for; a server answers at most its own maximum (medallion: `max_page_size`),
so the default asks for large pages: every page is a round trip, and a batch has fixed costs (aggregates,
network upkeep), so a run files ONE batch of up to `max_objects_per_batch` objects however many pages it took.
Each run pages from the cursor until a batch's worth of objects is collected, files them as one STIX bundle
through the pipeline (ingest/formats/stix_reader.py maps them, as STIX_MAPPING.md says), then moves the cursor to
the server's `X-TAXII-Date-Added-Last` and goes on. Indicators and observed-data are keyed by `id|modified`: a
version filed before is left out of the bundle; other objects (markings, threat actors, relationships) travel as
context every time.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import uuid
from typing import Any

import requests
from taxii2client.exceptions import TAXIIServiceException
from taxii2client.v21 import Collection, as_pages

from core.errors import BadInput
from jobs.connectors.base import Payload, RunContext, SourceFailed
from jobs.connectors.http_feed import _positive, http_status_message, validate_url

LEAD_TYPES = ("indicator", "observed-data")
AUTH_KINDS = ("none", "basic", "bearer")
PAGE_SIZE = 10_000  # asked for; the server caps it at its own maximum


class TaxiiCollection:
    def validate(self, config: dict[str, Any], secrets: dict[str, str]) -> dict[str, Any]:
        url = validate_url(config.get("collection_url"), "collection_url")
        if "/collections/" not in url:
            raise BadInput("collection_url must be a TAXII 2.1 collection URL (…/<api-root>/collections/<id>/)",
                           field="collection_url")
        auth = config.get("auth", "basic" if config.get("username") else "none")
        if auth not in AUTH_KINDS:
            raise BadInput(f"auth {auth!r} is not accepted; accepted: {', '.join(AUTH_KINDS)}", field="auth")
        clean = {
            "collection_url": url if url.endswith("/") else url + "/", "auth": auth,
            "page_size": int(_positive(config.get("page_size", PAGE_SIZE), "page_size")),
            "max_objects_per_batch": int(_positive(config.get("max_objects_per_batch", 50_000), "max_objects_per_batch")),
            "timeout_seconds": _positive(config.get("timeout_seconds", 30), "timeout_seconds"),
        }
        if auth == "basic":
            clean["username"] = str(config.get("username") or "")
            if not clean["username"]:
                raise BadInput("basic auth needs config.username and secrets.password", field="username")
        return clean

    async def run(self, context: RunContext) -> None:
        cursor = dict(context.job.cursor)
        while True:
            objects, last_added, more = await asyncio.to_thread(
                fetch, context.job.config, context.secrets, cursor.get("added_after"))
            if not objects:
                context.notes.append("the collection has nothing added after the cursor")
                return
            cursor = {"added_after": last_added or cursor.get("added_after")}
            await self._file(context, objects, cursor)
            if not more or not last_added:
                return

    async def _file(self, context: RunContext, objects: list[dict[str, Any]], cursor: dict[str, Any]) -> None:
        ids = {source_id(obj): obj for obj in objects if obj.get("type") in LEAD_TYPES}
        filed = await context.filed_ids(list(ids))
        fresh = [obj for obj in objects if obj.get("type") not in LEAD_TYPES or source_id(obj) not in filed]
        new_ids = sorted(set(ids) - filed)
        if not new_ids:
            await context.save_cursor(cursor)
            return
        bundle = {"type": "bundle", "id": "bundle--" + str(uuid.uuid5(uuid.NAMESPACE_URL, "|".join(new_ids))),
                  "objects": fresh}
        data = json.dumps(bundle, sort_keys=True, ensure_ascii=False).encode()
        outcome = await context.file(Payload(filename="taxii-collection.json", format="stix", source_ids=new_ids,
                                             data=data, cursor=cursor, items=len(new_ids)))
        if outcome.batch["status"] != "committed":
            raise SourceFailed(f"the collection's objects were refused: {outcome.batch.get('error')}", retry=False)


def source_id(obj: dict[str, Any]) -> str:
    """`id|modified` (STIX versions an object by `modified`); an object without an id is keyed by its content."""
    if isinstance(obj.get("id"), str):
        return f"{obj['id']}|{obj.get('modified') or obj.get('created') or ''}"
    return "content:" + hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def fetch(config: dict[str, Any], secrets: dict[str, str], added_after: str | None) -> tuple[list[dict[str, Any]], str | None, bool]:
    """Objects added after the cursor, up to a batch's worth; the last page's Date-Added-Last; whether more remain."""
    headers_seen: list[requests.structures.CaseInsensitiveDict] = []
    collection = _collection(config, secrets, headers_seen)
    filters = {"added_after": added_after} if added_after else {}
    objects: list[dict[str, Any]] = []
    last_added, more = None, False
    try:
        for envelope in as_pages(collection.get_objects, per_request=config.get("page_size", PAGE_SIZE), **filters):
            if not isinstance(envelope, dict):
                raise SourceFailed("the TAXII server answered something that is not a TAXII envelope", retry=False)
            page = envelope.get("objects") or []
            objects.extend(obj for obj in page if isinstance(obj, dict))
            last_added = headers_seen[-1].get("X-TAXII-Date-Added-Last") or last_added
            more = bool(envelope.get("more"))
            if len(objects) >= config.get("max_objects_per_batch", 50_000):
                break
    except requests.HTTPError as error:
        status = error.response.status_code if error.response is not None else 0
        raise http_status_message(status, "the TAXII server")
    except requests.Timeout:
        raise SourceFailed(f"the TAXII server did not answer within {config.get('timeout_seconds')} s (timeout): retrying with backoff")
    except requests.ConnectionError as error:
        raise SourceFailed(f"could not reach the TAXII server ({error.__class__.__name__}): check collection_url and the network")
    except (TAXIIServiceException, ValueError) as error:
        raise SourceFailed(f"the TAXII server's answer is not TAXII 2.1 JSON ({str(error)[:200]})", retry=False)
    return objects, last_added, more


def _collection(config: dict[str, Any], secrets: dict[str, str], headers_seen: list[Any]) -> Collection:
    auth = config.get("auth", "none")
    collection = Collection(config["collection_url"], user=config.get("username") if auth == "basic" else None,
                            password=secrets.get("password") if auth == "basic" else None)
    session = collection._conn.session
    session.request = functools.partial(session.request, timeout=config.get("timeout_seconds", 30))  # type: ignore[method-assign]
    session.hooks["response"].append(lambda response, *args, **kwargs: headers_seen.append(response.headers))
    if auth == "bearer":
        session.headers["Authorization"] = f"Bearer {secrets.get('token', '')}"
    return collection
