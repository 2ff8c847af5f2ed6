"""Batch defaults through the pipeline: recorded on the Batch, applied to rows, part of the batch's identity;
the OASIS STIX example bundles (which name none of our categories) filed under a default category."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import AsyncIterator

import pytest

from access.principal import Principal, Role
from audit.log import AuditLog
from graph.database import Graph
from ingest.defaults import BatchDefaults, defaults_of
from ingest.pipeline import BatchRunner, UploadRequest, copy_file_chunks
from tests.support import TEST_KEY, add_member

UPLOADER = Principal(id="key:uploader", member_code="ACME", roles=frozenset({Role.UPLOADER}))
REPO = Path(__file__).resolve().parents[2]
REFERENCE = next((p for p in (REPO.parent / "shared" / "reference", Path("/work/shared/reference")) if p.is_dir()), None)
EQUALITY = re.compile(r"(ipv4-addr|domain-name):value\s*=\s*'((?:[^'\\]|\\.)*)'")
INDICATORS_BY_TYPE = """
MATCH (:Lead {batch_id: $id})-[:NAMES]->(i:Indicator)
RETURN i.type AS type, count(DISTINCT i) AS n
"""


@pytest.fixture
async def runner(graph: Graph, tmp_path: Path) -> AsyncIterator[BatchRunner]:
    await add_member(graph, "ACME")
    audit = AuditLog(graph)
    yield BatchRunner(graph, audit, TEST_KEY, tmp_path / "spool")
    await audit.close()


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


async def test_defaults_are_recorded_on_the_batch_and_applied_to_rows_without_values(
        runner: BatchRunner, graph: Graph, tmp_path: Path) -> None:
    path = _csv(tmp_path / "phones.csv", "手机号,置信度\n13800138000,\n13900139000,0.3\n")
    defaults = BatchDefaults.parse(category="贷款中介", tlp="GREEN", confidence="0.8", observed_at="2026-11-30", agent="老王")
    outcome = await runner.submit_file(UPLOADER, copy_file_chunks(path), UploadRequest(filename=path.name), wait=True,
                                       defaults=defaults)
    batch = outcome.batch
    assert batch["status"] == "committed" and batch["accepted"] == 2
    recorded = defaults_of(batch)
    assert {k: v for k, v in recorded.items() if k != "observed_at"} == {
        "category": "LOAN_INTERMEDIARY", "tlp": "GREEN", "confidence": 0.8, "agent": "老王"}
    assert recorded["observed_at"].to_native() == defaults.observed_at
    leads = await graph.read("MATCH (l:Lead {batch_id: $id})-[:OPERATED_BY]->(a:Agent) "
                             "RETURN l.category AS category, l.tlp AS tlp, l.confidence AS confidence, "
                             "l.observed_at AS observed_at, a.label AS agent ORDER BY l.seq", {"id": batch["id"]})
    assert [(r["category"], r["tlp"], r["confidence"], r["agent"]) for r in leads] == [
        ("LOAN_INTERMEDIARY", "GREEN", 0.8, "老王"), ("LOAN_INTERMEDIARY", "GREEN", 0.3, "老王")]
    assert {r["observed_at"].to_native() for r in leads} == {defaults.observed_at}


async def test_a_file_without_category_column_and_no_default_fails_naming_the_default(
        runner: BatchRunner, tmp_path: Path) -> None:
    path = _csv(tmp_path / "phones.csv", "手机号\n13800138000\n")
    outcome = await runner.submit_file(UPLOADER, copy_file_chunks(path), UploadRequest(filename=path.name), wait=True)
    assert outcome.batch["status"] == "failed" and "default category" in outcome.batch["error"]


async def test_the_same_file_with_other_defaults_is_another_batch(runner: BatchRunner, tmp_path: Path) -> None:
    path = _csv(tmp_path / "phones.csv", "手机号\n13800138000\n")
    loans = BatchDefaults.parse(category="贷款中介")
    first = await runner.submit_file(UPLOADER, copy_file_chunks(path), UploadRequest(), wait=True, defaults=loans)
    again = await runner.submit_file(UPLOADER, copy_file_chunks(path), UploadRequest(), wait=True, defaults=loans)
    other = await runner.submit_file(UPLOADER, copy_file_chunks(path), UploadRequest(), wait=True,
                                     defaults=BatchDefaults.parse(category="跑分"))
    assert first.created and not again.created and again.batch["id"] == first.batch["id"]
    assert other.created and other.batch["id"] != first.batch["id"] and other.batch["default_category"] == "MONEY_MULE"


async def test_submitted_leads_take_the_calls_defaults(runner: BatchRunner, graph: Graph) -> None:
    outcome = await runner.submit_leads(UPLOADER, [{"phone": "13800138000"}, {"phone": "13900139000", "category": "跑分"}],
                                        idempotency_key=None, defaults=BatchDefaults.parse(category="中介", tlp="RED"))
    assert outcome.batch["accepted"] == 2 and outcome.batch["default_tlp"] == "RED"
    rows = await graph.read("MATCH (l:Lead {batch_id: $id}) RETURN l.category AS c, l.tlp AS t ORDER BY l.seq",
                            {"id": outcome.batch["id"]})
    assert [(r["c"], r["t"]) for r in rows] == [("LOAN_INTERMEDIARY", "RED"), ("MONEY_MULE", "RED")]


def _pattern_values(bundle: Path) -> dict[str, set[str]]:
    """Every `=` value of ipv4-addr and domain-name the bundle's indicator patterns name, read independently."""
    found: dict[str, set[str]] = {"ip": set(), "domain": set()}
    for obj in json.loads(bundle.read_text(encoding="utf-8"))["objects"]:
        if obj["type"] == "indicator" and obj.get("pattern_type", "stix") == "stix":
            for kind, value in EQUALITY.findall(obj["pattern"]):
                found["ip" if kind == "ipv4-addr" else "domain"].add(value.strip().lower())
    return found


