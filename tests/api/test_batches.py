"""Lead batches through the API: POST /v1/batches, GraphQL multipart upload, submitLeads, batch(id)."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import httpx
import openpyxl

from graph.database import Graph
from ingest import demo
from tests.support import gql, issue_key

BATCH = ("query($id: String!) { batch(id: $id) { id status accepted rejected rowsTotal progress "
         "report(first: 5) { line status errors { field message } warnings { field message } } } }")


async def _wait_committed(api: httpx.AsyncClient, token: str, batch_id: str) -> dict:
    for _ in range(600):
        body = (await api.get(f"/v1/batches/{batch_id}", headers={"authorization": f"Bearer {token}"})).json()
        if body["status"] == "failed" or body["checks_ready"]:
            return body
        await asyncio.sleep(0.2)
    raise AssertionError("batch did not finish")


async def test_a_10000_row_upload_over_http(api: httpx.AsyncClient, graph: Graph, tmp_path: Path) -> None:
    token = await issue_key(graph, "ACME", "uploader")
    path = tmp_path / "leads.csv"
    stats = demo.generate(path, 10_000, seed=9)
    response = await api.post("/v1/batches", params={"filename": path.name}, content=path.read_bytes(),
                              headers={"authorization": f"Bearer {token}"})
    assert response.status_code in (200, 202), response.text
    batch = await _wait_committed(api, token, response.json()["batch"]["id"])
    assert batch["status"] == "committed" and batch["checks_ready"] and batch["rows_total"] == 10_000
    assert batch["rejected"] + batch["skipped"] + batch["duplicate"] >= stats.dirty_rows // 2
    stored = await graph.read("MATCH (l:Lead {batch_id: $id}) RETURN count(l) AS n", {"id": batch["id"]})
    assert stored[0]["n"] == batch["accepted"]
    report = await api.get(f"/v1/batches/{batch['id']}/report.csv", headers={"authorization": f"Bearer {token}"})
    assert report.status_code == 200 and report.text.startswith("\ufeffline,status,kind,field,message,where")


async def test_graphql_multipart_upload_of_an_xlsx_file(api: httpx.AsyncClient, graph: Graph) -> None:
    token = await issue_key(graph, "ACME", "uploader")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["手机号", "黑产类型", "发现时间"])
    sheet.append([13800138000, "反催收", "2024-05-03"])
    sheet.append(["1.38001E+10", "反催收", "2024-05-03"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    operations = {"query": "mutation($file: Upload!) { uploadLeadBatch(file: $file, wait: true) { created batch { id status accepted rejected } } }",
                  "variables": {"file": None}}
    response = await api.post(
        "/graphql", headers={"authorization": f"Bearer {token}"},
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("leads.xlsx", buffer.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")},
    )
    body = response.json()
    assert body.get("errors") is None, body
    batch = body["data"]["uploadLeadBatch"]["batch"]
    assert (batch["status"], batch["accepted"], batch["rejected"]) == ("COMMITTED", 1, 1)
    detail = await gql(api, BATCH, token, id=batch["id"])
    rejected = detail["data"]["batch"]["report"][0]
    messages = [issue["message"] for issue in rejected["errors"] + rejected["warnings"]]
    assert rejected["line"] == 3 and any("lost digits" in m for m in messages), messages


async def test_a_stix_bundle_over_http(api: httpx.AsyncClient, graph: Graph) -> None:
    token = await issue_key(graph, "ACME", "uploader")
    bundle = {
        "type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": [{
            "type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2024-05-03T00:00:00Z", "modified": "2024-05-03T00:00:00Z", "valid_from": "2024-05-03T00:00:00Z",
            "pattern_type": "stix", "pattern": "[domain-name:value = 'fake-loan.example.cn']",
            "labels": ["FAKE_LOAN_APP"], "confidence": 80,
        }],
    }
    response = await api.post("/v1/batches", params={"filename": "intel.json", "wait": "true"},
                              content=json.dumps(bundle).encode(), headers={"authorization": f"Bearer {token}"})
    batch = response.json()["batch"]
    assert batch["format"] == "stix" and batch["accepted"] == 1, batch
    stored = await graph.read("MATCH (i:Indicator {type: 'domain'}) RETURN i.masked AS masked")
    assert stored == [{"masked": "fake-loan.example.cn"}]


async def test_submit_leads_over_graphql(api: httpx.AsyncClient, graph: Graph) -> None:
    token = await issue_key(graph, "ACME", "uploader")
    mutation = """mutation($leads: [LeadInput!]!) { submitLeads(leads: $leads, idempotencyKey: "engine-42") {
        created batch { status accepted } rows { line status errors { message } } } }"""
    leads = [{"category": "中介", "identifiers": [{"type": "PHONE", "value": "+86 135-1000-1234"}, {"type": "DEVICE", "value": "867530021234561"}]},
             {"category": "中介", "identifiers": [{"type": "PHONE", "value": "110"}]}]
    body = await gql(api, mutation, token, leads=leads)
    result = body["data"]["submitLeads"]
    assert result["created"] and result["batch"] == {"status": "COMMITTED", "accepted": 1}
    assert [row["status"] for row in result["rows"]] == ["ACCEPTED", "REJECTED"]
    assert "emergency/service number" in result["rows"][1]["errors"][0]["message"]
    again = (await gql(api, mutation, token, leads=leads))["data"]["submitLeads"]
    assert again["created"] is False


async def test_another_members_batch_is_not_visible(api: httpx.AsyncClient, graph: Graph) -> None:
    mine = await issue_key(graph, "ACME", "uploader")
    theirs = await issue_key(graph, "OTHERCO", "uploader", "analyst")
    response = await api.post("/v1/batches", params={"filename": "a.csv", "wait": "true"},
                              content="手机号,黑产类型\n13800138000,中介\n".encode(), headers={"authorization": f"Bearer {mine}"})
    batch_id = response.json()["batch"]["id"]
    body = await gql(api, BATCH, theirs, id=batch_id)
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await api.get(f"/v1/batches/{batch_id}", headers={"authorization": f"Bearer {theirs}"})).status_code == 404


async def test_an_empty_upload_is_refused(api: httpx.AsyncClient, graph: Graph) -> None:
    token = await issue_key(graph, "ACME", "uploader")
    response = await api.post("/v1/batches", content=b"", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 400 and "empty" in response.json()["errors"][0]["message"]
    assert await graph.read("MATCH (b:Batch) RETURN b") == []


async def test_an_analyst_cannot_upload(api: httpx.AsyncClient, graph: Graph) -> None:
    token = await issue_key(graph, "ACME", "analyst")
    response = await api.post("/v1/batches", content=b"x", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 403
