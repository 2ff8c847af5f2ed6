CREATE INDEX lead_network IF NOT EXISTS FOR (l:Lead) ON (l.network_id);
CREATE INDEX indicator_network IF NOT EXISTS FOR (i:Indicator) ON (i.network_id);
CREATE CONSTRAINT network_id IF NOT EXISTS FOR (n:Network) REQUIRE n.id IS UNIQUE;
CREATE INDEX network_leads IF NOT EXISTS FOR (n:Network) ON (n.leads);
CREATE CONSTRAINT dispute_id IF NOT EXISTS FOR (d:Dispute) REQUIRE d.id IS UNIQUE;
CREATE INDEX dispute_status IF NOT EXISTS FOR (d:Dispute) ON (d.status);
