"""Lead batches over plain HTTP, for curl users and the `fenghuo upload` command.

POST /v1/batches                   upload a file (multipart field `file`, or the raw body with ?filename=);
                                   batch defaults as fields or query parameters: category, tlp, confidence,
                                   observed_at, agent
GET  /v1/batches/{id}              status, progress, totals
GET  /v1/batches/{id}/report.json  the row report (rows not accepted cleanly)
GET  /v1/batches/{id}/report.csv   the same as CSV (safe against spreadsheet formula injection)
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from access.principal import Principal, Role
from core.errors import BadInput, FenghuoError, Forbidden, NotFound, Unauthenticated
from graph import batches as batches_repo
from graph.database import GraphUnavailable
from ingest.defaults import BatchDefaults, defaults_of
from ingest.pipeline import UploadRequest, checks_ready

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
DEFAULT_FIELDS = ("category", "tlp", "confidence", "observed_at", "agent")


def _principal(request: Request, *roles: Role) -> Principal:
    principal: Principal | None = request.scope.get("principal")
    if principal is None:
        raise Unauthenticated("send `Authorization: Bearer <API key>`")
    if roles and not principal.has(*roles):
        raise Forbidden(f"this needs one of the roles: {', '.join(r.value for r in roles)}")
    return principal


def _error(error: Exception) -> JSONResponse:
    if isinstance(error, GraphUnavailable):
        return JSONResponse({"errors": [{"message": "the intelligence graph is temporarily unavailable; retry shortly",
                                         "extensions": {"code": "UNAVAILABLE"}}]}, status_code=503, headers={"retry-after": "5"})
    assert isinstance(error, FenghuoError)
    return JSONResponse({"errors": [{"message": error.message, "extensions": {"code": error.code, **error.details}}]},
                        status_code=error.http_status)


def batch_json(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "member_code", "filename", "format", "status", "rows_total", "rows_done", "accepted", "rejected",
            "skipped", "duplicate", "warnings", "bytes_total", "bytes_done", "error", "file_warnings")
    out = {k: row.get(k) for k in keys}
    out["checks_ready"] = checks_ready(row)
    out["defaults"] = {k: (v.to_native().isoformat() if hasattr(v, "to_native") else v) for k, v in defaults_of(row).items()}
    for k in ("created_at", "committed_at"):
        out[k] = str(row[k].to_native().isoformat()) if row.get(k) is not None else None
    return out


async def _multipart_file(request: Request) -> tuple[AsyncIterator[bytes], dict[str, str], str | None]:
    form = await request.form(max_part_size=request.app.state.runtime.settings.max_upload_bytes)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise BadInput("multipart upload needs a `file` field holding the lead file")
    fields = {k: v for k, v in form.items() if isinstance(v, str)}

    async def chunks() -> AsyncIterator[bytes]:
        while data := await upload.read(1 << 20):
            yield data

    return chunks(), fields, upload.filename


async def upload(request: Request) -> Response:
    try:
        principal = _principal(request, Role.UPLOADER)
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            chunks, fields, filename = await _multipart_file(request)
        else:
            chunks, fields, filename = request.stream(), dict(request.query_params), request.query_params.get("filename")
        mapping = None
        if fields.get("column_mapping"):
            try:
                mapping = dict(json.loads(fields["column_mapping"]))
            except (ValueError, TypeError):
                raise BadInput('column_mapping must be a JSON object such as {"手机": "phone"}') from None
        options = UploadRequest(filename=filename, format=fields.get("format"), column_mapping=mapping,
                                idempotency_key=fields.get("idempotency_key") or request.headers.get("idempotency-key"),
                                attributed=fields.get("attributed", "false").lower() == "true")
        runner = request.app.state.runtime.batches
        defaults = BatchDefaults.parse(**{k: fields.get(k) for k in DEFAULT_FIELDS}, extra_aliases=runner.extra_aliases)
        outcome = await runner.submit_file(
            principal, chunks, options, wait=fields.get("wait", "false").lower() == "true",
            request_id=request.scope.get("request_id"), defaults=defaults or None)
    except (FenghuoError, GraphUnavailable) as error:
        return _error(error)
    body = {"batch": batch_json(outcome.batch), "created": outcome.created}
    return JSONResponse(body, status_code=202 if outcome.batch["status"] == "processing" else 200)


async def _readable(request: Request) -> dict[str, Any]:
    principal = _principal(request, Role.ANALYST, Role.UPLOADER, Role.OPERATOR)
    batch_id = request.path_params["batch_id"]
    row = await batches_repo.readable_batch(request.app.state.runtime.graph, principal, batch_id)
    if row is None:
        raise NotFound(f"no batch {batch_id} visible to you")
    return row


async def get_batch(request: Request) -> Response:
    try:
        return JSONResponse(batch_json(await _readable(request)))
    except (FenghuoError, GraphUnavailable) as error:
        return _error(error)


async def get_report(request: Request) -> Response:
    try:
        batch = await _readable(request)
        rows = await batches_repo.report(request.app.state.runtime.graph, batch["id"])
    except (FenghuoError, GraphUnavailable) as error:
        return _error(error)
    runtime = request.app.state.runtime
    runtime.audit.record(request.scope.get("principal"), "batch.report.download", subject=batch["id"],
                         request_id=request.scope.get("request_id"), detail=request.path_params["fmt"])
    if request.path_params["fmt"] not in ("json", "csv"):
        return _error(NotFound("report formats: report.json, report.csv"))
    if request.path_params["fmt"] == "json":
        return JSONResponse({"batch": batch_json(batch), "rows": rows})
    return Response(report_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="batch-{batch["id"]}-report.csv"'})


def report_csv(rows: list[dict[str, Any]]) -> str:
    """UTF-8 with BOM (Excel on Chinese Windows reads it), one line per issue, formula-safe cells."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["line", "status", "kind", "field", "message", "where"])
    for row in rows:
        issues = [("error", i) for i in row["errors"]] + [("warning", i) for i in row["warnings"]]
        for kind, issue in issues or [("", {"field": "", "message": "", "where": ""})]:
            writer.writerow([row["line"], row["status"], kind, *(safe_cell(issue.get(k)) for k in ("field", "message", "where"))])
    return out.getvalue()


def safe_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


routes = [
    Route("/v1/batches", upload, methods=["POST"]),
    Route("/v1/batches/{batch_id}", get_batch, methods=["GET"]),
    Route("/v1/batches/{batch_id}/report.{fmt:str}", get_report, methods=["GET"]),
]
