"""The liaison inbox pages: sign in/out, case list with filters and search, case page, raw identifiers,
attachments, the package download and status changes. A case the liaison may not see answers exactly as one
that does not exist (the same 404 page)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from pylopdf_fonts_zh_cn import sans_path
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from core.principal import Role
from access.service import authenticate
from api.police import session as sessions
from core.errors import BadInput, FenghuoError, NotFound, Unauthenticated
from escalation import cases, jurisdictions
from escalation.desk import Desk
from escalation.drawing import TYPE_LABELS, svg
from escalation.models import STATUS_LABELS, TRANSITIONS, CaseStatus, RoutingRule
from graph import escalations as repo
from ingest.categories import BY_CODE

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.globals.update(STATUS_LABELS={s.value: label for s, label in STATUS_LABELS.items()},
                             TYPE_LABELS=TYPE_LABELS, CATEGORY_LABELS={c: v.label for c, v in BY_CODE.items()})
NO_STORE = {"cache-control": "no-store", "x-frame-options": "DENY", "referrer-policy": "no-referrer",
            "content-security-policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                                       "font-src 'self'; form-action 'self'; frame-ancestors 'none'"}


def _desk(request: Request) -> Desk:
    return request.app.state.desk


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(NO_STORE)
    return response


async def _signed_in(request: Request) -> sessions.Session | None:
    desk = _desk(request)
    return await sessions.current(desk.graph, request, desk.settings.police_session_minutes)


def _to_login() -> RedirectResponse:
    return RedirectResponse("/police/login", status_code=303)


def _not_found(request: Request, session: sessions.Session | None) -> HTMLResponse:
    return _page(request, "not_found.html", {"session": session}, status=404)


async def login_form(request: Request) -> Response:
    if await _signed_in(request):
        return RedirectResponse("/police/", status_code=303)
    return _login_page(request, None)


def _login_page(request: Request, error: str | None, status: int = 200) -> Response:
    token, new = sessions.login_token(request)
    response = _page(request, "login.html", {"login_token": token, "error": error, "session": None}, status)
    if new:
        sessions.set_cookie(response, request, sessions.LOGIN_COOKIE, token, 3600)
    return response


async def login(request: Request) -> Response:
    desk = _desk(request)
    form = await request.form()
    if not sessions.csrf_ok(request.cookies.get(sessions.LOGIN_COOKIE), form.get("login_token")):
        return _login_page(request, "页面已过期，请重新登录。", 400)
    try:
        client = request.client.host if request.client else None
        principal = await authenticate(desk.graph, str(form.get("api_key") or "").strip(), client)
    except Unauthenticated:
        desk.audit.record(None, "police.signin", outcome="denied", request_id=request.scope.get("request_id"))
        return _login_page(request, "密钥无效、已过期或已吊销。", 401)
    if Role.POLICE_LIAISON not in principal.roles or not principal.jurisdictions:
        desk.audit.record(principal, "police.signin", outcome="denied", request_id=request.scope.get("request_id"))
        return _login_page(request, "该密钥不是公安联络员密钥。", 403)
    response = RedirectResponse("/police/", status_code=303)
    await sessions.start(desk.graph, request, response, principal, desk.settings.police_session_minutes)
    desk.audit.record(principal, "police.signin", request_id=request.scope.get("request_id"))
    return response


async def logout(request: Request) -> Response:
    session = await _signed_in(request)
    form = await request.form()
    if session is not None and not sessions.csrf_ok(session.csrf, form.get("csrf")):
        return _page(request, "error.html", {"session": session, "error": "表单已过期，请刷新后重试。"}, 400)
    response = RedirectResponse("/police/login", status_code=303)
    await sessions.end(_desk(request).graph, request, response)
    return response


async def inbox(request: Request) -> Response:
    session = await _signed_in(request)
    if session is None:
        return _to_login()
    desk = _desk(request)
    status = request.query_params.get("status") or None
    status = status if status in {s.value for s in CaseStatus} else None
    search = (request.query_params.get("q") or "").strip()[:100] or None
    listed = await repo.list_cases(desk.graph, session.principal, status=status, search=search, first=200)
    digests = await repo.digests(desk.graph, session.principal, first=7)
    for d in digests:
        d["cases"] = json.loads(d.get("cases_json") or "[]")
    desk.audit.record(session.principal, "cases.read", subject=[c["id"] for c in listed],
                      request_id=request.scope.get("request_id"), detail="inbox")
    return _page(request, "inbox.html", {
        "session": session, "cases": listed, "status": status, "q": search or "", "digests": digests,
        "statuses": list(CaseStatus), "names": jurisdictions.names(c["jurisdiction_code"] for c in listed),
        "mine": [jurisdictions.get(code) for code in sorted(session.principal.jurisdictions)]})


async def case_page(request: Request) -> Response:
    session = await _signed_in(request)
    if session is None:
        return _to_login()
    desk, case_id = _desk(request), request.path_params["case_id"]
    try:
        case = await cases.read_case(desk, session.principal, case_id, request.scope.get("request_id", ""))
    except NotFound:
        return _not_found(request, session)
    pictures = [svg(c["snapshot"]) for c in case["contributions"] if (c.get("snapshot") or {}).get("nodes")]
    return _page(request, "case.html", {
        "session": session, "case": case, "pictures": pictures, "error": request.query_params.get("error"),
        "next_statuses": TRANSITIONS[CaseStatus(case["status"])], "rule_labels": {r.value: r.label for r in RoutingRule}})


async def identifiers_page(request: Request) -> Response:
    session = await _signed_in(request)
    if session is None:
        return _to_login()
    desk, case_id = _desk(request), request.path_params["case_id"]
    try:
        case = await cases.read_case(desk, session.principal, case_id, request.scope.get("request_id", ""))
        revealed = await cases.reveal_identifiers(desk, session.principal, case_id, request.scope.get("request_id", ""))
    except NotFound:
        return _not_found(request, session)
    return _page(request, "identifiers.html", {"session": session, "case": case, "revealed": revealed})


async def package_download(request: Request) -> Response:
    session = await _signed_in(request)
    if session is None:
        return _to_login()
    try:
        name, data = await cases.download_package(_desk(request), session.principal, request.path_params["case_id"],
                                                  request.scope.get("request_id", ""))
    except NotFound:
        return _not_found(request, session)
    return Response(data, media_type="application/zip", headers={
        "content-disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}", **NO_STORE})


async def attachment_download(request: Request) -> Response:
    session = await _signed_in(request)
    if session is None:
        return _to_login()
    try:
        found = await cases.open_attachment(_desk(request), session.principal, request.path_params["case_id"],
                                            request.path_params["attachment_id"], request.scope.get("request_id", ""))
    except NotFound:
        return _not_found(request, session)
    return Response(found["content"], media_type=found["content_type"], headers={
        "content-disposition": f"attachment; filename*=UTF-8''{quote(found['filename'])}",
        "x-content-type-options": "nosniff", **NO_STORE})


async def change_status(request: Request) -> Response:
    session = await _signed_in(request)
    if session is None:
        return _to_login()
    case_id = request.path_params["case_id"]
    form = await request.form()
    if not sessions.csrf_ok(session.csrf, form.get("csrf")):
        return _page(request, "error.html", {"session": session, "error": "表单已过期，请刷新后重试。"}, 400)
    try:
        status = CaseStatus(str(form.get("status") or ""))
    except ValueError:
        return RedirectResponse(f"/police/cases/{quote(case_id)}?error={quote('请选择新的状态')}", status_code=303)
    try:
        await cases.change_status(_desk(request), session.principal, case_id, status, str(form.get("note") or ""),
                                  str(form.get("police_case_number") or ""), request.scope.get("request_id", ""))
    except NotFound:
        return _not_found(request, session)
    except BadInput as error:
        return RedirectResponse(f"/police/cases/{quote(case_id)}?error={quote(error.message)}", status_code=303)
    except FenghuoError as error:
        return _page(request, "error.html", {"session": session, "error": error.message}, 400)
    return RedirectResponse(f"/police/cases/{quote(case_id)}", status_code=303)


async def font(request: Request) -> Response:
    """The CJK font the pages are set in, so they read right on a workstation without Chinese fonts."""
    return FileResponse(sans_path(), media_type="font/otf", headers={"cache-control": "public, max-age=604800"})


routes = [
    Route("/police/static/NotoSansSC-Regular.otf", font, methods=["GET"]),
    Route("/police/", inbox, methods=["GET"]),
    Route("/police/login", login_form, methods=["GET"]),
    Route("/police/login", login, methods=["POST"]),
    Route("/police/logout", logout, methods=["POST"]),
    Route("/police/cases/{case_id}", case_page, methods=["GET"]),
    Route("/police/cases/{case_id}/identifiers", identifiers_page, methods=["GET"]),
    Route("/police/cases/{case_id}/package.zip", package_download, methods=["GET"]),
    Route("/police/cases/{case_id}/attachments/{attachment_id}", attachment_download, methods=["GET"]),
    Route("/police/cases/{case_id}/status", change_status, methods=["POST"]),
]
