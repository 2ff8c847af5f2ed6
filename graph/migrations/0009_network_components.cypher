// Networks are communities (network_id) within weakly connected components (component_id): both are indexed.
CREATE INDEX lead_component IF NOT EXISTS FOR (l:Lead) ON (l.component_id);
CREATE INDEX indicator_component IF NOT EXISTS FOR (i:Indicator) ON (i.component_id);
CREATE INDEX agent_component IF NOT EXISTS FOR (a:Agent) ON (a.component_id);
CREATE CONSTRAINT component_id IF NOT EXISTS FOR (c:Component) REQUIRE c.id IS UNIQUE;
