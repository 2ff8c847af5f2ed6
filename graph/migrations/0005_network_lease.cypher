// One writer of network assignments at a time: the lease node must be unique from its first creation.
CREATE CONSTRAINT network_lease_id IF NOT EXISTS FOR (k:NetworkLease) REQUIRE k.id IS UNIQUE;
CREATE INDEX agent_network IF NOT EXISTS FOR (a:Agent) ON (a.network_id);
