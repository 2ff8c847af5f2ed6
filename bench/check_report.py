"""The check benchmark's figures, issue 14's targets as ratios with PASS/MISS, and the markdown table for README."""

from __future__ import annotations

import json
import math
import os
import platform
import re
import statistics
import subprocess
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.common import say

FLAT = 1.3


def code_version() -> str:
    """The commit the benchmark runs (and serve, from the same checkout), `+changes` when the tree differs from it."""
    repo = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=7", "HEAD"], cwd=repo, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo, capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+changes" if dirty else "")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


@dataclass
class Figures:
    rows: int
    overrides: dict[str, str]
    load_before: float
    load_after: float = math.nan
    graph: str = ""
    warmup: str = ""
    date: str = field(default_factory=lambda: datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    code: str = field(default_factory=code_version)
    rows_of: dict[str, dict[str, Any]] = field(default_factory=dict)  # the round being measured
    rounds: list[dict[str, dict[str, Any]]] = field(default_factory=list)  # each finished round's figures
    # Each figure's window: from the end of the one before (or the last `mark`) to its own end, Unix seconds.
    windows: dict[str, tuple[float, float]] = field(default_factory=dict)
    last_end: float = field(default_factory=time.time)

    def end_round(self) -> None:
        """The figures measured so far are one round; the next figures start another."""
        if self.rows_of:
            self.rounds.append(self.rows_of)
            self.rows_of = {}

    def _label(self, name: str) -> str:
        return name if not self.rounds else f"{name} (round {len(self.rounds) + 1})"

    def mark(self) -> None:
        """The next figure's window starts now (after the warm-up)."""
        self.last_end = time.time()

    def _window(self, name: str) -> None:
        now = time.time()
        self.windows[self._label(name)], self.last_end = (self.last_end, now), now

    def add(self, name: str, result: Any, *, load: float, cpu: dict[str, float] | None = None,
            idle: dict[str, float] | None = None) -> None:
        errors = getattr(result, "non_2xx", 0) + getattr(result, "socket_errors", 0)
        per_s = result.ok_per_s if hasattr(result, "ok_per_s") else result.per_s
        p50, p99 = (result.p50, result.p99) if hasattr(result, "p50") else (result.p(.5), result.p(.99))
        self.rows_of[name] = {"p50": p50, "p99": p99, "per_s": per_s, "load": load, "cpu": cpu or {}, "errors": errors}
        self._window(name)
        say(f"{name:34} {result.line()}  load {load:.2f}" + "".join(f"  {k} CPU {v:.2f} ms/req" for k, v in (cpu or {}).items())
            + "".join(f"  ({k} {v:.0f} % of a core before)" for k, v in (idle or {}).items()))

    def add_seconds(self, name: str, seconds: float, *, load: float) -> None:
        self.rows_of[name] = {"seconds": seconds, "load": load}
        self._window(name)
        say(f"{name:34} {seconds:8.3f} s (median)  load {load:.2f}")

    def get(self, name: str, what: str) -> float:
        return self.rows_of.get(name, {}).get(what, math.nan)


def median_figures(rounds: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Each figure's median over the rounds (errors summed), for the table and for later runs' flat comparison."""
    out: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(n for rows in rounds for n in rows):
        seen = [rows[name] for rows in rounds if name in rows]
        row: dict[str, Any] = {}
        for key in dict.fromkeys(k for one in seen for k in one):
            values = [one[key] for one in seen if key in one]
            if key == "errors":
                row[key] = sum(values)
            elif key == "cpu":
                row[key] = {k: statistics.median([v[k] for v in values if k in v]) for k in dict.fromkeys(
                    k for v in values for k in v)}
            else:
                row[key] = statistics.median(values)
        out[name] = row
    return out


# `fenghuo serve` runs its job scheduler in the API process; its log says when each job began and ended.
_JOB_BEGAN = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) INFO apscheduler\.executors\.default: Running job "(\S+)')
_JOB_ENDED = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) \w+ jobs\.runner: job (\S+) run \S+ (?:succeeded|failed)")


def scheduled_jobs(log: str) -> list[tuple[str, float, float]]:
    """(job, began, ended) of every job run in a serve log, Unix seconds (the log's times are local, as the
    benchmark's clock is: same machine). A job with no end in the log ran until the log ends."""
    def at(day: str, millis: str) -> float:
        return time.mktime(time.strptime(day, "%Y-%m-%d %H:%M:%S")) + int(millis) / 1000

    runs: list[tuple[str, float, float]] = []
    running: dict[str, float] = {}
    for line in log.splitlines():
        if began := _JOB_BEGAN.match(line):
            running[began[3]] = at(began[1], began[2])
        elif (ended := _JOB_ENDED.match(line)) and ended[3] in running:
            runs.append((ended[3], running.pop(ended[3]), at(ended[1], ended[2])))
    return runs + [(job, began, math.inf) for job, began in running.items()]


def overlapping_jobs(f: Figures, log: str) -> dict[str, list[str]]:
    """The figures whose measurement a scheduled job ran during, and which jobs."""
    runs = scheduled_jobs(log)
    return {name: jobs for name, (start, end) in f.windows.items()
            if (jobs := sorted({job for job, began, ended in runs if began < end and ended > start}))}


def _targets(f: Figures, previous: list[dict[str, Any]]) -> list[tuple[str, float, str, bool | None]]:
    """(what, ratio, target, passed); passed is None when a figure is missing."""
    out: list[tuple[str, float, str, bool | None]] = []

    def t(what: str, ratio: float, bound: float, at_least: bool) -> None:
        ok = None if math.isnan(ratio) else (ratio >= bound if at_least else ratio <= bound)
        out.append((what, ratio, f"{'≥' if at_least else '≤'} {bound:g}×", ok))

    t("empty request ÷ bare Starlette, 50-conn req/s", f.get("{ __typename } @50", "per_s") / f.get("bare Starlette @50", "per_s"), 0.3, True)
    for path in ("checkLeads single", "POST /v1/checks single"):
        if f"{path} @1" not in f.rows_of:
            continue
        t(f"{path}: 1-conn p50 ÷ empty request's", f.get(f"{path} @1", "p50") / f.get("{ __typename } @1", "p50"), 3, False)
        t(f"{path}: 1-conn p50 ÷ bare driver lookup's", f.get(f"{path} @1", "p50") / f.get("bare lookup @1", "p50"), 1.5, False)
        t(f"{path}: 50-conn checks/s ÷ empty request's", f.get(f"{path} @50", "per_s") / f.get("{ __typename } @50", "per_s"), 0.5, True)
        t(f"{path}: 50-conn checks/s ÷ bare one-query-per-check", f.get(f"{path} @50", "per_s") / f.get("bare lookup @50", "per_s"), 1.0, True)
        t(f"{path}: 50-conn p99 ÷ p50", f.get(f"{path} @50", "p99") / f.get(f"{path} @50", "p50"), 3, False)
    # Against the lean lookup answered row by row (the floor as the issue measured it), and as one record (the
    # least the driver can do: the same keys without the per-record cost).
    for floor, shape in (("lean lookup 10k", "rows"), ("lean lookup 10k one record", "one record")):
        lean = f.get(floor, "seconds")
        t(f"10,000 identifiers, POST /v1/checks ÷ lean bare lookup ({shape})", f.get("POST /v1/checks 10k", "seconds") / lean, 1.0, False)
        t(f"10,000 identifiers, GraphQL checkLeads ÷ lean bare lookup ({shape})", f.get("checkLeads 10k", "seconds") / lean, 2.0, False)
    for old in previous:
        small, large = (old, None) if old["rows"] < f.rows else (None, old)
        mine = {"rows": f.rows, "figures": f.rows_of, "date": f.date, "load": [f.load_before, f.load_after], "code": f.code}
        small, large = small or mine, large or mine
        ratio = large["figures"]["checkLeads single @1"]["p50"] / small["figures"]["checkLeads single @1"]["p50"]
        codes = small.get("code", "?"), large.get("code", "?")
        code = f"code {codes[0]}" if codes[0] == codes[1] else f"DIFFERENT code {codes[0]} / {codes[1]}"
        t(f"flat {small['rows']:,} → {large['rows']:,} rows: 1-conn check p50 (runs of {small.get('date', '?')} / "
          f"{large.get('date', '?')}, loads {_loads(small)} / {_loads(large)}, {code})", ratio, FLAT, False)
    return out


def _extras(f: Figures) -> list[tuple[str, float]]:
    """Ratios to floors no target names: the bare lookup behind the bare endpoint (bench/floors.py), and for 10,000
    identifiers the product's own query through the bare driver (README's reading of the 10,000-identifier targets)."""
    out = []
    for path in ("checkLeads single", "POST /v1/checks single"):
        if f"{path} @1" in f.rows_of and "bare lookup over HTTP @1" in f.rows_of:
            out.append((f"{path}: 1-conn p50 ÷ bare lookup over HTTP's",
                        f.get(f"{path} @1", "p50") / f.get("bare lookup over HTTP @1", "p50")))
            out.append((f"{path}: 50-conn checks/s ÷ bare lookup over HTTP's",
                        f.get(f"{path} @50", "per_s") / f.get("bare lookup over HTTP @50", "per_s")))
    for path in ("POST /v1/checks 10k", "checkLeads 10k"):
        if path in f.rows_of and "bare lookup 10k" in f.rows_of:
            out.append((f"10,000 identifiers, {path.removesuffix(' 10k')} ÷ the check query through the bare driver",
                        f.get(path, "seconds") / f.get("bare lookup 10k", "seconds")))
    return out


def _loads(run: dict[str, Any]) -> str:
    return "→".join(f"{x:.1f}" for x in run.get("load") or []) or "?"


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def _fmt_ms(s: float) -> str:
    return "—" if math.isnan(s) else f"{s * 1e3:,.2f} ms"


def _fmt_rate(r: float) -> str:
    return "—" if math.isnan(r) else f"{r:,.0f}/s"


def _across(per_round: list[list[tuple[str, float, str, bool | None]]]) -> list[tuple[str, list[float], str, str]]:
    """Each target's ratio in every round and one verdict: PASS or MISS when every round agrees, else SPLIT with the
    rounds that passed (a ratio that close to its bound is decided by the round, not by the code)."""
    out = []
    for i, (what, _ratio, bound, _ok) in enumerate(per_round[0]):
        ratios = [targets[i][1] for targets in per_round]
        oks = [targets[i][3] for targets in per_round]
        if any(ok is None for ok in oks):
            verdict = "n/a"
        elif all(oks) or not any(oks):
            verdict = _verdict(oks[0])
        else:
            verdict = f"SPLIT {sum(bool(ok) for ok in oks)}/{len(oks)}"
        out.append((what, ratios, bound, verdict))
    return out


def _ratios(ratios: list[float]) -> str:
    return " / ".join(f"{r:.2f}×" for r in ratios)


def report(f: Figures, markdown: Path | None, cache: Path, serve_log: str = "") -> None:
    previous = []
    for path in sorted(cache.glob("check-results-*.json")):
        old = json.loads(path.read_text())
        if old["rows"] != f.rows and "checkLeads single @1" in old["figures"]:
            previous.append(old)
    f.end_round()
    rounds = f.rounds
    f = replace(f, rows_of=median_figures(rounds))
    targets = _across([_targets(replace(f, rows_of=rows), previous) for rows in rounds])
    per_round = [_extras(replace(f, rows_of=rows)) for rows in rounds]
    extras = [(what, [r[i][1] for r in per_round]) for i, (what, _) in enumerate(per_round[0])] if per_round else []
    settings = ", ".join(f"{k}={v}" for k, v in f.overrides.items()) or "none"
    head = (f"run {f.date}, code {f.code}; {f.rows:,} ingested rows; {os.cpu_count()} CPUs ({cpu_model()}); load average "
            f"{f.load_before:.2f} before, {f.load_after:.2f} after; server: `fenghuo serve` default settings, "
            f"overrides: {settings}" + (f"; warm-up: {f.warmup}" if f.warmup else ""))
    say("\n" + "=" * 110)
    say(head)
    say(f"graph: {f.graph}")
    if len(rounds) > 1:
        say(f"{len(rounds)} rounds: each ratio is taken within its round (its own floors), one per round in order; "
            "the figures saved and tabled are medians over the rounds")
    for what, ratios, bound, verdict in targets:
        say(f"  {verdict:9}  {what:78} {_ratios(ratios)}  (target {bound})")
    for what, ratios in extras:
        say(f"  {'info':9}  {what:78} {_ratios(ratios)}  (no target)")
    during = overlapping_jobs(f, serve_log)
    for name, jobs in during.items():
        say(f"  note  {name} was measured while serve's scheduler ran {', '.join(jobs)}")
    say("=" * 110)
    (cache / f"check-results-{f.rows}.json").write_text(json.dumps({"rows": f.rows, "date": f.date, "load": [f.load_before, f.load_after],
                                                                            "figures": f.rows_of, "rounds": rounds,
                                                                            "jobs_during": during, "code": f.code}))
    if markdown:
        markdown.write_text(_markdown(f, targets, head, during, extras))
        say(f"markdown             {markdown}")


def _markdown(f: Figures, targets: list[tuple[str, list[float], str, str]], head: str,
              during: dict[str, list[str]], extras: list[tuple[str, list[float]]] = ()) -> str:
    lines = [f"Check benchmark (`bench/check.py`): {head}.", "", f"Graph: {f.graph}.", "",
             "| request | 1 connection p50 | p99 | 50 connections | p50 / p99 | load |", "|---|---|---|---|---|---|"]
    names = ["bare Starlette", "{ __typename }", "checkLeads single", "POST /v1/checks single", "RETURN 1",
             "bare lookup", "lean lookup", "bare lookup over HTTP"]
    labels = {"bare Starlette": "bare Starlette endpoint (floor)", "{ __typename }": "authenticated `{ __typename }` (floor)",
              "RETURN 1": "`RETURN 1` via the driver (floor)", "bare lookup": "bare driver lookup, graph/checks.py query (floor)",
              "lean lookup": "lean `UNWIND … MATCH` lookup (floor)", "checkLeads single": "single-phone `checkLeads`",
              "POST /v1/checks single": "single-phone `POST /v1/checks`",
              "bare lookup over HTTP": "bare driver lookup behind the bare Starlette endpoint (extra floor)"}
    for name in names:
        one, fifty = f.rows_of.get(f"{name} @1"), f.rows_of.get(f"{name} @50")
        if not one and not fifty:
            continue
        one, fifty = one or {}, fifty or {}
        lines.append(f"| {labels[name]} | {_fmt_ms(one.get('p50', math.nan))} | {_fmt_ms(one.get('p99', math.nan))} | "
                     f"{_fmt_rate(fifty.get('per_s', math.nan))} | {_fmt_ms(fifty.get('p50', math.nan))} / "
                     f"{_fmt_ms(fifty.get('p99', math.nan))} | {one.get('load', math.nan):.2f} / {fifty.get('load', math.nan):.2f} |")
    for name in ("checkLeads 10k", "POST /v1/checks 10k", "POST /v1/checks 10k ndjson", "bare lookup 10k", "lean lookup 10k",
                 "lean lookup 10k one record"):
        if name in f.rows_of:
            lines.append(f"| {name.replace('10k', '10,000 identifiers')} | {f.rows_of[name]['seconds']:.3f} s | | | | "
                         f"{f.rows_of[name]['load']:.2f} |")
    rounds = len(targets[0][1]) if targets else 1
    lines += ["", f"| target (issue 14) | ratio{' per round' if rounds > 1 else ''} | bound | verdict |", "|---|---|---|---|"]
    lines += [f"| {what} | {_ratios(ratios)} | {bound} | {verdict} |" for what, ratios, bound, verdict in targets]
    lines += [f"| {what} | {_ratios(ratios)} | no target | info |" for what, ratios in extras]
    if during:
        lines += ["", "Measured while `fenghuo serve`'s scheduler ran a job: "
                  + "; ".join(f"{name} ({', '.join(jobs)})" for name, jobs in during.items()) + "."]
    return "\n".join(lines) + "\n"
