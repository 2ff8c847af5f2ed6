// Checks draw neighbour links through the leads the caller may count (graph/checks.py), so the CO_OCCURS
// relationships ingest used to keep are read by nothing: removed 10,000 per transaction.
MATCH ()-[c:CO_OCCURS]->() WITH c LIMIT 10000 DELETE c RETURN count(*) AS deleted;
