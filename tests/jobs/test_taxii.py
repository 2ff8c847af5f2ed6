"""TAXII 2.1 collections against medallion (the OASIS reference server) on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.jobs.conftest import JobsEnv, reference_dir
from tests.jobs.taxii_server import PASSWORD, USER, Medallion, indicator, store

LEADS = "MATCH (l:Lead) RETURN count(l) AS n"


def phones(first: int, count: int) -> list[dict]:
    return [indicator(n, f"[x-fenghuo-phone:value = '1380013{n:04d}']") for n in range(first, first + count)]


async def _job(env: JobsEnv, server: Medallion, **config) -> dict:
    return await env.create("taxii", "taxii", {"collection_url": server.collection_url(), "username": USER,
                                               "page_size": 100, **config},
                            secrets={"password": PASSWORD}, defaults={"category": "DEVICE_FARM"})


async def test_collection_is_paged_from_the_cursor_and_each_indicator_filed_once(jobs_env: JobsEnv, tmp_path: Path) -> None:
    data = tmp_path / "store.json"
    data.write_text(json.dumps(store(phones(1, 250))))
    with Medallion(data, tmp_path) as server:
        job = await _job(jobs_env, server)
        first = await jobs_env.run(job)
        again = await jobs_env.run(job)
        server.add(phones(1000, 30))
        later = await jobs_env.run(job)

    assert (first["status"], first["accepted"], first["items"]) == ("succeeded", 250, 250), first
    assert again["status"] == "succeeded" and again["rows"] == 0
    assert (later["status"], later["accepted"]) == ("succeeded", 30), later
    assert await jobs_env.count(LEADS) == 280
    assert await jobs_env.count("MATCH (l:Lead) WHERE l.category <> 'DEVICE_FARM' RETURN count(l) AS n") == 0
    assert json.loads((await jobs_env.job(job["id"]))["cursor"])["added_after"].startswith("20")


async def test_a_malformed_object_is_reported_and_the_rest_ingested(jobs_env: JobsEnv, tmp_path: Path) -> None:
    objects = phones(1, 3)
    objects.insert(1, indicator(99, "[ipv4-addr:value = "))  # a broken pattern
    data = tmp_path / "store.json"
    data.write_text(json.dumps(store(objects)))
    with Medallion(data, tmp_path) as server:
        run = await jobs_env.run(await _job(jobs_env, server))

    assert (run["status"], run["accepted"], run["rejected"]) == ("succeeded", 3, 1), run
    report = await jobs_env.graph.read("MATCH (b:Batch) RETURN b.id AS id")
    from graph.batches import report as batch_report

    rows = await batch_report(jobs_env.graph, report[0]["id"])
    assert [row["line"] for row in rows if row["status"] == "rejected"] == [3]


async def test_wrong_credentials_fail_the_run_with_words_to_act_on(jobs_env: JobsEnv, tmp_path: Path) -> None:
    data = tmp_path / "store.json"
    data.write_text(json.dumps(store(phones(1, 3))))
    with Medallion(data, tmp_path) as server:
        job = await jobs_env.create("taxii", "taxii", {"collection_url": server.collection_url(), "username": USER},
                                    secrets={"password": "wrong"}, defaults={"category": "DEVICE_FARM"})
        before = await jobs_env.snapshot()
        run = await jobs_env.run(job)

    assert run["status"] == "failed"
    assert "TAXII server answered 401: check the job's credentials" in run["error"]
    assert await jobs_env.snapshot() == before


async def test_reference_medallion_data_is_served_and_its_url_indicator_filed(jobs_env: JobsEnv, tmp_path: Path) -> None:
    reference = reference_dir()
    if reference is None or not (reference / "stix" / "medallion_default_data.json").exists():
        pytest.skip("shared/reference/stix/medallion_default_data.json is not on this machine")
    with Medallion(reference / "stix" / "medallion_default_data.json", tmp_path) as server:
        job = await jobs_env.create("taxii-ref", "taxii", {
            "collection_url": server.collection_url("trustgroup1", "91a7b528-80eb-42ed-a74d-c6fbd5a26116"),
            "username": USER}, secrets={"password": PASSWORD}, defaults={"category": "FAKE_LOAN_APP"})
        run = await jobs_env.run(job)

    # TAXII answers the latest version of each object: the url indicator (3 versions) once, the file-hash one
    # names no identifier Fenghuo shares and is rejected with that reason.
    assert (run["status"], run["accepted"], run["rejected"]) == ("succeeded", 1, 1), run
    masked = await jobs_env.graph.read("MATCH (l:Lead)-[:NAMES]->(i:Indicator) RETURN i.type AS type")
    assert masked == [{"type": "url"}]
