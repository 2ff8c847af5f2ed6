"""Prometheus metrics of scheduled jobs (exposed by api/metrics.py on the API and on the scheduler).

Labelled by job name (a handful per node, chosen by operators), never by anything a source sent.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

JOB_RUNS = Counter("fenghuo_job_runs_total", "Job runs by job and outcome", ["job", "kind", "outcome"])
JOB_ROWS = Counter("fenghuo_job_rows_total", "Rows a job filed through the pipeline, by outcome", ["job", "outcome"])
JOB_DURATION = Histogram("fenghuo_job_run_duration_seconds", "Duration of job runs", ["job"],
                         buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600))
JOB_LAST_SUCCESS = Gauge("fenghuo_job_last_success_timestamp_seconds", "Unix time of the job's last successful run", ["job"])
JOB_FAILURES = Gauge("fenghuo_job_consecutive_failures", "Failed runs in a row (0 after a success)", ["job"])
SCHEDULER_LEADER = Gauge("fenghuo_scheduler_lease_held", "1 while this process holds the scheduler lease")
AUDIT_CHAIN_BROKEN = Gauge("fenghuo_audit_chain_broken", "1 when the last audit checkpoint found a broken link")
AUDIT_CHECKPOINT = Gauge("fenghuo_audit_checkpoint_timestamp_seconds", "Unix time of the last audit checkpoint")
