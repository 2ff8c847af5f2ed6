// Scheduled ingest (issue 11): job definitions, their runs, the source items they filed, the scheduler lease.
CREATE CONSTRAINT ingest_job_id IF NOT EXISTS FOR (j:IngestJob) REQUIRE j.id IS UNIQUE;
CREATE CONSTRAINT ingest_job_name IF NOT EXISTS FOR (j:IngestJob) REQUIRE j.name IS UNIQUE;
CREATE CONSTRAINT job_run_id IF NOT EXISTS FOR (r:JobRun) REQUIRE r.id IS UNIQUE;
CREATE INDEX job_run_job_started IF NOT EXISTS FOR (r:JobRun) ON (r.job_id, r.started_at);
CREATE INDEX job_run_status IF NOT EXISTS FOR (r:JobRun) ON (r.status);
CREATE CONSTRAINT job_item_source IF NOT EXISTS FOR (s:JobItem) REQUIRE (s.job_id, s.source_id) IS UNIQUE;
CREATE CONSTRAINT scheduler_lease_id IF NOT EXISTS FOR (k:SchedulerLease) REQUIRE k.id IS UNIQUE;
CREATE INDEX lead_observed IF NOT EXISTS FOR (l:Lead) ON (l.observed_at);
