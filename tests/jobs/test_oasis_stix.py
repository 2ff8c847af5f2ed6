"""The OASIS STIX 2.1 examples (shared/reference/stix, read in place) fed as STIX over an HTTP feed."""

from __future__ import annotations

import json
from typing import Callable

import pytest

from graph.batches import report as batch_report
from tests.jobs.conftest import JobsEnv, LoopbackServer, directory_handler, reference_dir


def _stix_dir():
    reference = reference_dir()
    if reference is None or not (reference / "stix" / "poisonivy.json").exists():
        pytest.skip("shared/reference/stix is not on this machine")
    return reference / "stix"


async def _feed(env: JobsEnv, url: str) -> dict:
    job = await env.create("oasis", "http_feed", {"url": url, "format": "stix"}, defaults={"category": "FAKE_LOAN_APP"})
    return await env.run(job)


async def test_poisonivy_compound_or_patterns_file_their_ipv4_and_domain_values(
        jobs_env: JobsEnv, serve_http: Callable[..., LoopbackServer]) -> None:
    server = serve_http(directory_handler(_stix_dir()))

    run = await _feed(jobs_env, server.url + "/poisonivy.json")

    values = await jobs_env.graph.read("MATCH (:Lead)-[:NAMES]->(i:Indicator) RETURN i.type AS type, count(DISTINCT i) AS n ORDER BY type")
    print("poisonivy:", run["rows"], "rows", run["accepted"], "accepted", run["rejected"], "rejected", values)
    assert run["status"] == "succeeded"
    # 25 distinct domain values, one of them malformed in the source ('domain autuo.xicp.net') and refused
    assert {row["type"]: row["n"] for row in values} == {"domain": 24, "ip": 18}
    assert (run["accepted"], run["rejected"]) == (23, 2)  # the two file:name indicators name no identifier


async def test_apt1_cidr_ranges_are_rejected_rows_with_the_reason(jobs_env: JobsEnv, serve_http: Callable[..., LoopbackServer]) -> None:
    stix = _stix_dir()
    cidr_lines = [n + 2 for n, obj in enumerate(json.loads((stix / "apt1.json").read_text())["objects"])
                  if obj.get("type") == "indicator" and "/" in obj.get("pattern", "").split("value")[-1]]
    server = serve_http(directory_handler(stix))

    run = await _feed(jobs_env, server.url + "/apt1.json")

    rows = [row for batch_id in run["batch_ids"] for row in await batch_report(jobs_env.graph, batch_id)]
    rejected = {row["line"]: row for row in rows if row["status"] == "rejected"}
    print("apt1:", run["rows"], "rows", run["accepted"], "accepted", run["rejected"], "rejected;",
          {line: [e["message"][:80] for e in row["errors"]] for line, row in rejected.items()})
    assert run["status"] == "succeeded" and len(cidr_lines) == 4
    assert set(cidr_lines) <= set(rejected)
    assert run["accepted"] == 3  # the three domain-name indicators
