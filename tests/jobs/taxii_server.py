"""The OASIS TAXII 2.1 reference server (medallion, memory backend) on loopback, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port
from tests.support import ends_with_the_tests

REPO = Path(__file__).resolve().parents[2]
API_ROOT = "fenghuo"
COLLECTION = "5f3c5b3e-0000-4000-8000-00000000c011"
USER, PASSWORD = "taxii-user", "taxii-pass-123"
STIX_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def indicator(n: int, pattern: str, *, modified: str = "2026-11-01T00:00:00.000Z") -> dict[str, Any]:
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
            "created": "2026-11-01T00:00:00.000Z", "modified": modified, "pattern": pattern, "pattern_type": "stix",
            "valid_from": "2026-11-01T00:00:00Z", "indicator_types": ["malicious-activity"]}


def store(objects: list[dict[str, Any]], *, start: datetime | None = None) -> dict[str, Any]:
    """A medallion memory-backend store with one readable, writable collection holding `objects` in order."""
    start = start or datetime(2026, 11, 1, tzinfo=timezone.utc)
    manifest = [{"id": obj["id"], "date_added": (start + timedelta(seconds=i)).strftime(STIX_TIME),
                 "version": obj.get("modified", obj.get("created")), "media_type": "application/stix+json;version=2.1"}
                for i, obj in enumerate(objects)]
    return {
        "/discovery": {"title": "test TAXII", "default": f"/{API_ROOT}/", "api_roots": [f"/{API_ROOT}/"]},
        API_ROOT: {
            "information": {"title": "test root", "versions": ["application/taxii+json;version=2.1"],
                            "max_content_length": 100_000_000},
            "status": [],
            "collections": [{"id": COLLECTION, "title": "test indicators", "can_read": True, "can_write": True,
                             "media_types": ["application/stix+json;version=2.1"], "objects": objects,
                             "manifest": manifest}],
        },
    }


class Medallion:
    def __init__(self, data_file: Path, workdir: Path, *, page_size: int = 100,
                 backend: tuple[str, str] = ("medallion.backends.memory_backend", "MemoryBackend")) -> None:
        """`page_size` is the server's max_page_size (medallion's default is 100); `backend` (module, class) a
        medallion backend importable from the repository root."""
        self.port = free_port()
        self.config = workdir / f"medallion-{self.port}.json"
        self.config.write_text(json.dumps({
            "backend": {"module": backend[0], "module_class": backend[1], "filename": str(data_file)},
            "users": {USER: PASSWORD}, "taxii": {"max_page_size": page_size},
        }))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def collection_url(self, api_root: str = API_ROOT, collection: str = COLLECTION) -> str:
        return f"{self.base}/{api_root}/collections/{collection}/"

    def __enter__(self) -> "Medallion":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "medallion.scripts.run", "--host", "127.0.0.1", "--port", str(self.port), str(self.config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO, preexec_fn=ends_with_the_tests,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/taxii2/", auth=(USER, PASSWORD),
                             headers={"Accept": "application/taxii+json;version=2.1"}).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("medallion did not start")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def add(self, objects: list[dict[str, Any]]) -> None:
        response = httpx.post(self.collection_url() + "objects/", auth=(USER, PASSWORD), json={"objects": objects},
                              headers={"Accept": "application/taxii+json;version=2.1",
                                       "Content-Type": "application/taxii+json;version=2.1"})
        response.raise_for_status()
