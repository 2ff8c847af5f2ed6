CREATE CONSTRAINT api_key_id IF NOT EXISTS FOR (k:ApiKey) REQUIRE k.id IS UNIQUE;
CREATE CONSTRAINT api_key_prefix IF NOT EXISTS FOR (k:ApiKey) REQUIRE k.prefix IS UNIQUE;
CREATE CONSTRAINT audit_block_seq IF NOT EXISTS FOR (b:AuditBlock) REQUIRE b.seq IS UNIQUE;
CREATE CONSTRAINT audit_record_id IF NOT EXISTS FOR (r:AuditRecord) REQUIRE r.id IS UNIQUE;
CREATE INDEX audit_record_seq IF NOT EXISTS FOR (r:AuditRecord) ON (r.seq);
CREATE INDEX audit_record_at IF NOT EXISTS FOR (r:AuditRecord) ON (r.at);
CREATE INDEX audit_record_member IF NOT EXISTS FOR (r:AuditRecord) ON (r.member_code);
CREATE INDEX audit_record_action IF NOT EXISTS FOR (r:AuditRecord) ON (r.action);
CREATE CONSTRAINT audit_head_id IF NOT EXISTS FOR (h:AuditHead) REQUIRE h.id IS UNIQUE;
