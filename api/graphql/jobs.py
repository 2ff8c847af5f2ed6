"""Scheduled ingest jobs over GraphQL (operators): list, read, create, change, pause, resume, run now, delete."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from api.graphql.context import Info
from api.graphql.permissions import require
from core.errors import NotFound
from graph.members import to_native
from jobs import service
from jobs.model import JobKind, RunStatus
from jobs.secrets import SecretBox

IngestJobKind = strawberry.enum(JobKind, name="IngestJobKind", description="What a job does: a connector or housekeeping")
JobRunStatus = strawberry.enum(RunStatus, name="JobRunStatus")


@strawberry.type(description="One run of a job: what it filed, or why it failed, in words an operator can act on.")
class JobRun:
    id: str
    status: JobRunStatus
    trigger: str = strawberry.field(description="schedule, manual or retry")
    started_at: datetime | None
    finished_at: datetime | None
    rows: int = strawberry.field(description="source rows the pipeline read (housekeeping: items handled)")
    accepted: int
    rejected: int
    items: int = strawberry.field(description="source items filed (files, STIX objects, MISP attributes)")
    error: str | None
    notes: list[str]
    batch_ids: list[str]


@strawberry.type(description="When a job runs: an interval or a cron expression, in a timezone.")
class JobSchedule:
    interval_seconds: int | None
    cron: str | None
    timezone: str


@strawberry.type(description="Lead fields a job fills where its source has none.")
class JobDefaults:
    category: str | None = None
    tlp: str | None = None
    confidence: float | None = None
    agent: str | None = None


@strawberry.type(description="A scheduled ingest or housekeeping job.")
class IngestJob:
    id: str
    name: str
    kind: IngestJobKind
    member_code: str | None = strawberry.field(description="the member its leads are filed for")
    schedule: JobSchedule
    config: JSON = strawberry.field(description="the connector's settings (never its secrets)")
    secrets: str = strawberry.field(description="'set' or 'not set': secrets are never shown")
    defaults: JobDefaults
    paused: bool
    builtin: bool = strawberry.field(description="a housekeeping job installed by the platform")
    failures: int = strawberry.field(description="failed runs in a row")
    cursor: JSON = strawberry.field(description="where the next run resumes (TAXII added_after, MISP event timestamps…)")
    last_run: JobRun | None
    next_run_at: datetime | None = strawberry.field(description="null while paused")
    created_at: datetime | None
    updated_at: datetime | None

    @strawberry.field(description="Recent runs, newest first.")
    async def runs(self, info: Info, first: int = 20) -> list[JobRun]:
        principal = require(info, "ingestJob")
        return [job_run(row) for row in await service.runs_of(info.context.runtime.graph, principal, self.id, first)]


@strawberry.input(description="Secrets of a job, stored encrypted and never shown again.")
class JobSecretsInput:
    token: str | None = strawberry.field(default=None, description="bearer token of an HTTP/MISP feed or TAXII server")
    password: str | None = strawberry.field(default=None, description="basic-auth password")


@strawberry.input
class JobDefaultsInput:
    category: str | None = None
    tlp: str | None = None
    confidence: str | None = strawberry.field(default=None, description="0–1, 80%, 高/中/低 or high/medium/low")
    agent: str | None = None


@strawberry.input(description="A new job. Give intervalSeconds or cron; the timezone defaults to Asia/Shanghai.")
class IngestJobInput:
    name: str
    kind: IngestJobKind
    member_code: str
    config: JSON
    interval_seconds: int | None = None
    cron: str | None = None
    timezone: str | None = None
    secrets: JobSecretsInput | None = None
    defaults: JobDefaultsInput | None = None
    paused: bool = False


@strawberry.input(description="Changes to a job; fields left out stay as they are. secrets: {} clears them.")
class IngestJobPatch:
    member_code: str | None = None
    config: JSON | None = None
    interval_seconds: int | None = None
    cron: str | None = None
    timezone: str | None = None
    secrets: JobSecretsInput | None = None
    defaults: JobDefaultsInput | None = None


def job_run(row: dict[str, Any]) -> JobRun:
    return JobRun(
        id=row["id"], status=RunStatus(row["status"]), trigger=row.get("trigger") or "schedule",
        started_at=to_native(row.get("started_at")), finished_at=to_native(row.get("finished_at")),
        rows=int(row.get("rows") or 0), accepted=int(row.get("accepted") or 0), rejected=int(row.get("rejected") or 0),
        items=int(row.get("items") or 0), error=row.get("error"), notes=list(row.get("notes") or []),
        batch_ids=list(row.get("batch_ids") or []),
    )


def ingest_job(row: dict[str, Any]) -> IngestJob:
    return IngestJob(
        id=row["id"], name=row["name"], kind=JobKind(row["kind"]), member_code=row.get("member_code"),
        schedule=JobSchedule(interval_seconds=row.get("interval_seconds"), cron=row.get("cron"),
                             timezone=row.get("timezone") or "Asia/Shanghai"),
        config=json.loads(row.get("config") or "{}"), secrets="set" if row.get("secrets_set") else "not set",
        defaults=JobDefaults(**json.loads(row.get("defaults") or "{}")), paused=bool(row.get("paused")),
        builtin=bool(row.get("builtin")), failures=int(row.get("failures") or 0),
        cursor=json.loads(row.get("cursor") or "{}"),
        last_run=job_run(row["last_run"]) if row.get("last_run") else None, next_run_at=row.get("next_run_at"),
        created_at=to_native(row.get("created_at")), updated_at=to_native(row.get("updated_at")),
    )


def _spec(data: IngestJobInput | IngestJobPatch) -> service.JobSpec:
    secrets = data.secrets
    defaults = data.defaults
    return service.JobSpec(
        name=getattr(data, "name", None), kind=data.kind.value if hasattr(data, "kind") else None,
        member_code=data.member_code, interval_seconds=data.interval_seconds, cron=data.cron, timezone=data.timezone,
        config=data.config, paused=getattr(data, "paused", None),
        secrets=None if secrets is None else {k: v for k, v in (("token", secrets.token), ("password", secrets.password)) if v},
        defaults=None if defaults is None else {k: v for k, v in vars(defaults).items() if v is not None},
    )


async def _read_back(info: Info, job_id: str) -> IngestJob:
    context = info.context
    row = await service.get_job(context.reader(context.principal), job_id)
    if row is None:
        raise NotFound(f"no ingest job {job_id!r}")
    return ingest_job(row)


@strawberry.type
class JobQuery:
    @strawberry.field(description="Every scheduled job (operators), with its last run and next run time.")
    async def ingest_jobs(self, info: Info) -> list[IngestJob]:
        principal = require(info, "ingestJobs")
        context = info.context
        rows = await service.list_jobs(context.reader(principal))
        return [ingest_job(row) for row in rows]

    @strawberry.field(description="One job by id or name; null when there is none.")
    async def ingest_job(self, info: Info, id: str) -> IngestJob | None:
        principal = require(info, "ingestJob")
        context = info.context
        row = await service.get_job(context.reader(principal), id)
        return ingest_job(row) if row else None


@strawberry.type
class JobMutation:
    @strawberry.mutation(description="Create a job; the scheduler picks it up within seconds.")
    async def create_ingest_job(self, info: Info, job: IngestJobInput) -> IngestJob:
        principal = require(info, "createIngestJob")
        runtime = info.context.runtime
        created = await service.create_job(runtime.graph, runtime.audit, SecretBox.from_settings(runtime.settings),
                                           principal, _spec(job), info.context.request_id)
        return await _read_back(info, created["id"])

    @strawberry.mutation(description="Change a job's schedule, member, config, secrets or defaults.")
    async def update_ingest_job(self, info: Info, id: str, changes: IngestJobPatch) -> IngestJob:
        principal = require(info, "updateIngestJob")
        runtime = info.context.runtime
        updated = await service.update_job(runtime.graph, runtime.audit, SecretBox.from_settings(runtime.settings),
                                           principal, id, _spec(changes), info.context.request_id)
        return await _read_back(info, updated["id"])

    @strawberry.mutation(description="Stop scheduling a job (a run in progress finishes).")
    async def pause_ingest_job(self, info: Info, id: str) -> IngestJob:
        principal = require(info, "pauseIngestJob")
        runtime = info.context.runtime
        job = await service.set_paused(runtime.graph, runtime.audit, principal, id, True, info.context.request_id)
        return await _read_back(info, job["id"])

    @strawberry.mutation(description="Schedule a paused job again.")
    async def resume_ingest_job(self, info: Info, id: str) -> IngestJob:
        principal = require(info, "resumeIngestJob")
        runtime = info.context.runtime
        job = await service.set_paused(runtime.graph, runtime.audit, principal, id, False, info.context.request_id)
        return await _read_back(info, job["id"])

    @strawberry.mutation(description="Run a job now (the scheduler starts it within seconds; never two runs at once).")
    async def run_ingest_job_now(self, info: Info, id: str) -> IngestJob:
        principal = require(info, "runIngestJobNow")
        runtime = info.context.runtime
        job = await service.run_now(runtime.graph, runtime.audit, principal, id, info.context.request_id)
        return await _read_back(info, job["id"])

    @strawberry.mutation(description="Delete a job with its run history (its leads stay). Housekeeping jobs can only be paused.")
    async def delete_ingest_job(self, info: Info, id: str) -> bool:
        principal = require(info, "deleteIngestJob")
        runtime = info.context.runtime
        return await service.delete_job(runtime.graph, runtime.audit, principal, id, info.context.request_id)
