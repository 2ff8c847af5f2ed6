"""Batch defaults on every upload entry point: HTTP (query or form fields), GraphQL, and `fenghuo upload`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
from typer.testing import CliRunner

from api.cli import app
from graph.database import Graph
from tests.conftest import ServerThread
from tests.support import gql, issue_key

NO_CATEGORY = "手机号,备注\n13800138000,from the export\n13900139000,\n".encode()
BATCH_DEFAULTS = "defaults { category categoryLabel tlp confidence observedAt agent }"


async def _finished(api: httpx.AsyncClient, token: str, batch_id: str) -> dict:
    """The batch once committed and aggregated (or failed), polled without holding a request open."""
    for _ in range(1200):
        batch = (await api.get(f"/v1/batches/{batch_id}", headers={"authorization": f"Bearer {token}"})).json()
        if batch["status"] == "failed" or batch["checks_ready"]:
            return batch
        await asyncio.sleep(0.25)
    raise AssertionError(f"batch {batch_id} did not finish")


async def _leads(graph: Graph, batch_id: str) -> list[tuple[str, str, float]]:
    rows = await graph.read("MATCH (l:Lead {batch_id: $id}) RETURN l.category AS c, l.tlp AS t, l.confidence AS f "
                            "ORDER BY l.seq", {"id": batch_id})
    return [(r["c"], r["t"], r["f"]) for r in rows]


async def test_http_raw_upload_takes_defaults_from_query_parameters(api: httpx.AsyncClient, graph: Graph) -> None:
    token = await issue_key(graph, "ACME", "uploader")
    response = await api.post("/v1/batches", content=NO_CATEGORY, headers={"authorization": f"Bearer {token}"},
                              params={"filename": "x.csv", "category": "贷款中介", "tlp": "GREEN",
                                      "confidence": "0.8", "observed_at": "2026-11-30", "agent": "老王"})
    batch = await _finished(api, token, response.json()["batch"]["id"])
    assert batch["status"] == "committed" and batch["accepted"] == 2, batch
    assert batch["defaults"] == {"category": "LOAN_INTERMEDIARY", "tlp": "GREEN", "confidence": 0.8,
                                 "observed_at": "2026-11-29T16:00:00+00:00", "agent": "老王"}
    assert await _leads(graph, batch["id"]) == [("LOAN_INTERMEDIARY", "GREEN", 0.8)] * 2
    report = (await api.get(f"/v1/batches/{batch['id']}/report.json", headers={"authorization": f"Bearer {token}"})).json()
    assert report["batch"]["defaults"]["category"] == "LOAN_INTERMEDIARY"


async def test_http_multipart_upload_takes_defaults_from_form_fields(api: httpx.AsyncClient, graph: Graph) -> None:
    token = await issue_key(graph, "ACME", "uploader")
    response = await api.post("/v1/batches", headers={"authorization": f"Bearer {token}"},
                              data={"category": "MONEY_MULE", "tlp": "RED"},
                              files={"file": ("x.csv", NO_CATEGORY, "text/csv")})
    batch = await _finished(api, token, response.json()["batch"]["id"])
    assert batch["accepted"] == 2 and batch["defaults"] == {"category": "MONEY_MULE", "tlp": "RED"}
    assert await _leads(graph, batch["id"]) == [("MONEY_MULE", "RED", 0.7)] * 2


async def test_http_bad_default_is_refused_with_what_is_accepted_and_writes_nothing(
        api: httpx.AsyncClient, graph: Graph) -> None:
    token = await issue_key(graph, "ACME", "uploader")
    response = await api.post("/v1/batches", content=NO_CATEGORY, headers={"authorization": f"Bearer {token}"},
                              params={"filename": "x.csv", "category": "诈骗"})
    error = response.json()["errors"][0]
    assert response.status_code == 400 and error["extensions"] == {"code": "BAD_USER_INPUT", "field": "category"}
    assert "贷款中介" in error["message"]
    response = await api.post("/v1/batches", content=NO_CATEGORY, headers={"authorization": f"Bearer {token}"},
                              params={"filename": "x.csv", "category": "中介", "confidence": "2"})
    assert response.status_code == 400 and "outside 0–1" in response.json()["errors"][0]["message"]
    assert await graph.read("MATCH (b:Batch) RETURN b") == []


async def test_graphql_upload_takes_a_defaults_input(api: httpx.AsyncClient, graph: Graph) -> None:
    token = await issue_key(graph, "ACME", "uploader")
    operations = {"query": "mutation($file: Upload!, $d: BatchDefaultsInput) { uploadLeadBatch(file: $file, "
                           f"defaults: $d) {{ batch {{ id status accepted {BATCH_DEFAULTS} }} }} }}",
                  "variables": {"file": None, "d": {"category": "中介", "confidence": "高", "agent": "A团伙"}}}
    response = await api.post("/graphql", headers={"authorization": f"Bearer {token}"},
                              data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
                              files={"0": ("x.csv", NO_CATEGORY, "text/csv")})
    batch_id = response.json()["data"]["uploadLeadBatch"]["batch"]["id"]
    assert (await _finished(api, token, batch_id))["accepted"] == 2
    batch = (await gql(api, f"query($id: String!) {{ batch(id: $id) {{ id {BATCH_DEFAULTS} }} }}", token, id=batch_id))["data"]["batch"]
    assert batch["defaults"] == {
        "category": "LOAN_INTERMEDIARY", "categoryLabel": "贷款中介", "tlp": None, "confidence": 0.9, "observedAt": None, "agent": "A团伙"}
    assert await _leads(graph, batch["id"]) == [("LOAN_INTERMEDIARY", "AMBER", 0.9)] * 2


async def test_graphql_submit_leads_takes_defaults_and_refuses_a_bad_one(api: httpx.AsyncClient, graph: Graph) -> None:
    token = await issue_key(graph, "ACME", "uploader")
    mutation = f"""mutation($leads: [LeadInput!]!, $d: BatchDefaultsInput) {{ submitLeads(leads: $leads, defaults: $d) {{
        batch {{ id accepted {BATCH_DEFAULTS} }} rows {{ status }} }} }}"""
    leads = [{"identifiers": [{"type": "PHONE", "value": "13800138000"}]}]
    body = await gql(api, mutation, token, leads=leads, d={"category": "设备农场", "tlp": "CLEAR"})
    result = body["data"]["submitLeads"]
    assert result["rows"] == [{"status": "ACCEPTED"}] and result["batch"]["defaults"]["category"] == "DEVICE_FARM"
    assert await _leads(graph, result["batch"]["id"]) == [("DEVICE_FARM", "CLEAR", 0.7)]
    bad = await gql(api, mutation, token, leads=leads, d={"category": "不存在的类别", "tlp": "CLEAR"})
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT" and "LOAN_INTERMEDIARY" in bad["errors"][0]["message"]
    purple = await gql(api, mutation, token, leads=leads, d={"category": "中介", "tlp": "PURPLE"})
    assert "PURPLE" in purple["errors"][0]["message"] and purple["data"] is None  # the Tlp enum refuses it


async def test_cli_upload_passes_its_default_options(api: httpx.AsyncClient, api_server: ServerThread, graph: Graph,
                                                     tmp_path: Path) -> None:
    token = await issue_key(graph, "ACME", "uploader", "analyst")
    path = tmp_path / "phones.csv"
    path.write_bytes(NO_CATEGORY)
    result = CliRunner().invoke(app, ["upload", str(path), "--category", "贷款中介", "--tlp", "AMBER", "--confidence", "0.8",
                                      "--observed-at", "2026-11-30", "--agent", "X", "--json",
                                      "--url", api_server.url, "--key", token])
    assert result.exit_code == 0, result.output
    batch = json.loads(result.stdout)["batch"]
    assert batch["accepted"] == 2 and batch["defaults"]["category"] == "LOAN_INTERMEDIARY"
    assert await _leads(graph, batch["id"]) == [("LOAN_INTERMEDIARY", "AMBER", 0.8)] * 2
