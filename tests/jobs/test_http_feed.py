"""HTTP feeds against a real loopback server: conditional GET, auth, and sources that fail without changing anything."""

from __future__ import annotations

import hashlib
import http.server
import time
from typing import Any, Callable

import pytest

from tests.jobs.conftest import JobsEnv, LoopbackServer

FEED = "phone,category,reference\n13800138011,LOAN_INTERMEDIARY,r1\n13800138012,LOAN_INTERMEDIARY,r2\n".encode()
TOKEN = "s3cret-feed-token-xyz"


def feed_handler(body: bytes, seen: list[dict[str, Any]], *, status: int = 200, delay: float = 0.0,
                 token: str | None = None) -> type[http.server.BaseHTTPRequestHandler]:
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            seen.append({"if_none_match": self.headers.get("If-None-Match"), "authorization": self.headers.get("Authorization")})
            time.sleep(delay)
            if token is not None and self.headers.get("Authorization") != f"Bearer {token}":
                self._answer(401, b"unauthorized")
            elif status != 200:
                self._answer(status, b"oops")
            elif self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.end_headers()
            else:
                self._answer(200, body, {"ETag": etag})

        def _answer(self, code: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(code)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


async def test_feed_is_filed_then_a_304_files_nothing(jobs_env: JobsEnv, serve_http: Callable[..., LoopbackServer]) -> None:
    seen: list[dict[str, Any]] = []
    server = serve_http(feed_handler(FEED, seen, token=TOKEN))
    job = await jobs_env.create("feed", "http_feed", {"url": server.url + "/leads.csv", "auth": "bearer"},
                                secrets={"token": TOKEN})

    first = await jobs_env.run(job)
    second = await jobs_env.run(job)

    assert first["status"] == "succeeded" and first["accepted"] == 2, first
    assert second["status"] == "succeeded" and second["rows"] == 0
    assert any("304" in note for note in second["notes"])
    assert seen[1]["if_none_match"] is not None and seen[0]["authorization"] == f"Bearer {TOKEN}"
    assert await jobs_env.count("MATCH (l:Lead) RETURN count(l) AS n") == 2
    cursor = (await jobs_env.job(job["id"]))["cursor"]
    assert "etag" in cursor


async def test_the_token_is_stored_encrypted_and_never_read_back(jobs_env: JobsEnv) -> None:
    job = await jobs_env.create("feed", "http_feed", {"url": "http://127.0.0.1:9/x.csv", "auth": "bearer"},
                                secrets={"token": TOKEN})
    stored = await jobs_env.graph.read("MATCH (j:IngestJob {id: $id}) RETURN properties(j) AS p", {"id": job["id"]})

    assert TOKEN not in repr(stored) and TOKEN not in repr(job)
    assert job["secrets_set"] is True and job["secrets_enc"] is None


@pytest.mark.parametrize(("handler_options", "expected"), [
    ({"status": 500}, "answered 500 (server error)"),
    ({"token": "another-token"}, "answered 401: check the job's credentials"),
    ({"delay": 3.0}, "did not answer within 1.0 s (timeout)"),
    ({"body": b"<html><body>Service temporarily unavailable</body></html>"}, "has no column that names an identifier"),
    ({"body": b'[{"phone": "13800138011", "category": '}, "is not valid JSON"),
], ids=["http-500", "http-401", "timeout", "garbage-html", "truncated-json"])
async def test_a_failing_source_fails_the_run_with_its_reason_and_changes_nothing(
        jobs_env: JobsEnv, serve_http: Callable[..., LoopbackServer], handler_options: dict[str, Any], expected: str) -> None:
    body = handler_options.pop("body", FEED)
    server = serve_http(feed_handler(body, [], **handler_options))
    job = await jobs_env.create("feed", "http_feed", {"url": server.url + "/leads", "auth": "bearer", "timeout_seconds": 1},
                                secrets={"token": TOKEN})
    before = await jobs_env.snapshot()

    run = await jobs_env.run(job)

    assert run["status"] == "failed"
    assert expected in run["error"], run["error"]
    assert await jobs_env.snapshot() == before
    stored = await jobs_env.job(job["id"])
    assert stored["cursor"] == "{}" and stored["failures"] == 1


async def test_a_retryable_failure_schedules_a_retry_with_backoff(jobs_env: JobsEnv, serve_http: Callable[..., LoopbackServer]) -> None:
    server = serve_http(feed_handler(FEED, [], status=503))
    job = await jobs_env.create("feed", "http_feed", {"url": server.url + "/leads.csv"})

    await jobs_env.run(job)
    first = (await jobs_env.job(job["id"]))["retry_at"].to_native()
    await jobs_env.run(job)
    second = await jobs_env.job(job["id"])

    assert second["failures"] == 2
    assert (second["retry_at"].to_native() - first).total_seconds() > 50  # 60 s, then 120 s after the second failure
