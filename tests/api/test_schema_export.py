from api.graphql.schema import export_sdl
from tests.conftest import repo_root


def test_schema_graphql_matches_the_code() -> None:
    committed = (repo_root() / "schema.graphql").read_text(encoding="utf-8")
    assert committed == export_sdl(), "schema.graphql drifted from the code: run `make schema`"
