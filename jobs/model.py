"""What a scheduled job is: its kind, its schedule, its defaults, and how a stored job reads back.

A job is stored as one `IngestJob` node (graph/jobs.py); `Job.from_node` turns it into this value. The schedule
is an interval (seconds) or a cron expression, evaluated in a timezone (Asia/Shanghai unless given).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from core.errors import BadInput

DEFAULT_TIMEZONE = "Asia/Shanghai"
MIN_INTERVAL_SECONDS = 10


class JobKind(str, Enum):
    DROP_FOLDER = "drop_folder"
    HTTP_FEED = "http_feed"
    TAXII = "taxii"
    MISP_FEED = "misp_feed"
    # Housekeeping, installed by default (jobs/housekeeping.py).
    RETENTION = "retention"
    NETWORK_UPKEEP = "network_upkeep"
    BATCH_SWEEPER = "batch_sweeper"
    AUDIT_CHECKPOINT = "audit_checkpoint"
    ESCALATION_DIGEST = "escalation_digest"

    @property
    def ingests(self) -> bool:
        return self in INGEST_KINDS


INGEST_KINDS = frozenset({JobKind.DROP_FOLDER, JobKind.HTTP_FEED, JobKind.TAXII, JobKind.MISP_FEED})


class RunStatus(str, Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class Schedule:
    interval_seconds: int | None = None
    cron: str | None = None
    timezone: str = DEFAULT_TIMEZONE

    @classmethod
    def parse(cls, *, interval_seconds: int | None, cron: str | None, tz: str | None) -> "Schedule":
        """A schedule from what an operator typed; BadInput says which field and what is accepted."""
        tz = tz or DEFAULT_TIMEZONE
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise BadInput(f"unknown timezone {tz!r}; accepted: an IANA name such as Asia/Shanghai or UTC", field="timezone")
        if (interval_seconds is None) == (cron is None):
            raise BadInput("give exactly one of intervalSeconds or cron (e.g. intervalSeconds: 3600, or cron: '0 2 * * *')",
                           field="schedule")
        if interval_seconds is not None and interval_seconds < MIN_INTERVAL_SECONDS:
            raise BadInput(f"intervalSeconds must be at least {MIN_INTERVAL_SECONDS} (got {interval_seconds})",
                           field="intervalSeconds")
        schedule = cls(interval_seconds, cron.strip() if cron else None, tz)
        if cron is not None:
            try:
                schedule.trigger()
            except ValueError as error:
                raise BadInput(f"cron {cron!r} is not a valid crontab expression (minute hour day month weekday): {error}",
                               field="cron")
        return schedule

    def trigger(self) -> BaseTrigger:
        zone = ZoneInfo(self.timezone)
        if self.cron:
            return CronTrigger.from_crontab(self.cron, timezone=zone)
        return IntervalTrigger(seconds=self.interval_seconds or 3600, timezone=zone,
                               start_date=datetime(2026, 1, 1, tzinfo=timezone.utc))

    def next_run(self, now: datetime | None = None) -> datetime | None:
        now = now or datetime.now(timezone.utc)
        return self.trigger().get_next_fire_time(None, now)

    def describe(self) -> str:
        if self.cron:
            return f"cron '{self.cron}' ({self.timezone})"
        return f"every {self.interval_seconds} s"


@dataclass(frozen=True)
class Job:
    id: str
    name: str
    kind: JobKind
    member_code: str | None
    schedule: Schedule
    config: dict[str, Any]
    defaults: dict[str, Any]
    paused: bool
    cursor: dict[str, Any]
    secrets_enc: str | None = None
    failures: int = 0
    retry_at: datetime | None = None
    builtin: bool = False
    version: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_node(cls, node: dict[str, Any]) -> "Job":
        return cls(
            id=node["id"], name=node["name"], kind=JobKind(node["kind"]), member_code=node.get("member_code"),
            schedule=Schedule(node.get("interval_seconds"), node.get("cron"), node.get("timezone") or DEFAULT_TIMEZONE),
            config=json.loads(node.get("config") or "{}"), defaults=json.loads(node.get("defaults") or "{}"),
            paused=bool(node.get("paused")), cursor=json.loads(node.get("cursor") or "{}"),
            secrets_enc=node.get("secrets_enc"), failures=int(node.get("failures") or 0),
            retry_at=_native(node.get("retry_at")), builtin=bool(node.get("builtin")), version=int(node.get("version") or 1),
        )


def _native(value: Any) -> datetime | None:
    if value is None:
        return None
    return value.to_native() if hasattr(value, "to_native") else value


def next_run_at(node: dict[str, Any], now: datetime | None = None) -> datetime | None:
    """When the job runs next: never while paused; a pending retry wins when it comes first."""
    if node.get("paused"):
        return None
    schedule = Schedule(node.get("interval_seconds"), node.get("cron"), node.get("timezone") or DEFAULT_TIMEZONE)
    upcoming = schedule.next_run(now)
    retry = _native(node.get("retry_at"))
    if retry is not None and (upcoming is None or retry < upcoming):
        return retry
    return upcoming
