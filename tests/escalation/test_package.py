"""The case package: a Chinese report.pdf with embedded font, a formula-safe leads.csv with BOM, case.json, a
STIX 2.1 bundle the official validator accepts, and a signed manifest that any changed byte breaks."""

from __future__ import annotations

import base64
import csv
import io
import json
import subprocess
import zipfile
from pathlib import Path

import httpx
import pytest
from stix2validator import ValidationOptions, validate_string
from typer.testing import CliRunner

from access.node_key import public_bytes
from core.principal import Principal, Role
from api.cli import app as cli
from escalation import cases, leads_csv
from escalation.package import verify
from graph.database import Graph
from tests.escalation.helpers import SUBMIT, escalate, escalated
from tests.support import gql, issue_key

LIAISON = Principal(id="key:sz", member_code="SZPSB", roles=frozenset({Role.POLICE_LIAISON}),
                    jurisdictions=frozenset({"440300"}))


async def _case_with_leads(api: httpx.AsyncClient, graph: Graph) -> dict:
    uploader = await issue_key(graph, "ACME", "uploader")
    analyst = await issue_key(graph, "ACME", "analyst")
    leads = [{"category": "中介", "agent": "=HYPERLINK(\"http://x\")", "identifiers": [
        {"type": "PHONE", "value": phone}, {"type": "DEVICE", "value": "867530021234560"}]}
        for phone in ("13510000001", "13510000002")]
    leads.append({"category": "跑分", "identifiers": [{"type": "PHONE", "value": "13510000001"},
                                                     {"type": "BANK_CARD", "value": "6222021234567890123"}]})
    async with httpx.AsyncClient(base_url=api.base_url, timeout=180) as patient:  # network assignment under load
        assert (await gql(patient, SUBMIT, uploader, leads=leads))["data"]["submitLeads"]["batch"]["accepted"] == 3
    lead_ids = [r["id"] for r in await graph.read("MATCH (l:Lead) RETURN l.id AS id ORDER BY l.seq")]
    txt = {"filename": "聊天记录.txt", "contentType": "text/plain", "contentBase64": base64.b64encode("中介：包过".encode()).decode()}
    return escalated(await escalate(api, analyst, title="深圳宝安贷款中介团伙", leadIds=lead_ids, evidence="客户录音三段",
                                    identifiers=[{"type": "PHONE", "value": "13510000001"}], attachments=[txt]))["escalation"]


async def test_the_package_holds_every_file_signed_and_readable(api: httpx.AsyncClient, graph: Graph, desk, tmp_path: Path) -> None:
    e = await _case_with_leads(api, graph)
    name, data = await cases.download_package(desk, LIAISON, e["caseId"])
    assert name == f"{e['caseNumber']}.zip"
    path = tmp_path / name
    path.write_bytes(data)
    archive = zipfile.ZipFile(path)
    names = set(archive.namelist())
    assert {"report.pdf", "leads.csv", "case.json", "stix-bundle.json", "manifest.json"} <= names
    assert any(n.startswith("attachments/") and n.endswith("聊天记录.txt") for n in names)

    (tmp_path / "report.pdf").write_bytes(archive.read("report.pdf"))
    text = subprocess.run(["pdftotext", str(tmp_path / "report.pdf"), "-"], capture_output=True, text=True, check=True).stdout
    assert "深圳宝安贷款中介团伙" in text and "贷款中介" in text and "跑分洗钱" in text and e["caseNumber"] in text
    fonts = subprocess.run(["pdffonts", str(tmp_path / "report.pdf")], capture_output=True, text=True, check=True).stdout
    assert "NotoSansSC" in fonts and " yes " in fonts  # embedded

    raw_csv = archive.read("leads.csv")
    assert raw_csv.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw_csv.decode("utf-8-sig"))))
    assert rows[0][:4] == ["案件编号", "提交成员", "线索编号", "类别"] and len(rows) == 1 + 6
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)
    assert "'=HYPERLINK(\"http://x\")" in {cell for row in rows for cell in row}

    document = json.loads(archive.read("case.json"))
    assert document["case_number"] == e["caseNumber"] and document["jurisdiction"]["bureau"] == "深圳市公安局"
    assert document["contributions"][0]["identifiers"][0]["value"] == "+8613510000001"
    assert document["contributions"][0]["evidence"] == "客户录音三段"

    results = validate_string(archive.read("stix-bundle.json").decode(), ValidationOptions(strict=False))
    assert results.is_valid, [str(e) for e in results.errors]
    stix = json.loads(archive.read("stix-bundle.json"))
    kinds = {o["type"] for o in stix["objects"]}
    assert {"identity", "indicator", "relationship", "report", "threat-actor"} <= kinds
    assert "[x-fenghuo-phone:value = '+8613510000001']" in {o.get("pattern") for o in stix["objects"]}

    assert verify(path, public_bytes(desk.node_key)).ok
    result = CliRunner().invoke(cli, ["verify-package", str(path), "--public-key",
                                      base64.b64encode(public_bytes(desk.node_key)).decode()])
    assert result.exit_code == 0 and "OK " + e["caseNumber"] in result.output


async def test_changing_one_byte_of_any_file_makes_verification_fail(api: httpx.AsyncClient, graph: Graph, desk, tmp_path: Path) -> None:
    e = await _case_with_leads(api, graph)
    _, data = await cases.download_package(desk, LIAISON, e["caseId"])
    original = zipfile.ZipFile(io.BytesIO(data))
    for target in original.namelist():
        tampered = tmp_path / f"tampered-{target.replace('/', '_')}.zip"
        with zipfile.ZipFile(tampered, "w") as out:
            for item in original.namelist():
                content = bytearray(original.read(item))
                if item == target:
                    middle = len(content) // 2
                    content[middle] = (content[middle] + 1) % 256
                out.writestr(item, bytes(content))
        outcome = verify(tampered)
        assert not outcome.ok, target
        result = CliRunner().invoke(cli, ["verify-package", str(tampered)])
        assert result.exit_code == 1 and "FAIL" in result.output, target
    other_key = verify(io.BytesIO(data), b"\x01" * 32)
    assert not other_key.ok and "another key" in other_key.problems[0]


async def test_every_package_download_and_identifier_view_is_audited(api: httpx.AsyncClient, graph: Graph, desk) -> None:
    e = await _case_with_leads(api, graph)
    await cases.download_package(desk, LIAISON, e["caseId"])
    await cases.reveal_identifiers(desk, LIAISON, e["caseId"])
    await desk.audit.flush()
    rows = await graph.read("MATCH (r:AuditRecord) WHERE r.principal_id = 'key:sz' RETURN r.action AS action, r.subject AS subject")
    actions = [r["action"] for r in rows]
    assert actions.count("case.package.download") == 1 and actions.count("case.identifiers.read") == 2
    assert all("13510000001" not in str(r["subject"]) for r in rows)


@pytest.mark.parametrize("cell, expected", [
    ("=1+1", "'=1+1"), ("+86 135", "'+86 135"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tcmd", "'\tcmd"), ("\rcmd", "'\rcmd"), ("贷款中介", "贷款中介"), ("135****0001", "135****0001"), (None, ""),
])
def test_a_csv_cell_starting_like_a_formula_is_neutralised(cell, expected) -> None:
    assert leads_csv.neutralise(cell) == expected
