"""docker-compose.yml runs exactly one scheduler, separate from the API (no Docker engine here: read the file)."""

from __future__ import annotations

import yaml

from tests.conftest import repo_root


def test_compose_has_a_scheduler_service_and_its_api_runs_no_scheduler() -> None:
    services = yaml.safe_load((repo_root() / "docker-compose.yml").read_text())["services"]
    assert services["scheduler"]["command"] == ["fenghuo", "scheduler"]
    assert "--no-scheduler" in services["api"]["command"]
    shared = {"FENGHUO_JOBS_SECRET_KEY", "FENGHUO_ALLIANCE_KEY", "FENGHUO_NEO4J_URI"}
    assert shared <= set(services["api"]["environment"]) and shared <= set(services["scheduler"]["environment"])
