// Federation (issue 12): peer nodes this node asks and answers, and the nonces of signed requests it accepted.
CREATE CONSTRAINT peer_node_id IF NOT EXISTS FOR (p:Peer) REQUIRE p.node_id IS UNIQUE;
// A nonce is accepted once: the constraint is what refuses a replayed request, even across API processes.
CREATE CONSTRAINT federation_nonce_id IF NOT EXISTS FOR (n:FederationNonce) REQUIRE n.id IS UNIQUE;
CREATE INDEX federation_nonce_expiry IF NOT EXISTS FOR (n:FederationNonce) ON (n.expires_at);
