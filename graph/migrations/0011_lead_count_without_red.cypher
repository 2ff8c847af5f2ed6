// An indicator's lead_count (the hub cap of networks, which are computed once for everyone) no longer counts RED
// leads (graph/leads.py, graph/networks.py `takes_part`): another member's RED leads could make an indicator a
// hub and so change networks others read. Recounted for the indicators some RED lead names, in one transaction
// (RED leads are few: 5 % of the demo's, ~12,000 indicators per 100,000 rows). The count is of leads the
// aggregates hold (graph/visibility.py `aggregated_lead`).
MATCH (l:Lead) WHERE l.tlp = 'RED'
MATCH (l)-[:NAMES]->(i:Indicator)
WITH DISTINCT i
SET i.lead_count = COUNT { MATCH (i)<-[:NAMES]-(o:Lead) WHERE o.tlp <> 'RED' AND o.status = 'active'
  AND EXISTS { MATCH (vb:Batch {id: o.batch_id}) WHERE vb.status = 'committed' AND vb.aggregated_seq > o.seq } }
