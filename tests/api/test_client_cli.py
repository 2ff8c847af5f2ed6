"""`fenghuo upload` as a fraud team runs it: a real CLI process against a running server."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from core.settings import Settings
from graph.database import Graph, Target
from tests.conftest import ServerThread
from tests.support import issue_key

FENGHUO = Path(sys.executable).with_name("fenghuo")
PADDING = "x" * 1900  # an ignored column makes rows long, so 50 MB stays quick to process


def _padded_csv(path: Path, rows: int, first_phone: int) -> Path:
    """Valid leads with a long ignored column: ~2 kB a row."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("手机号,黑产类型,发现时间,padding\r\n")
        for n in range(rows):
            out.write(f"{first_phone + n},贷款中介,2026-11-{1 + n % 28:02d},{PADDING}\r\n")
    return path


def _upload_measured(path: Path, url: str, key: str, *extra: str) -> tuple[int, str, int]:
    """(exit code, stderr, the CLI process's peak RSS in kB), the output drained to files so nothing blocks."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FENGHUO_")}
    with open(path.with_suffix(".out"), "w+") as out, open(path.with_suffix(".err"), "w+") as err:
        process = subprocess.Popen([str(FENGHUO), "upload", str(path), "--url", url, "--key", key, *extra],
                                   stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return process.returncode, err.read(), usage.ru_maxrss


async def test_cli_uploads_a_60_mb_file_streamed_with_flat_memory(api: httpx.AsyncClient, api_server: ServerThread,
                                                                  graph: Graph, tmp_path: Path) -> None:
    token = await issue_key(graph, "ACME", "uploader")
    small = _padded_csv(tmp_path / "small.csv", 500, 13800000000)
    big = _padded_csv(tmp_path / "big.csv", 32_000, 13900000000)
    assert big.stat().st_size > 60_000_000 > 50 * small.stat().st_size
    small_code, small_err, small_peak = _upload_measured(small, api_server.url, token)
    big_code, big_err, big_peak = _upload_measured(big, api_server.url, token)
    assert small_code == 0, small_err
    assert big_code == 0, big_err
    # Reading the file whole would add its 60 MB to the client; streaming it from disk adds ~nothing.
    assert big_peak - small_peak < 16 * 1024, (small_peak, big_peak)
    print(f"client peak RSS: {small_peak} kB for {small.stat().st_size} bytes, {big_peak} kB for {big.stat().st_size} bytes")
    batches = await graph.read("MATCH (b:Batch) RETURN b.bytes_total AS size, b.accepted AS accepted ORDER BY size")
    assert [(b["size"], b["accepted"]) for b in batches] == [(small.stat().st_size, 500), (big.stat().st_size, 32_000)]


async def test_a_raw_upload_over_the_upload_limit_is_refused(settings: Settings, neo4j_target: Target, graph: Graph) -> None:
    from api.app import create_app

    token = await issue_key(graph, "ACME", "uploader")
    tight = settings.model_copy(update={"max_upload_bytes": 2 * 1024 * 1024, "max_body_bytes": 1024})

    async def chunks():
        for _ in range(4):
            yield b"x" * (1024 * 1024)

    with ServerThread(create_app(tight, neo4j_target)) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            within = await client.post("/v1/batches", params={"filename": "a.csv"},
                                       content="手机号,黑产类型\n13800138000,中介\n".encode() + b"#" * 4096,
                                       headers={"authorization": f"Bearer {token}"})
            over = await client.post("/v1/batches", params={"filename": "b.csv"}, content=chunks(),
                                     headers={"authorization": f"Bearer {token}"})
            json_over = await client.post("/graphql", content=b"{" + b" " * 4096 + b"}",
                                          headers={"content-type": "application/json"})
    assert within.status_code in (200, 202), within.text  # more than the JSON limit, within the upload limit
    assert over.status_code == 413 and "2097152" in over.json()["errors"][0]["message"]
    assert json_over.status_code == 413


async def test_report_file_holds_each_reported_row_with_its_cells_formula_safe_and_fixed_rows_upload(
        api: httpx.AsyncClient, api_server: ServerThread, graph: Graph, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    token = await issue_key(graph, "ACME", "uploader")
    source = tmp_path / "leads.csv"
    source.write_text("手机号,黑产类型,备注\n"
                      "13800138000,贷款中介,fine\n"
                      "+86 139 0013 9000,诈骗,=HYPERLINK(\"http://x\")\n"
                      "13700137000,,@SUM(1)\n", encoding="utf-8")
    report = tmp_path / "report.csv"
    result = CliRunner().invoke(app, ["upload", str(source), "--report", str(report), "--url", api_server.url, "--key", token])
    assert result.exit_code == 0, result.output
    raw = report.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert lines[0] == ["line", "status", "problems", "手机号", "黑产类型", "备注"]
    assert [(line[0], line[1], line[3], line[4], line[5]) for line in lines[1:]] == [
        ("3", "rejected", "'+86 139 0013 9000", "诈骗", "'=HYPERLINK(\"http://x\")"),
        ("4", "rejected", "13700137000", "", "'@SUM(1)"),
    ]
    assert "unknown category '诈骗'" in lines[1][2] and "no category" in lines[2][2]
    assert all(not cell.startswith(("=", "+", "-", "@")) for line in lines for cell in line)
    # The team fixes the category cells in a spreadsheet and uploads the report file as it is.
    fixed = tmp_path / "fixed.csv"
    with open(fixed, "w", encoding="utf-8-sig", newline="") as out:
        csv.writer(out).writerows([lines[0], *([*line[:4], "跑分", line[5]] for line in lines[1:])])
    again = CliRunner().invoke(app, ["upload", str(fixed), "--json", "--url", api_server.url, "--key", token])
    assert again.exit_code == 0, again.output
    batch = json.loads(again.stdout)["batch"]
    assert (batch["accepted"], batch["rejected"]) == (2, 0)