@pytest.mark.skipif(REFERENCE is None, reason="the shared reference files (../shared/reference) are absent")
async def test_poisonivy_bundle_with_a_default_category_files_every_ip_and_domain_its_patterns_name(
        runner: BatchRunner, graph: Graph) -> None:
    assert REFERENCE is not None
    bundle = REFERENCE / "stix" / "poisonivy.json"
    expected = _pattern_values(bundle)
    # What SOURCES.md states; a domain written with a space ('domain autuo.xicp.net') is not a domain name.
    assert (len(expected["ip"]), len(expected["domain"])) == (18, 25)
    valid_domains = {d for d in expected["domain"] if " " not in d}
    without = await runner.submit_file(UPLOADER, copy_file_chunks(bundle), UploadRequest(filename=bundle.name), wait=True)
    assert without.batch["accepted"] == 0  # none of our categories in the bundle
    outcome = await runner.submit_file(UPLOADER, copy_file_chunks(bundle), UploadRequest(filename=bundle.name), wait=True,
                                       defaults=BatchDefaults.parse(category="FAKE_LOAN_APP"))
    batch = outcome.batch
    assert batch["status"] == "committed" and batch["id"] != without.batch["id"]
    counts = {r["type"]: r["n"] for r in await graph.read(INDICATORS_BY_TYPE, {"id": batch["id"]})}
    assert counts == {"ip": len(expected["ip"]), "domain": len(valid_domains)}
    stix_rows = 25 - 2  # two indicators name only file:name, which is no identifier of ours
    assert batch["accepted"] + batch["duplicate"] == stix_rows and batch["rejected"] == 2


@pytest.mark.skipif(REFERENCE is None, reason="the shared reference files (../shared/reference) are absent")
async def test_apt1_bundle_with_a_default_category_files_its_domains_and_refuses_cidr_ranges(
        runner: BatchRunner, graph: Graph) -> None:
    assert REFERENCE is not None
    bundle = REFERENCE / "stix" / "apt1.json"
    expected = _pattern_values(bundle)
    outcome = await runner.submit_file(UPLOADER, copy_file_chunks(bundle), UploadRequest(filename=bundle.name), wait=True,
                                       defaults=BatchDefaults.parse(category="冒充客服"))
    counts = {r["type"]: r["n"] for r in await graph.read(INDICATORS_BY_TYPE, {"id": outcome.batch["id"]})}
    assert all("/" in ip for ip in expected["ip"])  # CIDR ranges name no single address
    assert counts == {"domain": len(expected["domain"])}
