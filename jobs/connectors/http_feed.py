"""An HTTP(S) feed of CSV / JSON / NDJSON / STIX: conditional GET, timeout, size limit, bearer or basic auth.

Config: `url`, `format` (csv, json, ndjson, stix; default: detected from the body), `timeout_seconds` (30),
`max_bytes` (256 MiB), `auth` (none, bearer, basic) with `username` for basic. Secrets: `token` (bearer) or
`password` (basic). Cursor: the last filed body's `etag`, `last_modified` and `sha256` (its source id).
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from core.errors import BadInput
from ingest.formats import FORMATS
from jobs.connectors.base import Payload, RunContext, SourceFailed
from jobs.connectors.readable import check_lead_file

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
AUTH_KINDS = ("none", "bearer", "basic")


def validate_url(url: object, field: str = "url") -> str:
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise BadInput(f"{field} must be an http:// or https:// URL", field=field)
    return url


def http_status_message(status: int, what: str) -> SourceFailed:
    """Words an operator can act on for a failed HTTP answer."""
    if status in (401, 403):
        return SourceFailed(f"{what} answered {status}: check the job's credentials")
    if status == 404:
        return SourceFailed(f"{what} answered 404: check the job's URL", retry=False)
    if status == 429:
        return SourceFailed(f"{what} answered 429 (rate limited): retrying later with backoff")
    if status >= 500:
        return SourceFailed(f"{what} answered {status} (server error): retrying with backoff")
    return SourceFailed(f"{what} answered {status}: unexpected status")


def auth_for(config: dict[str, Any], secrets: dict[str, str]) -> tuple[dict[str, str], httpx.Auth | None]:
    kind = config.get("auth", "none")
    if kind == "bearer":
        return {"authorization": f"Bearer {secrets.get('token', '')}"}, None
    if kind == "basic":
        return {}, httpx.BasicAuth(config.get("username", ""), secrets.get("password", ""))
    return {}, None


class HttpFeed:
    def __init__(self, spool_dir: Path) -> None:
        self.spool_dir = spool_dir

    def validate(self, config: dict[str, Any], secrets: dict[str, str]) -> dict[str, Any]:
        clean = {"url": validate_url(config.get("url"))}
        fmt = config.get("format")
        if fmt not in (None, "", "auto", *FORMATS):
            raise BadInput(f"format {fmt!r} is not accepted; accepted: auto, {', '.join(FORMATS)}", field="format")
        clean["format"] = None if fmt in (None, "", "auto") else fmt
        clean["timeout_seconds"] = _positive(config.get("timeout_seconds", DEFAULT_TIMEOUT), "timeout_seconds")
        clean["max_bytes"] = int(_positive(config.get("max_bytes", DEFAULT_MAX_BYTES), "max_bytes"))
        auth = config.get("auth", "none")
        if auth not in AUTH_KINDS:
            raise BadInput(f"auth {auth!r} is not accepted; accepted: {', '.join(AUTH_KINDS)}", field="auth")
        clean["auth"] = auth
        if auth == "basic":
            clean["username"] = str(config.get("username") or "")
            if not clean["username"]:
                raise BadInput("basic auth needs a username (config.username) and a password (secrets.password)", field="username")
        return clean

    async def run(self, context: RunContext) -> None:
        config, cursor = context.job.config, context.job.cursor
        headers, auth = auth_for(config, context.secrets)
        if cursor.get("etag"):
            headers["if-none-match"] = cursor["etag"]
        if cursor.get("last_modified"):
            headers["if-modified-since"] = cursor["last_modified"]
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        path = self.spool_dir / f"feed-{uuid.uuid4().hex}.part"
        try:
            answer = await self._download(config, headers, auth, path)
            if answer is None:
                context.notes.append("the feed answered 304 Not Modified: nothing new")
                return
            digest, etag, modified = answer
            source_id = f"sha256:{digest}"
            if digest == cursor.get("sha256") or await context.filed_ids([source_id]):
                context.notes.append("the feed's content is unchanged since it was last filed")
                return
            fmt = check_lead_file(path, config.get("format"), "the feed's body")
            name = Path(urlsplit(config["url"]).path).name or "feed"
            filed = await context.file(Payload(filename=name, format=fmt, source_ids=[source_id], path=path,
                                               cursor={"etag": etag, "last_modified": modified, "sha256": digest}))
            if filed.batch["status"] != "committed":
                raise SourceFailed(f"the feed's file was refused: {filed.batch.get('error')}", retry=False)
        finally:
            path.unlink(missing_ok=True)

    async def _download(self, config: dict[str, Any], headers: dict[str, str], auth: httpx.Auth | None,
                        path: Path) -> tuple[str, str | None, str | None] | None:
        timeout, limit = config.get("timeout_seconds", DEFAULT_TIMEOUT), config.get("max_bytes", DEFAULT_MAX_BYTES)
        digest, size = hashlib.sha256(), 0
        try:
            async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:
                async with client.stream("GET", config["url"], headers=headers, auth=auth) as response:
                    if response.status_code == 304:
                        return None
                    if response.status_code != 200:
                        raise http_status_message(response.status_code, "the feed")
                    with open(path, "wb") as out:
                        async for block in response.aiter_bytes(1 << 20):
                            size += len(block)
                            if size > limit:
                                raise SourceFailed(f"the feed's body is larger than max_bytes ({limit} bytes); "
                                                   "raise the job's max_bytes if this is expected", retry=False)
                            digest.update(block)
                            out.write(block)
                    etag, modified = response.headers.get("etag"), response.headers.get("last-modified")
        except httpx.TimeoutException:
            raise SourceFailed(f"the feed did not answer within {timeout} s (timeout): retrying with backoff")
        except httpx.TransportError as error:
            raise SourceFailed(f"could not reach the feed ({error.__class__.__name__}): check the URL and the network")
        if size == 0:
            raise SourceFailed("the feed answered with an empty body", retry=False)
        return digest.hexdigest(), etag, modified


def _positive(value: Any, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1
    if number <= 0:
        raise BadInput(f"{field} must be a positive number (got {value!r})", field=field)
    return number
