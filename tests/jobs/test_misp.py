"""MISP feeds (manifest.json + one JSON per event) served over loopback HTTP."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.jobs.conftest import JobsEnv, LoopbackServer, directory_handler, reference_dir

LEADS = "MATCH (l:Lead) RETURN count(l) AS n"


def attribute(uuid: str, type_: str, value: str, **extra: Any) -> dict[str, Any]:
    return {"uuid": uuid, "type": type_, "value": value, "to_ids": True, "distribution": "5", "timestamp": "1700000000",
            **extra}


def event(uuid: str, attributes: list[dict[str, Any]], objects: list[dict[str, Any]] | None = None, *,
          timestamp: int = 1700000000, tags: list[str] | None = None) -> dict[str, Any]:
    return {"Event": {"uuid": uuid, "info": "test event", "date": "2026-10-01", "timestamp": str(timestamp),
                      "distribution": "1", "Tag": [{"name": t} for t in tags or []],
                      "Attribute": attributes, "Object": objects or []}}


def write_feed(folder: Path, events: list[dict[str, Any]]) -> None:
    folder.mkdir(exist_ok=True)
    manifest = {}
    for item in events:
        body = item["Event"]
        (folder / f"{body['uuid']}.json").write_text(json.dumps(item), encoding="utf-8")
        manifest[body["uuid"]] = {"info": body["info"], "date": body["date"], "timestamp": int(body["timestamp"])}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


async def _job(env: JobsEnv, url: str) -> dict[str, Any]:
    return await env.create("misp", "misp_feed", {"url": url}, defaults={"category": "FAKE_LOAN_APP"})


async def test_feed_maps_attributes_and_objects_and_counts_the_rest(jobs_env: JobsEnv, tmp_path: Path,
                                                                    serve_http: Callable[..., LoopbackServer]) -> None:
    feed = tmp_path / "feed"
    write_feed(feed, [event("e1", [
        attribute("a1", "domain", "bad-loans.example.cn"),
        attribute("a2", "ip-dst", "47.96.1.7", Tag=[{"name": "tlp:red"}]),
        attribute("a3", "phone-number", "+86 138 0013 8000", to_ids=False),
        attribute("a4", "sha256", "ab" * 32),
        attribute("a5", "x-unknown-type", "whatever"),
    ], [{"name": "domain-ip", "Attribute": [attribute("o1", "domain", "cdn.bad-loans.example.cn"),
                                             attribute("o2", "ip-src", "116.62.8.9")]}], tags=["tlp:green"])])
    server = serve_http(directory_handler(feed))

    run = await jobs_env.run(await _job(jobs_env, server.url + "/"))

    assert (run["status"], run["accepted"], run["rejected"]) == ("succeeded", 5, 0), run
    assert any("sha256 1" in note and "x-unknown-type 1" in note for note in run["notes"]), run["notes"]
    leads = await jobs_env.graph.read(
        "MATCH (l:Lead)-[:NAMES]->(i:Indicator) RETURN l.reference AS ref, l.tlp AS tlp, l.confidence AS confidence, "
        "i.type AS type ORDER BY ref")
    assert [(r["ref"], r["type"], r["tlp"]) for r in leads] == [
        ("a1", "domain", "GREEN"), ("a2", "ip", "RED"), ("a3", "phone", "GREEN"), ("o1", "domain", "GREEN"), ("o2", "ip", "GREEN")]
    assert {r["ref"]: r["confidence"] for r in leads}["a3"] == pytest.approx(0.4)  # to_ids false: context only


async def test_only_new_or_changed_events_are_read_and_no_attribute_is_filed_twice(
        jobs_env: JobsEnv, tmp_path: Path, serve_http: Callable[..., LoopbackServer]) -> None:
    feed = tmp_path / "feed"
    one = event("e1", [attribute("a1", "domain", "one.example.cn")])
    two = event("e2", [attribute("b1", "domain", "two.example.cn")])
    write_feed(feed, [one, two])
    server = serve_http(directory_handler(feed))
    job = await _job(jobs_env, server.url)
    first = await jobs_env.run(job)

    changed = event("e2", [attribute("b1", "domain", "two.example.cn"), attribute("b2", "url", "http://two.example.cn/app")],
                    timestamp=1700009999)
    write_feed(feed, [one, changed])
    (feed / "e1.json").write_text("this event must not be fetched again", encoding="utf-8")
    second = await jobs_env.run(job)

    assert first["accepted"] == 2 and second["status"] == "succeeded", second
    assert second["accepted"] == 1 and second["items"] == 1
    assert await jobs_env.count(LEADS) == 3
    assert json.loads((await jobs_env.job(job["id"]))["cursor"]) == {"e1": 1700000000, "e2": 1700009999}


async def test_an_event_that_is_not_json_fails_the_run_and_changes_nothing(
        jobs_env: JobsEnv, tmp_path: Path, serve_http: Callable[..., LoopbackServer]) -> None:
    feed = tmp_path / "feed"
    write_feed(feed, [event("e1", [attribute("a1", "domain", "one.example.cn")])])
    (feed / "e1.json").write_text("<html>gateway error</html>", encoding="utf-8")
    server = serve_http(directory_handler(feed))
    job = await _job(jobs_env, server.url)
    before = await jobs_env.snapshot()

    run = await jobs_env.run(job)

    assert run["status"] == "failed" and "event e1 is not valid JSON" in run["error"]
    assert await jobs_env.snapshot() == before


async def test_cert_fr_feed_ingests_every_domain_ip_url_and_email_attribute(
        jobs_env: JobsEnv, tmp_path: Path, serve_http: Callable[..., LoopbackServer]) -> None:
    reference = reference_dir()
    if reference is None or not (reference / "misp_feed_anssi" / "manifest.json").exists():
        pytest.skip("shared/reference/misp_feed_anssi is not on this machine")
    feed = reference / "misp_feed_anssi"
    expected: Counter[str] = Counter()
    wanted = {"domain": "domain", "ip-dst": "ip", "ip-src": "ip", "url": "url", "email-src": "email"}
    for path in feed.glob("*-*.json"):
        body = json.loads(path.read_text(encoding="utf-8"))["Event"]
        for item in [*body.get("Attribute", []), *(a for o in body.get("Object", []) for a in o.get("Attribute", []))]:
            if item["type"] in wanted:
                expected[wanted[item["type"]]] += 1
    server = serve_http(directory_handler(feed))

    run = await jobs_env.run(await _job(jobs_env, server.url))

    filed = await jobs_env.graph.read(
        "MATCH (l:Lead)-[:NAMES]->(i:Indicator) RETURN i.type AS type, count(DISTINCT l) AS leads ORDER BY type")
    print("CERT-FR feed:", run["rows"], "rows", run["accepted"], "accepted", run["rejected"], "rejected;",
          {r["type"]: r["leads"] for r in filed}, "expected", dict(expected), run["notes"])
    assert run["status"] == "succeeded", run["error"]
    assert run["rejected"] == 0
    assert {r["type"]: r["leads"] for r in filed} == dict(expected)
