"""Escalation to local police: jurisdictions, routing, cases, signed case packages and their renderers, the digest."""
