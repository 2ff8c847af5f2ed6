// Indicators are shared across members: one node per (type, keyed hash).
CREATE CONSTRAINT indicator_key IF NOT EXISTS FOR (i:Indicator) REQUIRE i.key IS UNIQUE;
CREATE INDEX indicator_type IF NOT EXISTS FOR (i:Indicator) ON (i.type);
CREATE CONSTRAINT member_code IF NOT EXISTS FOR (m:Member) REQUIRE m.code IS UNIQUE;
CREATE CONSTRAINT lead_id IF NOT EXISTS FOR (l:Lead) REQUIRE l.id IS UNIQUE;
CREATE CONSTRAINT batch_id IF NOT EXISTS FOR (b:Batch) REQUIRE b.id IS UNIQUE;
CREATE CONSTRAINT agent_id IF NOT EXISTS FOR (a:Agent) REQUIRE a.id IS UNIQUE;
