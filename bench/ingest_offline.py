"""The floors of bench/ingest.py: the bare `UNWIND … MERGE` of pre-normalized rows, and the offline ceiling
(`neo4j-admin database import full` of the same rows into an empty database).

Both start from the same pre-normalized rows: the file is read once by `ingest.prepare.Preparer` (in a spawned
process, so the API process's figures are not inflated), which pickles each chunk's lead rows for the bare
writes and writes the import tool's CSV files (leads, distinct indicators, NAMES) beside them.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import pickle
import re
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

# The same lead and indicator properties as graph/leads.py WRITE_CHUNK, without the batch cursor guard,
# the OPERATED_BY edges, the agent MERGE and the later aggregation pass.
BARE = """
UNWIND $rows AS row
CREATE (l:Lead {id: row.id, batch_id: $batch_id, seq: row.line, member_code: $member_code, category: row.category,
                observed_at: datetime(row.observed_at), confidence: row.confidence, tlp: row.tlp, attributed: false,
                agent: row.agent, note: row.note, reference: row.reference, content_hash: row.content_hash,
                status: 'active', created_at: datetime()})
WITH l, row
UNWIND row.indicators AS ind
MERGE (i:Indicator {key: ind.key})
ON CREATE SET i += ind.attrs, i.type = ind.type, i.key_version = $key_version, i.masked = ind.masked,
              i.status = 'active', i.benign = false, i.lead_count = 0
