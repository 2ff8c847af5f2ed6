"""Lead batches over GraphQL: upload a file, submit leads in real time, follow a batch and read its report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.file_uploads import Upload

from api.graphql.context import Info
from api.graphql.permissions import require
from core.errors import BadInput, NotFound
from graph import batches as batches_repo
from graph.members import to_native
from ingest.defaults import BatchDefaults, defaults_of
from ingest.pipeline import BatchOutcome, UploadRequest, checks_ready


@strawberry.type(description="One problem with one field of one row.")
class FieldIssue:
    field: str
    message: str
    where: str | None = strawberry.field(description="Where to look (e.g. 'column 手机号'); never the value itself.")


@strawberry.type(description="The outcome of one row: line is the file's line number (header = 1).")
class RowReport:
    line: int
    status: str = strawberry.field(description="accepted, rejected, skipped or duplicate")
    errors: list[FieldIssue]
    warnings: list[FieldIssue]


@strawberry.type(description="The defaults a batch applied to rows that left these fields empty.")
class BatchDefaultsInfo:
    category: str | None = strawberry.field(description="A category code, e.g. LOAN_INTERMEDIARY")
    tlp: str | None
    confidence: float | None
    observed_at: datetime | None
    agent: str | None


@strawberry.type(description="A lead batch: its status, progress and totals. Its leads are visible once committed.")
class Batch:
    id: str
    member_code: str
    filename: str | None
    format: str | None
    status: str = strawberry.field(description="processing, committed or failed")
    checks_ready: bool = strawberry.field(description="Committed and aggregated: checks reflect this batch")
    rows_total: int
    rows_done: int
    accepted: int
    rejected: int
    skipped: int
    duplicate: int
    rows_with_warnings: int
    progress: float = strawberry.field(description="0–1, by bytes read while processing; 1 once committed")
    error: str | None
    file_warnings: list[str]
    defaults: BatchDefaultsInfo | None = strawberry.field(description="Defaults for empty fields, when the upload gave any")
    created_at: datetime | None
    committed_at: datetime | None

    @strawberry.field(description="Rows that were not accepted cleanly (rejected, skipped, duplicate, or with warnings).")
    async def report(self, info: Info, status: str | None = None, first: int = 100, after_line: int = 0) -> list[RowReport]:
        require(info, "batch")
        rows = await batches_repo.report(info.context.runtime.graph, self.id)
        rows = [r for r in rows if r["line"] > after_line and (status is None or r["status"] == status)]
        return [row_report(r) for r in rows[: max(1, min(first, 1000))]]


@strawberry.type(description="The batch an upload created, or the existing one when the same content was uploaded before.")
class BatchResult:
    batch: Batch
    created: bool


@strawberry.type(description="Leads submitted in real time: the batch and every row's outcome.")
class SubmitResult:
    batch: Batch
    created: bool
    rows: list[RowReport]


@strawberry.input(description="One identifier of a lead.")
class IdentifierInput:
    type: str = strawberry.field(description="phone, device, imei, oaid, idfa, id_number, bank_card, ip, url, domain, email, wechat, alipay, qq, device_fingerprint")
    value: str


@strawberry.input(description="One lead, as a risk engine reports it in real time.")
class LeadInput:
    category: str | None = strawberry.field(default=None, description="A category code, 中文 label or alias (e.g. LOAN_INTERMEDIARY, 贷款中介, 中介); default: the call's defaults")
    identifiers: list[IdentifierInput]
    observed_at: str | None = strawberry.field(default=None, description="ISO 8601 or 2024/5/3, 2024年5月3日…; default now")
    confidence: str | None = strawberry.field(default=None, description="0–1, 0–100, 高/中/低; default 0.7")
    tlp: str | None = strawberry.field(default=None, description="RED, AMBER, GREEN, CLEAR; default AMBER")
    agent: str | None = None
    note: str | None = None
    reference: str | None = None


@strawberry.input(description="Defaults for a whole batch, applied where a row has no value of its own.")
class BatchDefaultsInput:
    category: str | None = strawberry.field(default=None, description="A category code, 中文 label or alias (e.g. 贷款中介)")
    tlp: str | None = strawberry.field(default=None, description="RED, AMBER, GREEN or CLEAR")
    confidence: str | None = strawberry.field(default=None, description="0–1 (e.g. 0.8), 80% or 高/中/低")
    observed_at: str | None = strawberry.field(default=None, description="ISO 8601 or 2024/5/3, 2024年5月3日…")
    agent: str | None = strawberry.field(default=None, description="The agent or gang the leads are attributed to")


@strawberry.input(description="Map a file's column to a field (or 'ignore').")
class ColumnMappingInput:
    column: str
    field: str


def batch_type(row: dict[str, Any]) -> Batch:
    status = row["status"]
    total = row.get("bytes_total") or 0
    progress = 1.0 if status == "committed" else (min(1.0, (row.get("bytes_done") or 0) / total) if total else 0.0)
    return Batch(
        id=row["id"], member_code=row["member_code"], filename=row.get("filename"), format=row.get("format"),
        status=status, checks_ready=checks_ready(row), rows_total=row.get("rows_total") or 0, rows_done=row.get("rows_done") or 0,
        accepted=row.get("accepted") or 0, rejected=row.get("rejected") or 0, skipped=row.get("skipped") or 0,
        duplicate=row.get("duplicate") or 0, rows_with_warnings=row.get("warnings") or 0, progress=progress,
        error=row.get("error"), file_warnings=row.get("file_warnings") or [], defaults=_defaults_info(row),
        created_at=to_native(row.get("created_at")), committed_at=to_native(row.get("committed_at")),
    )


def _defaults_info(row: dict[str, Any]) -> BatchDefaultsInfo | None:
    given = defaults_of(row)
    if not given:
        return None
    return BatchDefaultsInfo(category=given.get("category"), tlp=given.get("tlp"), confidence=given.get("confidence"),
                             observed_at=to_native(given.get("observed_at")), agent=given.get("agent"))


def parse_defaults(info: Info, given: BatchDefaultsInput | None) -> BatchDefaults | None:
    if given is None:
        return None
    defaults = BatchDefaults.parse(category=given.category, tlp=given.tlp, confidence=given.confidence,
                                   observed_at=given.observed_at, agent=given.agent,
                                   extra_aliases=info.context.runtime.batches.extra_aliases)
    return defaults or None


def row_report(row: dict[str, Any]) -> RowReport:
    return RowReport(
        line=row["line"], status=row["status"],
        errors=[FieldIssue(field=i["field"], message=i["message"], where=i.get("where")) for i in row["errors"]],
        warnings=[FieldIssue(field=i["field"], message=i["message"], where=i.get("where")) for i in row["warnings"]],
    )


def _lead_values(lead: LeadInput) -> dict[str, Any]:
    """A submitted lead as a source row: canonical field names, several identifiers of one type on lines."""
    values: dict[str, Any] = {}
    for name in ("category", "observed_at", "confidence", "tlp", "agent", "note", "reference"):
        if getattr(lead, name) is not None:
            values[name] = getattr(lead, name)
    for identifier in lead.identifiers:
        kind = identifier.type.strip().lower()
        values[kind] = f"{values[kind]}\n{identifier.value}" if kind in values else identifier.value
    return values


def _outcome(outcome: BatchOutcome) -> BatchResult:
    return BatchResult(batch=batch_type(outcome.batch), created=outcome.created)


async def _upload_chunks(upload: Upload):
    while data := await upload.read(1 << 20):
        yield data


@strawberry.type
class BatchQuery:
    @strawberry.field(description="One of your member's batches: status, progress, totals, report.")
    async def batch(self, info: Info, id: str) -> Batch:
        principal = require(info, "batch")
        row = await batches_repo.readable_batch(info.context.runtime.graph, principal, id)
        if row is None:
            raise NotFound(f"no batch {id} visible to you")
        info.context.audit("batch.read", subject=id)
        return batch_type(row)

    @strawberry.field(description="Your member's batches, newest first.")
    async def batches(self, info: Info, first: int = 20, before: datetime | None = None) -> list[Batch]:
        principal = require(info, "batches")
        rows = await batches_repo.readable_batches(info.context.runtime.graph, principal, max(1, min(first, 200)), before)
        return [batch_type(row) for row in rows]


@strawberry.type
class BatchMutation:
    @strawberry.mutation(description="Upload a lead file (CSV UTF-8/GBK, XLSX, JSON, NDJSON, STIX 2.1). Re-uploading the same content returns the existing batch.")
    async def upload_lead_batch(
        self, info: Info, file: Upload, format: str | None = None, column_mapping: list[ColumnMappingInput] | None = None,
        idempotency_key: str | None = None, attributed: bool = False, wait: bool = False,
        defaults: BatchDefaultsInput | None = None,
    ) -> BatchResult:
        principal = require(info, "uploadLeadBatch")
        batch_defaults = parse_defaults(info, defaults)
        mapping = {m.column: m.field for m in column_mapping} if column_mapping else None
        if mapping is not None and len(mapping) > 200:
            raise BadInput("columnMapping accepts at most 200 columns")
        request = UploadRequest(filename=getattr(file, "filename", None), format=format, column_mapping=mapping,
                                idempotency_key=idempotency_key, attributed=attributed)
        outcome = await info.context.runtime.batches.submit_file(
            principal, _upload_chunks(file), request, wait=wait, request_id=info.context.request_id,
            defaults=batch_defaults)
        return _outcome(outcome)

    @strawberry.mutation(description="Submit leads in real time (at most 10,000 per call); all or nothing, idempotent by key or content.")
    async def submit_leads(self, info: Info, leads: list[LeadInput], idempotency_key: str | None = None,
                           attributed: bool = False, defaults: BatchDefaultsInput | None = None) -> SubmitResult:
        principal = require(info, "submitLeads")
        outcome = await info.context.runtime.batches.submit_leads(
            principal, [_lead_values(lead) for lead in leads], idempotency_key=idempotency_key, attributed=attributed,
            request_id=info.context.request_id, defaults=parse_defaults(info, defaults))
        return SubmitResult(batch=batch_type(outcome.batch), created=outcome.created,
                            rows=[row_report(r) for r in outcome.results])
