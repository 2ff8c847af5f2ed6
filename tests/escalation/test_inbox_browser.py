"""End to end in a real browser: Debian's chromium, headless, driven by Playwright against the running app.

A liaison signs in, opens the case, sees the network picture, downloads the package, acknowledges with a note;
the member then reads 已受理 and the note over GraphQL. Screenshots go to the test's output folder.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from playwright.async_api import async_playwright

from escalation.package import verify
from escalation.scheduled import CHINA, daily_digest
from graph.database import Graph
from tests.escalation.helpers import SUBMIT, escalate, escalated
from tests.support import gql, issue_key

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NOTE = "已受理，请贵司联系经侦支队张警官"


async def _escalated_network(api: httpx.AsyncClient, graph: Graph) -> tuple[str, dict]:
    uploader, analyst = await issue_key(graph, "ACME", "uploader"), await issue_key(graph, "ACME", "analyst")
    leads = [{"category": category, "identifiers": [{"type": "PHONE", "value": phone},
                                                                    {"type": "DEVICE", "value": "867530021234560"}]}
             for phone, category in (("13510000001", "中介"), ("13510000002", "中介"), ("13510000003", "跑分"))]
    # Filing waits for network assignment; on a loaded 2-core machine that can outlast the shared client's 30 s.
    async with httpx.AsyncClient(base_url=api.base_url, timeout=180) as patient:
        assert (await gql(patient, SUBMIT, uploader, leads=leads))["data"]["submitLeads"]["batch"]["accepted"] == 3
    network = (await gql(api, "{ agentNetworks { id } }", analyst))["data"]["agentNetworks"][0]["id"]
    e = escalated(await escalate(api, analyst, title="深圳宝安“老王”贷款中介团伙", networkId=network,
                                 identifiers=[{"type": "PHONE", "value": "13510000001"}]))["escalation"]
    await daily_digest(graph, datetime.now(CHINA).date())
    return analyst, e


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is installed by .ci/run")
async def test_a_liaison_works_a_case_in_the_browser_and_the_member_sees_the_outcome(
        api: httpx.AsyncClient, graph: Graph, tmp_path: Path) -> None:
    analyst, e = await _escalated_network(api, graph)
    key = await issue_key(graph, "SZPSB", "police_liaison", jurisdictions=["440300"], name="深圳市公安局 经侦支队")
    base = str(api.base_url).rstrip("/")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = await (await browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)).new_page()
            await page.goto(f"{base}/police/")
            await page.fill("input[name=api_key]", key)
            await page.click("button:has-text('登录')")
            await page.wait_for_selector("#cases")
            assert e["caseNumber"] in await page.inner_text("#cases")
            assert "新增 1 件" in await page.inner_text(".digest")
            await page.evaluate("document.fonts.ready")
            await page.screenshot(path=str(tmp_path / "inbox.png"), full_page=True)

            await page.click(f"text={e['caseNumber']}")
            await page.wait_for_selector("svg.network-picture")
            assert await page.locator("svg.network-picture g.node.lead").count() == 3
            assert await page.locator("svg.network-picture line").count() >= 3
            assert "贷款中介" in (await page.text_content("svg.network-picture") or "")
            assert "跑分洗钱" in await page.inner_text("table.summary")
            await page.screenshot(path=str(tmp_path / "case.png"), full_page=True)

            async with page.expect_download() as download_info:
                await page.click("#download")
            download = await download_info.value
            saved = tmp_path / download.suggested_filename
            await download.save_as(saved)
            assert saved.name == f"{e['caseNumber']}.zip" and verify(saved).ok

            await page.select_option("select[name=status]", "acknowledged")
            await page.fill("textarea[name=note]", NOTE)
            await page.click("#status-form button")
            await page.wait_for_selector("#case-status:has-text('已受理')")
            assert NOTE in await page.inner_text("#timeline")
            await page.screenshot(path=str(tmp_path / "acknowledged.png"), full_page=True)

            await page.click("text=退出登录")
            await page.wait_for_selector("input[name=api_key]")
        finally:
            await browser.close()
    assert all((tmp_path / name).stat().st_size > 10_000 for name in ("inbox.png", "case.png", "acknowledged.png"))
    seen = (await gql(api, "query($id: String!) { escalation(id: $id) { statusLabel latestNote } }", analyst, id=e["id"]))
    assert seen["data"]["escalation"] == {"statusLabel": "已受理", "latestNote": NOTE}
