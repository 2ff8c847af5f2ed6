"""The request time limit (api/deadlines.py): one timer per event loop instead of one per request."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from api.deadlines import Deadlines
from api.middleware import GuardMiddleware
from core.settings import Settings


async def test_a_call_past_its_deadline_gets_timeout_error_within_a_tick() -> None:
    deadlines = Deadlines(0.2, tick=0.05)
    began = time.monotonic()
    with pytest.raises(TimeoutError):
        await deadlines.run(asyncio.sleep(5))
    took = time.monotonic() - began
    assert 0.2 <= took < 0.2 + 0.05 + 0.2  # the limit, a tick, and slack for a loaded machine
    assert asyncio.current_task().cancelling() == 0  # the cancellation is undone: the task goes on normally
    await asyncio.sleep(0.01)


async def test_calls_within_the_limit_run_to_the_end_and_only_the_slow_one_times_out() -> None:
    deadlines = Deadlines(0.3, tick=0.05)
    finished: list[str] = []

    async def call(name: str, seconds: float) -> str:
        async def work() -> None:
            await asyncio.sleep(seconds)
            finished.append(name)
        try:
            await deadlines.run(work())
            return "done"
        except TimeoutError:
            return "timeout"

    # the slow call starts first: the quick ones behind it are not cut off with it
    outcomes = await asyncio.gather(call("slow", 2), call("quick", 0.05), call("medium", 0.15))
    assert outcomes == ["timeout", "done", "done"]
    assert finished == ["quick", "medium"]
    assert deadlines._running == {} and deadlines._expired == set()


async def test_a_cancel_from_elsewhere_stays_a_cancel() -> None:
    deadlines = Deadlines(5, tick=0.05)
    task = asyncio.create_task(deadlines.run(asyncio.sleep(5)))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert deadlines._running == {}


async def test_the_guard_answers_504_for_a_slow_request_and_serves_the_next() -> None:
    async def app(scope, receive, send) -> None:
        await receive()
        if scope["path"] == "/slow":
            await asyncio.sleep(10)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    settings = Settings(request_timeout_seconds=0.3, demo_seed=False, _env_file=None)
    guard = GuardMiddleware(app, settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guard), base_url="http://test") as client:
        began = time.monotonic()
        slow = await client.get("/slow")
        took = time.monotonic() - began
        fast = await client.get("/fast")
    assert slow.status_code == 504
    assert slow.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"
    assert 0.3 <= took < 2
    assert fast.status_code == 200 and fast.text == "ok"
