"""A drop folder: each complete file is filed once, then moved to `done/` or `failed/` beside its report.

Config: `path` (the folder), `pattern` (glob, default `*`), `settle_seconds` (default 5): a file counts as
complete once it has not changed for that long and its size holds still while it is looked at. Hidden files
and names ending in .part, .tmp, .partial, .crdownload, .filepart are still being written and are left alone.
A file's source id is its SHA-256: a file dropped again is moved to `done/` with a report naming the batch
that filed it, and filed nothing twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from core.errors import BadInput
from jobs.connectors.base import Filed, Payload, RunContext, SourceFailed
from jobs.connectors.readable import check_lead_file

IN_PROGRESS_SUFFIXES = (".part", ".tmp", ".partial", ".crdownload", ".filepart", ".report.json")
DONE, FAILED = "done", "failed"


class DropFolder:
    def validate(self, config: dict[str, Any], secrets: dict[str, str]) -> dict[str, Any]:
        path = config.get("path")
        if not isinstance(path, str) or not path.strip():
            raise BadInput("a drop folder job needs config.path, the folder to watch", field="path")
        folder = Path(path).expanduser()
        if not folder.is_absolute():
            raise BadInput(f"config.path must be an absolute path (got {path!r})", field="path")
        settle = config.get("settle_seconds", 5)
        if not isinstance(settle, (int, float)) or settle < 0:
            raise BadInput(f"settle_seconds must be a number ≥ 0 (got {settle!r})", field="settle_seconds")
        return {"path": str(folder), "pattern": str(config.get("pattern") or "*"), "settle_seconds": float(settle)}

    async def run(self, context: RunContext) -> None:
        folder = Path(context.job.config["path"])
        if not folder.is_dir():
            raise SourceFailed(f"the drop folder {folder} does not exist or is not a folder: create it or fix config.path")
        failures = []
        for path in await asyncio.to_thread(complete_files, folder, context.job.config):
            error = await self._one(context, path)
            if error:
                failures.append(f"{path.name}: {error}")
        if failures:
            raise SourceFailed(f"{len(failures)} file(s) moved to failed/ beside their report: " + "; ".join(failures),
                               retry=False)

    async def _one(self, context: RunContext, path: Path) -> str | None:
        digest = await asyncio.to_thread(sha256_of, path)
        source_id = f"sha256:{digest}"
        if await context.filed_ids([source_id]):
            _move(path, DONE, {"status": "already_filed", "sha256": digest,
                               "message": "this content was filed before by this job; nothing was filed again"})
            return None
        try:
            fmt = await asyncio.to_thread(check_lead_file, path, None, f"the file {path.name}")
        except SourceFailed as error:
            _move(path, FAILED, {"status": "failed", "error": error.message})
            return error.message
        filed = await context.file(Payload(filename=path.name, format=fmt, source_ids=[source_id], path=path))
        report = _report(filed, digest)
        if filed.batch["status"] == "committed":
            _move(path, DONE, report)
            return None
        _move(path, FAILED, report)
        return str(filed.batch.get("error"))


def complete_files(folder: Path, config: dict[str, Any]) -> list[Path]:
    settle = float(config.get("settle_seconds", 5))
    now = time.time()
    candidates = []
    for path in sorted(folder.glob(config.get("pattern") or "*")):
        if not path.is_file() or path.name.startswith(".") or path.name.lower().endswith(IN_PROGRESS_SUFFIXES):
            continue
        stat = path.stat()
        if now - stat.st_mtime >= settle and stat.st_size > 0:
            candidates.append((path, stat.st_size, stat.st_mtime))
    if candidates and settle > 0:
        time.sleep(min(0.5, settle))
    return [path for path, size, mtime in candidates
            if path.exists() and (path.stat().st_size, path.stat().st_mtime) == (size, mtime)]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while block := source.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _report(filed: Filed, digest: str) -> dict[str, Any]:
    batch = filed.batch
    return {
        "status": batch["status"], "sha256": digest, "batch_id": batch["id"], "created": filed.created,
        "error": batch.get("error"),
        "totals": {name: batch.get(name) for name in ("rows_total", "accepted", "rejected", "skipped", "duplicate")},
        "rows": filed.report,
    }


def _move(path: Path, where: str, report: dict[str, Any]) -> None:
    """Move the file into done/ or failed/ (a name already there gets a time stamp) and write its report beside it."""
    target_dir = path.parent / where
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    if target.exists():
        target = target_dir / f"{path.stem}.{datetime.now(timezone.utc):%Y%m%dT%H%M%S%f}{path.suffix}"
    path.rename(target)
    report = {"file": target.name, "at": datetime.now(timezone.utc).isoformat(), **report}
    target.with_name(target.name + ".report.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
