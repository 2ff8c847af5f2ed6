"""The one settings object. Every value comes from the environment with the FENGHUO_ prefix (or a .env file)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.children import BACKGROUND_NICE


_MEMORY_SIZE = re.compile(r"^\s*[1-9]\d*\s*[kmgKMG]?[bB]?\s*$")


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "fenghuo"


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "fenghuo"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FENGHUO_", env_file=".env", extra="ignore")

    # Neo4j. No URI = the embedded default: a Neo4j 5.26 started from graph/launcher in data_dir.
    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr | None = None
    neo4j_database: str = "neo4j"
    neo4j_bolt_port: int = Field(17687, description="Bolt port of the embedded Neo4j")
    # "auto" sizes the embedded Neo4j from the machine's (or the cgroup's) memory as Neo4j's own memory
    # recommendation does (graph/sizing.py); a size such as 4g or 512m sets it.
    neo4j_heap: str = Field("auto", description="embedded Neo4j JVM heap: auto or a size such as 4g")
    neo4j_page_cache: str = Field("auto", description="embedded Neo4j page cache: auto or a size such as 6g")
    neo4j_start_timeout: float = 180.0

    data_dir: Path = Field(default_factory=_default_data_dir)
    cache_dir: Path = Field(default_factory=_default_cache_dir)

    # Pseudonymization key shared by all nodes of the alliance (hex or base64, >= 32 bytes).
    alliance_key: SecretStr | None = None
    alliance_key_version: int = 1

    host: str = "127.0.0.1"
    port: int = 8000
    # `fenghuo serve --workers N`: API processes sharing the port (one event loop each) over the same Neo4j.
    workers: int = Field(1, ge=1, le=64, description="API worker processes of `fenghuo serve`")
    serve_scheduler: bool = Field(True, description="`fenghuo serve` also runs the job scheduler (set by --no-scheduler)")
    log_level: str = "INFO"
    # uvicorn's line per HTTP request. Off by default: GET /metrics counts requests by route and status, the audit
    # trail records every read, and at a risk engine's rate the line costs ~10 % of an empty request's CPU.
    access_log: bool = False

    # GraphQL hardening (issue 3).
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 50
    graphql_max_tokens: int = 5000
    graphql_introspection: bool = True
    request_timeout_seconds: float = 30.0
    max_body_bytes: int = 8 * 1024 * 1024  # JSON requests (10,000 identifiers fit easily)
    max_upload_bytes: int = 1024 * 1024 * 1024  # multipart lead files (a 1M-row CSV is ~130 MB)
    max_list_items: int = 10_000

    # Per API key (or per IP without one). A risk engine's peak of a few hundred checks a second fits; what the limit
    # stops is one key's runaway loop taking the whole node. A bulk call (POST /v1/checks, 10,000 identifiers, or a
    # stream) counts once: engines that check a day's applications at once use that, not a flood of single checks.
    rate_limit_per_minute: int = 30_000
    rate_limit_burst: int = 1_000
    # How many nice levels below the API the batch worker runs (core/children.background): 10, checks first. Where
    # the embedded Neo4j and the API share one CPU cgroup with no kernel autogroup (one systemd unit, one container),
    # the worker then gives way to Neo4j too, and a 100k-row upload took ~25 % longer: 0 puts ingest first.
    batch_worker_nice: int = Field(BACKGROUND_NICE, ge=0, le=19)
    # How long an API key record is remembered between requests (access/service.KeyRecords): a revocation
    # made by another process takes effect within this time; one made through this process, at once.
    auth_cache_seconds: float = Field(5.0, ge=0, le=300)

    # Every read of intelligence is audited with the caller's stated purpose (header X-Fenghuo-Purpose); when
    # true, a read without one is refused.
    require_purpose: bool = False

    # Escalation to police (issue 13). Unset keys = the embedded default: generated into data_dir on first use.
    node_key: SecretStr | None = Field(None, description="this node's Ed25519 private key (32 bytes, hex or base64, or PEM); "
                                                         "signs case packages and federation requests")
    escalation_sealing_key: SecretStr | None = Field(
        None, description="AES-256 key (hex or base64) sealing raw identifiers and evidence of escalations")
    police_session_minutes: int = Field(30, ge=1, le=24 * 60, description="idle expiry of a liaison inbox session")
    escalation_max_attachment_bytes: int = 2 * 1024 * 1024
    escalation_max_attachments: int = 5
    webhook_timeout_seconds: float = 5.0

    demo_seed: bool = Field(True, description="seed a demo alliance and operator key on the embedded default")

    # Client commands (fenghuo upload/check …).
    url: str = "http://127.0.0.1:8000"
    api_key: SecretStr | None = None

    # Federation (issue 12). The node's id defaults to "node-<key id>"; its Ed25519 key (node_key above, shared with
    # case-package signing) is generated into data_dir unless configured, as deployments do.
    node_id: str | None = None
    federation_clock_skew_seconds: float = Field(60.0, gt=0, description="signed requests older or newer are refused")
    federation_peer_timeout_seconds: float = Field(2.0, gt=0, le=60, description="default timeout of a new peer")
    federation_max_answer_bytes: int = Field(8 * 1024 * 1024, gt=0, description="a larger peer answer is its failure")
    federation_breaker_failures: int = Field(3, ge=1, description="consecutive failures that open a peer's breaker")
    federation_breaker_reset_seconds: float = Field(15.0, gt=0, description="open breaker waits this long, then probes")
    federation_peer_cache_seconds: float = Field(2.0, ge=0, description="peer registrations are re-read after this")

    # -- scheduled ingest (jobs/, issue 11) ----------------------------------------------------------------
    # Key that encrypts job secrets (feed tokens, TAXII passwords); unset = a key file in data_dir (jobs-secret.key).
    jobs_secret_key: SecretStr | None = None
    scheduler_lease_seconds: float = Field(30.0, ge=5, description="a dead scheduler's lease frees after this")
    scheduler_poll_seconds: float = Field(2.0, gt=0, description="how often job changes and run requests are read")
    scheduler_metrics_port: int = Field(8001, description="GET /metrics of a standalone `fenghuo scheduler`")
    job_retry_base_seconds: float = Field(60.0, gt=0, description="first retry after a failed run; doubles per failure")
    job_retry_max_seconds: float = Field(3600.0, gt=0)
    retention_grace_days: int = Field(90, ge=0, description="days an expired lead is still reported as expired before it is purged")
    abandoned_batch_hours: float = Field(6.0, gt=0, description="a batch processing this long without progress is swept")
    audit_checkpoint_blocks: int = Field(200, ge=1, description="newest audit blocks verified by the checkpoint job")

    @field_validator("neo4j_heap", "neo4j_page_cache")
    @classmethod
    def _memory_size(cls, value: str) -> str:
        if value.strip().lower() != "auto" and not _MEMORY_SIZE.match(value):
            raise ValueError(f"{value!r} is not a memory size: use 'auto' or a number with k, m or g, such as 512m or 4g")
        return value.strip()

    @property
    def embedded(self) -> bool:
        return not self.neo4j_uri


@cache
def get_settings() -> Settings:
    return Settings()
