"""Drop folder: complete files are filed once through the batch pipeline, then moved beside their report."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tests.jobs.conftest import JobsEnv

CSV = "手机号,黑产类型,备注\n13800138001,贷款中介,a\n13800138002,贷款中介,b\n12345,贷款中介,bad phone\n"
NO_CATEGORY = "手机号,备注\n13900139001,x\n13900139002,y\n"
LEADS = "MATCH (l:Lead) RETURN count(l) AS n"


def _age(path: Path, seconds: float = 60) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


async def test_complete_file_is_filed_once_and_moved_to_done_beside_its_report(jobs_env: JobsEnv, tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "leads.csv").write_text(CSV, encoding="utf-8")
    _age(folder / "leads.csv")
    job = await jobs_env.create("drop", "drop_folder", {"path": str(folder), "settle_seconds": 1})

    run = await jobs_env.run(job)

    assert run["status"] == "succeeded", run["error"]
    assert (run["rows"], run["accepted"], run["rejected"]) == (3, 2, 1)
    assert not (folder / "leads.csv").exists()
    report = json.loads((folder / "done" / "leads.csv.report.json").read_text(encoding="utf-8"))
    assert report["status"] == "committed" and report["totals"]["accepted"] == 2
    assert [row["line"] for row in report["rows"] if row["status"] == "rejected"] == [4]
    assert await jobs_env.count(LEADS) == 2


async def test_the_same_file_dropped_again_files_nothing_twice(jobs_env: JobsEnv, tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    job = await jobs_env.create("drop", "drop_folder", {"path": str(folder), "settle_seconds": 1})
    for name in ("first.csv", "again.csv"):
        (folder / name).write_text(CSV, encoding="utf-8")
        _age(folder / name)
        assert (await jobs_env.run(job))["status"] == "succeeded"

    assert await jobs_env.count(LEADS) == 2
    again = json.loads((folder / "done" / "again.csv.report.json").read_text(encoding="utf-8"))
    assert again["status"] == "already_filed"


async def test_a_file_still_being_written_is_left_alone(jobs_env: JobsEnv, tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "fresh.csv").write_text(CSV, encoding="utf-8")  # modified just now
    (folder / "upload.csv.part").write_text(CSV, encoding="utf-8")
    _age(folder / "upload.csv.part")
    job = await jobs_env.create("drop", "drop_folder", {"path": str(folder), "settle_seconds": 30})

    run = await jobs_env.run(job)

    assert run["status"] == "succeeded" and run["rows"] == 0
    assert (folder / "fresh.csv").exists() and (folder / "upload.csv.part").exists()
    assert await jobs_env.count(LEADS) == 0


async def test_job_default_category_fills_rows_without_one(jobs_env: JobsEnv, tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "nocat.csv").write_text(NO_CATEGORY, encoding="utf-8")
    _age(folder / "nocat.csv")
    job = await jobs_env.create("drop", "drop_folder", {"path": str(folder), "settle_seconds": 1},
                                defaults={"category": "跑分", "tlp": "GREEN"})

    run = await jobs_env.run(job)

    assert run["status"] == "succeeded" and run["accepted"] == 2, run
    rows = await jobs_env.graph.read("MATCH (l:Lead) RETURN DISTINCT l.category AS category, l.tlp AS tlp, l.member_code AS member")
    assert rows == [{"category": "MONEY_MULE", "tlp": "GREEN", "member": "FEEDCO"}]


async def test_garbage_file_moves_to_failed_with_its_reason_and_stores_nothing(jobs_env: JobsEnv, tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "scan.pdf").write_bytes(b"%PDF-1.4 not a lead file")
    _age(folder / "scan.pdf")
    job = await jobs_env.create("drop", "drop_folder", {"path": str(folder), "settle_seconds": 1})
    before = await jobs_env.snapshot()

    run = await jobs_env.run(job)

    assert run["status"] == "failed" and "scan.pdf" in run["error"] and "PDF" in run["error"]
    assert (folder / "failed" / "scan.pdf").exists()
    assert "PDF" in json.loads((folder / "failed" / "scan.pdf.report.json").read_text(encoding="utf-8"))["error"]
    assert await jobs_env.snapshot() == before
