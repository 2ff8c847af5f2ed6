"""Jobs over GraphQL (operators only) and GET /metrics on the API."""

from __future__ import annotations

import httpx

from graph.database import Graph
from tests.support import error_codes, gql, issue_key

CREATE = """
mutation($job: IngestJobInput!) {
  createIngestJob(job: $job) { id name kind memberCode secrets paused config defaults { category tlp }
                               schedule { intervalSeconds cron timezone } nextRunAt lastRun { status } }
}"""
JOBS = "{ ingestJobs { name kind secrets nextRunAt lastRun { status error } } }"
TOKEN = "feed-token-never-shown-42"


def _job(**overrides) -> dict:
    return {"name": "partner-feed", "kind": "HTTP_FEED", "memberCode": "OPS", "intervalSeconds": 600,
            "config": {"url": "https://feeds.example.cn/leads.csv", "auth": "bearer"},
            "secrets": {"token": TOKEN}, "defaults": {"category": "贷款中介", "tlp": "green"}, **overrides}


async def test_operator_creates_a_job_and_its_secret_is_only_set_or_not_set(api: httpx.AsyncClient, graph: Graph) -> None:
    operator = await issue_key(graph, "OPS", "operator")

    created = await gql(api, CREATE, operator, job=_job())
    listed = await gql(api, JOBS, operator)

    job = created["data"]["createIngestJob"]
    assert job["kind"] == "HTTP_FEED" and job["secrets"] == "set" and job["defaults"] == {"category": "LOAN_INTERMEDIARY", "tlp": "GREEN"}
    assert job["schedule"] == {"intervalSeconds": 600, "cron": None, "timezone": "Asia/Shanghai"}
    assert job["nextRunAt"] is not None and job["lastRun"] is None
    assert TOKEN not in str(created) and TOKEN not in str(listed)
    assert [j["name"] for j in listed["data"]["ingestJobs"]] == ["partner-feed"]


async def test_pause_resume_run_now_and_delete(api: httpx.AsyncClient, graph: Graph) -> None:
    operator = await issue_key(graph, "OPS", "operator")
    job_id = (await gql(api, CREATE, operator, job=_job()))["data"]["createIngestJob"]["id"]

    paused = await gql(api, "mutation($id: String!) { pauseIngestJob(id: $id) { paused nextRunAt } }", operator, id=job_id)
    resumed = await gql(api, "mutation($id: String!) { resumeIngestJob(id: $id) { paused nextRunAt } }", operator, id=job_id)
    await gql(api, "mutation($id: String!) { runIngestJobNow(id: $id) { id } }", operator, id=job_id)
    requested = await graph.read("MATCH (j:IngestJob {id: $id}) RETURN j.run_requested_at IS NOT NULL AS requested", {"id": job_id})
    deleted = await gql(api, "mutation($id: String!) { deleteIngestJob(id: $id) }", operator, id=job_id)
    gone = await gql(api, "query($id: String!) { ingestJob(id: $id) { id } }", operator, id=job_id)

    assert paused["data"]["pauseIngestJob"] == {"paused": True, "nextRunAt": None}
    assert resumed["data"]["resumeIngestJob"]["nextRunAt"] is not None
    assert requested == [{"requested": True}]
    assert deleted["data"]["deleteIngestJob"] is True and gone["data"]["ingestJob"] is None


async def test_bad_job_input_is_refused_with_the_field_and_creates_nothing(api: httpx.AsyncClient, graph: Graph) -> None:
    operator = await issue_key(graph, "OPS", "operator")

    bad_cron = await gql(api, CREATE, operator, job=_job(intervalSeconds=None, cron="every tuesday"))
    bad_url = await gql(api, CREATE, operator, job=_job(config={"url": "ftp://x"}))
    no_member = await gql(api, CREATE, operator, job=_job(memberCode="NOPE"))
    misp_without_category = await gql(api, CREATE, operator, job=_job(kind="MISP_FEED", defaults={}))

    assert "cron 'every tuesday' is not a valid crontab" in bad_cron["errors"][0]["message"]
    assert "http:// or https://" in bad_url["errors"][0]["message"]
    assert "member 'NOPE' does not exist" in no_member["errors"][0]["message"]
    assert "needs defaults.category" in misp_without_category["errors"][0]["message"]
    assert await graph.read("MATCH (j:IngestJob) RETURN j.id AS id") == []


async def test_analysts_may_not_see_or_manage_jobs(api: httpx.AsyncClient, graph: Graph) -> None:
    analyst = await issue_key(graph, "ACME", "analyst")

    assert error_codes(await gql(api, JOBS, analyst)) == ["FORBIDDEN"]
    assert error_codes(await gql(api, CREATE, analyst, job=_job())) == ["FORBIDDEN"]


async def test_metrics_endpoint_exports_job_and_graphql_operation_metrics(api: httpx.AsyncClient, graph: Graph) -> None:
    operator = await issue_key(graph, "OPS", "operator")
    await gql(api, JOBS, operator)

    response = await api.get("/metrics")

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'fenghuo_graphql_operations_total{operation="ingestJobs",outcome="ok"}' in text
    assert 'fenghuo_http_requests_total{method="POST",route="/graphql",status="200"}' in text
    assert "# TYPE fenghuo_job_runs_total counter" in text
