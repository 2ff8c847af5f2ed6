CREATE INDEX lead_batch_seq IF NOT EXISTS FOR (l:Lead) ON (l.batch_id, l.seq);
CREATE INDEX lead_member IF NOT EXISTS FOR (l:Lead) ON (l.member_code, l.created_at);
CREATE INDEX batch_member_content IF NOT EXISTS FOR (b:Batch) ON (b.member_code, b.content_hash);
CREATE INDEX batch_member_idempotency IF NOT EXISTS FOR (b:Batch) ON (b.member_code, b.idempotency_key);
CREATE INDEX batch_status IF NOT EXISTS FOR (b:Batch) ON (b.status);
CREATE CONSTRAINT batch_report_id IF NOT EXISTS FOR (r:BatchReport) REQUIRE r.batch_id IS UNIQUE;
CREATE INDEX indicator_benign IF NOT EXISTS FOR (i:Indicator) ON (i.benign);