CREATE (l)-[:NAMES]->(i)
"""

BARE_BATCH = "bench-bare"
LEAD_COLUMNS = ("id:ID(Lead)", "batch_id", "seq:long", "member_code", "category", "observed_at:datetime",
                "confidence:double", "tlp", "attributed:boolean", "agent", "note", "reference", "content_hash", "status")
INDICATOR_FIXED = ("key:ID(Indicator)", "type", "key_version:int", "masked", "status", "benign:boolean", "lead_count:int")


@dataclass
class Prepared:
    leads: int
    indicators: int
    names: int
    seconds: float
    cpu_s: float


def prepare_rows(path: str, out_dir: str, key: Any, benign: frozenset[str], member: str) -> Prepared:
    """In a spawned process: pre-normalize the file once; pickle the lead rows per chunk (rows.pickle) and write
    leads.csv, indicators.csv (each key once) and names.csv for the import tool."""
    from ingest.columns import ColumnError, map_header
    from ingest.formats import open_table
    from ingest.prepare import Preparer
    from ingest.worker import CHUNK_ROWS, detect

    began, cpu0 = time.perf_counter(), time.process_time()
    out = Path(out_dir)
    seen: set[str] = set()
    attr_names: set[str] = set()
    leads = names = 0
    with (open(path, "rb") as raw, open(out / "rows.pickle", "wb") as pickled,
          open(out / "leads.csv", "w", newline="", encoding="utf-8") as lead_file,
          open(out / "names.csv", "w", newline="", encoding="utf-8") as names_file,
          open(out / "indicators.jsonl", "w", encoding="utf-8") as indicator_lines):
        lead_csv, names_csv = csv.writer(lead_file), csv.writer(names_file)
        lead_csv.writerow(LEAD_COLUMNS + (":LABEL",))
        names_csv.writerow((":START_ID(Lead)", ":END_ID(Indicator)", ":TYPE"))
        table = open_table(raw, detect(Path(path), Path(path).name, None))
        columns = map_header(table.headers)
        if isinstance(columns, ColumnError):
            raise RuntimeError(columns.message)
        for chunk in Preparer(BARE_BATCH, key, benign).chunks(table.rows, columns, datetime.now(timezone.utc),
                                                               size=CHUNK_ROWS):
            if not chunk.leads:
                continue
            pickle.dump(chunk.leads, pickled, protocol=pickle.HIGHEST_PROTOCOL)
            for row in chunk.leads:
                leads += 1
                lead_csv.writerow(_lead_csv_row(row, member))
                for ind in row["indicators"]:
                    names += 1
                    names_csv.writerow((row["id"], ind["key"], "NAMES"))
                    if ind["key"] not in seen:
                        seen.add(ind["key"])
                        attr_names.update(ind["attrs"])
                        indicator_lines.write(json.dumps(ind, ensure_ascii=False, default=str) + "\n")
    _indicators_csv(out, key.version, sorted(attr_names))
    return Prepared(leads, len(seen), names, time.perf_counter() - began, time.process_time() - cpu0)


def _lead_csv_row(row: dict[str, Any], member: str) -> tuple[Any, ...]:
    observed = row["observed_at"]
    observed = observed.isoformat() if hasattr(observed, "isoformat") else observed
    return (row["id"], BARE_BATCH, row["line"], member, row["category"], observed, row["confidence"], row["tlp"],
            "false", row["agent"] or "", row["note"] or "", row["reference"] or "", row["content_hash"], "active", "Lead")


def _indicators_csv(out: Path, key_version: int, attr_names: list[str]) -> None:
    with (open(out / "indicators.jsonl", encoding="utf-8") as lines,
          open(out / "indicators.csv", "w", newline="", encoding="utf-8") as f):
        writer = csv.writer(f)
        writer.writerow(INDICATOR_FIXED + tuple(attr_names) + (":LABEL",))
        for line in lines:
            ind = json.loads(line)
            attrs = ind["attrs"]
            writer.writerow((ind["key"], ind["type"], key_version, ind["masked"], "active", "false", 0,
                             *(("" if attrs.get(name) is None else attrs[name]) for name in attr_names), "Indicator"))
    (out / "indicators.jsonl").unlink()


def bare_writes(uri: str, database: str, out_dir: str, member: str, key_version: int) -> tuple[list[float], float, float]:
    """In the spawned process: each pickled chunk in its own write transaction of BARE, one after the other.
    Returns (seconds per transaction, wall s including unpickling, CPU s of this process)."""

    async def run() -> tuple[list[float], float, float]:
        from graph.database import Graph, Target

        graph = Graph.connect(Target(uri, None), database)
        tx_times: list[float] = []
        began, cpu0 = time.perf_counter(), time.process_time()
        try:
            with open(Path(out_dir) / "rows.pickle", "rb") as f:
                while True:
                    try:
                        rows = pickle.load(f)
                    except EOFError:
                        break

                    async def work(tx: Any) -> None:
                        await (await tx.run(BARE, rows=rows, batch_id=BARE_BATCH, member_code=member,
                                            key_version=key_version)).consume()

                    t0 = time.perf_counter()
                    async with graph.driver.session(database=graph.database) as session:
                        await session.execute_write(work)
                    tx_times.append(time.perf_counter() - t0)
        finally:
            await graph.close()
        return tx_times, time.perf_counter() - began, time.process_time() - cpu0

    return asyncio.run(run())


@dataclass
class OfflineImport:
    seconds: float  # wall, JVM start included
    tool_seconds: float | None  # the tool's own "IMPORT DONE in …"
    nodes: int | None
    relationships: int | None
    store_mb: float
    output_tail: str
    returncode: int


def offline_import(classpath: str, out_dir: Path, home: Path, heap: str, off_heap: str) -> OfflineImport:
    """`neo4j-admin database import full` (the import tool of the launcher's own Neo4j jars) of the CSVs into an
    empty database in a DBMS home of its own."""
    (home / "conf").mkdir(parents=True, exist_ok=True)
    (home / "conf" / "neo4j.conf").write_text("")
    env = {**os.environ, "NEO4J_HOME": str(home), "NEO4J_CONF": str(home / "conf")}
    command = ["java", f"-Xmx{heap}", "-XX:+UseG1GC", "-cp", classpath, "org.neo4j.cli.AdminTool",
               "database", "import", "full", f"--max-off-heap-memory={off_heap}", "--overwrite-destination=true",
               f"--nodes=Lead={out_dir / 'leads.csv'}", f"--nodes=Indicator={out_dir / 'indicators.csv'}",
               f"--relationships=NAMES={out_dir / 'names.csv'}", "--report-file", str(home / "import.report"), "neo4j"]
    began = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - began
    text = done.stdout + done.stderr
    tool = re.search(r"IMPORT DONE in (?:(\d+)m )?(\d+)s (\d+)ms", text)
    tool_s = (int(tool.group(1) or 0) * 60 + int(tool.group(2)) + int(tool.group(3)) / 1000) if tool else None
    nodes = re.search(r"Imported:\s+(\d+) nodes\s+(\d+) relationships", text)
    store = sum(p.stat().st_size for p in (home / "data").rglob("*") if p.is_file()) / (1 << 20)
    return OfflineImport(seconds, tool_s, int(nodes.group(1)) if nodes else None, int(nodes.group(2)) if nodes else None,
                         store, "\n".join(text.strip().splitlines()[-12:]), done.returncode)
