// Escalation to police (issue 13): cases, their contributions and timeline, jurisdictions, liaison sessions.
CREATE CONSTRAINT case_id IF NOT EXISTS FOR (c:Case) REQUIRE c.id IS UNIQUE;
CREATE CONSTRAINT case_number IF NOT EXISTS FOR (c:Case) REQUIRE c.number IS UNIQUE;
CREATE INDEX case_jurisdiction IF NOT EXISTS FOR (c:Case) ON (c.jurisdiction_code);
CREATE INDEX case_province IF NOT EXISTS FOR (c:Case) ON (c.province_code);
CREATE INDEX case_updated IF NOT EXISTS FOR (c:Case) ON (c.updated_at);
CREATE CONSTRAINT case_counter_id IF NOT EXISTS FOR (n:CaseCounter) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT escalation_id IF NOT EXISTS FOR (e:Escalation) REQUIRE e.id IS UNIQUE;
CREATE INDEX escalation_member IF NOT EXISTS FOR (e:Escalation) ON (e.member_code);
CREATE CONSTRAINT escalation_attachment_id IF NOT EXISTS FOR (a:EscalationAttachment) REQUIRE a.id IS UNIQUE;
CREATE CONSTRAINT case_event_id IF NOT EXISTS FOR (ev:CaseEvent) REQUIRE ev.id IS UNIQUE;
CREATE CONSTRAINT jurisdiction_code IF NOT EXISTS FOR (j:Jurisdiction) REQUIRE j.code IS UNIQUE;
CREATE CONSTRAINT escalation_webhook_member IF NOT EXISTS FOR (w:EscalationWebhook) REQUIRE w.member_code IS UNIQUE;
CREATE CONSTRAINT police_session_token IF NOT EXISTS FOR (s:PoliceSession) REQUIRE s.token_hash IS UNIQUE;
CREATE CONSTRAINT escalation_digest_id IF NOT EXISTS FOR (d:EscalationDigest) REQUIRE d.id IS UNIQUE;
