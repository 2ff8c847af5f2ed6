"""docker-compose.yml and the Dockerfile cannot run here (no Docker engine); read them for what must hold."""

from __future__ import annotations

import re
import tomllib

import yaml

from tests.conftest import repo_root


def _compose() -> dict:
    return yaml.safe_load((repo_root() / "docker-compose.yml").read_text())


def test_compose_runs_neo4j_526_community_with_auth_healthcheck_and_a_volume() -> None:
    neo4j = _compose()["services"]["neo4j"]
    assert neo4j["image"] == "neo4j:5.26-community"
    assert neo4j["environment"]["NEO4J_AUTH"].startswith("neo4j/${NEO4J_PASSWORD:?")
    assert "cypher-shell" in " ".join(neo4j["healthcheck"]["test"])
    assert any(volume.endswith(":/data") for volume in neo4j["volumes"])


def test_compose_api_waits_for_a_healthy_neo4j_and_points_at_it() -> None:
    api = _compose()["services"]["api"]
    assert api["build"] == "."
    assert api["depends_on"]["neo4j"]["condition"] == "service_healthy"
    assert api["environment"]["FENGHUO_NEO4J_URI"] == "bolt://neo4j:7687"
    assert "FENGHUO_ALLIANCE_KEY" in api["environment"]


def _neo4j_setting(environment_name: str) -> str:
    """The Neo4j image's naming: NEO4J_ + the setting with '_' doubled and '.' as '_'."""
    return environment_name.removeprefix("NEO4J_").replace("__", "\0").replace("_", ".").replace("\0", "_")


def test_compose_neo4j_services_keep_no_connection_alive_for_every_request() -> None:
    """As the embedded default (tests/graph/test_launcher.py): no receive-timeout hint, so no timer per driver read."""
    services = [s for s in _compose()["services"].values() if s.get("image", "").startswith("neo4j:")]
    assert len(services) == 2
    for service in services:
        settings = {_neo4j_setting(name): value for name, value in service["environment"].items()}
        assert settings["server.bolt.connection_keep_alive_for_requests"] == "OFF"


def test_compose_environment_names_exist_in_the_settings() -> None:
    from core.settings import Settings

    fields = {f"FENGHUO_{name.upper()}" for name in Settings.model_fields}
    for service in _compose()["services"].values():
        for name in service.get("environment", {}):
            if name.startswith("FENGHUO_"):
                assert name in fields, name


def test_the_image_copies_every_package_the_project_installs() -> None:
    project = tomllib.loads((repo_root() / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (repo_root() / "Dockerfile").read_text(), re.M))
    assert packages == copied
