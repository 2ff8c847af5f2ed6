import httpx


async def test_healthz_reports_neo4j_version(api: httpx.AsyncClient) -> None:
    response = await api.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["neo4j"]["reachable"] is True
    assert body["neo4j"]["version"].startswith("5.26")


async def test_graphiql_is_served_on_get(api: httpx.AsyncClient) -> None:
    response = await api.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()
