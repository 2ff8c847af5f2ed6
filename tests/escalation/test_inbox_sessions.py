"""The inbox's session: HttpOnly + SameSite cookie, CSRF-protected forms, sign-out and expiry that take effect at once."""

from __future__ import annotations

import httpx

from graph.database import Graph
from tests.escalation.helpers import csrf_of, escalate, escalated, sign_in
from tests.support import issue_key


async def test_signing_in_sets_a_strict_http_only_cookie_and_bad_keys_are_refused(api: httpx.AsyncClient, graph: Graph) -> None:
    key = await issue_key(graph, "SZPSB", "police_liaison", jurisdictions=["440300"])
    async with httpx.AsyncClient(base_url=str(api.base_url)) as browser:
        assert (await browser.get("/police/")).headers["location"] == "/police/login"
        wrong = await sign_in(browser, key[:-2] + "xx")
        assert wrong.status_code == 401 and "密钥无效" in wrong.text
        signed = await sign_in(browser, key)
        cookie = signed.headers["set-cookie"]
        assert signed.status_code == 303 and "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/police" in cookie
        assert key not in cookie
        inbox = await browser.get("/police/")
        assert inbox.status_code == 200 and "案件收件箱" in inbox.text and inbox.headers["cache-control"] == "no-store"
    async with httpx.AsyncClient(base_url=str(api.base_url)) as forger:
        forger.cookies.set("fh_police_login", "abc", path="/police")
        refused = await forger.post("/police/login", data={"login_token": "different", "api_key": key})
        assert refused.status_code == 400 and "fh_police_session" not in refused.headers.get("set-cookie", "")


async def test_a_status_form_without_the_sessions_csrf_token_changes_nothing(api: httpx.AsyncClient, graph: Graph) -> None:
    analyst = await issue_key(graph, "ACME", "analyst")
    key = await issue_key(graph, "SZPSB", "police_liaison", jurisdictions=["440300"])
    e = escalated(await escalate(api, analyst, identifiers=[{"type": "PHONE", "value": "13510001234"}]))["escalation"]
    async with httpx.AsyncClient(base_url=str(api.base_url)) as browser:
        await sign_in(browser, key)
        page = await browser.get(f"/police/cases/{e['caseId']}")
        form = {"status": "acknowledged", "note": "已受理"}
        forged = await browser.post(f"/police/cases/{e['caseId']}/status", data={**form, "csrf": "guessed"})
        assert forged.status_code == 400
        assert (await graph.read("MATCH (c:Case) RETURN c.status AS s"))[0]["s"] == "submitted"
        done = await browser.post(f"/police/cases/{e['caseId']}/status", data={**form, "csrf": csrf_of(page.text)})
        assert done.status_code == 303
        assert (await graph.read("MATCH (c:Case) RETURN c.status AS s"))[0]["s"] == "acknowledged"
        needs_number = await browser.post(f"/police/cases/{e['caseId']}/status",
                                          data={"status": "filed", "note": "立案", "csrf": csrf_of(page.text)}, follow_redirects=True)
        assert "案件编号" in needs_number.text


async def test_signing_out_and_expiry_end_the_session_at_once(api: httpx.AsyncClient, graph: Graph) -> None:
    key = await issue_key(graph, "SZPSB", "police_liaison", jurisdictions=["440300"])
    async with httpx.AsyncClient(base_url=str(api.base_url)) as browser:
        await sign_in(browser, key)
        stolen = browser.cookies.get("fh_police_session")
        page = await browser.get("/police/")
        assert (await browser.post("/police/logout", data={"csrf": csrf_of(page.text)})).status_code == 303
    async with httpx.AsyncClient(base_url=str(api.base_url)) as replay:
        replay.cookies.set("fh_police_session", stolen, path="/police")
        assert (await replay.get("/police/")).status_code == 303  # the server forgot the session
    async with httpx.AsyncClient(base_url=str(api.base_url)) as browser:
        await sign_in(browser, key)
        assert (await browser.get("/police/")).status_code == 200
        await graph.write("MATCH (s:PoliceSession) SET s.expires_at = datetime() - duration('PT1M')")
        assert (await browser.get("/police/")).headers["location"] == "/police/login"
