"""Managing scheduled jobs (operators): create, change, pause, resume, run now, delete, read — validated and audited.

The scheduler notices every change within FENGHUO_SCHEDULER_POLL_SECONDS: it compares each job's `version`
and takes run requests from the graph, so the API and the scheduler may be different processes.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from core.principal import Principal
from audit.log import AuditLog
from audit.reader import Reader
from core.errors import BadInput, Conflict, NotFound
from graph import jobs as repo
from graph.database import Graph
from graph.members import get_member
from ingest.defaults import BatchDefaults
from jobs.connectors import connector_for
from jobs.housekeeping import BUILTIN_JOBS
from jobs.model import INGEST_KINDS, JobKind, Schedule, next_run_at
from jobs.secrets import SecretBox

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
SECRET_NAMES = ("token", "password")


@dataclass
class JobSpec:
    """A job as an operator describes it (GraphQL input, CLI options); None = unchanged on update."""

    name: str | None = None
    kind: str | None = None
    member_code: str | None = None
    interval_seconds: int | None = None
    cron: str | None = None
    timezone: str | None = None
    config: dict[str, Any] | None = None
    secrets: dict[str, str] | None = None  # {} on update clears them
    defaults: dict[str, Any] | None = None
    paused: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def parse_kind(text: str | None) -> JobKind:
    try:
        kind = JobKind(str(text or "").strip().lower())
    except ValueError:
        kind = None
    if kind not in INGEST_KINDS:
        raise BadInput(f"unknown job kind {text!r}; accepted: {', '.join(sorted(k.value for k in INGEST_KINDS))} "
                       "(housekeeping jobs are installed by the platform)", field="kind")
    return kind


def _defaults(raw: dict[str, Any] | None, kind: JobKind) -> dict[str, Any]:
    raw = raw or {}
    unknown = set(raw) - {"category", "tlp", "confidence", "agent"}
    if unknown:
        raise BadInput(f"unknown defaults {sorted(unknown)}; accepted: category, tlp, confidence, agent", field="defaults")
    parsed = BatchDefaults.parse(category=raw.get("category"), tlp=raw.get("tlp"), confidence=raw.get("confidence"),
                                 agent=raw.get("agent"))
    if kind is JobKind.MISP_FEED and not parsed.category:
        raise BadInput("a MISP feed job needs defaults.category (MISP events carry no Fenghuo category)", field="category")
    return {k: v for k, v in {"category": parsed.category, "tlp": parsed.tlp, "confidence": parsed.confidence,
                              "agent": parsed.agent}.items() if v is not None}


def _secrets(raw: dict[str, str] | None) -> dict[str, str]:
    unknown = set(raw or {}) - set(SECRET_NAMES)
    if unknown:
        raise BadInput(f"unknown secrets {sorted(unknown)}; accepted: {', '.join(SECRET_NAMES)}", field="secrets")
    return {k: str(v) for k, v in (raw or {}).items() if v}


async def _check_member(graph: Graph, code: str | None) -> str:
    if not code or await get_member(graph, code) is None:
        raise BadInput(f"member {code!r} does not exist; a job files for an existing member (see `fenghuo members list`)",
                       field="memberCode")
    return code


async def create_job(graph: Graph, audit: AuditLog, box: SecretBox, principal: Principal, spec: JobSpec,
                     request_id: str | None = None) -> dict[str, Any]:
    if not spec.name or not NAME.match(spec.name):
        raise BadInput("name must be 1–80 letters, digits, '.', '_' or '-', starting with a letter or digit", field="name")
    if await repo.find_job(graph, spec.name):
        raise Conflict(f"a job named {spec.name!r} exists already; choose another name or update it")
    kind = parse_kind(spec.kind)
    schedule = Schedule.parse(interval_seconds=spec.interval_seconds, cron=spec.cron, tz=spec.timezone)
    secrets = _secrets(spec.secrets)
    props = {
        "id": uuid.uuid4().hex, "name": spec.name, "kind": kind.value,
        "member_code": await _check_member(graph, spec.member_code),
        "interval_seconds": schedule.interval_seconds, "cron": schedule.cron, "timezone": schedule.timezone,
        "config": json.dumps(connector_for(kind).validate(spec.config or {}, secrets), sort_keys=True),
        "defaults": json.dumps(_defaults(spec.defaults, kind), sort_keys=True), "secrets_enc": box.seal(secrets),
        "paused": bool(spec.paused), "cursor": "{}", "builtin": False,
    }
    job = await repo.create_job(graph, props)
    audit.record(principal, "jobs.create", subject=job["id"], request_id=request_id, detail=f"kind={kind.value}")
    return job


async def update_job(graph: Graph, audit: AuditLog, box: SecretBox, principal: Principal, job_id: str, spec: JobSpec,
                     request_id: str | None = None) -> dict[str, Any]:
    current = await _existing(graph, job_id)
    kind = JobKind(current["kind"])
    props: dict[str, Any] = {}
    if any(v is not None for v in (spec.interval_seconds, spec.cron, spec.timezone)):
        schedule = Schedule.parse(interval_seconds=spec.interval_seconds, cron=spec.cron,
                                  tz=spec.timezone or current.get("timezone"))
        props.update(interval_seconds=schedule.interval_seconds, cron=schedule.cron, timezone=schedule.timezone)
    if spec.member_code is not None:
        props["member_code"] = await _check_member(graph, spec.member_code)
    secrets = _secrets(spec.secrets) if spec.secrets is not None else box.open(current.get("secrets_enc"))
    if spec.config is not None:
        if kind not in INGEST_KINDS:
            raise BadInput("a housekeeping job's config cannot be changed; pause it or change its schedule", field="config")
        props["config"] = json.dumps(connector_for(kind).validate(spec.config, secrets), sort_keys=True)
    if spec.defaults is not None:
        props["defaults"] = json.dumps(_defaults(spec.defaults, kind), sort_keys=True)
    if spec.secrets is not None and secrets:
        props["secrets_enc"] = box.seal(secrets)
    if spec.paused is not None:
        props["paused"] = spec.paused
    job = await repo.update_job(graph, current["id"], props, clear_secrets=spec.secrets is not None and not secrets)
    audit.record(principal, "jobs.update", subject=current["id"], request_id=request_id,
                 detail="fields=" + ",".join(sorted(props)))
    return job  # type: ignore[return-value]


async def set_paused(graph: Graph, audit: AuditLog, principal: Principal, job_id: str, paused: bool,
                     request_id: str | None = None) -> dict[str, Any]:
    current = await _existing(graph, job_id)
    job = await repo.update_job(graph, current["id"], {"paused": paused})
    audit.record(principal, "jobs.pause" if paused else "jobs.resume", subject=current["id"], request_id=request_id)
    return job  # type: ignore[return-value]


async def run_now(graph: Graph, audit: AuditLog, principal: Principal, job_id: str, request_id: str | None = None) -> dict[str, Any]:
    """Ask the scheduler to run the job at once (it runs even while paused; never twice at once)."""
    current = await _existing(graph, job_id)
    await repo.request_run(graph, current["id"])
    audit.record(principal, "jobs.run_now", subject=current["id"], request_id=request_id)
    return current


async def delete_job(graph: Graph, audit: AuditLog, principal: Principal, job_id: str, request_id: str | None = None) -> bool:
    current = await _existing(graph, job_id)
    if current.get("builtin"):
        raise BadInput(f"{current['name']} is a housekeeping job installed by the platform; pause it instead", field="id")
    deleted = await repo.delete_job(graph, current["id"])
    audit.record(principal, "jobs.delete", subject=current["id"], request_id=request_id)
    return deleted


async def list_jobs(reader: Reader) -> list[dict[str, Any]]:
    jobs = await repo.readable_jobs(reader.graph, reader.principal)
    reader.record("jobs.read", subject=[j["id"] for j in jobs][:100], found=bool(jobs))
    return await _with_runs(reader.graph, jobs)


async def get_job(reader: Reader, job_id: str) -> dict[str, Any] | None:
    job = await repo.readable_job(reader.graph, reader.principal, job_id)
    reader.record("jobs.read", subject=job_id, found=job is not None)
    return (await _with_runs(reader.graph, [job]))[0] if job is not None else None


async def runs_of(graph: Graph, principal: Principal, job_id: str, first: int = 20) -> list[dict[str, Any]]:
    return await repo.readable_runs(graph, principal, job_id, max(1, min(first, 200)))


async def install_builtin_jobs(graph: Graph) -> int:
    """Create the housekeeping jobs that are missing (idempotent: existing ones keep their changes)."""
    created = 0
    for name, kind, schedule, config in BUILTIN_JOBS:
        if await repo.find_job(graph, name):
            continue
        props = {"id": uuid.uuid4().hex, "name": name, "kind": kind.value, "member_code": None,
                 "interval_seconds": schedule.get("interval_seconds"), "cron": schedule.get("cron"),
                 "timezone": "Asia/Shanghai", "config": json.dumps(config), "defaults": "{}", "cursor": "{}",
                 "paused": False, "builtin": True}
        try:
            await repo.create_job(graph, props)
            created += 1
        except Exception:  # noqa: BLE001 - another process installed it at the same moment (unique name)
            if not await repo.find_job(graph, name):
                raise
    return created


async def _existing(graph: Graph, job_id: str) -> dict[str, Any]:
    job = await repo.find_job(graph, job_id)
    if job is None:
        raise NotFound(f"no ingest job {job_id!r}; list them with ingestJobs or `fenghuo jobs list`")
    return job


async def _with_runs(graph: Graph, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    last = await repo.last_runs(graph, [j["id"] for j in jobs])
    return [{**job, "last_run": last.get(job["id"]), "next_run_at": next_run_at(job)} for job in jobs]

